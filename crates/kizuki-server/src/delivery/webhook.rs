//! Webhook POSTs over one HTTP/1.1 connection that we open ourselves.
//!
//! A general HTTP client resolves names and follows redirects on its own, and each of those is
//! a way around the target guard (a DNS answer that changes between our check and its
//! connection, a 302 to `http://169.254.169.254/`). So the steps are spelt out here: check
//! the URL, resolve once, check every address, connect to a checked address, speak HTTP/1.1
//! with hyper over that socket (rustls with ring and the Mozilla roots for https), read at
//! most a few KiB of the answer, and treat a redirect as a failure.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_LENGTH, HOST, LOCATION, RETRY_AFTER, USER_AGENT};
use jiff::SignedDuration;
use kizuki_notify::retry::Outcome;
use kizuki_notify::target_guard::{self, AllowList, Cidr};
use kizuki_notify::webhook::Outgoing;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::{DeliveryError, SettingError, WEBHOOK_ALLOW_SETTING};

/// Limits and the administrator's allowance for webhook calls.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Ranges allowed despite being private, loopback and the like (`KIZUKI_WEBHOOK_ALLOW`).
    pub allow: AllowList,
    /// Limit on resolving and connecting.
    pub connect_timeout: Duration,
    /// Limit on the whole call, from resolving to the last byte read: a receiver that hangs
    /// must not hold a delivery worker.
    pub total_timeout: Duration,
    /// Bytes of the answer read at most (the rest is dropped unread).
    pub max_response_bytes: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow: AllowList::default(),
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_response_bytes: 16 * 1024,
        }
    }
}

/// Reads `KIZUKI_WEBHOOK_ALLOW`: CIDR ranges or single addresses, comma-separated (each entry
/// may itself hold several). An entry with host bits set (`10.1.2.3/8`) is refused so the
/// administrator says which was meant.
pub fn parse_allow_list<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, SettingError> {
    let mut cidrs = Vec::new();
    for entry in entries
        .iter()
        .flat_map(|e| e.as_ref().split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let cidr = entry.parse::<Cidr>().map_err(|e| {
            SettingError::new(WEBHOOK_ALLOW_SETTING, format!("entry `{entry}`: {e}"))
        })?;
        cidrs.push(cidr);
    }
    Ok(AllowList::new(cidrs))
}

/// A webhook's answer when it accepted the call (2xx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    /// The start of the body (at most `max_response_bytes`), lossily decoded.
    pub body: String,
}

impl WebhookResponse {
    pub fn outcome(&self) -> Outcome {
        Outcome::Http {
            status: self.status,
            retry_after: None,
        }
    }
}

/// POSTs webhook payloads through the target guard. The only outbound HTTP client in the
/// server.
#[derive(Debug, Clone, Default)]
pub struct WebhookSender {
    settings: WebhookSettings,
}

impl WebhookSender {
    pub fn new(settings: WebhookSettings) -> Self {
        WebhookSender { settings }
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    /// POSTs `outgoing` to `url`. Nothing is sent unless the URL and every address its host
    /// resolves to pass the guard.
    pub async fn send(
        &self,
        url: &str,
        outgoing: &Outgoing,
    ) -> Result<WebhookResponse, DeliveryError> {
        let total = self.settings.total_timeout;
        match tokio::time::timeout(total, self.attempt(url, outgoing)).await {
            Ok(result) => result,
            Err(_) => Err(DeliveryError::WebhookTimeout { after: total }),
        }
    }

    async fn attempt(
        &self,
        url: &str,
        outgoing: &Outgoing,
    ) -> Result<WebhookResponse, DeliveryError> {
        let parsed =
            target_guard::check_url(url).map_err(|refusal| DeliveryError::WebhookTarget {
                host: display_host(url),
                refusal,
            })?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let connect_timeout = self.settings.connect_timeout;
        let timed_out = || DeliveryError::WebhookTimeout {
            after: connect_timeout,
        };
        let addresses = match target_guard::literal_address(&parsed) {
            Some(ip) => vec![ip],
            None => tokio::time::timeout(connect_timeout, resolve(&host, port))
                .await
                .map_err(|_| timed_out())??,
        };
        target_guard::check_addresses(&addresses, &self.settings.allow).map_err(|refusal| {
            DeliveryError::WebhookTarget {
                host: host.clone(),
                refusal,
            }
        })?;
        let (tcp, address) = tokio::time::timeout(connect_timeout, connect(&addresses, port))
            .await
            .map_err(|_| timed_out())??;

        let path = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let host_header = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let mut request = hyper::Request::post(path)
            .header(HOST, host_header)
            .header(USER_AGENT, concat!("Kizuki/", env!("CARGO_PKG_VERSION")))
            .header(CONTENT_LENGTH, outgoing.body.len());
        for (name, value) in &outgoing.headers {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(outgoing.body.clone())))
            .map_err(|e| DeliveryError::InvalidMessage(format!("the request is malformed: {e}")))?;

        if parsed.scheme() == "https" {
            let name = ServerName::try_from(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
            )
            .map_err(|e| DeliveryError::WebhookTls {
                host: host.clone(),
                message: e.to_string(),
            })?;
            let tls = tokio_rustls::TlsConnector::from(client_tls_config()?)
                .connect(name, tcp)
                .await
                .map_err(|e| DeliveryError::WebhookTls {
                    host: host.clone(),
                    message: e.to_string(),
                })?;
            self.exchange(tls, address, request).await
        } else {
            self.exchange(tcp, address, request).await
        }
    }

    /// Sends the request over an open connection and reads the answer.
    async fn exchange<S>(
        &self,
        io: S,
        address: SocketAddr,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<WebhookResponse, DeliveryError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let broken = |e: hyper::Error| DeliveryError::WebhookConnection {
            address,
            message: e.to_string(),
        };
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
                .await
                .map_err(broken)?;
        // The connection is driven by its own task, ended when this call ends (also by the
        // total timeout), so a hanging receiver leaves no socket behind.
        let _driver = AbortOnDrop(tokio::spawn(async move {
            let _ = connection.await;
        }));
        let response = sender.send_request(request).await.map_err(broken)?;
        let status = response.status();
        let reason = status.canonical_reason().unwrap_or_default().to_owned();
        if status.is_redirection() {
            let location = response.headers().get(LOCATION).map_or_else(
                || "nowhere (no Location header)".to_owned(),
                |v| String::from_utf8_lossy(v.as_bytes()).into_owned(),
            );
            return Err(DeliveryError::WebhookRedirect {
                status: status.as_u16(),
                reason,
                location: excerpt(location.as_bytes(), 300),
            });
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|s| *s >= 0)
            .map(SignedDuration::from_secs);
        let body = read_capped(response.into_body(), self.settings.max_response_bytes).await;
        if status.is_success() {
            return Ok(WebhookResponse {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        Err(DeliveryError::WebhookStatus {
            status: status.as_u16(),
            reason,
            retry_after,
            excerpt: excerpt(&body, 200),
        })
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The one DNS lookup of a call; its answer is what gets checked and connected to.
async fn resolve(host: &str, port: u16) -> Result<Vec<IpAddr>, DeliveryError> {
    let found =
        tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| DeliveryError::WebhookDns {
                host: host.to_owned(),
                message: e.to_string(),
            })?;
    let mut addresses: Vec<IpAddr> = Vec::new();
    for a in found {
        if !addresses.contains(&a.ip()) {
            addresses.push(a.ip());
        }
    }
    Ok(addresses)
}

/// Connects to the first checked address that answers.
async fn connect(
    addresses: &[IpAddr],
    port: u16,
) -> Result<(TcpStream, SocketAddr), DeliveryError> {
    let mut last = None;
    for ip in addresses {
        let address = SocketAddr::new(*ip, port);
        match TcpStream::connect(address).await {
            Ok(tcp) => return Ok((tcp, address)),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = Some(DeliveryError::WebhookRefused { address });
            }
            Err(e) => {
                last = Some(DeliveryError::WebhookConnection {
                    address,
                    message: e.to_string(),
                });
            }
        }
    }
    Err(last.unwrap_or(DeliveryError::WebhookDns {
        host: String::new(),
        message: "no address to connect to".into(),
    }))
}

/// rustls with ring and the Mozilla roots: the same trust on every machine, no OpenSSL and no
/// system certificate store needed.
fn client_tls_config() -> Result<Arc<rustls::ClientConfig>, DeliveryError> {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| DeliveryError::WebhookTls {
        host: String::new(),
        message: e.to_string(),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Reads at most `cap` bytes of a body; the rest is never read.
async fn read_capped(mut body: hyper::body::Incoming, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < cap {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = cap - out.len();
                    out.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    out
}

/// Up to `max` characters of text from a receiver, on one line, for an error message.
fn excerpt(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out.trim().to_owned()
}

/// The host of a URL the guard refused, for the message (the whole URL might hold a secret
/// token, as chat webhook URLs do).
fn display_host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "(unreadable URL)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_entries_are_named() {
        let allow = parse_allow_list(&["127.0.0.1/32, 10.0.0.0/8", "::1"]).unwrap();
        assert!(allow.permits("10.1.2.3".parse().unwrap()));
        assert!(allow.permits("::1".parse().unwrap()));
        assert!(!allow.permits("192.168.0.1".parse().unwrap()));
        let e = parse_allow_list(&["10.0.0.0/8,intranet"])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("KIZUKI_WEBHOOK_ALLOW") && e.contains("intranet"),
            "{e}"
        );
        let e = parse_allow_list(&["10.1.2.3/8"]).unwrap_err().to_string();
        assert!(e.contains("10.1.2.3/8"), "{e}");
        assert_eq!(parse_allow_list::<&str>(&[]).unwrap(), AllowList::default());
    }

    #[test]
    fn excerpts_are_short_and_single_line() {
        assert_eq!(excerpt(b"a\r\nb", 10), "a  b");
        assert_eq!(excerpt("ありがとう".as_bytes(), 3), "ありが…");
    }
}
