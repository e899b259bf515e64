//! `kizuki library`: the reference library — the ten cases of the NISC 2022 study in
//! Kizuki's own words — browsed from the shell. It reads only the cases built into the
//! binary and never opens the database.

use std::process::ExitCode;

use kizuki_domain::incident::Category;
use kizuki_domain::settings::Language;
use kizuki_reference::{
    AttackVector, Case, LessonCategory, Library, OrganisationType, Query, TimelineItem,
};

/// Where the cases come from, credited the way `reference/README.md` credits the study.
const CREDIT_JA: &str = "出典：NISC（内閣サイバーセキュリティセンター）「サイバー攻撃を受けた組織における対応事例集（実事例における学びと気づきに関する調査研究）」（2022年4月、調査：みずほリサーチ&テクノロジーズ）。文章は Kizuki による要約です。";
const CREDIT_EN: &str = "Source: NISC (April 2022), 「サイバー攻撃を受けた組織における対応事例集（実事例における学びと気づきに関する調査研究）」 (research by Mizuho Research & Technologies), summarised in Kizuki's own words.";

#[derive(Debug, clap::Subcommand)]
pub enum LibraryCommand {
    /// List the cases, filtered like GET /api/v1/reference/cases.
    List {
        /// Words to find (case-insensitive) in either language of title, overview and lessons.
        #[arg(long, value_name = "TEXT")]
        q: Option<String>,
        /// Kizuki incident category, e.g. ransomware.
        #[arg(long)]
        category: Option<Category>,
        /// One of the study's lesson categories, e.g. business_recovery.
        #[arg(long)]
        lesson_category: Option<LessonCategory>,
        /// e.g. phishing_email, password_guessing.
        #[arg(long)]
        attack_vector: Option<AttackVector>,
        /// e.g. academic_research, manufacturer.
        #[arg(long)]
        organisation_type: Option<OrganisationType>,
        /// Language of the titles: ja or en (default: the configured language).
        #[arg(long)]
        lang: Option<Language>,
    },
    /// Show one case in full: profile, overview, timeline, causes, lessons.
    Show {
        /// Case number (1 to 10) or id (case-03).
        case: String,
        /// Language: ja or en (default: the configured language).
        #[arg(long)]
        lang: Option<Language>,
    },
}

/// Runs `kizuki library …`; `default_lang` is the configured language.
pub fn run(
    command: LibraryCommand,
    default_lang: Language,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let library = Library::builtin()
        .map_err(|e| anyhow::anyhow!("built-in reference cases are invalid:\n{e}"))?;
    match command {
        LibraryCommand::List {
            q,
            category,
            lesson_category,
            attack_vector,
            organisation_type,
            lang,
        } => {
            let query = Query {
                text: q.filter(|t| !t.trim().is_empty()),
                category,
                attack_vector,
                organisation_type,
                lesson_category,
            };
            let cases = library.search(&query);
            if json {
                let list: Vec<serde_json::Value> = cases.iter().copied().map(summary).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                list(&cases, lang.unwrap_or(default_lang));
            }
        }
        LibraryCommand::Show { case, lang } => {
            let Some(found) = library.case(&case) else {
                let numbers: Vec<String> = library
                    .cases()
                    .iter()
                    .map(|c| c.number.to_string())
                    .collect();
                anyhow::bail!(
                    "reference case {case} not found; the library has cases {}",
                    numbers.join(", ")
                );
            };
            if json {
                println!("{}", serde_json::to_string_pretty(found)?);
            } else {
                print!("{}", render(found, lang.unwrap_or(default_lang)));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A case in a result list, with the fields `GET /api/v1/reference/cases` returns.
fn summary(c: &Case) -> serde_json::Value {
    serde_json::json!({
        "id": c.id,
        "number": c.number,
        "title_ja": c.title.ja,
        "title_en": c.title.en,
        "category": c.category,
        "organisation_type": c.organisation_type.as_str(),
        "attack_vectors": c.attack_vectors.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "lessons": c.lessons.len(),
        "timeline_entries": c.timeline.len(),
    })
}

fn list(cases: &[&Case], lang: Language) {
    if cases.is_empty() {
        eprintln!(
            "{}",
            pick(lang, "条件に合う事例はありません", "no case matches")
        );
        return;
    }
    println!(
        "{:>3}  {:<24} {:<48} TITLE",
        "NO", "ORGANISATION TYPE", "ATTACK VECTORS"
    );
    for c in cases {
        let vectors: Vec<&str> = c.attack_vectors.iter().map(|v| v.as_str()).collect();
        println!(
            "{:>3}  {:<24} {:<48} {}",
            c.number,
            c.organisation_type.as_str(),
            vectors.join(","),
            c.title.get(lang)
        );
    }
}

fn pick<'a>(lang: Language, ja: &'a str, en: &'a str) -> &'a str {
    match lang {
        Language::Ja => ja,
        Language::En => en,
    }
}

/// The case as readable text.
fn render(c: &Case, lang: Language) -> String {
    let mut out = String::new();
    let h = |ja: &'static str, en: &'static str| pick(lang, ja, en);
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };

    line(match lang {
        Language::Ja => format!("ケース{}（{}）: {}", c.number, c.id, c.title.ja),
        Language::En => format!("Case {} ({}): {}", c.number, c.id, c.title.en),
    });
    line(format!(
        "{}: {} ({})",
        h("組織", "Organisation"),
        c.organisation_type.label(lang),
        c.organisation_type
    ));
    line(format!("{}: {}", h("カテゴリ", "Category"), c.category));
    let vectors: Vec<String> = c
        .attack_vectors
        .iter()
        .map(|v| format!("{} ({v})", v.label(lang)))
        .collect();
    line(format!(
        "{}: {}",
        h("攻撃の経路", "Attack vectors"),
        vectors.join("; ")
    ));
    line(format!(
        "{}: {}",
        h("1日目の基準", "Day 1 is"),
        c.start_basis.map_or(
            h("（日付の入った時系列なし）", "(no dated timeline)"),
            |b| b.label(lang)
        )
    ));

    let sections = [
        (h("概要", "Overview"), &c.overview),
        (h("経緯", "What happened"), &c.situation),
        (h("背景", "Background"), &c.background),
        (h("影響", "Impact"), &c.impact),
    ];
    for (title, text) in sections {
        line(String::new());
        line(format!("## {title}"));
        line(format!("  {}", text.get(lang)));
    }

    line(String::new());
    line(format!("## {}", h("時系列", "Timeline")));
    if let Some(note) = &c.timeline_note {
        line(format!("  {}", note.get(lang)));
    }
    if c.timeline.is_empty() {
        line(format!("  {}", h("（なし）", "(none)")));
    }
    for item in &c.timeline {
        line(format!(
            "  {:<26} {:<28} [{}] {}",
            when(item, lang),
            item.lane_label.get(lang),
            item.kind,
            item.text.get(lang)
        ));
    }

    line(String::new());
    line(format!("## {}", h("原因", "Causes")));
    for cause in &c.causes {
        line(format!("  - {}", cause.technical.get(lang)));
        line(format!(
            "    {}: {}",
            h("根本原因", "Root cause"),
            cause.organisational.get(lang)
        ));
    }

    if !c.damage_limiters.is_empty() {
        line(String::new());
        line(format!("## {}", h("被害を抑えたこと", "What helped")));
        for t in &c.damage_limiters {
            line(format!("  - {}", t.get(lang)));
        }
    }

    line(String::new());
    line(format!("## {}", h("気付きと取組み", "Lessons")));
    for category in LessonCategory::ALL {
        let lessons: Vec<&str> = c
            .lessons
            .iter()
            .filter(|l| l.categories.contains(category))
            .map(|l| l.text.get(lang))
            .collect();
        if lessons.is_empty() {
            continue;
        }
        line(format!("  {} ({category})", category.label(lang)));
        for l in lessons {
            line(format!("    - {l}"));
        }
    }

    if !c.challenges.is_empty() {
        line(String::new());
        line(format!("## {}", h("残る課題", "Open challenges")));
        for t in &c.challenges {
            line(format!("  - {}", t.get(lang)));
        }
    }

    if !c.decisions.is_empty() {
        line(String::new());
        line(format!("## {}", h("判断", "Decisions")));
        for d in &c.decisions {
            line(match &d.when {
                Some(w) => format!("  - {} ({})", d.question.get(lang), w.get(lang)),
                None => format!("  - {}", d.question.get(lang)),
            });
            for o in &d.options {
                let mark = if o.id == d.chosen { "*" } else { " " };
                line(format!("    {mark} {}", o.label.get(lang)));
                if let Some(s) = &o.scenario {
                    line(format!("        → {}", s.get(lang)));
                }
            }
            if let Some(by) = &d.by {
                line(format!(
                    "    {}: {}",
                    h("判断した人", "Decided by"),
                    by.get(lang)
                ));
            }
            if let Some(r) = &d.rationale {
                line(format!("    {}: {}", h("理由", "Why"), r.get(lang)));
            }
        }
    }

    line(String::new());
    line(pick(lang, CREDIT_JA, CREDIT_EN).to_owned());
    out
}

/// When an entry happened, labelled as the study labels it and as Kizuki's timeline does
/// ("Day 3 (holiday) 22:00", "11 days before", "Week 2", "3日目（休）22:00").
fn when(item: &TimelineItem, lang: Language) -> String {
    let ja = matches!(lang, Language::Ja);
    let plural = |n: u32| if n == 1 { "" } else { "s" };
    let mut label = if let Some(d) = item.day {
        if ja {
            format!("{d}日目")
        } else {
            format!("Day {d}")
        }
    } else if let Some(n) = item.day_before {
        if ja {
            format!("{n}日前")
        } else {
            format!("{n} day{} before", plural(n))
        }
    } else if let Some(w) = item.week {
        match (ja, item.week_or_later) {
            (true, false) => format!("{w}週目"),
            (true, true) => format!("{w}週目以降"),
            (false, false) => format!("Week {w}"),
            (false, true) => format!("Week {w} or later"),
        }
    } else if let Some(m) = item.month {
        if ja {
            format!("{m}か月目")
        } else {
            format!("Month {m}")
        }
    } else if let Some(m) = item.months_before_at_least {
        if ja {
            format!("{m}か月以上前")
        } else {
            format!("{m}+ month{} before", plural(m))
        }
    } else {
        return pick(lang, "（日時非公表）", "(date not given)").to_owned();
    };
    let rest = if item.holiday {
        pick(lang, "（休）", " (holiday)")
    } else {
        pick(lang, " ", "")
    };
    if let Some(t) = &item.time {
        // "7日目 8:30", as Kizuki's own timeline writes the hour.
        let t = t.strip_prefix('0').filter(|r| r.len() == 4).unwrap_or(t);
        label = format!("{label}{rest}{}{t}", if ja { "" } else { " " });
    } else if let Some(p) = item.day_part {
        label = format!(
            "{label}{rest}{}{}",
            if ja { "" } else { " " },
            p.label(lang)
        );
    } else if item.holiday {
        label.push_str(rest);
    }
    label
}
