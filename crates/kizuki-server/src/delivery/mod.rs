//! Sending notifications for real: e-mail over SMTP ([`Mailer`]) and webhooks over HTTP
//! ([`WebhookSender`]).
//!
//! `kizuki-notify` decides *what* to send and whether a failure is worth another try; this
//! module is the only place Kizuki opens connections to the outside for it. Every failure is a
//! [`DeliveryError`] whose message a person can act on and whose [`DeliveryError::outcome`]
//! feeds [`kizuki_notify::retry::Backoff::next`], so the caller never inspects transport
//! errors itself.
//!
//! Outbound HTTP goes through [`WebhookSender`] only: it resolves the name itself, checks every
//! address with the target guard, connects to a checked address (no second lookup a rebinding
//! DNS server could answer differently) and never follows redirects.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use jiff::SignedDuration;
use kizuki_notify::retry::{self, Outcome, Verdict};
use kizuki_notify::target_guard::Refusal;

mod smtp;
mod webhook;

pub use smtp::{Mailer, OutgoingEmail, Recipient, SmtpSecurity, SmtpSettings};
pub use webhook::{WebhookResponse, WebhookSender, WebhookSettings, parse_allow_list};

/// The environment variables (and `kizuki.toml` keys) the senders are configured by, named in
/// every error so an administrator knows which one to fix.
pub const SMTP_URL_SETTING: &str = "KIZUKI_SMTP_URL (smtp_url)";
pub const SMTP_FROM_SETTING: &str = "KIZUKI_SMTP_FROM (smtp_from)";
pub const WEBHOOK_ALLOW_SETTING: &str = "KIZUKI_WEBHOOK_ALLOW (webhook_allow)";

/// A setting that cannot be used, named. The message never repeats a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct SettingError {
    pub setting: &'static str,
    pub message: String,
}

impl SettingError {
    pub(crate) fn new(setting: &'static str, message: impl Into<String>) -> Self {
        SettingError {
            setting,
            message: message.into(),
        }
    }
}

/// Why a message was not delivered, worded for the administrator who reads the failed
/// notification.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The message itself cannot be written (an address that is not one): no server would
    /// take it, so it is not retried.
    #[error("the message cannot be sent: {0}")]
    InvalidMessage(String),
    #[error("SMTP server {server} refused the connection")]
    SmtpRefused { server: String },
    #[error("SMTP server {server} did not answer within {}", human(*.after))]
    SmtpTimeout { server: String, after: Duration },
    #[error("SMTP server {server} refused the user name or password ({code}: {reply})")]
    SmtpAuthentication {
        server: String,
        code: u16,
        reply: String,
    },
    #[error("SMTP server {server} answered {code}: {reply}")]
    SmtpRejected {
        server: String,
        code: u16,
        reply: String,
    },
    #[error("TLS with SMTP server {server} failed: {message}")]
    SmtpTls { server: String, message: String },
    #[error("talking to SMTP server {server} failed: {message}")]
    SmtpConnection { server: String, message: String },

    /// The target guard said no: the URL itself, or an address the host resolved to.
    #[error("{}", target_message(.host, .refusal))]
    WebhookTarget { host: String, refusal: Refusal },
    #[error("the webhook host {host} could not be resolved: {message}")]
    WebhookDns { host: String, message: String },
    #[error("webhook {address} refused the connection")]
    WebhookRefused { address: SocketAddr },
    #[error("connecting to webhook {address} failed: {message}")]
    WebhookConnection {
        address: SocketAddr,
        message: String,
    },
    #[error("webhook did not answer within {}", human(*.after))]
    WebhookTimeout { after: Duration },
    #[error("TLS with webhook {host} failed: {message}")]
    WebhookTls { host: String, message: String },
    #[error("webhook answered {status} {reason}{}", excerpt_note(.excerpt))]
    WebhookStatus {
        status: u16,
        reason: String,
        retry_after: Option<SignedDuration>,
        /// The start of the answer's body, for the administrator's eyes.
        excerpt: String,
    },
    /// Redirects are never followed: the next hop would need the guard again, and a
    /// redirecting webhook URL is a configuration to correct.
    #[error(
        "webhook answered {status} {reason}, redirecting to {location}; redirects are not followed, configure the final URL"
    )]
    WebhookRedirect {
        status: u16,
        reason: String,
        location: String,
    },
}

fn target_message(host: &str, refusal: &Refusal) -> String {
    match refusal {
        Refusal::Address { address, .. } => {
            let named = if host == address.to_string() {
                host.to_owned()
            } else {
                format!("{host} ({address})")
            };
            let detail = refusal.to_string();
            let class = detail
                .strip_prefix(&format!("{address} is "))
                .unwrap_or(&detail);
            format!("refusing to call {named}: {class} (allow it in KIZUKI_WEBHOOK_ALLOW)")
        }
        other => format!("refusing to call the webhook {host}: {other}"),
    }
}

fn excerpt_note(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt}")
    }
}

/// `10 s`, `500 ms`, `1.5 s`: timeouts as people write them.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

impl DeliveryError {
    /// How the attempt ended, for [`kizuki_notify::retry`].
    pub fn outcome(&self) -> Outcome {
        use DeliveryError::*;
        match self {
            // What a server answers for an address it cannot accept ("mailbox name not
            // allowed"): permanent, as it should be.
            InvalidMessage(_) => Outcome::Smtp { code: 553 },
            SmtpRefused { .. } | WebhookRefused { .. } => Outcome::ConnectionRefused,
            SmtpTimeout { .. } | WebhookTimeout { .. } => Outcome::Timeout,
            SmtpAuthentication { code, .. } | SmtpRejected { code, .. } => {
                Outcome::Smtp { code: *code }
            }
            SmtpTls { .. } | WebhookTls { .. } => Outcome::Tls,
            SmtpConnection { .. } | WebhookConnection { .. } => Outcome::ConnectionReset,
            WebhookTarget { .. } => Outcome::TargetRefused,
            WebhookDns { .. } => Outcome::Dns,
            WebhookStatus {
                status,
                retry_after,
                ..
            } => Outcome::Http {
                status: *status,
                retry_after: *retry_after,
            },
            WebhookRedirect { status, .. } => Outcome::Http {
                status: *status,
                retry_after: None,
            },
        }
    }

    /// Transient (try again later) or permanent (a person must change something).
    pub fn verdict(&self) -> Verdict {
        retry::classify(self.outcome())
    }

    /// Whether another attempt later could succeed.
    pub fn is_retryable(&self) -> bool {
        self.verdict() == Verdict::Transient
    }
}

/// Both senders, as the server holds them: e-mail only when `KIZUKI_SMTP_URL` is set.
#[derive(Debug, Default)]
pub struct Delivery {
    pub mailer: Option<Mailer>,
    pub webhooks: WebhookSender,
}

/// Whether an address is this machine, where a clear-text password never crosses a network.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Redacts nothing but keeps `Debug` output of secrets out of logs.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human(Duration::from_millis(500)), "500 ms");
        assert_eq!(human(Duration::from_secs(10)), "10 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn outcomes_sort_into_retry_and_give_up() {
        let server = || "127.0.0.1:2525".to_owned();
        let refused = DeliveryError::SmtpRefused { server: server() };
        assert_eq!(
            refused.to_string(),
            "SMTP server 127.0.0.1:2525 refused the connection"
        );
        assert!(refused.is_retryable());
        let status = DeliveryError::WebhookStatus {
            status: 500,
            reason: "Internal Server Error".into(),
            retry_after: None,
            excerpt: String::new(),
        };
        assert_eq!(
            status.to_string(),
            "webhook answered 500 Internal Server Error"
        );
        assert!(status.is_retryable());
        let timeout = DeliveryError::WebhookTimeout {
            after: Duration::from_secs(10),
        };
        assert_eq!(timeout.to_string(), "webhook did not answer within 10 s");
        assert!(timeout.is_retryable());
        let address: IpAddr = "10.0.0.5".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let target = DeliveryError::WebhookTarget {
            host: "10.0.0.5".into(),
            refusal: Refusal::Address {
                address,
                class: kizuki_notify::target_guard::AddressClass::Private,
                embedded: None,
            },
        };
        assert_eq!(
            target.to_string(),
            "refusing to call 10.0.0.5: a private (RFC 1918) address (allow it in KIZUKI_WEBHOOK_ALLOW)"
        );
        assert!(!target.is_retryable());
        let not_found = DeliveryError::WebhookStatus {
            status: 404,
            reason: "Not Found".into(),
            retry_after: None,
            excerpt: "no_service".into(),
        };
        assert_eq!(
            not_found.to_string(),
            "webhook answered 404 Not Found: no_service"
        );
        assert!(!not_found.is_retryable());
        for code in [408, 429] {
            let e = DeliveryError::WebhookStatus {
                status: code,
                reason: String::new(),
                retry_after: None,
                excerpt: String::new(),
            };
            assert!(e.is_retryable(), "{code}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "127.0.0.1", "[::1]", "::1", "127.1.2.3"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["mail.example.jp", "10.0.0.1", "[2001:db8::1]"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
