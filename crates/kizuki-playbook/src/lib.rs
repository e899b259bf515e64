//! Kizuki's incident-response playbooks.
//!
//! A playbook is a data file (YAML, one per file) that lists, phase by phase, the tasks a
//! response team should create when an incident of a given category is confirmed. Every task
//! is owned by one of the study's lanes, carries a bilingual checklist, a due offset counted
//! from the incident's start date (Day 1, 00:00 local) or from when the playbook was applied,
//! and the lesson of the NISC case study that motivates it.
//!
//! * [`parse`] and [`validate_file`] read one file strictly: unknown fields, wrong types and
//!   semantic mistakes are all reported with file, line, column and field path.
//! * [`Library`] holds the built-in playbooks (embedded in the binary) merged with a user
//!   directory, where a higher version of the same id wins.
//! * [`Playbook::plan`] turns a playbook into the [`NewTask`](kizuki_domain::task::NewTask)s
//!   to store for one incident.

mod error;
mod library;
mod model;
mod offset;
mod parse;

pub use error::{PlaybookError, PlaybookErrors};
pub use library::{BUILTIN_FILES, Library};
pub use model::{Due, DueFrom, Phase, Playbook, PlaybookTask, Text, Why};
pub use offset::{format_offset, parse_offset};
pub use parse::{CASE_RANGE, parse, validate_file};
