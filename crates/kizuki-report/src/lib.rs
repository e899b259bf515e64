//! The after-action report, in the shape the NISC 2022 study uses for every case.
//!
//! Why a separate, pure crate: a review is only worth writing if it is written the same
//! way every time, so that one organisation's incidents can be compared with each other
//! and with the study's ten cases. The study's shape (who it is for, what happened, a
//! three-lane timeline by Day N, the technical cause *and* the organisational cause
//! behind it, what limited the damage, lessons filed under the appendix's categories,
//! and what is still open) is therefore fixed here, once, away from HTTP and storage, so
//! that the server, a CLI and tests all produce the same document from the same inputs.
//!
//! Two rules shape the design:
//!
//! - **Ask, never invent.** An incident rarely holds a root cause or lessons when the
//!   review starts. Every empty section is listed in [`AfterActionReport::missing`] and
//!   rendered as "not yet recorded", so the report doubles as the review's to-do list and
//!   never pads a gap with plausible text.
//! - **Figures come from the timeline only.** Time to detect, acknowledge, contain and
//!   recover are read from entry kinds (see [`figures`]), and are "unknown" when the
//!   timeline has no entry to mark them, rather than guessed from the incident's phase.
//!
//! Day-N labels and holiday marks are the domain's ([`kizuki_domain::timeline::day_label`]),
//! so a report reads exactly like the live timeline. The HTML carries no inline script or
//! style, because the server's Content-Security-Policy forbids both.
//!
//! All three renderers (Markdown, HTML, [`pdf`]) follow one reading order, so they cannot
//! disagree about what a report contains. The PDF is typeset in the process by typst,
//! with a fixed template and a font compiled into the binary: nothing is fetched, no
//! system font is consulted, and the same report gives the same bytes everywhere. User
//! text never becomes typst source: the report is handed to the template as JSON in a
//! virtual file and placed as text, because escaping typst markup by hand is one missed
//! character away from letting an incident title run code in the typesetter.

pub mod figures;
pub mod html;
pub mod markdown;
mod model;
pub mod pdf;
mod text;
mod walk;

pub use figures::{Figure, Figures, Marker};
pub use model::{
    AfterActionReport, CauseAnalysis, CellItem, DecisionSummary, ReaderLevel, ReportInput,
    ReviewFields, ReviewLesson, Section, TaskSummary, TimelineRow, TimelineTable, action_line,
    build,
};
