//! Reading event logs: EVTX, JSON lines (flat or nested) and Suricata EVE JSON.

pub mod evtx;
pub mod flatjson;
pub mod jsonl;

use crate::event::{Event, FieldRegistry, MetaIds};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A part of an input that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct InputError {
    /// File.
    pub path: PathBuf,
    /// Byte offset of the bad part, when known.
    pub offset: Option<u64>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(o) = self.offset {
            write!(f, " @ offset {o:#x}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Windows EVTX.
    Evtx,
    /// JSON lines (EVE files are recognised line by line).
    Jsonl,
}

/// What readers need to build events.
#[derive(Debug, Clone, Copy)]
pub struct ReadCtx<'a> {
    /// Field interner.
    pub reg: &'a FieldRegistry,
    /// Meta ids.
    pub meta: &'a MetaIds,
}

/// Events are handed over in batches of this size.
pub const BATCH: usize = 512;

/// Tell the format of a file from its first bytes (and extension).
pub fn sniff(path: &Path) -> Result<InputFormat, String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(format!("cannot read: {e}")),
        }
    }
    let head = &head[..n];
    if head.starts_with(b"ElfFile\0") {
        return Ok(InputFormat::Evtx);
    }
    let is_evtx_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("evtx"));
    if is_evtx_name {
        if n == 0 {
            return Err("empty file".into());
        }
        return Err("not an EVTX file: the header signature 'ElfFile' is missing".into());
    }
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(InputFormat::Jsonl),
        None if n == 0 => Err("empty file".into()),
        _ => Err("unrecognised format (neither EVTX nor JSON lines)".into()),
    }
}

/// Every input file under `paths` (folders searched recursively for .evtx, .json, .jsonl,
/// .ndjson and .eve files; files named directly are always read).
pub fn input_files(paths: &[PathBuf], errors: &mut Vec<InputError>) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
        let rd = match std::fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) => {
                errors.push(InputError {
                    path: dir.to_path_buf(),
                    offset: None,
                    reason: format!("cannot read folder: {e}"),
                });
                return;
            }
        };
        let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out, errors);
            } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                ["evtx", "json", "jsonl", "ndjson", "eve"]
                    .iter()
                    .any(|x| e.eq_ignore_ascii_case(x))
            }) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out, errors);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            errors.push(InputError {
                path: p.clone(),
                offset: None,
                reason: "no such file or folder".into(),
            });
        }
    }
    out
}

/// Read one file, handing events over in batches. `threads` > 1 parses an EVTX file's chunks
/// in parallel (only call it so from outside the rayon pool's workers).
pub fn read_file(
    path: &Path,
    ctx: ReadCtx<'_>,
    threads: usize,
    on_batch: &mut dyn FnMut(Vec<Event>),
    errors: &mut Vec<InputError>,
) {
    match sniff(path) {
        Ok(InputFormat::Evtx) => evtx::read(path, ctx, threads, on_batch, errors),
        Ok(InputFormat::Jsonl) => jsonl::read(path, ctx, on_batch, errors),
        Err(reason) => errors.push(InputError {
            path: path.to_path_buf(),
            offset: Some(0),
            reason,
        }),
    }
}
