//! The exercise report, in Japanese or English, as Markdown or HTML.
//!
//! Both renderings walk one list of blocks so they always say the same thing. The HTML
//! carries class names only (no inline script or style, which the server's
//! Content-Security-Policy forbids), and every piece of text — fixed wording included — is
//! escaped on the way out.

use kizuki_domain::exercise::ExerciseSource;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::Lane;

use crate::compare::{Comparison, MatchedBy, Milestone, Moment, TaskOutcome, TaskVerdict, Verdict};
use crate::label::{Pair, case_time_label, format_delta, format_minutes, t};
use crate::script::{ScriptTiming, order_only_note};

const TITLE: Pair = ("演習報告書", "Exercise report");
const NOT_INCIDENT: Pair = (
    "これは机上演習の記録であり、実際のインシデントではありません。インシデントの件数や指標には含めません。",
    "This is a tabletop exercise, not a real incident; it is left out of incident counts and metrics.",
);
const SOURCE: Pair = ("題材", "Based on");
const OPENED: Pair = ("開始時点", "Opened at");
const ENDED: Pair = ("終了時点", "Ended at");
const INJECTS: Pair = ("出された注入", "Injects released");
const ACTIONS: Pair = ("記録された対応", "Actions recorded");
const AFTER_END: Pair = ("終了後の記録（対象外）", "Dated after the end (left out)");
const TIMES: Pair = ("対応の所要時間", "Response times");
const TIMES_NOTE: Pair = (
    "時間は元の事例の「検知」の注入から数えます。エスカレーション＝検知以降、経営・広報またはCISO・CSIRTの列で最初の「連絡」か「判断」。元の事例の時刻が日や週までしか分からない場合、その範囲内なら「同じ」とします。",
    "Times count from the original's detection inject. Escalation = the first communication or decision in the management & PR or CISO & CSIRT lane from detection on. Where the original is known only to the day or week, anything inside that period counts as the same time.",
);
const MILESTONE: Pair = ("項目", "Milestone");
const ORIGINAL: Pair = ("元の事例", "Original");
const EXERCISE: Pair = ("演習", "Exercise");
const DIFFERENCE: Pair = ("差", "Difference");
const VERDICT: Pair = ("判定", "Verdict");
const DECISIONS: Pair = ("意思決定", "Decisions");
const DECISION: Pair = ("判断", "Decision");
const LANE: Pair = ("列", "Lane");
const ANY_LANE: Pair = ("（列の指定なし）", "(any lane)");
const NO_DECISIONS: Pair = (
    "元の事例に比較できる意思決定はありません。",
    "The original has no decision to compare with.",
);
const UNPLACED: Pair = (
    "時期が特定できないため比較していない意思決定（議論用）",
    "Decisions the original does not place in time (for discussion, not compared)",
);
const MATCHED_NAMED: Pair = ("参加者が指定", "named by the participants");
const MATCHED_LANE: Pair = ("同じ列の最初の判断", "first decision in the lane");
const MATCHED_ANY: Pair = ("最初の判断", "first decision");
const TASKS: Pair = ("プレイブックのタスク", "Playbook tasks");
const NO_TASKS: Pair = ("タスクはありません。", "No tasks.");
const TASK: Pair = ("タスク", "Task");
const DUE: Pair = ("期限", "Due");
const DONE_AT: Pair = ("完了", "Done");
const TASK_SUMMARY: Pair = ("内訳", "Summary");
const LANES: Pair = ("列ごとの対応数", "Actions per lane");
const ACTION_COUNT: Pair = ("対応", "Actions");
const DECISION_COUNT: Pair = ("うち判断", "Of which decisions");
const NOTE: Pair = ("注記", "Note");
const NONE: Pair = ("—", "—");

fn milestone_name(m: Milestone, lang: Language) -> &'static str {
    t(
        lang,
        match m {
            Milestone::Detection => ("検知", "Detection"),
            Milestone::Escalation => ("エスカレーション", "Escalation"),
            Milestone::Containment => ("封じ込め", "Containment"),
            Milestone::Recovery => ("復旧", "Recovery"),
        },
    )
}

fn verdict_name(v: Verdict, lang: Language) -> &'static str {
    t(
        lang,
        match v {
            Verdict::Earlier => ("元より早い", "earlier than the original"),
            Verdict::Same => ("元と同じ", "same as the original"),
            Verdict::Later => ("元より遅い", "later than the original"),
            Verdict::NotTaken => ("実施されず", "not taken"),
            Verdict::NoOriginal => ("元の事例に記録なし", "not in the original"),
            Verdict::Unknown => (
                "判定不能（元の時刻が不明）",
                "cannot tell (original time unknown)",
            ),
        },
    )
}

fn task_verdict_name(v: TaskVerdict, lang: Language) -> &'static str {
    t(
        lang,
        match v {
            TaskVerdict::OnTime => ("期限内に完了", "done on time"),
            TaskVerdict::Late => ("期限後に完了", "done late"),
            TaskVerdict::DoneUntimed => ("完了（時刻不明）", "done (time not recorded)"),
            TaskVerdict::Missed => ("未実施", "missed"),
            TaskVerdict::Skipped => ("省略", "skipped"),
        },
    )
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Earlier => "verdict-earlier",
        Verdict::Same => "verdict-same",
        Verdict::Later => "verdict-later",
        Verdict::NotTaken => "verdict-not-taken",
        Verdict::NoOriginal => "verdict-no-original",
        Verdict::Unknown => "verdict-unknown",
    }
}

/// What the report says, before it is written out in one format.
enum Block {
    Heading(u8, String),
    Para(&'static str, String),
    Pairs(Vec<(String, String)>),
    List(&'static str, Vec<String>),
    Table {
        class: &'static str,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

fn title(c: &Comparison, lang: Language) -> String {
    match lang {
        Language::Ja => format!("{}：{}", t(lang, TITLE), c.title),
        Language::En => format!("{}: {}", t(lang, TITLE), c.title),
    }
}

fn moment_text(m: Option<&Moment>, lang: Language) -> String {
    match m {
        Some(m) if m.text.is_empty() => m.label(lang).to_owned(),
        Some(m) => format!("{} — {}", m.label(lang), m.text),
        None => t(lang, NONE).to_owned(),
    }
}

fn delta_text(d: Option<i64>, lang: Language) -> String {
    d.map_or_else(|| t(lang, NONE).to_owned(), |d| format_delta(d, lang))
}

fn source_text(s: ExerciseSource, lang: Language) -> String {
    match (s, lang) {
        (ExerciseSource::ReferenceCase { number }, Language::Ja) => {
            format!("NISC事例集 ケース{number}")
        }
        (ExerciseSource::ReferenceCase { number }, Language::En) => {
            format!("NISC study, case {number}")
        }
        (ExerciseSource::Incident { incident_id }, Language::Ja) => {
            format!("過去のインシデント #{incident_id}")
        }
        (ExerciseSource::Incident { incident_id }, Language::En) => {
            format!("Past incident #{incident_id}")
        }
    }
}

fn lane_text(l: Option<Lane>, lang: Language) -> String {
    l.map_or_else(
        || t(lang, ANY_LANE).to_owned(),
        |l| l.label(lang).to_owned(),
    )
}

fn task_line(o: &TaskOutcome, lang: Language) -> Vec<String> {
    let due = o
        .due_offset_minutes
        .map_or_else(|| t(lang, NONE).to_owned(), |d| case_time_label(d, lang));
    let done = o
        .done_at_offset_minutes
        .map_or_else(|| t(lang, NONE).to_owned(), |d| case_time_label(d, lang));
    let verdict = match o.late_by_minutes {
        Some(late) => format!(
            "{} ({})",
            task_verdict_name(o.verdict, lang),
            format_delta(late, lang)
        ),
        None => task_verdict_name(o.verdict, lang).to_owned(),
    };
    vec![
        o.title.clone(),
        o.lane.label(lang).to_owned(),
        due,
        done,
        verdict,
    ]
}

fn blocks(c: &Comparison, lang: Language) -> Vec<Block> {
    let mut out = vec![
        Block::Heading(1, title(c, lang)),
        Block::Para("exercise-notice", t(lang, NOT_INCIDENT).to_owned()),
        Block::Pairs(vec![
            (t(lang, SOURCE).to_owned(), source_text(c.source, lang)),
            (
                t(lang, OPENED).to_owned(),
                case_time_label(c.opening_offset_minutes, lang),
            ),
            (
                t(lang, ENDED).to_owned(),
                case_time_label(c.ended_at_offset_minutes, lang),
            ),
            (
                t(lang, INJECTS).to_owned(),
                format!("{} / {}", c.injects_released, c.injects_total),
            ),
            (t(lang, ACTIONS).to_owned(), c.actions_counted.to_string()),
        ]),
    ];
    if c.actions_after_end > 0
        && let Some(Block::Pairs(p)) = out.last_mut()
    {
        p.push((
            t(lang, AFTER_END).to_owned(),
            c.actions_after_end.to_string(),
        ));
    }
    if c.timing == ScriptTiming::OrderOnly {
        out.push(Block::Para("note", order_only_note(lang).to_owned()));
    }
    if let Some(n) = &c.note {
        out.push(Block::Para("note", format!("{}: {n}", t(lang, NOTE))));
    }

    out.push(Block::Heading(2, t(lang, TIMES).to_owned()));
    out.push(Block::Para("note", t(lang, TIMES_NOTE).to_owned()));
    let since = |m: Option<i64>| {
        m.map(|m| match lang {
            Language::Ja => format!("（検知から{}）", format_minutes(m, lang)),
            Language::En => format!(" ({} from detection)", format_minutes(m, lang)),
        })
    };
    out.push(Block::Table {
        class: "milestones",
        header: [MILESTONE, ORIGINAL, EXERCISE, DIFFERENCE, VERDICT]
            .iter()
            .map(|p| t(lang, *p).to_owned())
            .collect(),
        rows: c
            .milestones
            .iter()
            .map(|m| {
                vec![
                    milestone_name(m.milestone, lang).to_owned(),
                    format!(
                        "{}{}",
                        moment_text(m.original.as_ref(), lang),
                        since(m.original_since_detection).unwrap_or_default()
                    ),
                    format!(
                        "{}{}",
                        moment_text(m.exercise.as_ref(), lang),
                        since(m.exercise_since_detection).unwrap_or_default()
                    ),
                    delta_text(m.delta_minutes, lang),
                    verdict_name(m.verdict, lang).to_owned(),
                ]
            })
            .collect(),
    });

    out.push(Block::Heading(2, t(lang, DECISIONS).to_owned()));
    if c.decisions.is_empty() {
        out.push(Block::Para("missing", t(lang, NO_DECISIONS).to_owned()));
    } else {
        out.push(Block::Table {
            class: "decisions",
            header: [DECISION, LANE, ORIGINAL, EXERCISE, DIFFERENCE, VERDICT]
                .iter()
                .map(|p| t(lang, *p).to_owned())
                .collect(),
            rows: c
                .decisions
                .iter()
                .map(|d| {
                    let question = d
                        .question
                        .clone()
                        .unwrap_or_else(|| d.original.text.clone());
                    let exercise = match (&d.exercise, d.matched_by) {
                        (Some(e), Some(how)) => {
                            let how = t(
                                lang,
                                match how {
                                    MatchedBy::Named => MATCHED_NAMED,
                                    MatchedBy::Lane => MATCHED_LANE,
                                    MatchedBy::AnyLane => MATCHED_ANY,
                                },
                            );
                            format!("{} ({how})", moment_text(Some(e), lang))
                        }
                        (e, _) => moment_text(e.as_ref(), lang),
                    };
                    vec![
                        format!("#{} {question}", d.point),
                        lane_text(d.lane, lang),
                        // Without a question the first column already says what was decided.
                        if d.question.is_some() {
                            moment_text(Some(&d.original), lang)
                        } else {
                            d.original.label(lang).to_owned()
                        },
                        exercise,
                        delta_text(d.delta_minutes, lang),
                        verdict_name(d.verdict, lang).to_owned(),
                    ]
                })
                .collect(),
        });
    }
    if !c.unplaced_decisions.is_empty() {
        out.push(Block::Para("note", t(lang, UNPLACED).to_owned()));
        out.push(Block::List(
            "unplaced-decisions",
            c.unplaced_decisions
                .iter()
                .map(|u| format!("{} — {}", u.question, u.original))
                .collect(),
        ));
    }

    out.push(Block::Heading(2, t(lang, TASKS).to_owned()));
    if c.tasks.is_empty() {
        out.push(Block::Para("missing", t(lang, NO_TASKS).to_owned()));
    } else {
        let summary: Vec<String> = [
            TaskVerdict::Missed,
            TaskVerdict::Late,
            TaskVerdict::OnTime,
            TaskVerdict::DoneUntimed,
            TaskVerdict::Skipped,
        ]
        .iter()
        .map(|v| (v, c.tasks_with(*v).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(v, n)| format!("{}: {n}", task_verdict_name(*v, lang)))
        .collect();
        out.push(Block::Pairs(vec![(
            t(lang, TASK_SUMMARY).to_owned(),
            summary.join(", "),
        )]));
        // Missed and late first: they are what the debrief is for.
        let mut ordered: Vec<&TaskOutcome> = c.tasks.iter().collect();
        ordered.sort_by_key(|o| match o.verdict {
            TaskVerdict::Missed => 0,
            TaskVerdict::Late => 1,
            _ => 2,
        });
        out.push(Block::Table {
            class: "tasks",
            header: [TASK, LANE, DUE, DONE_AT, VERDICT]
                .iter()
                .map(|p| t(lang, *p).to_owned())
                .collect(),
            rows: ordered.into_iter().map(|o| task_line(o, lang)).collect(),
        });
    }

    out.push(Block::Heading(2, t(lang, LANES).to_owned()));
    out.push(Block::Table {
        class: "lanes",
        header: [LANE, ACTION_COUNT, DECISION_COUNT]
            .iter()
            .map(|p| t(lang, *p).to_owned())
            .collect(),
        rows: c
            .lanes
            .iter()
            .map(|l| {
                vec![
                    l.lane.label(lang).to_owned(),
                    l.actions.to_string(),
                    l.decisions.to_string(),
                ]
            })
            .collect(),
    });
    out
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Keeps participant text from becoming Markdown (or raw HTML, which Markdown passes on).
fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The report as Markdown (CommonMark with GitHub-style tables).
pub fn markdown(c: &Comparison, lang: Language) -> String {
    let mut md = String::new();
    for b in blocks(c, lang) {
        match b {
            Block::Heading(level, text) => {
                md.push_str(&"#".repeat(usize::from(level)));
                md.push(' ');
                md.push_str(&escape_md(&text));
                md.push_str("\n\n");
            }
            Block::Para(_, text) => {
                md.push_str(&escape_md(&text));
                md.push_str("\n\n");
            }
            Block::Pairs(pairs) => {
                for (k, v) in pairs {
                    md.push_str(&format!("- **{}**: {}\n", escape_md(&k), escape_md(&v)));
                }
                md.push('\n');
            }
            Block::List(_, items) => {
                for i in items {
                    md.push_str(&format!("- {}\n", escape_md(&i)));
                }
                md.push('\n');
            }
            Block::Table { header, rows, .. } => {
                let head: Vec<String> = header.iter().map(|h| escape_md(h)).collect();
                md.push_str(&format!("| {} |\n", head.join(" | ")));
                md.push_str(&format!("|{}\n", "---|".repeat(header.len())));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(|c| escape_md(c)).collect();
                    md.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                md.push('\n');
            }
        }
    }
    md
}

/// The report as an `<article>`, for embedding in a page.
pub fn html_fragment(c: &Comparison, lang: Language) -> String {
    let mut h = String::from("<article class=\"exercise-report\">\n");
    // The verdict column gets a class per row so the stylesheet can colour it.
    let verdict_classes: Vec<&'static str> = c
        .milestones
        .iter()
        .map(|m| verdict_class(m.verdict))
        .collect();
    let decision_classes: Vec<&'static str> = c
        .decisions
        .iter()
        .map(|d| verdict_class(d.verdict))
        .collect();
    for b in blocks(c, lang) {
        match b {
            Block::Heading(level, text) => {
                h.push_str(&format!("<h{level}>{}</h{level}>\n", escape_html(&text)));
            }
            Block::Para(class, text) => {
                h.push_str(&format!(
                    "<p class=\"{class}\">{}</p>\n",
                    escape_html(&text)
                ));
            }
            Block::Pairs(pairs) => {
                h.push_str("<dl class=\"facts\">\n");
                for (k, v) in pairs {
                    h.push_str(&format!(
                        "<dt>{}</dt><dd>{}</dd>\n",
                        escape_html(&k),
                        escape_html(&v)
                    ));
                }
                h.push_str("</dl>\n");
            }
            Block::List(class, items) => {
                h.push_str(&format!("<ul class=\"{class}\">\n"));
                for i in items {
                    h.push_str(&format!("<li>{}</li>\n", escape_html(&i)));
                }
                h.push_str("</ul>\n");
            }
            Block::Table {
                class,
                header,
                rows,
            } => {
                h.push_str(&format!("<table class=\"{class}\">\n<thead><tr>"));
                for cell in &header {
                    h.push_str(&format!("<th>{}</th>", escape_html(cell)));
                }
                h.push_str("</tr></thead>\n<tbody>\n");
                let classes: &[&str] = match class {
                    "milestones" => &verdict_classes,
                    "decisions" => &decision_classes,
                    _ => &[],
                };
                for (i, row) in rows.iter().enumerate() {
                    match classes.get(i) {
                        Some(c) => h.push_str(&format!("<tr class=\"{c}\">")),
                        None => h.push_str("<tr>"),
                    }
                    for cell in row {
                        h.push_str(&format!("<td>{}</td>", escape_html(cell)));
                    }
                    h.push_str("</tr>\n");
                }
                h.push_str("</tbody>\n</table>\n");
            }
        }
    }
    h.push_str("</article>\n");
    h
}

/// The report as a self-contained HTML document.
pub fn html(c: &Comparison, lang: Language) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n</head>\n<body>\n{}</body>\n</html>\n",
        lang.as_str(),
        escape_html(&title(c, lang)),
        html_fragment(c, lang)
    )
}
