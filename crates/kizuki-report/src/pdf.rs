//! PDF rendering: typst, run inside the process, over a fixed template.
//!
//! The report never becomes typst source. [`walk`] turns it into a list of render-ready
//! blocks (every label already in the report's language), the blocks are serialised to
//! JSON, and the JSON is the only thing that varies between two renders: it is offered to
//! the template as the virtual file `/report.json`, which the template reads with
//! `json(...)` and places as text. A title such as `#import "x": *` therefore prints as
//! those characters; there is no escaping step that could be forgotten or get wrong.
//!
//! Everything typst could reach for is inside the binary: the template
//! (`typst/report.typ`) and one font (IPAexGothic, `fonts/`, which covers Japanese and
//! Latin). The [`World`] answers nothing else: no packages, no system fonts, no
//! files, no clock. That is what makes the output the same on every machine and keeps
//! rendering from touching the network or the disk.

use std::sync::LazyLock;

use serde::Serialize;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::model::AfterActionReport;
use crate::walk::{Row, Sink, walk};

/// Why a PDF could not be produced. None of these depend on the report's content in a
/// working build: the template and font are fixed, so a failure here is a bug to report
/// with the message, not a user error.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the report could not be serialised for the PDF template: {0}")]
    Serialise(#[from] serde_json::Error),
    #[error("the PDF renderer could not be set up: {0}")]
    Setup(String),
    #[error("typst could not lay out the report: {0}")]
    Layout(String),
    #[error("typst could not write the PDF: {0}")]
    Export(String),
}

const TEMPLATE: &str = include_str!("../typst/report.typ");
const TEMPLATE_PATH: &str = "/report.typ";
/// Where the template finds the report; must match the path in `report.typ`.
const DATA_PATH: &str = "/report.json";
/// IPAexGothic 4.01 (IPA Font License v1.0, see `fonts/`). Japanese and Latin in one
/// face, so no fallback font and no system lookup is ever needed.
static FONT_DATA: &[u8] = include_bytes!("../fonts/ipaexg.ttf");

/// What every render shares. Parsing the 6 MB font and building typst's standard library
/// take far longer than laying out a short report, so they happen once per process;
/// keeping the same `Source` for the template also lets typst's caches recognise it.
struct Assets {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    template: Source,
    data_id: FileId,
}

static ASSETS: LazyLock<Result<Assets, String>> = LazyLock::new(load_assets);

fn load_assets() -> Result<Assets, String> {
    let fonts: Vec<Font> = Font::iter(Bytes::new(FONT_DATA)).collect();
    if fonts.is_empty() {
        return Err("the embedded font could not be parsed".to_owned());
    }
    let file_id = |path: &str| {
        VirtualPath::new(path)
            .map(|v| RootedPath::new(VirtualRoot::Project, v).intern())
            .map_err(|e| format!("bad virtual path {path}: {e:?}"))
    };
    let template = Source::new(file_id(TEMPLATE_PATH)?, TEMPLATE.to_owned());
    Ok(Assets {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
        template,
        data_id: file_id(DATA_PATH)?,
    })
}

/// Loads the font and the typst library now rather than on the first render, e.g. at
/// server start, so the first user does not wait for it.
pub fn warm_up() -> Result<(), PdfError> {
    assets().map(|_| ())
}

fn assets() -> Result<&'static Assets, PdfError> {
    ASSETS.as_ref().map_err(|e| PdfError::Setup(e.clone()))
}

/// Renders the report as an A4 PDF. Deterministic: the same report gives the same bytes
/// (no creation date is written, and the document id is derived from the incident).
pub fn render(report: &AfterActionReport) -> Result<Vec<u8>, PdfError> {
    let document = typeset(&view(report)).map(|(document, _warnings)| document);
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(format!(
            "kizuki-report-{}-{}",
            report.incident_id,
            report.language.as_str()
        )),
        timestamp: None,
        ..typst_pdf::PdfOptions::default()
    };
    let pdf = document.and_then(|d| {
        typst_pdf::pdf(&d, &options).map_err(|errors| PdfError::Export(describe(&errors)))
    });
    // typst memoises layout work globally; without eviction a long-running server would
    // keep every report it ever rendered. Results unused for a few renders are dropped.
    typst::comemo::evict(CACHE_AGE);
    pdf
}

/// How many renders a memoised typst result survives unused.
const CACHE_AGE: usize = 4;

/// Lays the view out with the template. Warnings are returned rather than dropped so
/// tests can insist on none: typst only *warns* about, e.g., an unknown font family, and
/// would then print with no glyphs at all.
fn typeset(view: &View) -> Result<(PagedDocument, Vec<SourceDiagnostic>), PdfError> {
    let world = ReportWorld {
        assets: assets()?,
        data: Bytes::new(serde_json::to_vec(view)?),
    };
    let compiled = typst::compile::<PagedDocument>(&world);
    let document = compiled
        .output
        .map_err(|errors| PdfError::Layout(describe(&errors)))?;
    Ok((document, compiled.warnings.to_vec()))
}

fn describe(diagnostics: &[SourceDiagnostic]) -> String {
    let mut parts = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        let mut s = d.message.to_string();
        for hint in &d.hints {
            s.push_str(" (hint: ");
            s.push_str(&hint.v);
            s.push(')');
        }
        parts.push(s);
    }
    if parts.is_empty() {
        "unknown error".to_owned()
    } else {
        parts.join("; ")
    }
}

/// The only world the template sees: itself, the report as JSON, and the font.
struct ReportWorld {
    assets: &'static Assets,
    data: Bytes,
}

impl ReportWorld {
    fn not_found(id: FileId) -> FileError {
        FileError::NotFound(id.get().vpath().get_with_slash().into())
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.assets.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.assets.book
    }

    fn main(&self) -> FileId {
        self.assets.template.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.assets.template.id() {
            Ok(self.assets.template.clone())
        } else {
            Err(Self::not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.assets.data_id {
            Ok(self.data.clone())
        } else if id == self.assets.template.id() {
            Ok(Bytes::from_string(TEMPLATE))
        } else {
            Err(Self::not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.assets.fonts.get(index).cloned()
    }

    /// No clock: a report must not change with the day it is printed.
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

/// The JSON the template reads. Built by the same [`walk`] as Markdown and HTML, so the
/// PDF cannot drift from them in order or wording; the template only decides looks.
#[derive(Serialize)]
struct View {
    lang: &'static str,
    /// The PDF's document title (metadata), the incident title as typed.
    title: String,
    blocks: Vec<Block>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Block {
    Heading {
        level: u8,
        text: String,
        class: String,
    },
    Para {
        text: String,
    },
    Missing {
        text: String,
    },
    List {
        items: Vec<String>,
        class: String,
    },
    Pairs {
        items: Vec<(String, String)>,
        class: String,
    },
    Table {
        header: Vec<String>,
        rows: Vec<ViewRow>,
        class: String,
    },
}

#[derive(Serialize)]
struct ViewRow {
    cells: Vec<Vec<String>>,
    rest_day: bool,
}

fn view(report: &AfterActionReport) -> View {
    let mut blocks = Blocks(Vec::new());
    walk(report, &mut blocks);
    View {
        lang: report.language.as_str(),
        title: report.title.clone(),
        blocks: blocks.0,
    }
}

struct Blocks(Vec<Block>);

impl Sink for Blocks {
    fn heading(&mut self, level: u8, text: &str, class: &str) {
        self.0.push(Block::Heading {
            level: level.clamp(1, 6),
            text: text.to_owned(),
            class: class.to_owned(),
        });
    }

    fn para(&mut self, text: &str) {
        self.0.push(Block::Para {
            text: text.to_owned(),
        });
    }

    fn missing(&mut self, text: &str) {
        self.0.push(Block::Missing {
            text: text.to_owned(),
        });
    }

    fn list(&mut self, items: &[String], class: &str) {
        self.0.push(Block::List {
            items: items.to_vec(),
            class: class.to_owned(),
        });
    }

    fn pairs(&mut self, items: &[(String, String)], class: &str) {
        self.0.push(Block::Pairs {
            items: items.to_vec(),
            class: class.to_owned(),
        });
    }

    fn table(&mut self, header: &[String], rows: &[Row], class: &str) {
        self.0.push(Block::Table {
            header: header.to_vec(),
            rows: rows
                .iter()
                .map(|r| ViewRow {
                    cells: r.cells.clone(),
                    rest_day: r.rest_day,
                })
                .collect(),
            class: class.to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// Every block kind the template knows, in both languages, typesets without a single
    /// warning (a misspelt font name or field would show up here first).
    #[test]
    fn the_template_handles_every_block_without_warnings() {
        for lang in ["ja", "en"] {
            let row = |rest_day| ViewRow {
                cells: vec![
                    vec!["1日目（休）9:30".to_owned()],
                    vec![],
                    vec!["一行".to_owned()],
                    vec!["a".to_owned(), "b".to_owned()],
                ],
                rest_day,
            };
            let view = View {
                lang,
                title: "題名".to_owned(),
                blocks: vec![
                    Block::Heading {
                        level: 1,
                        text: "事後レビュー報告書".to_owned(),
                        class: "report-title".to_owned(),
                    },
                    Block::Pairs {
                        items: vec![("鍵".to_owned(), "値".to_owned())],
                        class: "facts".to_owned(),
                    },
                    Block::Heading {
                        level: 2,
                        text: "概要".to_owned(),
                        class: "overview".to_owned(),
                    },
                    Block::Para {
                        text: "本文\n二行目".to_owned(),
                    },
                    Block::Missing {
                        text: "背景: 未記録".to_owned(),
                    },
                    Block::List {
                        items: vec!["一".to_owned(), "二".to_owned()],
                        class: "impact".to_owned(),
                    },
                    Block::Table {
                        header: vec![
                            "日時".to_owned(),
                            "A".to_owned(),
                            "B".to_owned(),
                            "C".to_owned(),
                        ],
                        rows: vec![row(true), row(false)],
                        class: "timeline".to_owned(),
                    },
                    Block::Table {
                        header: vec!["L".to_owned(), "C".to_owned(), "A".to_owned()],
                        rows: vec![ViewRow {
                            cells: vec![vec!["x".to_owned()], vec![], vec!["y".to_owned()]],
                            rest_day: false,
                        }],
                        class: "lessons".to_owned(),
                    },
                ],
            };
            let (document, warnings) = typeset(&view).unwrap();
            assert!(warnings.is_empty(), "{lang}: {}", describe(&warnings));
            assert_eq!(document.pages().len(), 1);
        }
    }
}
