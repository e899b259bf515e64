//! Kizuki's reference library: the ten incident cases of the NISC 2022 study
//! 「サイバー攻撃を受けた組織における対応事例集」 as structured, bilingual data, summarised in
//! Kizuki's own words.
//!
//! - [`Library::builtin`] loads the ten files of `reference/` embedded in the binary;
//!   every error names file, line, column and field path (`file:line:col: path: message`).
//! - [`Library::search`] filters by free text, category, attack vector, organisation type
//!   and lesson category; [`Library::lessons_by_category`] files lessons under the study's
//!   appendix categories ([`LessonCategory`]).
//! - [`Case::timeline_entries`] turns a case's timeline into
//!   [`kizuki_domain::timeline::NewTimelineEntry`] values to replay the case.

pub mod library;
pub mod model;
pub mod parse;
pub mod timeline;
pub mod vocab;

pub use library::{BUILTIN_FILES, LessonRef, Library, Query};
pub use model::{Case, Cause, Decision, DecisionOption, Lesson, Text, TimelineItem};
pub use parse::{ReferenceError, ReferenceErrors, parse_case};
pub use vocab::{AttackVector, LessonCategory, OrganisationType, StartBasis, UnknownTerm};
