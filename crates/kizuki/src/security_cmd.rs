//! Accounts, tokens and the audit log from the command line: what an operator with access to
//! the server's database and key file does (first run, recovery, verification).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use kizuki_domain::audit::AuditEvent;
use kizuki_domain::clock::{Clock, SystemClock};
use kizuki_domain::user::{NewUser, Role, TokenAccess, TokenResource, TokenScope};

use crate::config::{FileConfig, audit_key, open_store};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input when it is not a terminal
    /// (first line), asked for twice on a terminal, or replaced by a one-time enrolment
    /// link with --enrolment-link. There is no default password.
    Create {
        #[arg(long)]
        email: String,
        /// admin, incident_commander, responder, executive, pr_legal, business_unit, reporter, external_responder
        #[arg(long)]
        role: Role,
        #[arg(long, default_value = "")]
        name: String,
        /// Print a one-time link (valid 72 hours) instead of setting a password.
        #[arg(long)]
        enrolment_link: bool,
    },
    /// List users.
    List,
    /// Change a user's role.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: Role,
    },
    /// Remove a user's second factor (they must enrol again) and sign them out.
    ResetMfa {
        #[arg(long)]
        email: String,
    },
    /// Stop a user from signing in (their sessions and tokens end); --undo lets them back.
    Deactivate {
        #[arg(long)]
        email: String,
        #[arg(long)]
        undo: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; the token is printed once, on the last line.
    Create {
        /// The user's e-mail address.
        #[arg(long)]
        user: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until the token expires (1–365).
        #[arg(long = "expires-days", default_value_t = 90)]
        expires_days: u32,
        /// read or write.
        #[arg(long, default_value = "write")]
        access: TokenAccess,
        /// Comma-separated resources (all, incidents, timeline, tasks, decisions, parties,
        /// evidence, observables, legal_clocks, reference, users, audit).
        #[arg(long, default_value = "all", value_delimiter = ',')]
        resources: Vec<TokenResource>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain with the key; reports the first broken link.
    Verify,
}

fn read_password(email: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {email}: "))?;
        let second = rpassword::prompt_password("Repeat it: ")?;
        if first != second {
            bail!("the two passwords differ; nothing was created");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// Appends an operator's action to the audit chain.
pub(crate) async fn audit(
    store: &dyn kizuki_store::Store,
    file: &FileConfig,
    database: &str,
    action: &str,
    object: String,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    let key = audit_key(&file.audit_key_path(database), true)?;
    let event = AuditEvent {
        at: SystemClock.now(),
        actor_id: None,
        actor: format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "operator".into())
        ),
        address: None,
        action: action.to_owned(),
        object,
        outcome: "ok".into(),
        detail: detail.to_string(),
    };
    store.append_audit(&[event], &key).await?;
    Ok(())
}

pub async fn user(
    database: &str,
    file: &FileConfig,
    json: bool,
    command: UserCommand,
) -> anyhow::Result<ExitCode> {
    let store = open_store(database).await?;
    let now = SystemClock.now();
    let find = |email: String| {
        let store = std::sync::Arc::clone(&store);
        async move {
            let email = email.trim().to_lowercase();
            store
                .user_by_email(&email)
                .await?
                .with_context(|| format!("no user with e-mail {email}"))
        }
    };
    match command {
        UserCommand::Create {
            email,
            role,
            name,
            enrolment_link,
        } => {
            let new = NewUser::new(&email, &name, role).map_err(|e| anyhow::anyhow!("{e}"))?;
            // Check the password before creating anything, so a refusal leaves no half user.
            let password = if enrolment_link {
                None
            } else {
                let password = read_password(&new.email)?;
                kizuki_auth::strength::check_password(&password, &[&new.email, &new.display_name])
                    .map_err(|e| anyhow::anyhow!("{e}; nothing was created"))?;
                Some(password)
            };
            let user = store.create_user(&new, now).await?;
            let mut link = None;
            match password {
                Some(password) => {
                    let hash = tokio::task::spawn_blocking(move || {
                        kizuki_auth::password::hash_password(&mut rand::rng(), &password)
                    })
                    .await??;
                    store.set_password(user.id, &hash).await?;
                }
                None => {
                    let (token, hash) = kizuki_auth::secret::new_secret(&mut rand::rng(), "kze_");
                    let expires = now
                        .checked_add(kizuki_server::api::users::ENROLMENT_VALID)
                        .unwrap_or(now);
                    store.create_enrolment(user.id, &hash, expires).await?;
                    link = Some(
                        kizuki_server::api::users::enrolment_url(
                            file.public_url.as_deref(),
                            &token,
                        )
                        .unwrap_or(token),
                    );
                }
            }
            audit(
                store.as_ref(),
                file,
                database,
                "user.create",
                format!("user:{}", user.id),
                serde_json::json!({ "email": user.email, "role": user.role }),
            )
            .await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "user": user, "enrolment_link": link })
                );
            } else {
                println!(
                    "created user {} ({}) with role {}",
                    user.email, user.id, user.role
                );
                if role.requires_mfa() {
                    println!("the role requires MFA: they will set up TOTP at first sign-in");
                }
                if let Some(link) = link {
                    println!(
                        "one-time enrolment link (valid 72 hours), give it by a trusted route:"
                    );
                    println!("{link}");
                }
            }
        }
        UserCommand::List => {
            let users = store.list_users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                for u in users {
                    println!(
                        "{:>5}  {:<32} {:<20} mfa:{:<3} {}",
                        u.id,
                        u.email,
                        u.role.as_str(),
                        if u.mfa_enabled { "on" } else { "off" },
                        if u.active { "" } else { "(deactivated)" }
                    );
                }
            }
        }
        UserCommand::SetRole { email, role } => {
            let user = find(email).await?;
            let updated = store.set_user_role(user.id, role).await?;
            audit(
                store.as_ref(),
                file,
                database,
                "user.update",
                format!("user:{}", user.id),
                serde_json::json!({ "role": { "from": user.role, "to": role } }),
            )
            .await?;
            println!("{} is now {}", updated.email, updated.role);
        }
        UserCommand::ResetMfa { email } => {
            let user = find(email).await?;
            store.reset_mfa(user.id).await?;
            store.revoke_sessions_except(user.id, None, now).await?;
            audit(
                store.as_ref(),
                file,
                database,
                "user.mfa_reset",
                format!("user:{}", user.id),
                serde_json::Value::Null,
            )
            .await?;
            println!(
                "second factor of {} removed; they are signed out",
                user.email
            );
        }
        UserCommand::Deactivate { email, undo } => {
            let user = find(email).await?;
            let updated = store.set_user_active(user.id, undo, now).await?;
            audit(
                store.as_ref(),
                file,
                database,
                "user.update",
                format!("user:{}", user.id),
                serde_json::json!({ "active": { "from": user.active, "to": updated.active } }),
            )
            .await?;
            println!(
                "{} is {}",
                updated.email,
                if updated.active {
                    "active"
                } else {
                    "deactivated"
                }
            );
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn token(
    database: &str,
    file: &FileConfig,
    json: bool,
    command: TokenCommand,
) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create {
        user,
        name,
        expires_days,
        access,
        resources,
    } = command;
    if !(1..=365).contains(&expires_days) {
        bail!("--expires-days: must be between 1 and 365");
    }
    let store = open_store(database).await?;
    let email = user.trim().to_lowercase();
    let Some(owner) = store.user_by_email(&email).await? else {
        bail!("no user with e-mail {email}; create one with `kizuki user create`");
    };
    let (secret, hash) =
        kizuki_auth::secret::new_secret(&mut rand::rng(), kizuki_domain::user::TOKEN_PREFIX);
    let now = SystemClock.now();
    let expires_at = now
        .checked_add(jiff::SignedDuration::from_hours(
            i64::from(expires_days) * 24,
        ))
        .ok();
    let scope = TokenScope { access, resources };
    let token = store
        .create_token(owner.id, &name, &scope, &hash, now, expires_at)
        .await?;
    audit(
        store.as_ref(),
        file,
        database,
        "token.create",
        format!("token:{}", token.id),
        serde_json::json!({ "user": owner.email, "scope": scope }),
    )
    .await?;
    store.close().await;
    if json {
        println!(
            "{}",
            serde_json::json!({"id": token.id, "user": owner.email, "name": token.name, "scope": token.scope, "expires_at": token.expires_at, "token": secret})
        );
    } else {
        eprintln!(
            "token {} created for {}; it is shown only once:",
            token.id, owner.email
        );
        println!("{secret}");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn audit_cmd(
    database: &str,
    file: &FileConfig,
    json: bool,
    command: AuditCommand,
) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify = command;
    let key = audit_key(&file.audit_key_path(database), false)?;
    let store = open_store(database).await?;
    let report = kizuki_server::audit::verify_store(store.as_ref(), &key).await?;
    store.close().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.intact {
        println!("audit log intact: {} records verified", report.records);
    } else {
        println!(
            "audit log BROKEN at record {}: {} ({} records before it verified)",
            report.broken_at.unwrap_or_default(),
            report.reason.as_deref().unwrap_or("unknown"),
            report.records
        );
    }
    Ok(if report.intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
