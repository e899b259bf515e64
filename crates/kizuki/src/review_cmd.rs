//! `kizuki report`, `kizuki exercise` and `kizuki actions`: the review and learning
//! commands. Thin: each calls the same function the API route calls, as the operator (who
//! sees every incident), and records what it did in the audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kizuki_domain::exercise::ExerciseSource;
use kizuki_domain::review::{ActionQuery, Reminder};
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{EntryKind, Lane};
use kizuki_server::AppState;
use kizuki_server::api::exercises::{self, ExerciseReportFormat, RecordAction, StartExercise};
use kizuki_server::api::review::{self, ReportFormat};

use crate::config::FileConfig;
use crate::security_cmd;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The incident to report on.
    pub incident: i64,
    /// html, md or pdf (json gives the report model).
    #[arg(long, default_value = "html")]
    pub format: String,
    /// ja or en (default: the configured language).
    #[arg(long)]
    pub lang: Option<Language>,
    /// Write here instead of standard output (a PDF needs a file).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum ExerciseCommand {
    /// Start a tabletop exercise from a reference case or a past incident.
    Start {
        /// Reference case number (1–10).
        #[arg(
            long,
            conflicts_with = "incident",
            required_unless_present = "incident"
        )]
        case: Option<u8>,
        /// A past incident to replay.
        #[arg(long)]
        incident: Option<i64>,
        /// Case minutes per real minute (default 60).
        #[arg(long)]
        speed: Option<u32>,
        /// Language of the case's injects.
        #[arg(long)]
        lang: Option<Language>,
        /// Playbook to apply (default: the first for the category; "" for none).
        #[arg(long)]
        playbook: Option<String>,
    },
    /// List exercises.
    List,
    /// Show an exercise: case time, released injects, open decision points.
    Show { exercise: i64 },
    /// Jump the clock to the next inject.
    Advance { exercise: i64 },
    /// Record a participant's action or decision at the current case time.
    Act {
        exercise: i64,
        #[arg(long)]
        lane: Lane,
        #[arg(long)]
        kind: EntryKind,
        #[arg(long)]
        text: String,
        #[arg(long)]
        actor: Option<String>,
        /// The decision point this decision answers.
        #[arg(long)]
        decision_point: Option<usize>,
    },
    /// End the exercise and print the comparison report.
    End {
        exercise: i64,
        /// ja or en.
        #[arg(long)]
        lang: Option<Language>,
    },
    /// The comparison report (a preview while the exercise runs).
    Report {
        exercise: i64,
        /// html, md or json.
        #[arg(long, default_value = "md")]
        format: String,
        #[arg(long)]
        lang: Option<Language>,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ActionsCommand {
    /// Corrective actions, by due date.
    List {
        /// Only open and in-progress actions.
        #[arg(long)]
        open: bool,
        /// Only those needing a reminder today (due within 7 days, or overdue).
        #[arg(long)]
        reminders: bool,
    },
}

fn api_err(e: kizuki_server::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.problem().detail)
}

fn parse_report_format(raw: &str) -> anyhow::Result<ReportFormat> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| anyhow::anyhow!("--format must be html, md, pdf or json (got `{raw}`)"))
}

fn parse_exercise_format(raw: &str) -> anyhow::Result<ExerciseReportFormat> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| anyhow::anyhow!("--format must be html, md or json (got `{raw}`)"))
}

fn write_out(body: &[u8], output: Option<&PathBuf>, what: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{what} written to {}", path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(body)?;
        }
    }
    Ok(())
}

/// `kizuki report ID --format … --lang … --output …`.
pub async fn report(
    state: &AppState,
    file: &FileConfig,
    database: &str,
    args: ReportArgs,
) -> anyhow::Result<ExitCode> {
    let format = parse_report_format(&args.format)?;
    if format == ReportFormat::Pdf && args.output.is_none() {
        anyhow::bail!("a PDF needs --output FILE; it is not written to a terminal");
    }
    let lang = args.lang.unwrap_or(state.settings.language);
    let model = review::build_report(state, args.incident, lang)
        .await
        .map_err(api_err)?;
    let (body, _, ext) = review::render_report(model, format)
        .await
        .map_err(api_err)?;
    // A copy of the incident is leaving Kizuki: the audit log says who took it.
    security_cmd::audit(
        state.store.as_ref(),
        file,
        database,
        "report.incident",
        format!("/api/v1/incidents/{}/report", args.incident),
        serde_json::json!({ "via": "cli", "format": ext, "lang": lang,
            "to": args.output.as_ref().map(|p| p.display().to_string()) }),
    )
    .await?;
    write_out(&body, args.output.as_ref(), "report")?;
    Ok(ExitCode::SUCCESS)
}

/// `kizuki exercise …`.
pub async fn exercise(
    state: &AppState,
    file: &FileConfig,
    database: &str,
    json: bool,
    command: ExerciseCommand,
) -> anyhow::Result<ExitCode> {
    let lang = state.settings.language;
    let print_view = |v: &exercises::ExerciseView| -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string_pretty(v)?);
            return Ok(());
        }
        println!(
            "exercise {} (incident {}): {} — {:?}, case time {}, {}/{} injects out",
            v.id,
            v.incident_id,
            v.title,
            v.state,
            v.case_time,
            v.released.len(),
            v.injects_total
        );
        for i in &v.released {
            println!("  [{}] {} {} — {}", i.label, i.lane, i.kind, i.text);
        }
        for p in &v.open_decision_points {
            println!(
                "  decision point {}: {} {}",
                p.index,
                p.label,
                p.question.as_deref().unwrap_or("")
            );
        }
        if let Some(n) = &v.next_inject {
            println!(
                "  next inject in {} s ({} case minutes)",
                n.wait_seconds, n.case_minutes_away
            );
        }
        Ok(())
    };
    let audit = |action: &'static str, id: String| {
        security_cmd::audit(
            state.store.as_ref(),
            file,
            database,
            action,
            id,
            serde_json::json!({ "via": "cli" }),
        )
    };
    match command {
        ExerciseCommand::Start {
            case,
            incident,
            speed,
            lang,
            playbook,
        } => {
            let source = match (case, incident) {
                (Some(number), _) => ExerciseSource::ReferenceCase { number },
                (None, Some(incident_id)) => ExerciseSource::Incident { incident_id },
                (None, None) => anyhow::bail!("give --case N or --incident ID"),
            };
            let view = exercises::start_exercise(
                state,
                None,
                StartExercise {
                    source,
                    speed,
                    lang,
                    playbook,
                },
            )
            .await
            .map_err(api_err)?;
            audit("exercise.start", format!("/api/v1/exercises/{}", view.id)).await?;
            print_view(&view)?;
        }
        ExerciseCommand::List => {
            let all = exercises::list_exercises(state, None, lang)
                .await
                .map_err(api_err)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for v in &all {
                    println!(
                        "{:>5}  {:<8?}  {:<14}  {}",
                        v.id, v.state, v.case_time, v.title
                    );
                }
            }
        }
        ExerciseCommand::Show { exercise } => {
            let view = exercises::show_exercise(state, None, exercise, lang)
                .await
                .map_err(api_err)?;
            print_view(&view)?;
        }
        ExerciseCommand::Advance { exercise } => {
            let view = exercises::advance_exercise(state, None, exercise, None)
                .await
                .map_err(api_err)?;
            audit("exercise.advance", format!("/api/v1/exercises/{exercise}")).await?;
            print_view(&view)?;
        }
        ExerciseCommand::Act {
            exercise,
            lane,
            kind,
            text,
            actor,
            decision_point,
        } => {
            let recorded = exercises::record_exercise_action(
                state,
                None,
                exercise,
                RecordAction {
                    lane,
                    kind,
                    text,
                    actor,
                    decision_point,
                },
            )
            .await
            .map_err(api_err)?;
            audit("exercise.act", format!("/api/v1/exercises/{exercise}")).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&recorded)?);
            } else {
                println!("recorded at {}", recorded.case_time);
            }
        }
        ExerciseCommand::End {
            exercise,
            lang: report_lang,
        } => {
            let outcome = exercises::end_exercise(state, None, exercise)
                .await
                .map_err(api_err)?;
            audit("exercise.end", format!("/api/v1/exercises/{exercise}")).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome)?);
            } else {
                print!(
                    "{}",
                    kizuki_exercise::report::markdown(&outcome, report_lang.unwrap_or(lang))
                );
            }
        }
        ExerciseCommand::Report {
            exercise,
            format,
            lang: report_lang,
            output,
        } => {
            let (body, _, _) = exercises::exercise_report(
                state,
                None,
                exercise,
                parse_exercise_format(&format)?,
                report_lang.unwrap_or(lang),
            )
            .await
            .map_err(api_err)?;
            write_out(&body, output.as_ref(), "exercise report")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `kizuki actions list`.
pub async fn actions(
    state: &AppState,
    json: bool,
    command: ActionsCommand,
) -> anyhow::Result<ExitCode> {
    let ActionsCommand::List { open, reminders } = command;
    let today = state
        .clock
        .now()
        .to_zoned_datetime(state.settings.time_zone.clone())
        .date();
    let list = state
        .store
        .list_corrective_actions(
            &ActionQuery {
                open_only: open || reminders,
                ..Default::default()
            },
            None,
        )
        .await?;
    let rows: Vec<_> = list
        .into_iter()
        .map(|a| {
            let r = a.reminder(today);
            (a, r)
        })
        .filter(|(_, r)| !reminders || *r != Reminder::None)
        .collect();
    if json {
        let out: Vec<_> = rows
            .iter()
            .map(|(a, r)| serde_json::json!({ "action": a, "reminder": r }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (a, r) in &rows {
        let note = match r {
            Reminder::None => String::new(),
            Reminder::DueSoon { days_left } => format!("  due in {days_left} d"),
            Reminder::Overdue { days_late } => format!("  OVERDUE by {days_late} d"),
        };
        println!(
            "{:>5}  {}  {:<11}  incident {:<5}  {}  ({}){note}",
            a.id, a.due_date, a.status, a.incident_id, a.title, a.owner
        );
    }
    Ok(ExitCode::SUCCESS)
}
