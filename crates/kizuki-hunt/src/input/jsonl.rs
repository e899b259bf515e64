//! JSON-lines input: one JSON object per line, flat or nested (Winlogbeat / Elastic ECS,
//! EVTX exported as JSON), and Suricata EVE JSON, recognised per line.

use super::{BATCH, InputError, ReadCtx};
use crate::event::{Event, EventBuilder, SourceKind};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

/// Whether a JSON object is a Suricata EVE record.
fn is_eve(v: &Value) -> bool {
    v.get("event_type").is_some_and(Value::is_string)
        && (v.get("flow_id").is_some() || v.get("src_ip").is_some() || v.get("in_iface").is_some())
}

/// Turn one parsed JSON object into an event.
pub fn event_from_value(
    b: &mut EventBuilder<'_>,
    v: &Value,
    source: &Arc<str>,
    record: u64,
) -> Event {
    let v = v
        .get("Event")
        .filter(|e| e.get("System").is_some())
        .unwrap_or(v);
    b.push_json("", v);
    if is_eve(v) {
        let mut ev = b.finish(source, record, SourceKind::Eve);
        ev.channel = Some("suricata".into());
        ev.channel_lower = Some("suricata".into());
        ev
    } else {
        b.finish(source, record, SourceKind::Jsonl)
    }
}

/// Read a JSON-lines file.
pub fn read(
    path: &Path,
    ctx: ReadCtx<'_>,
    on_batch: &mut dyn FnMut(Vec<Event>),
    errors: &mut Vec<InputError>,
) {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            errors.push(InputError {
                path: path.to_path_buf(),
                offset: None,
                reason: format!("cannot open: {e}"),
            });
            return;
        }
    };
    let source: Arc<str> = path.display().to_string().into();
    let mut r = BufReader::with_capacity(1 << 16, f);
    let mut b = EventBuilder::new(ctx.reg, ctx.meta, true);
    let mut batch = Vec::with_capacity(BATCH);
    let mut line = Vec::new();
    let mut offset = 0u64;
    let mut lineno = 0u64;
    let mut bad = 0usize;
    loop {
        line.clear();
        let n = match r.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                errors.push(InputError {
                    path: path.to_path_buf(),
                    offset: Some(offset),
                    reason: format!("read error: {e}"),
                });
                break;
            }
        };
        lineno += 1;
        let start = offset;
        offset += n as u64;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Value>(text) {
            Ok(v @ Value::Object(_)) => {
                batch.push(event_from_value(&mut b, &v, &source, lineno));
                if batch.len() >= BATCH {
                    on_batch(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
            }
            Ok(_) => {
                bad += 1;
                if bad <= 20 {
                    errors.push(InputError {
                        path: path.to_path_buf(),
                        offset: Some(start),
                        reason: format!("line {lineno}: not a JSON object"),
                    });
                }
            }
            Err(e) => {
                bad += 1;
                if bad <= 20 {
                    errors.push(InputError {
                        path: path.to_path_buf(),
                        offset: Some(start),
                        reason: format!("line {lineno}: invalid JSON: {e}"),
                    });
                }
            }
        }
    }
    if bad > 20 {
        errors.push(InputError {
            path: path.to_path_buf(),
            offset: None,
            reason: format!("{} more bad lines not listed", bad - 20),
        });
    }
    if !batch.is_empty() {
        on_batch(batch);
    }
}
