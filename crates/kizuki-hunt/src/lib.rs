//! Kizuki's hunting engine: Sigma rules (with correlations) and indicator sweeps over
//! Windows EVTX, JSON-lines and Suricata EVE logs.
//!
//! Rules are compiled once and indexed by the channel and event ids they can match, so each
//! event is checked only against the rules that could fire on it. Files are read in
//! parallel, large EVTX files chunk by chunk in parallel, and hits are written as they come,
//! so memory stays bounded whatever the input size.
//!
//! ```no_run
//! use kizuki_hunt::{Hunter, LoadOptions, RuleSet, ScanOptions};
//! let opts = LoadOptions::new().unwrap_or_else(|e| panic!("{e}"));
//! let rules = RuleSet::load(&["rules/".into()], &opts);
//! let hunter = Hunter { rules, iocs: None };
//! let res = hunter.scan_collect(&["logs/".into()], &ScanOptions::default());
//! ```

pub mod event;
pub mod input;
pub mod ioc;
pub mod output;
pub mod scan;
pub mod sigma;
pub mod time;
pub mod timeline;

pub use output::{
    FirstSighting, Format, Hit, HitKind, HitWriter, HuntOutcome, IndicatorKind, Summary,
};
pub use scan::{Hunter, ScanOptions, ScanResult};
pub use sigma::fieldmap::FieldMap;
pub use sigma::{Level, LoadError, LoadOptions, RuleMeta, RuleSet};
