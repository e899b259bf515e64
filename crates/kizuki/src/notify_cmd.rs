//! `kizuki notify …` and `kizuki oncall …`: the notification configuration from the shell.
//! Thin: every command calls `kizuki_server::notify::manage`, the functions the API and
//! the administration pages call, as the operator (audited as `cli:$USER`).
//!
//! Rules and the escalation chain are read from a JSON file (the API's request body);
//! templates from a text file for the body and a flag for the subject; rotations from flags
//! or a JSON file; everything else from flags.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use kizuki_notify::oncall::Period;
use kizuki_server::AppState;
use kizuki_server::notify::manage::{
    self, Actor, ChainInput, ManageError, OverrideInput, PreviewInput, RotationInput, RuleInput,
    TemplateInput, WebhookInput,
};
use serde::Serialize;

use crate::config::FileConfig;

#[derive(Debug, clap::Subcommand)]
pub enum NotifyCommand {
    /// Notification rules: who is told about which incidents, through which channel.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// The escalation chain: who is told next when nobody acknowledges.
    Chain {
        #[command(subcommand)]
        command: ChainCommand,
    },
    /// Message templates, per kind and language.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
    /// Webhook targets (Slack, Teams, Mattermost, signed JSON).
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// List every rule.
    List,
    /// Add a rule from a JSON file shaped like the API's body, e.g.
    /// {"name": "Level 3+", "min_severity": 3, "recipients": [{"kind": "role", "role":
    /// "incident_commander"}], "channels": [{"kind": "email"}], "template_id": "new_incident"}.
    Add {
        #[arg(long)]
        file: PathBuf,
    },
    /// Remove a rule.
    Remove {
        id: i64,
        /// The version you read (default: the current one).
        #[arg(long)]
        version: Option<i64>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ChainCommand {
    /// Show the escalation chain.
    Show,
    /// Replace the chain from a JSON file: {"steps": [{"recipients": […], "channels": […],
    /// "after_minutes": 30}, …]} ("version" optional: default the current one).
    Set {
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum TemplatesCommand {
    /// List every kind in every language (stored or built-in).
    List,
    /// Show one template and the fields it may use.
    Show { kind: String, language: String },
    /// Save a template; it must parse (unknown fields are refused, naming line and column).
    Set {
        kind: String,
        language: String,
        #[command(flatten)]
        text: TemplateText,
    },
    /// Render a template with sample values (or an incident's facts) without saving it.
    Preview {
        kind: String,
        language: String,
        #[command(flatten)]
        text: TemplateText,
        /// Use this incident's facts instead of sample values.
        #[arg(long)]
        incident: Option<i64>,
    },
    /// Go back to the built-in template.
    Reset { kind: String, language: String },
}

/// A template's text: each part from its flag, else as stored.
#[derive(Debug, clap::Args)]
pub struct TemplateText {
    /// The subject line (default: the stored one).
    #[arg(long)]
    subject: Option<String>,
    /// A file holding the body (default: the stored one).
    #[arg(long)]
    body_file: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum WebhooksCommand {
    /// List every target (never a secret).
    List,
    /// Add a target. A signed_json target gets a signing secret, printed this once.
    Add {
        #[arg(long)]
        name: String,
        /// slack, teams, mattermost or signed_json.
        #[arg(long)]
        format: String,
        #[arg(long)]
        url: String,
        /// Add it switched off.
        #[arg(long)]
        disabled: bool,
        /// Address ranges a target may reach although private or loopback (as for `serve`).
        #[arg(long, env = "KIZUKI_WEBHOOK_ALLOW", value_delimiter = ',')]
        webhook_allow: Vec<String>,
    },
    /// Remove a target.
    Remove { id: i64 },
}

#[derive(Debug, clap::Subcommand)]
pub enum OncallCommand {
    /// List the rotations.
    List,
    /// Who is on call now in every rotation.
    Now,
    /// Add a rotation, from flags or from a JSON file shaped like the API's body.
    Add(RotationArgs),
    /// Someone covers a rotation between two instants (RFC 3339, e.g. 2026-06-20T18:00:00+09:00).
    Override {
        rotation: i64,
        /// User id or e-mail address.
        #[arg(long)]
        user: String,
        #[arg(long)]
        from: Timestamp,
        #[arg(long)]
        to: Timestamp,
    },
}

#[derive(Debug, clap::Args)]
pub struct RotationArgs {
    /// A JSON file: {"name", "members", "handover", "time_zone", "period", "start_date"}.
    #[arg(long, conflicts_with_all = ["name", "members", "time_zone", "start_date"])]
    file: Option<PathBuf>,
    #[arg(long, required_unless_present = "file")]
    name: Option<String>,
    /// Comma-separated user ids or e-mail addresses, in turn order.
    #[arg(long, value_delimiter = ',', required_unless_present = "file")]
    members: Vec<String>,
    /// Hand-over time of day, HH:MM.
    #[arg(long, default_value = "09:00")]
    handover: Time,
    /// IANA zone (default: the organisation's).
    #[arg(long)]
    time_zone: Option<String>,
    /// daily, weekly, or a number of days.
    #[arg(long, default_value = "weekly")]
    period: String,
    /// The day the first member's first turn begins, YYYY-MM-DD.
    #[arg(long, required_unless_present = "file")]
    start_date: Option<Date>,
}

fn actor_name() -> String {
    std::env::var("USER").unwrap_or_else(|_| "operator".into())
}

/// A management error for the shell: every named field on its own line.
fn explain(e: ManageError) -> anyhow::Error {
    match e {
        ManageError::Invalid(v) => {
            let lines: Vec<String> = v
                .errors
                .iter()
                .map(|f| format!("  {}: {}", f.field, f.message))
                .collect();
            anyhow::anyhow!("invalid input:\n{}", lines.join("\n"))
        }
        e if e.is_stale() => anyhow::anyhow!("{e}; show it again and retry"),
        e => anyhow::anyhow!("{e}"),
    }
}

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn parse_file<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text).with_context(|| format!("{} is not valid", path.display()))
}

async fn user_id(state: &AppState, who: &str) -> anyhow::Result<i64> {
    if let Ok(id) = who.parse::<i64>() {
        return Ok(id);
    }
    match state.store.user_by_email(who).await? {
        Some(u) => Ok(u.id),
        None => bail!("no user with the e-mail address {who}"),
    }
}

/// `kizuki notify …`.
pub async fn notify(
    state: &mut AppState,
    file: &FileConfig,
    json: bool,
    command: NotifyCommand,
) -> anyhow::Result<ExitCode> {
    let name = actor_name();
    let actor = Actor::Operator { name: &name };
    match command {
        NotifyCommand::Rules { command } => match command {
            RulesCommand::List => {
                let rules = manage::list_rules(state).await.map_err(explain)?;
                if json {
                    print_json(&rules)?;
                } else if rules.is_empty() {
                    println!("no rules");
                } else {
                    for r in rules {
                        println!(
                            "{:>4}  v{}  {}{}  level {}+  {} recipient(s), {} channel(s)",
                            r.rule.id,
                            r.version,
                            r.rule.name,
                            if r.rule.enabled { "" } else { " (disabled)" },
                            r.rule.min_severity,
                            r.rule.recipients.len(),
                            r.rule.channels.len()
                        );
                    }
                }
            }
            RulesCommand::Add { file: path } => {
                let input: RuleInput = parse_file(&path, &read(&path)?)?;
                let rule = manage::create_rule(state, actor, &input)
                    .await
                    .map_err(explain)?;
                if json {
                    print_json(&rule)?;
                } else {
                    println!("rule {} added: {}", rule.rule.id, rule.rule.name);
                }
            }
            RulesCommand::Remove { id, version } => {
                let version = match version {
                    Some(v) => v,
                    None => manage::get_rule(state, id).await.map_err(explain)?.version,
                };
                manage::delete_rule(state, actor, id, version)
                    .await
                    .map_err(explain)?;
                if json {
                    print_json(&serde_json::json!({ "removed": id }))?;
                } else {
                    println!("rule {id} removed");
                }
            }
        },
        NotifyCommand::Chain { command } => match command {
            ChainCommand::Show => {
                let chain = manage::get_chain(state).await.map_err(explain)?;
                if json {
                    print_json(&chain)?;
                } else if chain.steps.is_empty() {
                    println!("no escalation chain");
                } else {
                    println!("escalation chain, version {}", chain.version);
                    for (i, s) in chain.steps.iter().enumerate() {
                        println!(
                            "  step {}: after {} min, {}",
                            i + 1,
                            s.after_minutes,
                            serde_json::to_string(&s.recipients)?
                        );
                    }
                }
            }
            ChainCommand::Set { file: path } => {
                let mut value: serde_json::Value = parse_file(&path, &read(&path)?)?;
                if let Some(obj) = value.as_object_mut()
                    && !obj.contains_key("version")
                {
                    let current = manage::get_chain(state).await.map_err(explain)?.version;
                    obj.insert("version".into(), current.into());
                }
                let input: ChainInput = serde_json::from_value(value)
                    .with_context(|| format!("{} is not valid", path.display()))?;
                let chain = manage::save_chain(state, actor, &input)
                    .await
                    .map_err(explain)?;
                if json {
                    print_json(&chain)?;
                } else {
                    println!(
                        "escalation chain saved: {} step(s), version {}",
                        chain.steps.len(),
                        chain.version
                    );
                }
            }
        },
        NotifyCommand::Templates { command } => {
            return templates(state, actor, json, command).await;
        }
        NotifyCommand::Webhooks { command } => match command {
            WebhooksCommand::List => {
                let targets = manage::list_webhooks(state).await.map_err(explain)?;
                if json {
                    print_json(&targets)?;
                } else if targets.is_empty() {
                    println!("no webhook targets");
                } else {
                    for t in targets {
                        println!(
                            "{:>4}  {}  {}  {}{}",
                            t.id,
                            kizuki_store::notify::format_name(t.format),
                            t.name,
                            t.url,
                            if t.enabled { "" } else { " (disabled)" }
                        );
                    }
                }
            }
            WebhooksCommand::Add {
                name,
                format,
                url,
                disabled,
                webhook_allow,
            } => {
                let Some(format) = kizuki_store::notify::parse_format(&format) else {
                    bail!("--format must be slack, teams, mattermost or signed_json");
                };
                let allow = if webhook_allow.is_empty() {
                    &file.webhook_allow
                } else {
                    &webhook_allow
                };
                let allow = kizuki_server::delivery::parse_allow_list(allow)?;
                state.delivery = Arc::new(kizuki_server::delivery::Delivery {
                    mailer: None,
                    webhooks: kizuki_server::delivery::WebhookSender::new(
                        kizuki_server::delivery::WebhookSettings {
                            allow,
                            ..Default::default()
                        },
                    ),
                });
                let input = WebhookInput {
                    version: None,
                    name,
                    format,
                    url,
                    secret: None,
                    enabled: !disabled,
                };
                let created = manage::create_webhook(state, actor, &input)
                    .await
                    .map_err(explain)?;
                if json {
                    print_json(&created)?;
                } else {
                    println!(
                        "webhook target {} added: {}",
                        created.target.id, created.target.name
                    );
                    if let Some(secret) = &created.secret {
                        println!("signing secret (shown once): {secret}");
                    }
                }
            }
            WebhooksCommand::Remove { id } => {
                manage::delete_webhook(state, actor, id)
                    .await
                    .map_err(explain)?;
                if json {
                    print_json(&serde_json::json!({ "removed": id }))?;
                } else {
                    println!("webhook target {id} removed");
                }
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

async fn templates(
    state: &AppState,
    actor: Actor<'_>,
    json: bool,
    command: TemplatesCommand,
) -> anyhow::Result<ExitCode> {
    let kind_lang = |kind: &str, language: &str| -> anyhow::Result<_> {
        Ok((
            manage::parse_kind("kind", kind).map_err(explain)?,
            manage::parse_language("language", language).map_err(explain)?,
        ))
    };
    match command {
        TemplatesCommand::List => {
            let all = manage::list_templates(state).await.map_err(explain)?;
            if json {
                print_json(&all)?;
            } else {
                for t in all {
                    println!(
                        "{:<16} {}  {}  {}",
                        t.kind,
                        t.language,
                        if t.built_in {
                            "built-in".to_owned()
                        } else {
                            format!("v{}", t.version)
                        },
                        t.subject
                    );
                }
            }
        }
        TemplatesCommand::Show { kind, language } => {
            let (kind, language) = kind_lang(&kind, &language)?;
            let t = manage::get_template(state, kind, language)
                .await
                .map_err(explain)?;
            if json {
                print_json(&t)?;
            } else {
                println!("subject: {}\n\n{}\n", t.subject, t.body);
                println!("fields: {}", t.fields.join(", "));
            }
        }
        TemplatesCommand::Set {
            kind,
            language,
            text,
        } => {
            let (kind, language) = kind_lang(&kind, &language)?;
            let current = manage::get_template(state, kind, language)
                .await
                .map_err(explain)?;
            let (subject, body) = text.resolve(&current)?;
            let input = TemplateInput {
                version: current.version,
                subject,
                body,
            };
            let t = manage::save_template(state, actor, kind, language, &input)
                .await
                .map_err(explain)?;
            if json {
                print_json(&t)?;
            } else {
                println!(
                    "template {} ({}) saved, version {}",
                    t.kind, t.language, t.version
                );
            }
        }
        TemplatesCommand::Preview {
            kind,
            language,
            text,
            incident,
        } => {
            let (kind, language) = kind_lang(&kind, &language)?;
            let current = manage::get_template(state, kind, language)
                .await
                .map_err(explain)?;
            let (subject, body) = text.resolve(&current)?;
            let input = PreviewInput {
                subject,
                body,
                incident_id: incident,
            };
            let p = manage::preview_template(state, actor, kind, language, &input)
                .await
                .map_err(explain)?;
            if json {
                print_json(&p)?;
            } else {
                println!("subject: {}\n\n{}", p.subject, p.body);
            }
        }
        TemplatesCommand::Reset { kind, language } => {
            let (kind, language) = kind_lang(&kind, &language)?;
            let t = manage::reset_template(state, actor, kind, language)
                .await
                .map_err(explain)?;
            if json {
                print_json(&t)?;
            } else {
                println!("template {} ({}) is the built-in one", t.kind, t.language);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl TemplateText {
    fn resolve(self, current: &manage::TemplateView) -> anyhow::Result<(String, String)> {
        let subject = self.subject.unwrap_or_else(|| current.subject.clone());
        let body = match self.body_file {
            Some(path) => read(&path)?,
            None => current.body.clone(),
        };
        Ok((subject, body))
    }
}

fn period(text: &str) -> anyhow::Result<Period> {
    Ok(match text {
        "daily" => Period::Daily,
        "weekly" => Period::Weekly,
        n => Period::EveryNDays {
            days: n.parse().map_err(|_| {
                anyhow::anyhow!("--period must be daily, weekly or a number of days")
            })?,
        },
    })
}

/// `kizuki oncall …`.
pub async fn oncall(
    state: &AppState,
    json: bool,
    command: OncallCommand,
) -> anyhow::Result<ExitCode> {
    let name = actor_name();
    let actor = Actor::Operator { name: &name };
    match command {
        OncallCommand::List => {
            let all = manage::list_rotations(state).await.map_err(explain)?;
            if json {
                print_json(&all)?;
            } else if all.is_empty() {
                println!("no rotations");
            } else {
                for r in all {
                    println!(
                        "{:>4}  v{}  {}  {} member(s), hand-over {} {}, {} override(s)",
                        r.id,
                        r.version,
                        r.spec.name,
                        r.spec.members.len(),
                        r.spec.handover,
                        r.spec.time_zone,
                        r.spec.overrides.len()
                    );
                }
            }
        }
        OncallCommand::Now => {
            let now = manage::on_call_now(state).await.map_err(explain)?;
            if json {
                print_json(&now)?;
            } else if now.is_empty() {
                println!("no rotations");
            } else {
                for line in now {
                    let who = match (&line.display_name, &line.email, line.user_id) {
                        (Some(n), Some(e), _) => format!("{n} <{e}>"),
                        (_, _, Some(id)) => format!("user {id}"),
                        _ => "nobody".to_owned(),
                    };
                    let why = match (line.because.as_deref(), line.until) {
                        (Some(b), Some(u)) => format!(" ({b} until {u})"),
                        (Some(b), None) => format!(" ({b})"),
                        _ => String::new(),
                    };
                    let problem = line
                        .problem
                        .map(|p| format!(" [cannot be read: {p}]"))
                        .unwrap_or_default();
                    println!("{}: {who}{why}{problem}", line.rotation_name);
                }
            }
        }
        OncallCommand::Add(args) => {
            let input = match &args.file {
                Some(path) => parse_file::<RotationInput>(path, &read(path)?)?,
                None => {
                    let mut members = Vec::new();
                    for m in &args.members {
                        members.push(user_id(state, m.trim()).await?);
                    }
                    RotationInput {
                        version: None,
                        name: args.name.clone().unwrap_or_default(),
                        members,
                        handover: args.handover,
                        time_zone: args
                            .time_zone
                            .clone()
                            .or_else(|| state.settings.time_zone.iana_name().map(str::to_owned))
                            .unwrap_or_else(|| "Asia/Tokyo".to_owned()),
                        period: period(&args.period)?,
                        start_date: args
                            .start_date
                            .context("--start-date is required without --file")?,
                        overrides: Vec::new(),
                    }
                }
            };
            let r = manage::create_rotation(state, actor, &input)
                .await
                .map_err(explain)?;
            if json {
                print_json(&r)?;
            } else {
                println!("rotation {} added: {}", r.id, r.spec.name);
            }
        }
        OncallCommand::Override {
            rotation,
            user,
            from,
            to,
        } => {
            let input = OverrideInput {
                user_id: user_id(state, &user).await?,
                from,
                to,
            };
            let r = manage::add_override(state, actor, rotation, &input)
                .await
                .map_err(explain)?;
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "rotation {}: user {} covers {from} to {to}",
                    r.id, input.user_id
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
