//! What a webhook POST carries: chat-service payloads and a signed JSON event.
//!
//! Chat services get a short text in the shape their incoming webhooks accept. Everything
//! else gets [`SignedEvent`]: a JSON body the receiver can trust because it carries an
//! HMAC-SHA-256 of the timestamp and the exact body bytes in `X-Kizuki-Signature`, and can
//! refuse when replayed because the timestamp is inside the signature.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::incident::{Category, Phase};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The HTTP header that carries the signature of a [`SignedEvent`].
pub const SIGNATURE_HEADER: &str = "X-Kizuki-Signature";

/// Escapes text for Slack's `mrkdwn`: Slack reads `<…>` as links and mentions
/// (`<!channel>` would page a whole channel), so these three characters must be entities.
pub fn slack_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// A Slack incoming-webhook body. `text` is plain text; it is escaped here, and the link, if
/// any, is appended in Slack's own `<url|label>` form so it stays clickable.
pub fn slack_payload(text: &str, link: Option<(&str, &str)>) -> Value {
    let mut body = slack_escape(text);
    if let Some((label, url)) = link {
        // `|` ends the URL part and `>` the link; neither may come from the data.
        let url = slack_escape(url).replace('|', "%7C");
        let label = slack_escape(label).replace('|', "¦");
        body.push_str(&format!("\n<{url}|{label}>"));
    }
    json!({ "text": body })
}

/// A Mattermost incoming-webhook body. Mattermost renders Markdown but does not treat `<…>`
/// as mentions, so the text is passed as written; the link is a Markdown link.
pub fn mattermost_payload(text: &str, link: Option<(&str, &str)>) -> Value {
    let mut body = text.to_owned();
    if let Some((label, url)) = link {
        let label = label.replace(['[', ']'], "");
        let url = url.replace(['(', ')', ' '], "");
        body.push_str(&format!("\n[{label}]({url})"));
    }
    json!({ "text": body })
}

/// A Microsoft Teams message: an Adaptive Card wrapped in a `message` activity, the shape
/// Teams' incoming webhooks and Workflows ("post to a channel when a webhook request is
/// received") both accept. Card text is plain (`TextBlock` with wrapping), so nothing in the
/// incident's data becomes markup.
pub fn teams_payload(title: &str, text: &str, link: Option<(&str, &str)>) -> Value {
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            { "type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true },
            { "type": "TextBlock", "text": text, "wrap": true }
        ]
    });
    if let Some((label, url)) = link {
        card["actions"] = json!([{ "type": "Action.OpenUrl", "title": label, "url": url }]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card
        }]
    })
}

/// What happened, for the receiver to dispatch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    IncidentCreated,
    Escalation,
    ClockDueSoon,
    ClockOverdue,
    ActionReminder,
    /// Sent from the administrator's "test this webhook" button.
    Test,
}

/// The incident facts a receiver gets: enough to route and display, nothing that needs
/// need-to-know (no summary, no impact details).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventIncident {
    pub id: i64,
    pub title: String,
    pub severity: u8,
    pub category: Category,
    pub phase: Phase,
    pub url: String,
}

/// The generic JSON event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub event: EventType,
    pub incident: EventIncident,
    pub occurred_at: Timestamp,
    /// A short human sentence in the organisation's language, for receivers that only log.
    pub text: String,
}

/// A body ready to POST with its signature header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEvent {
    pub body: String,
    /// The value of [`SIGNATURE_HEADER`].
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the webhook secret must not be empty")]
    EmptySecret,
    #[error("the event could not be encoded as JSON: {0}")]
    Encode(String),
}

/// Why a signature was refused. The receiver should answer every kind the same way; the
/// distinction is for its logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature is older or newer than the tolerance allows ({age_seconds} s away)")]
    Stale { age_seconds: i64 },
    #[error("no signature matches the body")]
    Mismatch,
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Result<HmacSha256, SignError> {
    if secret.is_empty() {
        return Err(SignError::EmptySecret);
    }
    let mut m = HmacSha256::new_from_slice(secret).map_err(|_| SignError::EmptySecret)?;
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    Ok(m)
}

/// The header value for a body sent at `at`: `t=<unix seconds>,v1=<hex HMAC-SHA-256 of
/// "t.body">`. The timestamp is the sending time, not the event's, so a retried delivery
/// gets a fresh signature and is not refused as stale.
pub fn sign(secret: &[u8], at: Timestamp, body: &[u8]) -> Result<String, SignError> {
    let t = at.as_second();
    let tag = mac(secret, t, body)?.finalize().into_bytes();
    Ok(format!("t={t},v1={}", hex::encode(tag)))
}

/// Encodes and signs an event for sending at `at`.
pub fn signed_event(secret: &[u8], event: &Event, at: Timestamp) -> Result<SignedEvent, SignError> {
    let body = serde_json::to_string(event).map_err(|e| SignError::Encode(e.to_string()))?;
    let signature = sign(secret, at, body.as_bytes())?;
    Ok(SignedEvent { body, signature })
}

/// Checks a signature header against the body, for receivers written in Rust and for our own
/// tests. Several `v1=` values are accepted (a sender rotating its secret sends both), and
/// each is compared in constant time.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: SignedDuration,
) -> Result<(), VerifyError> {
    let mut t = None;
    let mut tags = Vec::new();
    for item in header.split(',') {
        let (k, v) = item.trim().split_once('=').ok_or(VerifyError::Malformed)?;
        match k {
            "t" if t.is_none() => {
                t = Some(v.parse::<i64>().map_err(|_| VerifyError::Malformed)?);
            }
            "t" => return Err(VerifyError::Malformed),
            "v1" => tags.push(hex::decode(v).map_err(|_| VerifyError::Malformed)?),
            // Unknown schemes are skipped, so a later `v2` does not break old receivers.
            _ => {}
        }
    }
    let t = t.ok_or(VerifyError::Malformed)?;
    if tags.is_empty() {
        return Err(VerifyError::Malformed);
    }
    let age = now.as_second().saturating_sub(t);
    if age.unsigned_abs() > tolerance.as_secs().unsigned_abs() {
        return Err(VerifyError::Stale { age_seconds: age });
    }
    let expected = mac(secret, t, body).map_err(|_| VerifyError::Mismatch)?;
    // Every candidate is checked, so the time taken does not tell which one matched.
    let mut ok = false;
    for tag in &tags {
        ok |= expected.clone().verify_slice(tag).is_ok();
    }
    if ok {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// The shape a configured webhook expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Slack,
    Teams,
    Mattermost,
    SignedJson,
}

/// What a chat receiver shows: a title, plain text and an optional `(label, url)` link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatMessage<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub link: Option<(&'a str, &'a str)>,
}

/// A request body with the headers it needs, ready for the HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

/// Builds the request for a webhook of `format`: the one place the server turns a
/// notification into bytes, so every format gets the same escaping and signing rules.
/// Signed JSON needs the webhook's secret; chat formats ignore it (their URL is the secret).
pub fn build(
    format: Format,
    message: &ChatMessage<'_>,
    event: &Event,
    secret: Option<&[u8]>,
    at: Timestamp,
) -> Result<Outgoing, SignError> {
    let json_type = ("Content-Type", "application/json".to_owned());
    let chat = |v: Value| Outgoing {
        body: v.to_string(),
        headers: vec![json_type.clone()],
    };
    let joined = format!("{}\n{}", message.title, message.text);
    Ok(match format {
        Format::Slack => chat(slack_payload(&joined, message.link)),
        Format::Mattermost => chat(mattermost_payload(&joined, message.link)),
        Format::Teams => chat(teams_payload(message.title, message.text, message.link)),
        Format::SignedJson => {
            let signed = signed_event(secret.unwrap_or_default(), event, at)?;
            Outgoing {
                body: signed.body,
                headers: vec![json_type.clone(), (SIGNATURE_HEADER, signed.signature)],
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec-test-0123456789abcdef";

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
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
                url: "https://kizuki.example/incidents/12".into(),
            },
            occurred_at: at(1_700_000_000),
            text: "New level 3 incident".into(),
        }
    }

    #[test]
    fn slack_escapes_only_its_control_characters() {
        let cases = [
            ("plain", "plain"),
            ("a < b > c & d", "a &lt; b &gt; c &amp; d"),
            ("<!channel> ping", "&lt;!channel&gt; ping"),
            ("*bold* _x_ 日本語", "*bold* _x_ 日本語"),
            ("&amp;", "&amp;amp;"),
        ];
        for (input, expect) in cases {
            assert_eq!(slack_escape(input), expect, "{input}");
        }
    }

    #[test]
    fn slack_payload_keeps_the_link_clickable_but_data_inert() {
        let p = slack_payload(
            "<@U123> hi",
            Some(("Open | now>", "https://k.example/i/1?a=1&b=2")),
        );
        assert_eq!(
            p,
            json!({"text": "&lt;@U123&gt; hi\n<https://k.example/i/1?a=1&amp;b=2|Open ¦ now&gt;>"})
        );
        assert_eq!(slack_payload("x", None), json!({"text": "x"}));
    }

    #[test]
    fn mattermost_payload_is_text() {
        assert_eq!(
            mattermost_payload(
                "Level 3: a < b",
                Some(("[Open]", "https://k.example/i/(1)"))
            ),
            json!({"text": "Level 3: a < b\n[Open](https://k.example/i/1)"})
        );
    }

    #[test]
    fn teams_payload_is_an_adaptive_card_message() {
        let p = teams_payload(
            "Incident 12",
            "**not markup**",
            Some(("Open", "https://k.example/i/12")),
        );
        assert_eq!(p["type"], "message");
        let a = &p["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(a["content"]["type"], "AdaptiveCard");
        assert_eq!(a["content"]["body"][0]["text"], "Incident 12");
        assert_eq!(a["content"]["body"][1]["text"], "**not markup**");
        assert_eq!(a["content"]["body"][1]["wrap"], true);
        assert_eq!(a["content"]["actions"][0]["url"], "https://k.example/i/12");
        let p = teams_payload("t", "x", None);
        assert!(p["attachments"][0]["content"].get("actions").is_none());
    }

    #[test]
    fn signed_event_verifies_and_carries_the_facts() {
        let s = signed_event(SECRET, &event(), at(1_700_000_100)).unwrap();
        assert!(s.signature.starts_with("t=1700000100,v1="));
        assert_eq!(s.signature.len(), "t=1700000100,v1=".len() + 64);
        let body: Value = serde_json::from_str(&s.body).unwrap();
        assert_eq!(body["event"], "incident_created");
        assert_eq!(body["incident"]["category"], "ransomware");
        assert_eq!(body["incident"]["severity"], 3);
        assert_eq!(body["occurred_at"], "2023-11-14T22:13:20Z");
        let tol = SignedDuration::from_mins(5);
        assert_eq!(
            verify(
                SECRET,
                &s.signature,
                s.body.as_bytes(),
                at(1_700_000_130),
                tol
            ),
            Ok(())
        );
    }

    #[test]
    fn known_vector() {
        // Computed independently with: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        let h = sign(b"key", at(1_700_000_000), b"{}").unwrap();
        assert_eq!(
            h,
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn verification_refusals() {
        let body = br#"{"event":"test"}"#;
        let now = at(1_700_000_000);
        let tol = SignedDuration::from_mins(5);
        let good = sign(SECRET, now, body).unwrap();
        let tag = good.split_once(",v1=").unwrap().1.to_owned();
        let other = sign(b"another secret", now, body).unwrap();
        let other_tag = other.split_once(",v1=").unwrap().1.to_owned();
        let old = sign(SECRET, at(1_700_000_000 - 301), body).unwrap();
        let future = sign(SECRET, at(1_700_000_000 + 301), body).unwrap();
        let edge = sign(SECRET, at(1_700_000_000 - 300), body).unwrap();
        let cases: Vec<(String, &[u8], Result<(), VerifyError>)> = vec![
            (good.clone(), body, Ok(())),
            (edge, body, Ok(())),
            (
                good.clone(),
                br#"{"event":"tesT"}"#,
                Err(VerifyError::Mismatch),
            ),
            (other, body, Err(VerifyError::Mismatch)),
            (old, body, Err(VerifyError::Stale { age_seconds: 301 })),
            (future, body, Err(VerifyError::Stale { age_seconds: -301 })),
            // Rotation: either secret's tag may come first.
            (
                format!("t=1700000000,v1={other_tag},v1={tag}"),
                body,
                Ok(()),
            ),
            (format!("t=1700000000,v0=zz,v1={tag}"), body, Ok(())),
            // Moving the timestamp breaks the signature.
            (
                format!("t=1700000001,v1={tag}"),
                body,
                Err(VerifyError::Mismatch),
            ),
            (format!("v1={tag}"), body, Err(VerifyError::Malformed)),
            ("t=1700000000".into(), body, Err(VerifyError::Malformed)),
            (format!("t=abc,v1={tag}"), body, Err(VerifyError::Malformed)),
            (
                format!("t=1700000000,t=1700000000,v1={tag}"),
                body,
                Err(VerifyError::Malformed),
            ),
            (
                "t=1700000000,v1=nothex".into(),
                body,
                Err(VerifyError::Malformed),
            ),
            ("garbage".into(), body, Err(VerifyError::Malformed)),
            (
                format!("t=1700000000,v1={}", &tag[..62]),
                body,
                Err(VerifyError::Mismatch),
            ),
        ];
        for (header, b, expect) in cases {
            assert_eq!(verify(SECRET, &header, b, now, tol), expect, "{header}");
        }
    }

    #[test]
    fn build_covers_every_format() {
        let m = ChatMessage {
            title: "Level 3: <ransomware>",
            text: "Files encrypted on FS01",
            link: Some(("Open", "https://k.example/incidents/12")),
        };
        let now = at(1_700_000_000);
        for format in [
            Format::Slack,
            Format::Teams,
            Format::Mattermost,
            Format::SignedJson,
        ] {
            let out = build(format, &m, &event(), Some(SECRET), now).unwrap();
            let body: Value = serde_json::from_str(&out.body).unwrap();
            assert_eq!(
                out.headers[0],
                ("Content-Type", "application/json".to_owned())
            );
            match format {
                Format::Slack => {
                    assert_eq!(out.headers.len(), 1);
                    let text = body["text"].as_str().unwrap();
                    assert!(
                        text.starts_with("Level 3: &lt;ransomware&gt;\nFiles encrypted"),
                        "{text}"
                    );
                }
                Format::Mattermost => {
                    assert!(body["text"].as_str().unwrap().contains("<ransomware>"));
                }
                Format::Teams => assert_eq!(body["type"], "message"),
                Format::SignedJson => {
                    assert_eq!(out.headers[1].0, SIGNATURE_HEADER);
                    let tol = SignedDuration::from_secs(60);
                    assert_eq!(
                        verify(SECRET, &out.headers[1].1, out.body.as_bytes(), now, tol),
                        Ok(())
                    );
                    assert_eq!(body["incident"]["id"], 12);
                }
            }
        }
        assert_eq!(
            build(Format::SignedJson, &m, &event(), None, now),
            Err(SignError::EmptySecret)
        );
    }

    #[test]
    fn empty_secret_is_refused() {
        assert_eq!(sign(b"", at(0), b"x"), Err(SignError::EmptySecret));
        assert_eq!(
            verify(b"", "t=0,v1=00", b"x", at(0), SignedDuration::from_secs(1)),
            Err(VerifyError::Mismatch)
        );
    }
}
