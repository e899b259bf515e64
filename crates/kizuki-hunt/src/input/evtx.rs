//! Windows EVTX input through the `evtx` crate.

use super::{BATCH, InputError, ReadCtx};
use crate::event::{Event, EventBuilder, SourceKind};
use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use std::path::Path;
use std::sync::Arc;

fn reason(e: &EvtxError) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

fn offset(e: &EvtxError) -> Option<u64> {
    match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => Some(0x1000 + chunk_id * 0x10000),
        _ => None,
    }
}

/// Read an EVTX file.
pub fn read(
    path: &Path,
    ctx: ReadCtx<'_>,
    threads: usize,
    on_batch: &mut dyn FnMut(Vec<Event>),
    errors: &mut Vec<InputError>,
) {
    let mut parser = match EvtxParser::from_path(path) {
        Ok(p) => p.with_configuration(
            ParserSettings::new()
                .num_threads(threads.max(1))
                .separate_json_attributes(false),
        ),
        Err(e) => {
            errors.push(InputError {
                path: path.to_path_buf(),
                offset: Some(0),
                reason: reason(&e),
            });
            return;
        }
    };
    // A file cut short loses its last chunks without the parser noticing: compare the size
    // with what the header announces.
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let announced = u64::from(parser.header().chunk_count);
    let whole = len.saturating_sub(0x1000) / 0x10000;
    if whole < announced || (len > 0x1000 && !(len - 0x1000).is_multiple_of(0x10000)) {
        let at = 0x1000 + whole * 0x10000;
        errors.push(InputError {
            path: path.to_path_buf(),
            offset: Some(at),
            reason: format!(
                "file is truncated: the header announces {announced} chunks, {whole} are complete; the incomplete rest ({} bytes) is skipped",
                len.saturating_sub(at)
            ),
        });
    }
    let source: Arc<str> = path.display().to_string().into();
    let mut b = EventBuilder::new(ctx.reg, ctx.meta, false);
    let mut batch = Vec::with_capacity(BATCH);
    for r in parser.records_json_value() {
        match r {
            Ok(rec) => {
                let root = rec.data.get("Event").unwrap_or(&rec.data);
                b.push_json("", root);
                let mut ev = b.finish(&source, rec.event_record_id, SourceKind::Evtx);
                if ev.time.is_none() {
                    let t = rec.timestamp.to_string();
                    ev.time_ms = crate::time::parse_ms(&t);
                    ev.time = Some(t.into());
                }
                batch.push(ev);
                if batch.len() >= BATCH {
                    on_batch(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
            }
            Err(e) => errors.push(InputError {
                path: path.to_path_buf(),
                offset: offset(&e),
                reason: reason(&e),
            }),
        }
    }
    if !batch.is_empty() {
        on_batch(batch);
    }
}
