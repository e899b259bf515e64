//! Windows EVTX input through the `evtx` crate.

use super::flatjson::Flattener;
use super::{BATCH, InputError, ReadCtx};
use crate::event::{Event, EventBuilder, SourceKind};
use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxParser, ParserSettings};
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

/// An opened EVTX file: the parser (chunks are read from it), the settings chunks are parsed
/// with and the file name events carry.
pub struct Opened {
    parser: EvtxParser<std::fs::File>,
    settings: Arc<ParserSettings>,
    source: Arc<str>,
}

/// Open an EVTX file, noting a truncated file in `errors`.
pub fn open(path: &Path, errors: &mut Vec<InputError>) -> Option<Opened> {
    let settings = ParserSettings::new()
        .num_threads(1)
        .separate_json_attributes(false)
        .indent(false);
    let parser = match EvtxParser::from_path(path) {
        Ok(p) => p.with_configuration(settings.clone()),
        Err(e) => {
            errors.push(InputError {
                path: path.to_path_buf(),
                offset: Some(0),
                reason: reason(&e),
            });
            return None;
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
    Some(Opened {
        parser,
        settings: Arc::new(settings),
        source: path.display().to_string().into(),
    })
}

/// Per-worker scratch space for [`process_chunk`].
pub struct Scratch<'r> {
    builder: EventBuilder<'r>,
    flat: Flattener,
}

impl<'r> Scratch<'r> {
    /// Scratch space resolving names with `ctx`.
    pub fn new(ctx: ReadCtx<'r>) -> Self {
        Scratch {
            builder: EventBuilder::new(ctx.reg, ctx.meta, false),
            flat: Flattener::default(),
        }
    }
}

/// Parse one chunk and call `on_event` with each record's event (one event buffer is
/// reused for every record). Returns the number of events.
pub fn process_chunk(
    chunk: Result<EvtxChunkData, EvtxError>,
    path: &Path,
    settings: &Arc<ParserSettings>,
    source: &Arc<str>,
    scratch: &mut Scratch<'_>,
    on_event: &mut dyn FnMut(&Event),
    errors: &mut Vec<InputError>,
) -> u64 {
    let fail = |errors: &mut Vec<InputError>, e: &EvtxError| {
        errors.push(InputError {
            path: path.to_path_buf(),
            offset: offset(e),
            reason: reason(e),
        })
    };
    let mut data = match chunk {
        Ok(d) => d,
        Err(e) => {
            fail(errors, &e);
            return 0;
        }
    };
    let number = data.number.unwrap_or(0);
    let mut chunk = match data.parse(settings.clone()) {
        Ok(c) => c,
        Err(e) => {
            fail(
                errors,
                &EvtxError::FailedToParseChunk {
                    chunk_id: number,
                    source: Box::new(e),
                },
            );
            return 0;
        }
    };
    let mut n = 0;
    for r in chunk.iter() {
        let rec = match r {
            Ok(rec) => rec,
            Err(e) => {
                fail(errors, &e);
                continue;
            }
        };
        let recovered = rec.recovered;
        let json = match rec.into_json_bytes() {
            Ok(j) => j,
            Err(e) => {
                // Carved hits that fail to render are noise, as in the evtx crate.
                if !recovered {
                    fail(errors, &e);
                }
                continue;
            }
        };
        let Scratch { builder, flat } = scratch;
        builder.reset();
        if let Err(why) = flat.evtx_record(&json.data, builder) {
            errors.push(InputError {
                path: path.to_path_buf(),
                offset: None,
                reason: format!("record {}: {why}", json.event_record_id),
            });
            continue;
        }
        let ev = builder.finish_ref(source, json.event_record_id, SourceKind::Evtx);
        if ev.time.is_none() {
            let t = json.timestamp.to_string();
            ev.time_ms = crate::time::parse_ms(&t);
            ev.time = Some(t.into());
        }
        n += 1;
        on_event(ev);
    }
    n
}

/// Scan an EVTX file chunk by chunk on the rayon pool: idle workers take chunks of this
/// file (work stealing), so a large file, or the last file of a run, keeps every core busy.
/// Each chunk gets its own state from `init`, fed with `on_event` and handed to `done`
/// with the chunk's event count.
pub fn scan_parallel<S>(
    path: &Path,
    ctx: ReadCtx<'_>,
    init: &(dyn Fn() -> S + Sync),
    on_event: &(dyn Fn(&mut S, &Event) + Sync),
    done: &(dyn Fn(S, u64) + Sync),
    errors: &mut Vec<InputError>,
) {
    use rayon::iter::{ParallelBridge, ParallelIterator};
    let Some(mut f) = open(path, errors) else {
        return;
    };
    let errs = std::sync::Mutex::new(Vec::new());
    let (settings, source) = (f.settings.clone(), f.source.clone());
    f.parser.chunks().par_bridge().for_each(|chunk| {
        let mut state = init();
        let mut local = Vec::new();
        let mut scratch = Scratch::new(ctx);
        let n = process_chunk(
            chunk,
            path,
            &settings,
            &source,
            &mut scratch,
            &mut |ev| on_event(&mut state, ev),
            &mut local,
        );
        done(state, n);
        if !local.is_empty()
            && let Ok(mut e) = errs.lock()
        {
            e.extend(local);
        }
    });
    let mut errs = errs.into_inner().unwrap_or_default();
    // Chunks finish in any order; report problems in file order.
    errs.sort_by_key(|e: &InputError| e.offset);
    errors.extend(errs);
}

/// Read an EVTX file, handing events over in batches (in record order).
pub fn read(
    path: &Path,
    ctx: ReadCtx<'_>,
    _threads: usize,
    on_batch: &mut dyn FnMut(Vec<Event>),
    errors: &mut Vec<InputError>,
) {
    let Some(mut f) = open(path, errors) else {
        return;
    };
    let mut scratch = Scratch::new(ctx);
    let mut batch = Vec::with_capacity(BATCH);
    let (settings, source) = (f.settings.clone(), f.source.clone());
    let mut local = Vec::new();
    for chunk in f.parser.chunks() {
        process_chunk(
            chunk,
            path,
            &settings,
            &source,
            &mut scratch,
            &mut |ev| batch.push(ev.clone()),
            &mut local,
        );
        if batch.len() >= BATCH {
            on_batch(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
        }
    }
    errors.extend(local);
    if !batch.is_empty() {
        on_batch(batch);
    }
}
