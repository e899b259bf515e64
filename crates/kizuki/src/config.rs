//! Configuration: command-line flags and environment first, then an optional TOML file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use kizuki_domain::settings::{Language, OrgSettings, SeverityLadder, SeverityLevel};
use kizuki_playbook::Library;
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
}
