//! Fixed wording of the report, in both languages.

use kizuki_domain::settings::Language;

use crate::model::{ReaderLevel, Section};

/// A (ja, en) pair.
pub(crate) type Pair = (&'static str, &'static str);

pub(crate) fn t(lang: Language, p: Pair) -> &'static str {
    match lang {
        Language::Ja => p.0,
        Language::En => p.1,
    }
}

pub(crate) mod fact {
    use super::Pair;
    pub(crate) const CATEGORY: Pair = ("分類", "Category");
    pub(crate) const SEVERITY: Pair = ("深刻度", "Severity");
    pub(crate) const PHASE: Pair = ("フェーズ", "Phase");
    pub(crate) const DETECTION_SOURCE: Pair = ("検知の経路", "Detected by");
    pub(crate) const START_DATE: Pair = ("1日目", "Day 1");
    pub(crate) const START_BASIS: Pair = ("1日目の基準", "Day 1 counts from");
    pub(crate) const AWARE_AT: Pair = ("認知日時", "Aware since");
    pub(crate) const UNITS: Pair = ("影響を受けた部門", "Affected units");
    pub(crate) const ASSETS: Pair = ("影響を受けた資産", "Affected assets");
}

pub(crate) mod impact {
    use super::Pair;
    pub(crate) const CONFIDENTIALITY: Pair = ("機密性の侵害", "Confidentiality breached");
    pub(crate) const INTEGRITY: Pair = ("完全性の侵害", "Integrity breached");
    pub(crate) const AVAILABILITY: Pair = ("可用性の侵害", "Availability lost");
    pub(crate) const UNAUTHORISED: Pair = ("不正の目的による行為", "Caused by an unauthorised act");
    pub(crate) const GDPR: Pair = (
        "EU居住者の個人データを含む",
        "EU residents' personal data involved",
    );
    pub(crate) const PERSONAL_DATA: Pair = (
        "個人データの漏えい等（おそれを含む）",
        "Personal data (possibly) affected",
    );
}

pub(crate) const REPORT: Pair = ("事後レビュー報告書", "After-action report");
pub(crate) const NOT_RECORDED: Pair = ("未記録", "not yet recorded");
pub(crate) const MISSING: Pair = ("未記録の項目", "Not yet recorded");
pub(crate) const MISSING_INTRO: Pair = (
    "次の項目はまだ記録されていません。推測で補わず、レビューで確認してください。",
    "These sections have no content yet. Ask for them in the review; do not guess.",
);
pub(crate) const FACTS: Pair = ("インシデントの記録", "Incident record");
pub(crate) const TIME: Pair = ("日時", "When");
pub(crate) const FIGURES: Pair = ("対応の所要時間", "Response figures");
pub(crate) const FIG_DETECT: Pair = (
    "検知までの時間（発生→検知）",
    "Time to detect (occurrence → detection)",
);
pub(crate) const FIG_ACK: Pair = (
    "対応開始までの時間（検知→初動）",
    "Time to acknowledge (detection → first response)",
);
pub(crate) const FIG_CONTAIN: Pair = (
    "封じ込めまでの時間（検知→封じ込め）",
    "Time to contain (detection → containment)",
);
pub(crate) const FIG_RECOVER: Pair = (
    "復旧までの時間（検知→復旧完了）",
    "Time to recover (detection → recovery done)",
);
pub(crate) const UNKNOWN: Pair = ("不明", "unknown");
pub(crate) const APPROX: Pair = ("約", "about ");
pub(crate) const NO_MARKER: Pair = (
    "タイムラインに該当する記録がありません",
    "the timeline has no entry marking it",
);
pub(crate) const FIGURES_NOTE: Pair = (
    "発生＝最初の検知記録より前の最初の記録、検知＝最初の「検知」記録、初動＝検知以降最初の「分析」「連絡」「判断」「封じ込め」記録、封じ込め＝検知以降最初の「封じ込め」記録、復旧完了＝検知以降最後の「復旧」記録。",
    "Occurrence = the earliest entry before the first detection entry; detection = the first detection entry; first response = the first analysis, communication, decision or containment entry after detection; containment = the first containment entry after detection; recovery done = the last recovery entry after detection.",
);
pub(crate) const DECISIONS: Pair = ("意思決定", "Decisions");
pub(crate) const UNDECIDED: Pair = ("未決定", "undecided");
pub(crate) const TASKS: Pair = ("タスク", "Tasks");
pub(crate) const TASKS_DONE: Pair = ("完了", "done");
pub(crate) const TASKS_SKIPPED: Pair = ("省略", "skipped");
pub(crate) const TASKS_OPEN: Pair = ("未完了", "open");
pub(crate) const TECHNICAL: Pair = ("技術的な原因", "Technical cause");
pub(crate) const ORGANISATIONAL: Pair = ("組織的な根本原因", "Organisational root cause");
pub(crate) const ACTION: Pair = ("取組み", "Action");
pub(crate) const HOLIDAY_NOTE: Pair = (
    "（休）は土日・祝日",
    "(holiday) marks a weekend or national holiday",
);

/// A figure as text: "about 3 h" / "unknown (…)".
pub(crate) fn figure(lang: Language, f: &crate::Figure) -> String {
    match f.seconds {
        Some(s) => {
            let d = crate::figures::format_duration(s, lang);
            if f.approximate {
                format!("{}{d}", t(lang, APPROX))
            } else {
                d
            }
        }
        None => format!("{} ({})", t(lang, UNKNOWN), t(lang, NO_MARKER)),
    }
}

pub(crate) fn reader_level(lang: Language, level: ReaderLevel) -> &'static str {
    match level {
        ReaderLevel::Basic => t(lang, ("基礎", "Basic")),
        ReaderLevel::Advanced => t(lang, ("応用", "Advanced")),
    }
}

pub(crate) fn section(lang: Language, s: Section) -> &'static str {
    let p: Pair = match s {
        Section::ReaderLevel => ("想定読者", "Intended reader"),
        Section::OrganisationProfile => ("組織の概要", "Organisation profile"),
        Section::MainCause => ("主な原因", "Main cause"),
        Section::Overview => ("概要", "Overview"),
        Section::Situation => ("状況", "Situation"),
        Section::Timeline => ("対応の時系列", "Timeline"),
        Section::Background => ("背景", "Background"),
        Section::Impact => ("影響", "Impact"),
        Section::TechnicalCause => ("技術的な原因", "Technical cause"),
        Section::RootCause => ("組織的な根本原因", "Root cause"),
        Section::DamageLimiters => ("被害を抑えた取組み", "Measures that limited the damage"),
        Section::Lessons => ("気付き", "Lessons"),
        Section::LessonActions => ("気付きに対する取組み", "Actions for the lessons"),
        Section::Challenges => ("残された課題", "Open challenges"),
    };
    t(lang, p)
}

/// "root cause: not yet recorded".
pub(crate) fn missing_line(lang: Language, s: Section) -> String {
    format!("{}: {}", section(lang, s), t(lang, NOT_RECORDED))
}
