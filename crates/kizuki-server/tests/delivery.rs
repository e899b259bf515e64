//! The real senders against real services: e-mail through an aiosmtpd server
//! (`tests/fixtures/smtp_sink.py`, Python) and webhooks to an axum receiver on 127.0.0.1.
//! No mocks: bytes go over TCP and are read back by an independent parser (Python's `email`
//! package for mail, serde_json and `kizuki_notify::webhook::verify` for webhooks).
//!
//! Without a Python that can import `aiosmtpd` the mail tests say so and pass, unless
//! `KIZUKI_REQUIRE_SMTP=1` (set by `.ci/run`), when they fail. `KIZUKI_SMTP_PYTHON` names the
//! interpreter to use; otherwise `python3` and `/usr/bin/python3` are tried.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::incident::{Category, Phase};
use kizuki_notify::retry::{Outcome, Verdict};
use kizuki_notify::webhook::{self, ChatMessage, Event, EventIncident, EventType, Format};
use kizuki_server::delivery::{
    DeliveryError, Mailer, OutgoingEmail, Recipient, SmtpSettings, WebhookSender, WebhookSettings,
    parse_allow_list,
};
use serde_json::Value;

#[path = "support/smtp_sink.rs"]
mod smtp_sink;
use smtp_sink::{Sink, free_port, python_with_aiosmtpd};

// ---------------------------------------------------------------- SMTP

const SUBJECT: &str = "【重要】ランサムウェア感染の疑い";
const BODY: &str = "ファイルサーバで暗号化されたファイルが見つかりました。\nDay 1 09:12 に検知。";

fn mailer(url: &str) -> Mailer {
    let mut settings = SmtpSettings::parse(url, "Kizuki 通知 <kizuki@example.jp>").unwrap();
    settings.connect_timeout = Duration::from_secs(5);
    settings.send_timeout = Duration::from_secs(10);
    Mailer::new(settings).unwrap()
}

fn email(id: i64, html: Option<&str>) -> OutgoingEmail {
    OutgoingEmail {
        notification_id: id,
        to: Recipient {
            address: "ciso@example.jp".into(),
            name: Some("情報 太郎".into()),
        },
        subject: SUBJECT.into(),
        text: BODY.into(),
        html: html.map(str::to_owned),
    }
}

fn lines(text: &Value) -> String {
    text.as_str()
        .unwrap()
        .replace("\r\n", "\n")
        .trim_end()
        .to_owned()
}

fn headers_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n\r\n").next().unwrap().to_owned()
}

#[tokio::test]
async fn mail_arrives_readable_with_a_stable_message_id() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let mailer = mailer(&sink.url());
    mailer.send(email(7, None)).await.unwrap();
    // A resend after a crash: same notification, same Message-ID.
    mailer.send(email(7, None)).await.unwrap();
    mailer
        .send(email(
            8,
            Some("<p>ファイルサーバで<strong>暗号化</strong></p>"),
        ))
        .await
        .unwrap();

    let got = sink.messages();
    assert_eq!(got.len(), 3);
    let (first, raw) = &got[0];
    assert_eq!(first["mail_from"], "kizuki@example.jp");
    assert_eq!(first["rcpt_tos"], serde_json::json!(["ciso@example.jp"]));
    assert_eq!(first["subject"], SUBJECT);
    assert_eq!(first["to"], "情報 太郎 <ciso@example.jp>");
    assert_eq!(first["from"], "Kizuki 通知 <kizuki@example.jp>");
    // Mail is CRLF on the wire; the receiver sees the same lines.
    assert_eq!(lines(&first["text"]), BODY);
    assert_eq!(first["html"], Value::Null);
    assert_eq!(first["auto_submitted"], "auto-generated");
    assert_eq!(
        first["message_id"], "<notification-7.kizuki@example.jp>",
        "derived from the notification id"
    );
    assert_eq!(
        got[1].0["message_id"], first["message_id"],
        "stable on resend"
    );
    assert_ne!(got[2].0["message_id"], first["message_id"]);
    // On the wire the headers are 7-bit: the Japanese travels as encoded words.
    let head = headers_of(raw);
    assert!(head.is_ascii(), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("subject: =?utf-8?"),
        "{head}"
    );

    let (html, _) = &got[2];
    assert_eq!(html["content_type"], "multipart/alternative");
    assert_eq!(lines(&html["text"]), BODY);
    assert!(
        html["html"]
            .as_str()
            .unwrap()
            .contains("<strong>暗号化</strong>"),
        "{html}"
    );
}

#[tokio::test]
async fn smtp_auth_with_the_right_and_a_wrong_password() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start_on(
        &python,
        free_port(),
        Some(("alert@example.jp", "p@ss wörd:1")),
    );
    // Credentials in the URL are percent-encoded and decoded before AUTH.
    let good = format!(
        "smtp://alert%40example.jp:p%40ss%20w%C3%B6rd%3A1@127.0.0.1:{}",
        sink.port
    );
    mailer(&good).send(email(1, None)).await.unwrap();
    assert_eq!(sink.messages().len(), 1);

    let bad = format!(
        "smtp://alert%40example.jp:wrong-secret@127.0.0.1:{}",
        sink.port
    );
    let err = mailer(&bad).send(email(2, None)).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, DeliveryError::SmtpAuthentication { code: 535, .. }),
        "{err:?}"
    );
    assert!(
        text.contains(&format!("SMTP server 127.0.0.1:{}", sink.port))
            && text.contains("refused the user name or password"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret"), "{text}");
    assert_eq!(err.verdict(), Verdict::Permanent, "a person must fix it");
    assert_eq!(sink.messages().len(), 1, "nothing was accepted");
}

/// A certificate for 127.0.0.1 from a throw-away CA of "our organisation", the way an
/// internal mail relay is usually set up; `(dir, ca.pem, cert.pem, key.pem)`.
fn corporate_certificate() -> (tempfile::TempDir, String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Example Corp internal CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (ca_pem, cert_pem, key_pem) = (path("ca.pem"), path("cert.pem"), path("key.pem"));
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    std::fs::write(&cert_pem, server.pem()).unwrap();
    std::fs::write(&key_pem, server_key.serialize_pem()).unwrap();
    (dir, ca_pem, cert_pem, key_pem)
}

#[tokio::test]
async fn starttls_and_implicit_tls_with_the_organisations_own_ca() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let (_dir, ca, cert, key) = corporate_certificate();
    let tls_args = |implicit: bool| {
        let mut args = vec![
            "--tls-cert".to_owned(),
            cert.clone(),
            "--tls-key".to_owned(),
            key.clone(),
            "--user".to_owned(),
            "alert@example.jp".to_owned(),
            "--password".to_owned(),
            "s3cret".to_owned(),
        ];
        if implicit {
            args.push("--implicit-tls".to_owned());
        }
        args
    };

    // STARTTLS, required, then AUTH over the encrypted link.
    let starttls = Sink::start_with(&python, free_port(), &tls_args(false));
    let url = format!(
        "smtp://alert%40example.jp:s3cret@127.0.0.1:{}?tls=starttls&ca={ca}",
        starttls.port
    );
    mailer(&url).send(email(1, None)).await.unwrap();
    assert_eq!(starttls.messages().len(), 1);
    assert_eq!(lines(&starttls.messages()[0].0["subject"]), SUBJECT);

    // Without the CA the same server is not trusted: a TLS failure that says so, nothing sent.
    let untrusted = format!(
        "smtp://alert%40example.jp:s3cret@127.0.0.1:{}?tls=starttls",
        starttls.port
    );
    let err = mailer(&untrusted).send(email(2, None)).await.unwrap_err();
    assert!(matches!(err, DeliveryError::SmtpTls { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert_eq!(starttls.messages().len(), 1);

    // Implicit TLS (smtps://) from the first byte.
    let implicit = Sink::start_with(&python, free_port(), &tls_args(true));
    let url = format!(
        "smtps://alert%40example.jp:s3cret@127.0.0.1:{}?ca={ca}",
        implicit.port
    );
    mailer(&url).send(email(3, None)).await.unwrap();
    assert_eq!(implicit.messages().len(), 1);

    // A CA file that is missing or holds no certificate is refused when read, naming it.
    for (file, says) in [
        ("/nonexistent/ca.pem", "cannot be read"),
        (key.as_str(), "no PEM certificate"),
    ] {
        let err = SmtpSettings::parse(
            &format!("smtp://127.0.0.1:25?tls=starttls&ca={file}"),
            "kizuki@example.jp",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("KIZUKI_SMTP_URL") && err.contains(says),
            "{err}"
        );
    }
    let err = SmtpSettings::parse(&format!("smtp://127.0.0.1:25?ca={ca}"), "kizuki@example.jp")
        .unwrap_err()
        .to_string();
    assert!(err.contains("only matters with TLS"), "{err}");
}

#[tokio::test]
async fn smtp_server_that_is_down_is_retried() {
    let port = free_port();
    let err = mailer(&format!("smtp://127.0.0.1:{port}"))
        .send(email(1, None))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("SMTP server 127.0.0.1:{port} refused the connection")
    );
    assert_eq!(err.outcome(), Outcome::ConnectionRefused);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn smtp_server_that_never_greets_times_out() {
    // A TCP port that accepts and then says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let mut settings =
        SmtpSettings::parse(&format!("smtp://127.0.0.1:{port}"), "kizuki@example.jp").unwrap();
    settings.connect_timeout = Duration::from_millis(300);
    settings.send_timeout = Duration::from_millis(500);
    let started = Instant::now();
    let err = Mailer::new(settings)
        .unwrap()
        .send(email(1, None))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(err, DeliveryError::SmtpTimeout { .. }),
        "{err:?}: {err}"
    );
    assert!(err.to_string().starts_with(&format!(
        "SMTP server 127.0.0.1:{port} did not answer within"
    )));
    assert!(err.is_retryable());
    held.abort();
}

// ---------------------------------------------------------------- webhooks

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// An HTTP receiver on 127.0.0.1 that records every request and answers by path.
async fn receiver() -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    async fn handle(
        State((log, addr)): State<(Log, SocketAddr)>,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::response::Response {
        let path = uri.path().to_owned();
        log.lock().unwrap().push(Received {
            path: path.clone(),
            headers,
            body,
        });
        match path.as_str() {
            "/fail" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
            "/gone" => (StatusCode::NOT_FOUND, "no_service").into_response(),
            "/busy" => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "30")],
                "slow down",
            )
                .into_response(),
            "/hang" => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                StatusCode::OK.into_response()
            }
            "/redirect" => (
                StatusCode::FOUND,
                [(header::LOCATION, format!("http://{addr}/target"))],
            )
                .into_response(),
            "/big" => "x".repeat(1 << 20).into_response(),
            _ => (StatusCode::OK, "ok").into_response(),
        }
    }
    let app = Router::new()
        .fallback(handle)
        .with_state((Arc::clone(&log), addr));
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, log)
}

fn allowing_loopback() -> WebhookSender {
    WebhookSender::new(WebhookSettings {
        allow: parse_allow_list(&["127.0.0.1/32"]).unwrap(),
        connect_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_millis(500),
        max_response_bytes: 4096,
    })
}

const SECRET: &[u8] = b"whsec-delivery-test";

fn at() -> Timestamp {
    Timestamp::from_second(1_764_000_000).unwrap()
}

fn event() -> Event {
    Event {
        event: EventType::IncidentCreated,
        incident: EventIncident {
            id: 12,
            title: "ランサムウェア <感染>".into(),
            severity: 3,
            category: Category::Ransomware,
            phase: Phase::Triage,
            url: "https://kizuki.example.jp/incidents/12".into(),
        },
        occurred_at: at(),
        text: "レベル3のインシデントが起票されました".into(),
    }
}

fn outgoing(format: Format) -> webhook::Outgoing {
    let message = ChatMessage {
        title: SUBJECT,
        text: "ファイルサーバで暗号化 & <検知>",
        link: Some(("開く", "https://kizuki.example.jp/incidents/12")),
    };
    webhook::build(format, &message, &event(), Some(SECRET), at()).unwrap()
}

#[tokio::test]
async fn chat_and_signed_payloads_arrive_intact() {
    let (addr, log) = receiver().await;
    let sender = allowing_loopback();
    for (format, path) in [
        (Format::Slack, "/slack"),
        (Format::Teams, "/teams"),
        (Format::Mattermost, "/mattermost"),
        (Format::SignedJson, "/signed"),
    ] {
        let out = outgoing(format);
        let answer = sender
            .send(&format!("http://{addr}{path}?token=abc"), &out)
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "ok");
        assert_eq!(
            answer.outcome(),
            Outcome::Http {
                status: 200,
                retry_after: None
            }
        );
        let got = log.lock().unwrap().last().cloned().unwrap();
        assert_eq!(got.path, path);
        assert_eq!(got.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(got.headers[header::HOST], addr.to_string());
        let sent: Value = serde_json::from_str(&out.body).unwrap();
        let received: Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(received, sent, "{format:?}");
        match format {
            Format::Slack => assert!(
                received["text"].as_str().unwrap().contains(SUBJECT),
                "{received}"
            ),
            Format::Mattermost => assert!(
                received["text"].as_str().unwrap().contains(SUBJECT),
                "{received}"
            ),
            Format::Teams => assert!(received.to_string().contains(SUBJECT), "{received}"),
            Format::SignedJson => {
                let signature = got.headers[webhook::SIGNATURE_HEADER].to_str().unwrap();
                webhook::verify(
                    SECRET,
                    signature,
                    &got.body,
                    at(),
                    SignedDuration::from_mins(5),
                )
                .unwrap();
                assert!(
                    webhook::verify(
                        b"another",
                        signature,
                        &got.body,
                        at(),
                        SignedDuration::from_mins(5)
                    )
                    .is_err()
                );
                assert_eq!(received["incident"]["id"], 12);
            }
        }
    }
}

#[tokio::test]
async fn loopback_is_refused_without_the_allowance() {
    let (addr, log) = receiver().await;
    let sender = WebhookSender::default();
    let out = outgoing(Format::Slack);

    let err = sender
        .send(&format!("http://{addr}/hook"), &out)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing to call 127.0.0.1: a loopback address (allow it in KIZUKI_WEBHOOK_ALLOW)"
    );
    assert_eq!(err.outcome(), Outcome::TargetRefused);
    assert!(!err.is_retryable());

    // A name that resolves to loopback is judged by its addresses.
    let err = sender
        .send(&format!("http://localhost:{}/hook", addr.port()), &out)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("refusing to call localhost (") && text.contains("loopback"),
        "{text}"
    );
    assert!(!err.is_retryable());

    // The allowance covers addresses, not the URL's other rules.
    for url in ["ftp://127.0.0.1/x", "http://user:pw@127.0.0.1/"] {
        let err = allowing_loopback().send(url, &out).await.unwrap_err();
        assert_eq!(err.outcome(), Outcome::TargetRefused, "{url}: {err}");
    }
    assert!(
        log.lock().unwrap().is_empty(),
        "nothing reached the receiver"
    );

    // The same URL with the allowance goes through.
    allowing_loopback()
        .send(&format!("http://{addr}/hook"), &out)
        .await
        .unwrap();
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn error_answers_sort_into_retry_and_give_up() {
    let (addr, _log) = receiver().await;
    let sender = allowing_loopback();
    let out = outgoing(Format::SignedJson);

    let err = sender
        .send(&format!("http://{addr}/fail"), &out)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "webhook answered 500 Internal Server Error: boom"
    );
    assert!(err.is_retryable());

    let err = sender
        .send(&format!("http://{addr}/gone"), &out)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "webhook answered 404 Not Found: no_service"
    );
    assert_eq!(err.verdict(), Verdict::Permanent);

    let err = sender
        .send(&format!("http://{addr}/busy"), &out)
        .await
        .unwrap_err();
    assert_eq!(
        err.outcome(),
        Outcome::Http {
            status: 429,
            retry_after: Some(SignedDuration::from_secs(30))
        }
    );
    assert!(err.is_retryable());

    let answer = sender
        .send(&format!("http://{addr}/big"), &out)
        .await
        .unwrap();
    assert_eq!(
        answer.body.len(),
        4096,
        "the body is read up to the cap only"
    );

    let port = free_port();
    let err = sender
        .send(&format!("http://127.0.0.1:{port}/"), &out)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("webhook 127.0.0.1:{port} refused the connection")
    );
    assert_eq!(err.outcome(), Outcome::ConnectionRefused);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_hanging_receiver_times_out() {
    let (addr, log) = receiver().await;
    let started = Instant::now();
    let err = allowing_loopback()
        .send(&format!("http://{addr}/hang"), &outgoing(Format::Slack))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.to_string(), "webhook did not answer within 500 ms");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(err.outcome(), Outcome::Timeout);
    assert!(err.is_retryable());
    assert_eq!(log.lock().unwrap().len(), 1, "the request did arrive");
}

#[tokio::test]
async fn redirects_are_refused_and_never_followed() {
    let (addr, log) = receiver().await;
    let err = allowing_loopback()
        .send(&format!("http://{addr}/redirect"), &outgoing(Format::Slack))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("webhook answered 302 Found, redirecting to ")
            && text.contains(&format!("http://{addr}/target")),
        "{text}"
    );
    assert_eq!(err.verdict(), Verdict::Permanent);
    let paths: Vec<String> = log.lock().unwrap().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, vec!["/redirect"], "the target was never called");
}
