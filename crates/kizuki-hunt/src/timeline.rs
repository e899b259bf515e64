//! Time-ordered output with bounded memory: detections are formatted as they come and kept
//! in memory up to a byte budget; a full buffer is sorted and spilled to an anonymous temp
//! file (a "run"); at the end the runs and what is left in memory are merged (k-way) into
//! the writer. Memory is the budget plus one read buffer per run, whatever the input size.
//!
//! Order: event time (hits without a time last), then file, record and rule id, so the
//! output does not depend on which worker found a hit first.

use crate::output::{Format, Hit, HitWriter, format_hit};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Seek, Write};

/// Default in-memory budget of formatted detections before spilling: 8 MiB.
pub const DEFAULT_BUDGET: usize = 8 << 20;

/// Read buffer per spilled run during the merge.
const RUN_READ_BUF: usize = 32 << 10;

/// Sort key of a detection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    /// Event time in ms; `i64::MAX` when unknown (sorted last).
    time: i64,
    /// File, record (big-endian) and rule id, for a stable order among equal times.
    tie: Vec<u8>,
}

impl Key {
    fn of(h: &Hit) -> Key {
        let mut tie = Vec::with_capacity(h.file.len() + h.rule_id.len() + 10);
        tie.extend_from_slice(h.file.as_bytes());
        tie.push(0);
        tie.extend_from_slice(&h.record.to_be_bytes());
        tie.extend_from_slice(h.rule_id.as_bytes());
        Key {
            time: h.time_ms.unwrap_or(i64::MAX),
            tie,
        }
    }

    fn size(&self) -> usize {
        self.tie.len() + 8
    }
}

/// Time-ordering buffer for one output.
#[derive(Debug)]
pub struct TimelineSorter {
    format: Format,
    budget: usize,
    used: usize,
    buf: Vec<(Key, Vec<u8>)>,
    runs: Vec<std::fs::File>,
    /// Total detections spilled to temp files (for tests and the summary).
    pub spilled: u64,
}

fn write_record(w: &mut impl Write, k: &Key, line: &[u8]) -> std::io::Result<()> {
    w.write_all(&k.time.to_le_bytes())?;
    w.write_all(&(k.tie.len() as u64).to_le_bytes())?;
    w.write_all(&k.tie)?;
    w.write_all(&(line.len() as u64).to_le_bytes())?;
    w.write_all(line)
}

fn read_u64(r: &mut impl Read) -> std::io::Result<Option<[u8; 8]>> {
    let mut b = [0u8; 8];
    let mut n = 0;
    while n < 8 {
        match r.read(b.get_mut(n..).unwrap_or(&mut []))? {
            0 if n == 0 => return Ok(None),
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            k => n += k,
        }
    }
    Ok(Some(b))
}

fn read_bytes(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let len = read_u64(r)?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
    let len = usize::try_from(u64::from_le_bytes(len)).map_err(std::io::Error::other)?;
    let mut v = vec![0u8; len];
    r.read_exact(&mut v)?;
    Ok(v)
}

fn read_record(r: &mut impl Read) -> std::io::Result<Option<(Key, Vec<u8>)>> {
    let Some(t) = read_u64(r)? else {
        return Ok(None);
    };
    let tie = read_bytes(r)?;
    let line = read_bytes(r)?;
    Ok(Some((
        Key {
            time: i64::from_le_bytes(t),
            tie,
        },
        line,
    )))
}

/// A merge candidate: the smallest unread record of a source.
struct Head {
    key: Key,
    line: Vec<u8>,
    src: usize,
}

impl PartialEq for Head {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Head {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        o.key.cmp(&self.key).then(o.src.cmp(&self.src))
    }
}

impl TimelineSorter {
    /// A sorter for `format` keeping at most about `budget` bytes of detections in memory.
    pub fn new(format: Format, budget: usize) -> Self {
        TimelineSorter {
            format,
            budget: budget.max(1),
            used: 0,
            buf: Vec::new(),
            runs: Vec::new(),
            spilled: 0,
        }
    }

    /// Number of runs spilled to temp files so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Add a detection.
    pub fn push(&mut self, h: &Hit) -> std::io::Result<()> {
        let mut line = Vec::with_capacity(256);
        format_hit(self.format, h, &mut line)?;
        let key = Key::of(h);
        self.used += key.size() + line.len() + 64;
        self.buf.push((key, line));
        if self.used >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.sort_by(|a, b| a.0.cmp(&b.0));
        let mut w = BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
        for (k, line) in self.buf.drain(..) {
            write_record(&mut w, &k, &line)?;
            self.spilled += 1;
        }
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.rewind()?;
        self.runs.push(f);
        self.used = 0;
        self.buf.shrink_to(1024);
        Ok(())
    }

    /// Merge everything into `out`, in time order.
    pub fn finish(mut self, out: &mut HitWriter) -> std::io::Result<()> {
        self.buf.sort_by(|a, b| a.0.cmp(&b.0));
        if self.runs.is_empty() {
            for (_, line) in &self.buf {
                out.write_formatted(line)?;
            }
            return Ok(());
        }
        let mut readers: Vec<BufReader<std::fs::File>> = self
            .runs
            .drain(..)
            .map(|f| BufReader::with_capacity(RUN_READ_BUF, f))
            .collect();
        // Source `readers.len()` is the in-memory rest.
        let mem_src = readers.len();
        let mut mem = std::mem::take(&mut self.buf).into_iter();
        let mut heap = BinaryHeap::with_capacity(readers.len() + 1);
        for (src, r) in readers.iter_mut().enumerate() {
            if let Some((key, line)) = read_record(r)? {
                heap.push(Head { key, line, src });
            }
        }
        if let Some((key, line)) = mem.next() {
            heap.push(Head {
                key,
                line,
                src: mem_src,
            });
        }
        while let Some(Head { line, src, .. }) = heap.pop() {
            out.write_formatted(&line)?;
            let next = if src == mem_src {
                mem.next()
            } else {
                match readers.get_mut(src) {
                    Some(r) => read_record(r)?,
                    None => None,
                }
            };
            if let Some((key, line)) = next {
                heap.push(Head { key, line, src });
            }
        }
        Ok(())
    }
}

/// Sort hits in memory in timeline order (for callers that collect them).
pub fn sort_hits(hits: &mut [Hit]) {
    hits.sort_by_cached_key(Key::of);
}
