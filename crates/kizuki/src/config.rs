//! Configuration: command-line flags and environment first, then an optional TOML file.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use kizuki_domain::settings::{Language, OrgSettings, SeverityLadder, SeverityLevel};
use kizuki_playbook::Library;
use kizuki_server::client_addr::NetworkConfig;
use kizuki_server::rate_limit::{Quota, RateLimiter};
use kizuki_store::Store;
use serde::Deserialize;

/// The embedded default: a SQLite file under ./data, nothing to install.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/kizuki.db";

/// `kizuki.toml`. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// IANA zone the timeline is shown in (default Asia/Tokyo).
    pub time_zone: Option<String>,
    /// Default language, `ja` or `en` (default ja).
    pub language: Option<String>,
    /// A folder of playbook files that add to, or replace by higher version, the built-in ones.
    pub playbooks_dir: Option<PathBuf>,
    /// What Day 1 means by default: `occurrence` or `detection` (default detection).
    pub start_basis: Option<String>,
    /// The severity ladder, lowest level first.
    #[serde(default)]
    pub severity: Vec<SeverityLevel>,
    /// PEM certificate chain (leaf first); with `tls_key`, `serve` speaks HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Reverse proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Login attempts one address may make at once (default 10).
    pub login_rate_burst: Option<u32>,
    /// Login attempts one address may make per minute after the burst (default 10).
    pub login_rate_per_minute: Option<u32>,
    /// The file holding the audit log's key (created on first start). Whoever holds it and
    /// the database can rewrite history undetected, so keep it readable by Kizuki only;
    /// backups include it, so protect them alike. Default: `audit.key` beside the SQLite
    /// file, or `data/audit.key`.
    pub audit_key_file: Option<PathBuf>,
    /// Minutes a browser session may sit unused (default 30).
    pub session_idle_minutes: Option<u32>,
    /// Hours a browser session lasts at most (default 12).
    pub session_absolute_hours: Option<u32>,
    /// Whether anyone may file a suspicion report without signing in (default true).
    pub public_reports: Option<bool>,
    /// The address users reach Kizuki at, e.g. `https://kizuki.example.jp` (for links).
    pub public_url: Option<String>,
    /// Roles that must use TOTP besides admin and incident_commander (who always must).
    #[serde(default)]
    pub mfa_required_roles: Vec<String>,
    /// Mail server for notifications (`KIZUKI_SMTP_URL`): `smtp://host[:port]`,
    /// `smtp://user:password@host[:587]?tls=starttls` or `smtps://user:password@host[:465]`.
    pub smtp_url: Option<Secret>,
    /// Sender of notification mail (`KIZUKI_SMTP_FROM`), e.g. `Kizuki <kizuki@example.jp>`.
    pub smtp_from: Option<String>,
    /// CIDR ranges webhooks may reach although private, loopback or link-local
    /// (`KIZUKI_WEBHOOK_ALLOW`).
    #[serde(default)]
    pub webhook_allow: Vec<String>,
}

/// A setting that may carry a password (the SMTP URL): `Debug` never shows it, so a logged
/// configuration leaks nothing.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn settings(&self) -> anyhow::Result<OrgSettings> {
        let mut settings = OrgSettings::default();
        if let Some(tz) = &self.time_zone {
            settings.time_zone = jiff::tz::TimeZone::get(tz)
                .with_context(|| format!("time_zone: unknown time zone `{tz}`"))?;
        }
        if let Some(lang) = &self.language {
            settings.language = lang
                .parse::<Language>()
                .map_err(|e| anyhow::anyhow!("language: {e}"))?;
        }
        if let Some(basis) = &self.start_basis {
            settings.start_basis = basis
                .parse()
                .map_err(|e| anyhow::anyhow!("start_basis: {e}"))?;
        }
        if !self.severity.is_empty() {
            settings.severity = SeverityLadder::new(self.severity.clone())
                .map_err(|e| anyhow::anyhow!("severity: {e}"))?;
        }
        Ok(settings)
    }

    /// How requests reach the server: trusted proxies (TLS is switched on by `serve_tls`).
    pub fn network(&self) -> anyhow::Result<NetworkConfig> {
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| {
                p.parse()
                    .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(NetworkConfig {
            trusted_proxies,
            tls: false,
        })
    }

    /// The per-address limiter for login attempts.
    pub fn login_limiter(&self) -> anyhow::Result<RateLimiter> {
        let default = Quota::LOGIN;
        let nonzero = |key: &str, value: Option<u32>, default: NonZeroU32| match value {
            None => Ok(default),
            Some(v) => {
                NonZeroU32::new(v).ok_or_else(|| anyhow::anyhow!("{key}: must be at least 1"))
            }
        };
        Ok(RateLimiter::new(Quota {
            burst: nonzero("login_rate_burst", self.login_rate_burst, default.burst)?,
            per_minute: nonzero(
                "login_rate_per_minute",
                self.login_rate_per_minute,
                default.per_minute,
            )?,
        }))
    }

    /// The certificate and key to serve HTTPS with: each from its flag, else from the file.
    /// Both or neither.
    pub fn tls_files(
        &self,
        cert_flag: Option<PathBuf>,
        key_flag: Option<PathBuf>,
    ) -> anyhow::Result<Option<(PathBuf, PathBuf)>> {
        let cert = cert_flag.or_else(|| self.tls_cert.clone());
        let key = key_flag.or_else(|| self.tls_key.clone());
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(cert), None) => bail!(
                "a TLS certificate is set ({}) but no private key: give --tls-key (or tls_key in the config file) too, or neither",
                cert.display()
            ),
            (None, Some(key)) => bail!(
                "a TLS private key is set ({}) but no certificate: give --tls-cert (or tls_cert in the config file) too, or neither",
                key.display()
            ),
        }
    }

    pub fn playbooks(&self) -> anyhow::Result<Library> {
        let mut library = Library::builtin()
            .map_err(|e| anyhow::anyhow!("built-in playbooks are invalid:\n{e}"))?;
        if let Some(dir) = &self.playbooks_dir {
            let extra = Library::load_dir(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
            library.merge(extra);
        }
        Ok(library)
    }
}

/// Notification delivery.
impl FileConfig {
    /// The mail and webhook senders: each setting from its flag or environment variable,
    /// else from the file. Mail is off without an SMTP URL.
    pub fn delivery(
        &self,
        smtp_url: Option<Secret>,
        smtp_from: Option<String>,
        webhook_allow: &[String],
    ) -> anyhow::Result<kizuki_server::delivery::Delivery> {
        use kizuki_server::delivery::{
            Delivery, Mailer, SmtpSettings, WebhookSender, WebhookSettings, parse_allow_list,
        };
        let url = smtp_url.or_else(|| self.smtp_url.clone());
        let from = smtp_from.or_else(|| self.smtp_from.clone());
        let mailer = match (url, from) {
            (Some(url), from) => Some(Mailer::new(SmtpSettings::parse(
                &url.0,
                from.as_deref().unwrap_or_default(),
            )?)?),
            (None, Some(_)) => bail!(
                "KIZUKI_SMTP_FROM (smtp_from) is set but KIZUKI_SMTP_URL (smtp_url) is not: mail needs a server"
            ),
            (None, None) => None,
        };
        let allow = if webhook_allow.is_empty() {
            parse_allow_list(&self.webhook_allow)?
        } else {
            parse_allow_list(webhook_allow)?
        };
        Ok(Delivery {
            mailer,
            webhooks: WebhookSender::new(WebhookSettings {
                allow,
                ..WebhookSettings::default()
            }),
        })
    }
}

/// Sign-in and audit settings.
impl FileConfig {
    /// Sessions, lock-out and the report form. Cookies are `Secure` when Kizuki serves TLS
    /// itself or is reached over HTTPS at `public_url`.
    pub fn auth_settings(
        &self,
        serving_tls: bool,
    ) -> anyhow::Result<kizuki_server::access::AuthSettings> {
        let mut auth = kizuki_server::access::AuthSettings::default();
        if let Some(m) = self.session_idle_minutes {
            if m == 0 {
                bail!("session_idle_minutes: must be at least 1");
            }
            auth.session_idle = jiff::SignedDuration::from_mins(i64::from(m));
        }
        if let Some(h) = self.session_absolute_hours {
            if h == 0 {
                bail!("session_absolute_hours: must be at least 1");
            }
            auth.session_absolute = jiff::SignedDuration::from_hours(i64::from(h));
        }
        if let Some(p) = self.public_reports {
            auth.public_reports = p;
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bail!("public_url: must start with https:// or http:// (got `{url}`)");
            }
            auth.public_url = Some(url.trim_end_matches('/').to_owned());
        }
        for role in &self.mfa_required_roles {
            auth.mfa_also_for.push(
                role.parse()
                    .map_err(|e| anyhow::anyhow!("mfa_required_roles: {e}"))?,
            );
        }
        auth.secure_cookies = serving_tls
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"));
        Ok(auth)
    }

    /// Where the audit key lives: the configured file, else beside the SQLite database,
    /// else `data/audit.key`.
    pub fn audit_key_path(&self, database: &str) -> PathBuf {
        if let Some(path) = &self.audit_key_file {
            return path.clone();
        }
        database
            .strip_prefix("sqlite://")
            .or_else(|| database.strip_prefix("sqlite:"))
            .map(|p| p.split('?').next().unwrap_or(p))
            .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("data"))
            .join("audit.key")
    }
}

/// Reads the audit key, or creates it (readable by the owner only) when `create` is set and
/// the file does not exist. Without the key the chain can be neither extended nor checked.
pub fn audit_key(path: &Path, create: bool) -> anyhow::Result<kizuki_auth::audit_chain::AuditKey> {
    use kizuki_auth::audit_chain::AuditKey;
    match std::fs::read_to_string(path) {
        Ok(text) => AuditKey::from_hex(text.trim())
            .map_err(|e| anyhow::anyhow!("audit key {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let key = AuditKey::generate(&mut rand::rng());
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options
                .open(path)
                .with_context(|| format!("creating audit key {}", path.display()))?;
            std::io::Write::write_all(&mut file, format!("{}\n", key.to_hex()).as_bytes())
                .with_context(|| format!("writing audit key {}", path.display()))?;
            tracing::info!(path = %path.display(), "created a new audit key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading audit key {}", path.display())),
    }
}

/// Opens (and migrates) the store a database URL names.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Arc::new(
                kizuki_store_postgres::PgStore::connect(url)
                    .await
                    .context("connecting to PostgreSQL")?,
            )
        } else if url.starts_with("sqlite:") {
            Arc::new(
                kizuki_store_sqlite::SqliteStore::connect(url)
                    .await
                    .with_context(|| format!("opening SQLite database {url}"))?,
            )
        } else {
            bail!(
                "database URL must start with sqlite:// or postgres:// (got `{}`)",
                redact_url(url)
            );
        };
    store
        .migrate()
        .await
        .context("migrating the database schema")?;
    Ok(store)
}

/// A URL fit for logs: the password, if any, is replaced, in the user part and in the query.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = redact_userinfo(base);
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _))
                    if k.eq_ignore_ascii_case("password")
                        || k.eq_ignore_ascii_case("sslpassword") =>
                {
                    format!("{k}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact_url("postgres://kizuki:s3cret@db:5432/k"),
            "postgres://kizuki:***@db:5432/k"
        );
        assert_eq!(
            redact_url("sqlite://data/kizuki.db"),
            "sqlite://data/kizuki.db"
        );
    }

    #[test]
    fn unknown_keys_and_zones_are_named() {
        let err = toml::from_str::<FileConfig>("timezone = 'UTC'").unwrap_err();
        assert!(err.to_string().contains("timezone"));
        let cfg: FileConfig = toml::from_str("time_zone = 'Mars/Olympus'").unwrap();
        assert!(
            cfg.settings()
                .unwrap_err()
                .to_string()
                .contains("time_zone")
        );
    }

    #[tokio::test]
    async fn delivery_settings_are_read_and_named() {
        let cfg: FileConfig = toml::from_str(
            "smtp_url = 'smtp://u:hunter2@127.0.0.1:2525'\nsmtp_from = 'Kizuki <kizuki@example.jp>'\nwebhook_allow = ['10.0.5.20/32']",
        )
        .unwrap();
        assert!(!format!("{cfg:?}").contains("hunter2"));
        let delivery = cfg.delivery(None, None, &[]).unwrap();
        let mailer = delivery.mailer.unwrap();
        assert_eq!(mailer.settings().server(), "127.0.0.1:2525");
        assert!(
            delivery
                .webhooks
                .settings()
                .allow
                .permits("10.0.5.20".parse().unwrap())
        );
        // A flag wins over the file.
        let delivery = cfg
            .delivery(
                Some(Secret("smtps://mail.example.jp".into())),
                None,
                &["192.168.1.0/24".to_owned()],
            )
            .unwrap();
        assert_eq!(
            delivery.mailer.unwrap().settings().server(),
            "mail.example.jp:465"
        );
        assert!(
            !delivery
                .webhooks
                .settings()
                .allow
                .permits("10.0.5.20".parse().unwrap())
        );

        let none = FileConfig::default().delivery(None, None, &[]).unwrap();
        assert!(none.mailer.is_none());
        let err = FileConfig::default()
            .delivery(None, Some("kizuki@example.jp".into()), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("KIZUKI_SMTP_URL"), "{err}");
        let err = FileConfig::default()
            .delivery(
                Some(Secret("smtp://u:hunter2@mail.example.jp".into())),
                Some("k@example.jp".into()),
                &[],
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("KIZUKI_SMTP_URL") && !err.contains("hunter2"),
            "{err}"
        );
        let err = FileConfig::default()
            .delivery(None, None, &["intranet".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("KIZUKI_WEBHOOK_ALLOW") && err.contains("intranet"),
            "{err}"
        );
    }

    #[test]
    fn security_keys_are_read_and_checked() {
        let cfg: FileConfig = toml::from_str(
            "tls_cert = 'c.pem'\ntls_key = 'k.pem'\ntrusted_proxies = ['10.0.0.1', 'fd00::/8']\nlogin_rate_burst = 5\nlogin_rate_per_minute = 2",
        )
        .unwrap();
        assert_eq!(cfg.network().unwrap().trusted_proxies.len(), 2);
        let quota = cfg.login_limiter().unwrap().quota();
        assert_eq!((quota.burst.get(), quota.per_minute.get()), (5, 2));
        let (cert, key) = cfg.tls_files(None, None).unwrap().unwrap();
        assert_eq!(
            (cert.to_str(), key.to_str()),
            (Some("c.pem"), Some("k.pem"))
        );
        // A flag wins over the file.
        let (cert, _) = cfg
            .tls_files(Some(PathBuf::from("flag.pem")), None)
            .unwrap()
            .unwrap();
        assert_eq!(cert.to_str(), Some("flag.pem"));

        let defaults = FileConfig::default();
        assert_eq!(defaults.login_limiter().unwrap().quota(), Quota::LOGIN);
        assert!(defaults.tls_files(None, None).unwrap().is_none());
        let err = defaults
            .tls_files(Some(PathBuf::from("c.pem")), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("c.pem") && err.contains("--tls-key"), "{err}");
        let err = defaults
            .tls_files(None, Some(PathBuf::from("k.pem")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("k.pem") && err.contains("--tls-cert"), "{err}");

        let cfg: FileConfig = toml::from_str("trusted_proxies = ['proxy.local']").unwrap();
        let err = cfg.network().unwrap_err().to_string();
        assert!(
            err.contains("trusted_proxies") && err.contains("proxy.local"),
            "{err}"
        );
        let cfg: FileConfig = toml::from_str("login_rate_per_minute = 0").unwrap();
        let err = cfg.login_limiter().unwrap_err().to_string();
        assert!(err.contains("login_rate_per_minute"), "{err}");
    }
}
