//! The `kizuki` binary: serves the web API and runs every administrator operation.
//! It is thin: parsing arguments, opening the store, printing results.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use kizuki_domain::clock::SystemClock;
use kizuki_domain::incident::{Category, IncidentFilter, NewIncident, Phase};
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, NewTimelineEntry};
use kizuki_server::AppState;

mod backup;
mod config;
mod hunt_cmd;
mod library_cmd;
mod notify_cmd;
mod review_cmd;
mod security_cmd;

use config::{DEFAULT_DATABASE_URL, FileConfig, open_store, redact_url};

#[derive(Debug, Parser)]
#[command(
    name = "kizuki",
    version,
    about = "Self-hosted incident response: from the first report to the lessons learned"
)]
struct Cli {
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "KIZUKI_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "KIZUKI_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database: String,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "KIZUKI_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// PEM certificate chain (leaf first); with --tls-key, serve HTTPS (overrides tls_cert).
        #[arg(long, env = "KIZUKI_TLS_CERT")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert (overrides tls_key).
        #[arg(long, env = "KIZUKI_TLS_KEY")]
        tls_key: Option<PathBuf>,
        /// Mail server for notifications: smtp://HOST[:PORT] (plain),
        /// smtp://USER:PASSWORD@HOST[:587]?tls=starttls (STARTTLS required) or
        /// smtps://USER:PASSWORD@HOST[:465] (implicit TLS); overrides smtp_url.
        #[arg(long, env = "KIZUKI_SMTP_URL", hide_env_values = true)]
        smtp_url: Option<config::Secret>,
        /// Sender of notification mail, e.g. "Kizuki <kizuki@example.jp>" (overrides smtp_from).
        #[arg(long, env = "KIZUKI_SMTP_FROM")]
        smtp_from: Option<String>,
        /// Address ranges webhooks may reach although private or loopback, comma-separated
        /// CIDRs, e.g. 10.0.5.20/32 (overrides webhook_allow).
        #[arg(long, env = "KIZUKI_WEBHOOK_ALLOW", value_delimiter = ',')]
        webhook_allow: Vec<String>,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: security_cmd::UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: security_cmd::TokenCommand,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: security_cmd::AuditCommand,
    },
    /// Open, list and show incidents.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Add timeline entries.
    Timeline {
        #[command(subcommand)]
        command: TimelineCommand,
    },
    /// List and validate playbooks.
    Playbook {
        #[command(subcommand)]
        command: PlaybookCommand,
    },
    /// Export data for archiving or offline use.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Hunt through event logs with Sigma rules and indicators.
    Hunt(hunt_cmd::HuntArgs),
    /// Generational backups: create, verify, restore (stop the server first), prune.
    Backup {
        #[command(subcommand)]
        command: backup::BackupCommand,
    },
    /// Browse the reference library: the study's ten cases
    Library {
        #[command(subcommand)]
        command: library_cmd::LibraryCommand,
    },
    /// The after-action report of an incident, in the study's shape (HTML, Markdown or PDF).
    Report(review_cmd::ReportArgs),
    /// Tabletop exercises: replay a reference case or a past incident.
    Exercise {
        #[command(subcommand)]
        command: review_cmd::ExerciseCommand,
    },
    /// Corrective actions from the lessons learned, with their reminders.
    Actions {
        #[command(subcommand)]
        command: review_cmd::ActionsCommand,
    },
    /// Notification rules, the escalation chain, message templates and webhook targets.
    Notify {
        #[command(subcommand)]
        command: notify_cmd::NotifyCommand,
    },
    /// On-call rotations: list, add, override, and who is on call now.
    Oncall {
        #[command(subcommand)]
        command: notify_cmd::OncallCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Bring the schema up to date (also done by `serve`).
    Migrate,
}

#[derive(Debug, Subcommand)]
enum IncidentCommand {
    /// Open an incident.
    Create {
        #[arg(long)]
        title: String,
        #[arg(long)]
        category: Category,
        #[arg(long, default_value = "")]
        summary: String,
        #[arg(long)]
        severity: Option<u8>,
        /// Start date (Day 1), YYYY-MM-DD; default: today in the organisation's zone.
        #[arg(long)]
        start_date: Option<jiff::civil::Date>,
        #[arg(long)]
        restricted: bool,
    },
    /// List incidents, newest first.
    List {
        #[arg(long, value_delimiter = ',')]
        phase: Vec<Phase>,
        #[arg(long, value_delimiter = ',')]
        category: Vec<Category>,
        #[arg(long)]
        open: bool,
        /// Text to find in title or summary.
        #[arg(long)]
        query: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one incident with its timeline.
    Show { id: i64 },
}

#[derive(Debug, Subcommand)]
enum TimelineCommand {
    /// Add an entry to an incident's timeline.
    Add {
        #[arg(long)]
        incident: i64,
        #[arg(long)]
        lane: Lane,
        #[arg(long)]
        kind: EntryKind,
        #[arg(long)]
        text: String,
        #[arg(long, default_value = "")]
        actor: String,
        /// When it happened (RFC 3339); default now.
        #[arg(long, conflicts_with_all = ["day", "week"])]
        at: Option<jiff::Timestamp>,
        /// Day number counted from the start date (1 = Day 1).
        #[arg(long, allow_negative_numbers = true)]
        day: Option<i64>,
        /// With --day: local time HH:MM.
        #[arg(long, requires = "day")]
        time: Option<String>,
        /// Week number, when only the week is known.
        #[arg(long)]
        week: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
enum PlaybookCommand {
    /// List the playbooks in use (built-in plus the configured folder).
    List,
    /// Validate playbook files; errors name file, line and field.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// The complete JSON of one incident.
    Incident {
        id: i64,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KIZUKI_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let json = std::env::var("KIZUKI_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            smtp_url,
            smtp_from,
            webhook_allow,
        } => {
            let tls = file.tls_files(tls_cert, tls_key)?;
            // Bad delivery settings stop start-up, naming the setting.
            let delivery = file.delivery(smtp_url, smtp_from, &webhook_allow)?;
            serve(&cli.database, &file, &listen, tls, delivery).await
        }
        Command::Db {
            command: DbCommand::Migrate,
        } => {
            let store = open_store(&cli.database).await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"status": "up to date", "backend": store.backend(), "database": redact_url(&cli.database)})
                );
            } else {
                println!("database is up to date ({})", redact_url(&cli.database));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => {
            security_cmd::user(&cli.database, &file, cli.json, command).await
        }
        Command::Token { command } => {
            security_cmd::token(&cli.database, &file, cli.json, command).await
        }
        Command::Audit { command } => {
            security_cmd::audit_cmd(&cli.database, &file, cli.json, command).await
        }
        Command::Incident { command } => incident(&cli.database, &file, cli.json, command).await,
        Command::Timeline { command } => timeline(&cli.database, &file, cli.json, command).await,
        Command::Playbook { command } => playbook(&file, cli.json, command),
        Command::Export {
            command: ExportCommand::Incident { id, output },
        } => {
            let state = state(&cli.database, &file).await?;
            let export = kizuki_server::api::incidents::build_export(&state, id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let json = serde_json::to_string_pretty(&export)?;
            // A copy is leaving Kizuki: the audit log says who took it, even from the shell.
            security_cmd::audit(
                state.store.as_ref(),
                &file,
                &cli.database,
                "export.incident",
                format!("/api/v1/incidents/{id}"),
                serde_json::json!({ "via": "cli", "to": output.as_ref().map(|p| p.display().to_string()) }),
            )
            .await?;
            match output {
                Some(path) => {
                    std::fs::write(&path, json)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("incident {id} exported to {}", path.display());
                }
                None => println!("{json}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { command } => {
            let audit_key = file.audit_key_file.as_deref();
            backup::run(&cli.database, audit_key, cli.json, command).await
        }
        Command::Library { command } => {
            library_cmd::run(command, file.settings()?.language, cli.json)
        }
        Command::Report(args) => {
            let state = state(&cli.database, &file).await?;
            let out = review_cmd::report(&state, &file, &cli.database, args).await;
            state.store.close().await;
            out
        }
        Command::Exercise { command } => {
            let state = state(&cli.database, &file).await?;
            let out = review_cmd::exercise(&state, &file, &cli.database, cli.json, command).await;
            state.store.close().await;
            out
        }
        Command::Actions { command } => {
            let state = state(&cli.database, &file).await?;
            let out = review_cmd::actions(&state, cli.json, command).await;
            state.store.close().await;
            out
        }
        Command::Notify { command } => {
            let mut state = state(&cli.database, &file).await?;
            let out = notify_cmd::notify(&mut state, &file, cli.json, command).await;
            state.store.close().await;
            out
        }
        Command::Oncall { command } => {
            let state = state(&cli.database, &file).await?;
            let out = notify_cmd::oncall(&state, cli.json, command).await;
            state.store.close().await;
            out
        }
        Command::Hunt(args) => {
            // Check the incident first: a long scan should not end in "no such incident".
            let target = match args.incident {
                Some(id) => {
                    let state = state(&cli.database, &file).await?;
                    if state.store.get_incident(id).await?.is_none() {
                        bail!("incident {id} not found; nothing was scanned");
                    }
                    Some((state, id))
                }
                None => None,
            };
            let outcome = hunt_cmd::run(&args)?;
            if let Some((state, id)) = target {
                attach_hunt(&state, id, &outcome).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn state(database: &str, file: &FileConfig) -> anyhow::Result<AppState> {
    state_with(database, file, false).await
}

/// The server's state (the audit key is created on first use); `tls` marks cookies secure
/// and turns on HSTS.
async fn state_with(database: &str, file: &FileConfig, tls: bool) -> anyhow::Result<AppState> {
    let key = config::audit_key(&file.audit_key_path(database), true)
        .context("the audit log needs its key")?;
    let mut state = AppState::new(
        open_store(database).await?,
        Arc::new(SystemClock),
        file.settings()?,
        file.playbooks()?,
        kizuki_reference::Library::builtin()
            .map_err(|e| anyhow::anyhow!("built-in reference cases are invalid:\n{e}"))?,
        key,
    );
    let mut network = file.network()?;
    network.tls = tls;
    state.network = Arc::new(network);
    state.login_limiter = Arc::new(file.login_limiter()?);
    state.auth = Arc::new(file.auth_settings(tls)?);
    Ok(state)
}

async fn serve(
    database: &str,
    file: &FileConfig,
    listen: &str,
    tls_files: Option<(PathBuf, PathBuf)>,
    delivery: kizuki_server::delivery::Delivery,
) -> anyhow::Result<ExitCode> {
    // A bad certificate or key stops start-up before anything else is touched.
    let tls = tls_files
        .map(|(cert, key)| kizuki_server::tls::TlsConfig::from_pem_files(&cert, &key))
        .transpose()?;
    if let Some(parent) = database
        .strip_prefix("sqlite://")
        .map(std::path::Path::new)
        .and_then(|p| p.parent())
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut state = state_with(database, file, tls.is_some()).await?;
    match &delivery.mailer {
        Some(mailer) => {
            let smtp = mailer.settings();
            tracing::info!(server = %smtp.server(), security = ?smtp.security, from = %smtp.from, "notification mail is configured");
        }
        None => tracing::info!("notification mail is off: KIZUKI_SMTP_URL is not set"),
    }
    state.delivery = Arc::new(delivery);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, database = %redact_url(database), backend = state.store.backend(), "kizuki is serving");
    if tls.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(%addr, "serving plain HTTP beyond this host: set tls_cert and tls_key, or put a TLS-terminating proxy in front");
    }
    eprintln!(
        "Kizuki listening on {scheme}://{addr} (database: {})",
        redact_url(database)
    );
    let store = std::sync::Arc::clone(&state.store);
    // One notification worker per process; it finishes its current run on shutdown.
    let (stop_worker, stop_rx) = tokio::sync::watch::channel(false);
    let worker_name = kizuki_server::notify::worker_name(&state);
    let worker = tokio::spawn(kizuki_server::notify::run_worker(
        state.clone(),
        worker_name,
        stop_rx,
    ));
    match &tls {
        Some(tls) => kizuki_server::serve_tls(listener, state, tls, shutdown_signal()).await?,
        None => kizuki_server::serve(listener, state, shutdown_signal()).await?,
    }
    let _ = stop_worker.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(60), worker)
        .await
        .is_err()
    {
        tracing::warn!("the notification worker did not stop in time; its jobs will be reclaimed");
    }
    store.close().await;
    tracing::info!("kizuki stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

async fn incident(
    database: &str,
    file: &FileConfig,
    json: bool,
    command: IncidentCommand,
) -> anyhow::Result<ExitCode> {
    let state = state(database, file).await?;
    match command {
        IncidentCommand::Create {
            title,
            category,
            summary,
            severity,
            start_date,
            restricted,
        } => {
            let new = NewIncident {
                title,
                summary,
                category,
                severity,
                phase: None,
                detection_source: kizuki_domain::incident::DetectionSource::Unknown,
                start_date,
                start_basis: None,
                aware_at: None,
                affected_units: vec![],
                affected_assets: vec![],
                impact: Default::default(),
                restricted,
            };
            let now = state.clock.now();
            let fields = new
                .into_fields(
                    &state.settings.severity,
                    now,
                    &state.settings.time_zone,
                    state.settings.start_basis,
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let clocks =
                kizuki_domain::legal_clock::statutory_clock_fields(&fields.impact, fields.aware_at);
            let incident = state
                .store
                .create_incident(&fields, &clocks, None, now)
                .await?;
            // Queued here, sent by the worker of a running `kizuki serve`.
            kizuki_server::notify::incident_opened(&state, &incident).await;
            security_cmd::audit(
                state.store.as_ref(),
                file,
                database,
                "POST /api/v1/incidents",
                format!("/api/v1/incidents/{}", incident.id),
                serde_json::json!({ "via": "cli" }),
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&incident)?);
            } else {
                println!("opened incident {}: {}", incident.id, incident.title);
            }
        }
        IncidentCommand::List {
            phase,
            category,
            open,
            query,
            limit,
        } => {
            let filter = IncidentFilter {
                phases: phase,
                categories: category,
                min_severity: None,
                open_only: open,
                text: query,
                lane_owner: None,
                before_id: None,
                limit: limit.clamp(1, IncidentFilter::MAX_LIMIT),
                viewer: None,
                exercises: Default::default(),
            };
            let page = state.store.list_incidents(&filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&page.items)?);
            } else {
                println!(
                    "{:>6}  {:<3} {:<14} {:<20} TITLE",
                    "ID", "LVL", "PHASE", "CATEGORY"
                );
                for i in &page.items {
                    println!(
                        "{:>6}  {:<3} {:<14} {:<20} {}",
                        i.id, i.severity, i.phase, i.category, i.title
                    );
                }
            }
        }
        IncidentCommand::Show { id } => {
            let export = kizuki_server::api::incidents::build_export(&state, id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&export)?);
            } else {
                let i = &export.incident.incident;
                println!("#{} {}", i.id, i.title);
                println!(
                    "category {} · level {} · phase {} · Day {} · start {} ({})",
                    i.category,
                    i.severity,
                    i.phase,
                    export.incident.day_today,
                    i.start_date,
                    i.start_basis
                );
                if !i.summary.is_empty() {
                    println!("\n{}", i.summary);
                }
                for c in &export.incident.legal_clocks {
                    println!("clock: {} — due {} ({})", c.clock.name, c.due_at, c.status);
                }
                println!();
                for e in &export.timeline {
                    println!(
                        "{:<22} {:<16} {:<14} {}",
                        e.day_label, e.entry.lane, e.entry.kind, e.entry.text
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn timeline(
    database: &str,
    file: &FileConfig,
    json: bool,
    command: TimelineCommand,
) -> anyhow::Result<ExitCode> {
    let state = state(database, file).await?;
    let TimelineCommand::Add {
        incident,
        lane,
        kind,
        text,
        actor,
        at,
        day,
        time,
        week,
    } = command;
    let Some(found) = state.store.get_incident(incident).await? else {
        bail!("incident {incident} not found");
    };
    let new = NewTimelineEntry {
        occurred_at: at,
        day,
        time_of_day: time,
        week,
        precision: None,
        day_part: None,
        lane,
        actor,
        kind,
        text,
        source: EntrySource::Manual,
    };
    let now = state.clock.now();
    let fields = new
        .into_fields(found.start_date, &state.settings.time_zone, now)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let entry = state
        .store
        .add_timeline_entry(incident, &fields, None, now)
        .await?;
    security_cmd::audit(
        state.store.as_ref(),
        file,
        database,
        "POST /api/v1/incidents/{id}/timeline",
        format!("/api/v1/incidents/{incident}/timeline"),
        serde_json::json!({ "via": "cli", "entry": entry.id }),
    )
    .await?;
    let label = kizuki_domain::timeline::day_label(
        found.start_date,
        entry.occurred_at,
        entry.precision,
        entry.day_part,
        &state.settings.time_zone,
    );
    if json {
        println!(
            "{}",
            serde_json::json!({"entry": entry, "day_label": label})
        );
    } else {
        println!(
            "added entry {} at {}",
            entry.id,
            label.label(state.settings.language)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn playbook(file: &FileConfig, json: bool, command: PlaybookCommand) -> anyhow::Result<ExitCode> {
    match command {
        PlaybookCommand::List => {
            let library = file.playbooks()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&library.list())?);
            } else {
                for p in library.list() {
                    let tasks: usize = p.phases.iter().map(|ph| ph.tasks.len()).sum();
                    println!(
                        "{:<24} v{:<3} {:<20} {:>3} tasks  {}",
                        p.id, p.version, p.category, tasks, p.title.en
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PlaybookCommand::Validate { files } => {
            let mut failed = false;
            let mut report = Vec::new();
            for path in &files {
                match kizuki_playbook::validate_file(path) {
                    Ok(p) => {
                        if !json {
                            println!("{}: ok ({} v{})", path.display(), p.id, p.version);
                        }
                        report.push(serde_json::json!({"file": path, "ok": true, "id": p.id, "version": p.version}));
                    }
                    Err(errors) => {
                        failed = true;
                        if !json {
                            eprintln!("{errors}");
                        }
                        let list: Vec<_> = errors
                            .iter()
                            .map(|e| serde_json::json!({"line": e.line, "column": e.column, "field": e.path, "message": e.message}))
                            .collect();
                        report.push(serde_json::json!({"file": path, "ok": false, "errors": list}));
                    }
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Attaches hunting results to an incident (see `kizuki_server::hunting`).
async fn attach_hunt(
    state: &AppState,
    incident_id: i64,
    outcome: &kizuki_hunt::HuntOutcome,
) -> anyhow::Result<()> {
    let attached = kizuki_server::hunting::attach(state, incident_id, outcome)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "attached to incident {incident_id}: {} timeline entries, {} observables",
        attached.timeline_entries, attached.observables
    );
    Ok(())
}
