//! E-mail over SMTP with lettre (rustls + ring, Mozilla roots compiled in).
//!
//! `KIZUKI_SMTP_URL` takes three forms, so the security of the link is visible in the URL:
//!
//! | URL | link | default port |
//! |---|---|---|
//! | `smtp://host[:port]` | plain text, no TLS | 25 |
//! | `smtp://host[:port]?tls=starttls` | STARTTLS, *required* (no fall-back to plain) | 587 |
//! | `smtps://host[:port]` | TLS from the first byte (implicit TLS) | 465 |
//!
//! Credentials are the URL's user information, percent-decoded (`smtp://alert%40example.jp:p%40ss@…`).
//! A password is refused over a plain link to another machine: it would cross the network in
//! clear. Certificates are checked against the Mozilla roots and the host name; a mail server
//! with a certificate from the organisation's own CA is trusted by adding
//! `ca=/path/to/ca.pem` (one or more PEM certificates, added to the Mozilla roots), e.g.
//! `smtp://mail.corp.example:587?tls=starttls&ca=/etc/kizuki/corp-ca.pem`.

use std::fmt;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{Error as SmtpError, PoolConfig};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use percent_encoding::percent_decode_str;

use super::{
    DeliveryError, Redacted, SMTP_FROM_SETTING, SMTP_URL_SETTING, SettingError, is_loopback_host,
};

/// How the link to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS: for a relay on this machine or a trusted segment.
    Plain,
    /// STARTTLS after EHLO; a server that does not offer it is an error, never a silent
    /// downgrade.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    ImplicitTls,
}

/// `KIZUKI_SMTP_URL` and `KIZUKI_SMTP_FROM`, parsed and checked.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// The user name for AUTH, percent-decoded.
    pub user: Option<String>,
    password: Option<String>,
    /// The sender, e.g. `Kizuki <kizuki@example.jp>`.
    pub from: Mailbox,
    /// Limit on connecting and on each SMTP command.
    pub connect_timeout: Duration,
    /// Limit on one whole send, from connecting to the final reply.
    pub send_timeout: Duration,
    /// The `ca=` file and its PEM certificates, trusted besides the Mozilla roots.
    pub extra_ca: Option<(String, Vec<u8>)>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .field("from", &self.from.to_string())
            .field("connect_timeout", &self.connect_timeout)
            .field("send_timeout", &self.send_timeout)
            .field("extra_ca", &self.extra_ca.as_ref().map(|(path, _)| path))
            .finish()
    }
}

impl SmtpSettings {
    /// Ten seconds to connect (and per command), thirty for a whole message.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);

    /// Reads the two settings. Errors name the setting and never repeat the password.
    pub fn parse(url: &str, from: &str) -> Result<SmtpSettings, SettingError> {
        let bad = |m: String| SettingError::new(SMTP_URL_SETTING, m);
        let parsed = url::Url::parse(url.trim()).map_err(|e| {
            bad(format!(
                "not a URL ({e}); write smtp://host:port, smtp://host:587?tls=starttls or smtps://host"
            ))
        })?;
        let mut security = match parsed.scheme() {
            "smtp" => SmtpSecurity::Plain,
            "smtps" => SmtpSecurity::ImplicitTls,
            other => {
                return Err(bad(format!(
                    "the scheme must be smtp or smtps (got `{other}`)"
                )));
            }
        };
        let mut extra_ca = None;
        for (key, value) in parsed.query_pairs() {
            match (key.as_ref(), value.as_ref(), security) {
                ("ca", path, _) => extra_ca = Some(read_ca(path).map_err(bad)?),
                ("tls", "starttls", SmtpSecurity::Plain | SmtpSecurity::StartTls) => {
                    security = SmtpSecurity::StartTls;
                }
                ("tls", "none", SmtpSecurity::Plain) => {}
                ("tls", _, SmtpSecurity::ImplicitTls) => {
                    return Err(bad(
                        "smtps:// is already TLS; leave out `tls=` (or use smtp://…?tls=starttls)"
                            .into(),
                    ));
                }
                ("tls", v, _) => {
                    return Err(bad(format!("tls must be `starttls` or `none` (got `{v}`)")));
                }
                (k, _, _) => {
                    return Err(bad(format!(
                        "unknown parameter `{k}`; only `tls` and `ca` are read"
                    )));
                }
            }
        }
        if extra_ca.is_some() && security == SmtpSecurity::Plain {
            return Err(bad(
                "`ca=` only matters with TLS; add tls=starttls or use smtps://".into(),
            ));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("the URL has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !matches!(parsed.path(), "" | "/") {
            return Err(bad(format!(
                "the URL must not have a path (got `{}`)",
                parsed.path()
            )));
        }
        let port = parsed.port().unwrap_or(match security {
            SmtpSecurity::Plain => 25,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::ImplicitTls => 465,
        });
        let decode = |s: &str, what: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad(format!("the {what} is not UTF-8 after percent-decoding")))
        };
        let user = Some(decode(parsed.username(), "user name")?).filter(|u| !u.is_empty());
        let password = parsed
            .password()
            .map(|p| decode(p, "password"))
            .transpose()?;
        match (&user, &password) {
            (Some(_), None) => {
                return Err(bad(
                    "a user name without a password; write smtp://user:password@host".into(),
                ));
            }
            (None, Some(_)) => return Err(bad("a password without a user name".into())),
            _ => {}
        }
        if password.is_some() && security == SmtpSecurity::Plain && !is_loopback_host(&host) {
            return Err(bad(format!(
                "the password would cross the network to {host} in clear text; use smtp://…?tls=starttls or smtps://"
            )));
        }
        let from_text = from.trim();
        if from_text.is_empty() {
            return Err(SettingError::new(
                SMTP_FROM_SETTING,
                "must be set when KIZUKI_SMTP_URL is, e.g. `Kizuki <kizuki@example.jp>`",
            ));
        }
        let from = from_text.parse::<Mailbox>().map_err(|e| {
            SettingError::new(
                SMTP_FROM_SETTING,
                format!(
                    "`{from_text}` is not an e-mail address like `Kizuki <kizuki@example.jp>` ({e})"
                ),
            )
        })?;
        Ok(SmtpSettings {
            host,
            port,
            security,
            user,
            password,
            from,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            send_timeout: Self::DEFAULT_SEND_TIMEOUT,
            extra_ca,
        })
    }

    /// `host:port`, as errors name the server.
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Reads the `ca=` file: at least one PEM certificate, nothing that fails to parse.
fn read_ca(path: &str) -> Result<(String, Vec<u8>), String> {
    let pem = std::fs::read(path).map_err(|e| format!("ca={path} cannot be read: {e}"))?;
    let count = String::from_utf8_lossy(&pem)
        .matches("-----BEGIN CERTIFICATE-----")
        .count();
    if count == 0 {
        return Err(format!("ca={path} holds no PEM certificate"));
    }
    Certificate::from_pem(&pem).map_err(|e| format!("ca={path}: {e}"))?;
    Ok((path.to_owned(), pem))
}

/// One recipient: the address and, when known, the person's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub name: Option<String>,
}

/// One e-mail to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The notification's id: the `Message-ID` is made from it, so a message resent after a
    /// crash carries the same id and receivers can drop the duplicate.
    pub notification_id: i64,
    pub to: Recipient,
    pub subject: String,
    pub text: String,
    /// Sent as `multipart/alternative` beside the text when present.
    pub html: Option<String>,
}

/// Sends e-mail through the configured server, keeping a small pool of connections.
///
/// lettre's pool starts a Tokio task when it is built and another when it is dropped, and
/// `tokio::spawn` panics outside a runtime: so [`Mailer::new`] refuses to run outside one, and
/// a mailer dropped after the runtime has gone (at process exit) is leaked instead of
/// panicking.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    settings: SmtpSettings,
}

struct Transport(Option<AsyncSmtpTransport<Tokio1Executor>>);

impl Clone for Transport {
    fn clone(&self) -> Self {
        Transport(self.0.clone())
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err()
            && let Some(transport) = self.0.take()
        {
            std::mem::forget(transport);
        }
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the transport; nothing is connected until the first send.
    pub fn new(settings: SmtpSettings) -> Result<Mailer, SettingError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SettingError::new(
                SMTP_URL_SETTING,
                "the mailer must be created inside the async runtime",
            ));
        }
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(settings.host.clone());
            if let Some((path, pem)) = &settings.extra_ca {
                let certificate = Certificate::from_pem(pem)
                    .map_err(|e| SettingError::new(SMTP_URL_SETTING, format!("ca={path}: {e}")))?;
                builder = builder.add_root_certificate(certificate);
            }
            builder.build().map_err(|e| {
                SettingError::new(SMTP_URL_SETTING, format!("TLS cannot be set up: {e}"))
            })
        };
        let tls = match settings.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_parameters()?),
            SmtpSecurity::ImplicitTls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.connect_timeout))
            // EHLO names the sender's domain: without the `hostname` feature lettre would say
            // `localhost`, which some servers refuse.
            .hello_name(ClientId::Domain(settings.from.email.domain().to_owned()))
            .pool_config(PoolConfig::new().max_size(4));
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: Transport(Some(builder.build())),
            settings,
        })
    }

    pub fn settings(&self) -> &SmtpSettings {
        &self.settings
    }

    /// The `Message-ID` of a notification: the same for every attempt.
    pub fn message_id(&self, notification_id: i64) -> String {
        format!(
            "<notification-{notification_id}.kizuki@{}>",
            self.settings.from.email.domain()
        )
    }

    /// Writes the message as it goes on the wire (headers encoded, body encoded).
    pub fn render(&self, msg: &OutgoingEmail) -> Result<Vec<u8>, DeliveryError> {
        Ok(self.message(msg)?.formatted())
    }

    fn message(&self, msg: &OutgoingEmail) -> Result<Message, DeliveryError> {
        let invalid = |e: String| DeliveryError::InvalidMessage(e);
        let address = msg.to.address.trim().parse::<Address>().map_err(|e| {
            invalid(format!(
                "`{}` is not an e-mail address ({e})",
                msg.to.address
            ))
        })?;
        let to = Mailbox::new(msg.to.name.as_deref().map(one_line), address);
        let builder = Message::builder()
            .from(self.settings.from.clone())
            .to(to)
            .subject(one_line(&msg.subject))
            .message_id(Some(self.message_id(msg.notification_id)));
        let mut message = match &msg.html {
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(msg.text.clone()),
            ),
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                msg.text.clone(),
                html.clone(),
            )),
        }
        .map_err(|e| invalid(e.to_string()))?;
        // RFC 3834: an automatic message, so auto-responders do not answer it.
        if let Ok(name) = HeaderName::new_from_ascii("Auto-Submitted".to_owned()) {
            message
                .headers_mut()
                .insert_raw(HeaderValue::new(name, "auto-generated".to_owned()));
        }
        Ok(message)
    }

    /// Sends one message; the error says what a person can do about a failure and whether a
    /// later attempt could succeed ([`DeliveryError::outcome`]).
    pub async fn send(&self, msg: OutgoingEmail) -> Result<(), DeliveryError> {
        let message = self.message(&msg)?;
        let server = self.settings.server();
        let Some(transport) = &self.transport.0 else {
            return Err(DeliveryError::SmtpConnection {
                server,
                message: "the mailer has been shut down".into(),
            });
        };
        match tokio::time::timeout(self.settings.send_timeout, transport.send(message)).await {
            Err(_) => Err(DeliveryError::SmtpTimeout {
                server,
                after: self.settings.send_timeout,
            }),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e, server, self.settings.connect_timeout)),
        }
    }
}

/// Turns lettre's error into ours: reply codes kept, a refused or timed-out connection named.
fn classify(e: &SmtpError, server: String, connect_timeout: Duration) -> DeliveryError {
    if let Some(code) = e.status() {
        let code = u16::from(code);
        let reply = reply_text(e);
        // 530 authentication required, 534 mechanism too weak, 535 credentials invalid.
        return if matches!(code, 530 | 534 | 535) {
            DeliveryError::SmtpAuthentication {
                server,
                code,
                reply,
            }
        } else {
            DeliveryError::SmtpRejected {
                server,
                code,
                reply,
            }
        };
    }
    if e.is_timeout() {
        return DeliveryError::SmtpTimeout {
            server,
            after: connect_timeout,
        };
    }
    // lettre reports a refused certificate as a connection error; the rustls error inside
    // says what it is, and a person must fix it (a retry would fail the same way).
    if e.is_tls() || rustls_failure(e) {
        return DeliveryError::SmtpTls {
            server,
            message: source_text(e),
        };
    }
    if io_kind(e) == Some(std::io::ErrorKind::ConnectionRefused) {
        return DeliveryError::SmtpRefused { server };
    }
    DeliveryError::SmtpConnection {
        server,
        message: source_text(e),
    }
}

/// Whether a rustls error (a certificate not trusted, a handshake refused) is in the chain,
/// directly or inside an `io::Error`.
fn rustls_failure(e: &SmtpError) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if err.downcast_ref::<rustls::Error>().is_some()
            || err
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        source = err.source();
    }
    false
}

fn io_kind(e: &SmtpError) -> Option<std::io::ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// The error with its causes, one line.
fn source_text(e: &SmtpError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        let s = err.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = err.source();
    }
    text
}

/// The server's words after the code, e.g. `5.7.8 Authentication credentials invalid`.
fn reply_text(e: &SmtpError) -> String {
    let full = source_text(e);
    // lettre writes "permanent error (535): <text>".
    full.split_once("): ")
        .map_or(full.clone(), |(_, t)| t.to_owned())
        .trim()
        .to_owned()
}

/// Header text on one line: a CR or LF in a subject or name must not start a new header.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SmtpSettings, SettingError> {
        SmtpSettings::parse(url, "Kizuki <kizuki@example.jp>")
    }

    #[test]
    fn url_forms() {
        let s = parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("127.0.0.1", 2525, SmtpSecurity::Plain)
        );
        let s = parse("smtp://alert%40example.jp:p%40ss%3Aw@mail.example.jp?tls=starttls").unwrap();
        assert_eq!((s.port, s.security), (587, SmtpSecurity::StartTls));
        assert_eq!(s.user.as_deref(), Some("alert@example.jp"));
        assert_eq!(s.password.as_deref(), Some("p@ss:w"));
        let s = parse("smtps://mail.example.jp").unwrap();
        assert_eq!((s.port, s.security), (465, SmtpSecurity::ImplicitTls));
        let s = parse("smtp://[::1]:25").unwrap();
        assert_eq!(s.host, "::1");
        assert_eq!(s.server(), "[::1]:25");
    }

    #[test]
    fn a_mailer_needs_the_runtime() {
        let e = Mailer::new(parse("smtp://127.0.0.1:2525").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("async runtime"), "{e}");
    }

    #[test]
    fn bad_urls_name_the_setting_and_hide_the_password() {
        for (url, expect) in [
            ("http://mail.example.jp", "scheme"),
            ("smtp://u:secret@mail.example.jp", "clear text"),
            ("smtp://mail.example.jp?tls=maybe", "tls must be"),
            ("smtps://mail.example.jp?tls=starttls", "already TLS"),
            ("smtp://mail.example.jp?helo=x", "unknown parameter"),
            ("smtp://u@mail.example.jp", "without a password"),
            ("not a url", "not a URL"),
        ] {
            let e = parse(url).unwrap_err().to_string();
            assert!(e.starts_with("KIZUKI_SMTP_URL"), "{e}");
            assert!(e.contains(expect), "{url}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
        let e = SmtpSettings::parse("smtp://127.0.0.1", "nobody")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("KIZUKI_SMTP_FROM") && e.contains("nobody"),
            "{e}"
        );
        let e = SmtpSettings::parse("smtp://127.0.0.1", " ")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("KIZUKI_SMTP_FROM"), "{e}");
    }

    #[tokio::test]
    async fn debug_redacts_the_password() {
        let s = parse("smtp://u:hunter2@127.0.0.1:2525").unwrap();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("***"),
            "{shown}"
        );
        let mailer = Mailer::new(s).unwrap();
        assert!(!format!("{mailer:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn headers_are_encoded_and_single_line() {
        let mailer = Mailer::new(parse("smtp://127.0.0.1:2525").unwrap()).unwrap();
        let raw = mailer
            .render(&OutgoingEmail {
                notification_id: 42,
                to: Recipient {
                    address: "ciso@example.jp".into(),
                    name: Some("情報 太郎".into()),
                },
                subject: "【重要】ランサムウェア\r\nBcc: evil@example.com".into(),
                text: "本文".into(),
                html: None,
            })
            .unwrap();
        let text = String::from_utf8(raw).unwrap();
        let headers = text.split("\r\n\r\n").next().unwrap();
        assert!(headers.contains("Subject: =?utf-8?"), "{headers}");
        assert!(!headers.contains("\r\nBcc:"), "{headers}");
        assert!(headers.contains("Message-ID: <notification-42.kizuki@example.jp>"));
        assert!(headers.contains("Auto-Submitted: auto-generated"));
        assert!(headers.is_ascii(), "{headers}");
    }
}
