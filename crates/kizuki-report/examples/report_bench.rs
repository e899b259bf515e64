//! Times after-action report generation for a large synthetic incident.
//!
//! Run in release: `cargo run --release -p kizuki-report --example report_bench -- [RUNS] [OUT_DIR]`;
//! with `OUT_DIR`, the two PDFs are written there (`report-ja.pdf`, `report-en.pdf`) to look at.
//!
//! The incident has 1,000 timeline entries in the study's three lanes over 30 days,
//! with lessons, causes and decisions filled in, in Japanese and in English. The first
//! PDF render is reported on its own because it also parses the embedded font and
//! builds typst's library; the server pays that once per process.
//!
//! typst memoises layout, so re-rendering an unchanged report is much cheaper than
//! rendering a new one. "PDF" below is the honest figure: typst's cache is emptied
//! before every run, as if each run were a different incident. "PDF again" re-renders
//! the same report with the cache kept (a user downloading the report twice).

use std::time::{Duration, Instant};

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::decision::{Decision, DecisionOption};
use kizuki_domain::incident::{Category, DetectionSource, Impact, Incident, Phase, StartBasis};
use kizuki_domain::settings::{Language, OrgSettings};
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimePrecision, TimelineEntry};
use kizuki_reference::LessonCategory;
use kizuki_report::{
    CauseAnalysis, ReaderLevel, ReportInput, ReviewFields, ReviewLesson, build, html, markdown, pdf,
};

const ENTRIES: i64 = 1_000;
const DAYS: i64 = 30;

/// A small deterministic generator, so every run measures the same incident.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let len = u64::try_from(items.len()).unwrap_or(1).max(1);
        let i = usize::try_from(self.next() % len).unwrap_or(0);
        items.get(i).copied().unwrap_or("")
    }
}

const JA: [&str; 6] = [
    "ファイルサーバの暗号化を確認し、該当セグメントをネットワークから切り離した",
    "EDRのアラートを受けて端末のログを保全",
    "経営層へ状況を報告し、対外公表の方針を協議した。次回は18時に再報告",
    "バックアップサーバの健全性を確認（世代管理を含む）",
    "外部のセキュリティベンダーと調査範囲を調整",
    "利用者への連絡文案を作成し、広報と法務で確認",
];
const EN: [&str; 6] = [
    "Confirmed file-server encryption and cut the segment off the network",
    "Preserved endpoint logs after the EDR alert",
    "Briefed the executives and agreed the disclosure approach; next update at 18:00",
    "Checked the backup server's health, including retained generations",
    "Agreed the investigation scope with the external security vendor",
    "Drafted the customer notice; PR and legal reviewed it",
];
const ACTORS: [&str; 5] = ["CSIRT", "情報システム部", "CISO", "広報", ""];

fn now() -> Timestamp {
    Timestamp::from_second(1_767_571_200).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn incident(lang: Language) -> Incident {
    let (title, summary) = match lang {
        Language::Ja => (
            "基幹システムのランサムウェア被害（ベンチマーク）",
            "VPN機器の脆弱性を突かれ、基幹システムが暗号化された。",
        ),
        Language::En => (
            "Ransomware in the core systems (benchmark)",
            "The VPN appliance was exploited and the core systems were encrypted.",
        ),
    };
    Incident {
        id: 1,
        title: title.to_owned(),
        summary: summary.to_owned(),
        category: Category::Ransomware,
        severity: 4,
        phase: Phase::PostIncident,
        detection_source: DetectionSource::Edr,
        start_date: date(2026, 1, 5),
        start_basis: StartBasis::Detection,
        aware_at: now(),
        affected_units: vec!["本社".to_owned(), "工場".to_owned()],
        affected_assets: vec!["fs01".to_owned(), "erp".to_owned()],
        impact: Impact {
            availability: true,
            confidentiality: true,
            notes: "業務停止 5 日間".to_owned(),
            ..Impact::default()
        },
        restricted: false,
        exercise: false,
        version: 1,
        created_by: None,
        created_at: now(),
        updated_at: now(),
    }
}

fn timeline(lang: Language) -> Vec<TimelineEntry> {
    let mut rng = Lcg(42);
    let lanes = [Lane::ManagementPr, Lane::CisoCsirt, Lane::ItBusiness];
    let kinds = [
        EntryKind::Detection,
        EntryKind::Analysis,
        EntryKind::Communication,
        EntryKind::Decision,
        EntryKind::Containment,
        EntryKind::Recovery,
        EntryKind::Other,
    ];
    let span_min = DAYS * 24 * 60;
    (0..ENTRIES)
        .map(|i| {
            // Spread over 30 days, a few minutes of jitter, never out of order by id.
            let minute = i * span_min / ENTRIES + i64::try_from(rng.next() % 20).unwrap_or(0);
            let lane = lanes[usize::try_from(rng.next() % 3).unwrap_or(0)];
            let kind = if i == 5 {
                EntryKind::Detection
            } else {
                kinds[1 + usize::try_from(rng.next() % 6).unwrap_or(0)]
            };
            let text = match lang {
                Language::Ja => rng.pick(&JA),
                Language::En => rng.pick(&EN),
            };
            TimelineEntry {
                id: i + 1,
                incident_id: 1,
                occurred_at: now() + SignedDuration::from_mins(minute),
                precision: TimePrecision::Minute,
                day_part: None,
                lane,
                actor: rng.pick(&ACTORS).to_owned(),
                kind,
                text: format!("{text} #{i}"),
                source: EntrySource::Manual,
                created_by: None,
                created_at: now(),
            }
        })
        .collect()
}

fn review(lang: Language) -> ReviewFields {
    let pick = |ja: &str, en: &str| match lang {
        Language::Ja => ja.to_owned(),
        Language::En => en.to_owned(),
    };
    ReviewFields {
        reader_level: Some(ReaderLevel::Advanced),
        organisation_profile: pick("製造業、従業員 3,000 名", "Manufacturer, 3,000 staff"),
        main_cause: pick("VPN機器の脆弱性", "VPN appliance vulnerability"),
        situation: pick(
            "週末に暗号化が始まった。",
            "Encryption started at the weekend.",
        ),
        background: pick("パッチ適用が遅れていた。", "Patching lagged behind."),
        causes: vec![CauseAnalysis {
            technical: pick("未修正の脆弱性", "Unpatched vulnerability"),
            organisational: pick("資産管理の不備", "No asset inventory"),
        }],
        damage_limiters: vec![pick("オフラインバックアップ", "Offline backups")],
        lessons: (0..12)
            .map(|i| ReviewLesson {
                text: pick(&format!("気付き {i}"), &format!("Lesson {i}")),
                categories: vec![LessonCategory::BusinessRecovery],
                action: pick(&format!("取組み {i}"), &format!("Action {i}")),
            })
            .collect(),
        challenges: vec![pick("監視体制の強化", "Stronger monitoring")],
    }
}

fn decisions() -> Vec<Decision> {
    (0..5)
        .map(|i| Decision {
            id: i + 1,
            incident_id: 1,
            question: format!("Decision {i}"),
            options: vec![DecisionOption {
                label: "Isolate".to_owned(),
                scenario: String::new(),
            }],
            chosen: Some(0),
            decided_by: "CISO".to_owned(),
            decided_at: None,
            rationale: "Limit the spread".to_owned(),
            decide_by: None,
            created_at: now(),
        })
        .collect()
}

/// Median and 95th percentile, in milliseconds.
fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let last = samples.len().saturating_sub(1);
        // Nearest rank; the sample counts here are small.
        let i = ((q * samples.len() as f64).ceil() as usize).clamp(1, last + 1) - 1;
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    (at(0.5), at(0.95))
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10)
        .max(1);
    let out_dir = std::env::args().nth(2).map(std::path::PathBuf::from);
    println!(
        "after-action report: {ENTRIES} timeline entries, 3 lanes, {DAYS} days; {runs} runs each"
    );
    println!(
        "lang | rows | build median/p95 ms | HTML median/p95 ms | Markdown median/p95 ms | PDF first ms | PDF median/p95 ms | PDF again median/p95 ms | PDF bytes"
    );
    for lang in [Language::Ja, Language::En] {
        let incident = incident(lang);
        let timeline = timeline(lang);
        let decisions = decisions();
        let review = review(lang);
        let settings = OrgSettings::default();
        let input = ReportInput {
            incident: &incident,
            timeline: &timeline,
            decisions: &decisions,
            tasks: &[],
            review: Some(&review),
        };

        let mut build_t = Vec::new();
        let mut html_t = Vec::new();
        let mut md_t = Vec::new();
        let mut pdf_t = Vec::new();
        let mut again_t = Vec::new();
        let (report, _) = time(|| build(&input, &settings, lang));
        let (first, first_t) = time(|| pdf::render(&report));
        let first = first?;
        let mut size = first.len();
        if let Some(dir) = &out_dir {
            std::fs::write(dir.join(format!("report-{}.pdf", lang.as_str())), &first)?;
        }
        for _ in 0..runs {
            let (r, t) = time(|| build(&input, &settings, lang));
            build_t.push(t);
            let (page, t) = time(|| html::render(&r));
            html_t.push(t);
            let (md, t) = time(|| markdown::render(&r));
            md_t.push(t);
            typst::comemo::evict(0);
            let (bytes, t) = time(|| pdf::render(&r));
            pdf_t.push(t);
            let bytes = bytes?;
            let (again, t) = time(|| pdf::render(&r));
            again_t.push(t);
            if again? != bytes {
                return Err("the PDF changed between two renders of the same report".into());
            }
            if bytes != first {
                return Err("the PDF changed between two renders of the same report".into());
            }
            size = bytes.len();
            std::hint::black_box((page, md));
        }
        let (bm, bp) = stats(build_t);
        let (hm, hp) = stats(html_t);
        let (mm, mp) = stats(md_t);
        let (pm, pp) = stats(pdf_t);
        let (am, ap) = stats(again_t);
        println!(
            "{} | {} | {bm:.1} / {bp:.1} | {hm:.1} / {hp:.1} | {mm:.1} / {mp:.1} | {:.0} | {pm:.0} / {pp:.0} | {am:.0} / {ap:.0} | {size}",
            lang.as_str(),
            report.timeline.rows.len(),
            first_t.as_secs_f64() * 1000.0,
        );
    }
    Ok(())
}
