//! The built-in library of cases, its search and its index of lessons.

use std::collections::BTreeMap;

use kizuki_domain::incident::Category;

use crate::model::{Case, Lesson};
use crate::parse::{ReferenceError, ReferenceErrors, parse_case};
use crate::vocab::{AttackVector, LessonCategory, OrganisationType};

macro_rules! builtin_files {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../reference/", $name)))),+]
    };
}

/// The ten case files shipped with Kizuki, as (file name, contents).
pub const BUILTIN_FILES: &[(&str, &str)] = builtin_files![
    "case-01.yml",
    "case-02.yml",
    "case-03.yml",
    "case-04.yml",
    "case-05.yml",
    "case-06.yml",
    "case-07.yml",
    "case-08.yml",
    "case-09.yml",
    "case-10.yml",
];

/// A set of reference cases, in case-number order.
#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    cases: Vec<Case>,
}

/// What to look for. Every given criterion must match; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Words looked up, case-insensitively, in both languages of the title, the overview
    /// and the lessons. Every word (split on white space) must occur.
    pub text: Option<String>,
    pub category: Option<Category>,
    pub attack_vector: Option<AttackVector>,
    pub organisation_type: Option<OrganisationType>,
    /// At least one lesson of the case is filed under this category.
    pub lesson_category: Option<LessonCategory>,
}

/// A lesson together with the case it comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LessonRef<'a> {
    pub case: &'a Case,
    pub lesson: &'a Lesson,
}

impl Library {
    /// The ten cases of the NISC 2022 study, embedded in the binary.
    pub fn builtin() -> Result<Self, ReferenceErrors> {
        Self::from_files(BUILTIN_FILES.iter().copied())
    }

    /// Parses and checks a set of case files given as (file name, contents).
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ReferenceErrors> {
        let mut errors = Vec::new();
        let mut cases: Vec<(&str, Case)> = Vec::new();
        for (name, text) in files {
            match parse_case(name, text) {
                Ok(c) => cases.push((name, c)),
                Err(e) => errors.extend(e.errors),
            }
        }
        cases.sort_by_key(|(_, c)| c.number);
        for pair in cases.windows(2) {
            if let [(_, a), (name, b)] = pair
                && a.number == b.number
            {
                errors.push(ReferenceError {
                    file: (*name).to_owned(),
                    line: None,
                    column: None,
                    path: "number".to_owned(),
                    message: format!("case number {} appears in more than one file", b.number),
                });
            }
        }
        if errors.is_empty() {
            Ok(Self {
                cases: cases.into_iter().map(|(_, c)| c).collect(),
            })
        } else {
            Err(ReferenceErrors { errors })
        }
    }

    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// The case with this id (`case-03`) or number (`3`).
    pub fn case(&self, id_or_number: &str) -> Option<&Case> {
        let n: Option<u8> = id_or_number.trim().parse().ok();
        self.cases
            .iter()
            .find(|c| c.id == id_or_number.trim() || Some(c.number) == n)
    }

    /// The cases matching every criterion of the query, in case-number order.
    pub fn search(&self, query: &Query) -> Vec<&Case> {
        let words: Vec<String> = query
            .text
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(normalise)
            .collect();
        self.cases
            .iter()
            .filter(|c| query.category.is_none_or(|x| c.category == x))
            .filter(|c| {
                query
                    .organisation_type
                    .is_none_or(|x| c.organisation_type == x)
            })
            .filter(|c| {
                query
                    .attack_vector
                    .is_none_or(|x| c.attack_vectors.contains(&x))
            })
            .filter(|c| {
                query
                    .lesson_category
                    .is_none_or(|x| c.lessons.iter().any(|l| l.categories.contains(&x)))
            })
            .filter(|c| {
                if words.is_empty() {
                    return true;
                }
                let haystack = searchable_text(c);
                words.iter().all(|w| haystack.contains(w.as_str()))
            })
            .collect()
    }

    /// Every lesson of every case, filed under each of its categories. Every category of
    /// the vocabulary is a key, even one no lesson uses.
    pub fn lessons_by_category(&self) -> BTreeMap<LessonCategory, Vec<LessonRef<'_>>> {
        let mut map: BTreeMap<LessonCategory, Vec<LessonRef<'_>>> = LessonCategory::ALL
            .iter()
            .map(|c| (*c, Vec::new()))
            .collect();
        for case in &self.cases {
            for lesson in &case.lessons {
                for cat in &lesson.categories {
                    map.entry(*cat)
                        .or_default()
                        .push(LessonRef { case, lesson });
                }
            }
        }
        map
    }
}

fn searchable_text(c: &Case) -> String {
    let mut parts: Vec<&str> = vec![&c.title.ja, &c.title.en, &c.overview.ja, &c.overview.en];
    for l in &c.lessons {
        parts.push(&l.text.ja);
        parts.push(&l.text.en);
    }
    normalise(&parts.join("\n"))
}

/// Lower case, with full-width ASCII folded to half-width (so "ＥＤＲ" finds "EDR").
fn normalise(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}
