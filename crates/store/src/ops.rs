//! Whole-log operations that work the same on every [`Store`]: verify, rebuild, export and
//! import. Each takes a progress callback so the CLI can draw a bar; none prints.

use crate::{ProjectionRow, Store, StoreError, StoredEntry};
use domain::chain::{ChainStep, Logged};
use domain::{Event, MemoryRecords, Record, Timestamp};
use ledger::entry::read_prefix;
use ledger::{Entry, Hash, SignedCheckpoint, Tamper, Verifier, leaf_hash};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};

/// Rows read per round trip while streaming the log.
pub const SCAN_CHUNK_EVENTS: usize = 8_192;
/// Events per committed import batch.
pub const IMPORT_BATCH_EVENTS: usize = 1_000;
/// Longest NDJSON line accepted on import.
pub const IMPORT_LINE_BYTES_MAX: usize = 1 << 20;

/// Streams the whole log in order, a chunk per round trip, reporting progress after each
/// chunk. Returns one past the last sequence number seen.
fn scan<E: From<StoreError>>(
    store: &mut dyn Store,
    progress: &mut dyn FnMut(u64),
    mut f: impl FnMut(&StoredEntry) -> Result<(), E>,
) -> Result<u64, E> {
    let mut next = 0u64;
    loop {
        let chunk = store.entries(next, SCAN_CHUNK_EVENTS)?;
        let Some(last) = chunk.last() else { return Ok(next) };
        next = last.seq + 1;
        for se in &chunk {
            f(se)?;
        }
        progress(next);
    }
}

/// A subject's custody chain as the log knew it at `as_of` (now when `None`).
pub fn custody_chain(
    store: &mut dyn Store,
    subject: &str,
    as_of: Option<Timestamp>,
) -> Result<Vec<ChainStep>, StoreError> {
    let entries = store.subject_entries(subject, as_of)?;
    let logged: Vec<Logged> = entries
        .iter()
        .map(|e| Logged {
            seq: e.seq,
            valid_at: e.valid_at,
            recorded_at: e.recorded_at,
            corrects: e.corrects,
            event: &e.event,
        })
        .collect();
    Ok(domain::chain::custody_chain(&logged))
}

/// Why verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Tamper(#[from] Tamper),
    #[error("checkpoint of size {size}: {reason}")]
    BadCheckpoint { size: u64, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VerifyError {
    /// The first bad sequence number, when the failure names one.
    pub fn first_bad_seq(&self) -> Option<u64> {
        match self {
            VerifyError::Tamper(t) => Some(t.first_bad_seq()),
            _ => None,
        }
    }
}

/// What an intact log looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub count: u64,
    pub root: Hash,
    pub checkpoints_checked: usize,
}

/// Recomputes the hash chain and Merkle root from the stored bytes, checks every stored
/// checkpoint's signature and root, and, if given, an agency's own checkpoint.
pub fn verify(
    store: &mut dyn Store,
    external: Option<&SignedCheckpoint>,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport, VerifyError> {
    let key = store.verifying_key()?;
    let mut checkpoints = store.checkpoints()?;
    checkpoints.extend(external.cloned());
    for c in &checkpoints {
        c.verify(&key).map_err(|e| VerifyError::BadCheckpoint { size: c.checkpoint.size, reason: e.to_string() })?;
    }
    let mut roots: BTreeMap<u64, Vec<Hash>> = BTreeMap::new();
    for c in &checkpoints {
        roots.entry(c.checkpoint.size).or_default().push(c.checkpoint.root);
    }
    let mut v = Verifier::new();
    let mut last_good = 0u64;
    // A checkpoint mismatch is reported only after the next entry's chain link is checked,
    // because a broken link names the bad event more precisely.
    let mut pending: Option<Tamper> = None;
    scan(store, progress, |e| {
        match v.push(e.seq, &e.bytes, &e.leaf) {
            // A matching checkpoint vouches for every earlier entry: the link itself changed.
            Err(Tamper::ChainBroken { next, .. }) if last_good == next => {
                return Err(Tamper::PrevAltered { seq: next }.into());
            }
            Err(t) => return Err(t.into()),
            Ok(_) => {}
        }
        if let Some(t) = pending.take() {
            return Err(t.into());
        }
        if let Some(expected) = roots.get(&v.count()) {
            if expected.iter().any(|r| *r != v.root()) {
                pending = Some(Tamper::CheckpointMismatch { first: last_good, last: v.count() - 1, size: v.count() });
            } else {
                last_good = v.count();
            }
        }
        Ok::<(), VerifyError>(())
    })?;
    v.finish()?;
    if let Some(t) = pending {
        return Err(t.into());
    }
    let largest = checkpoints.iter().map(|c| c.checkpoint.size).max().unwrap_or(0);
    if largest > v.count() {
        return Err(Tamper::Truncated { size: largest, count: v.count() }.into());
    }
    if v.count() > largest {
        return Err(Tamper::Unsigned { first: largest, last: v.count() - 1 }.into());
    }
    Ok(VerifyReport { count: v.count(), root: v.root(), checkpoints_checked: checkpoints.len() })
}

/// How a rebuilt projection compares with the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    pub events: u64,
    pub rows: usize,
    /// `kind/id` of rows that differ, are missing, or are extra (at most 20 listed).
    pub differences: Vec<String>,
    pub difference_count: usize,
}

/// Replays the log into fresh state; returns the rebuilt rows, sorted.
pub fn replay(store: &mut dyn Store, progress: &mut dyn FnMut(u64)) -> Result<(u64, Vec<ProjectionRow>), StoreError> {
    let mut state = MemoryRecords::default();
    let next = scan(store, progress, |se| {
        let e = se.decode()?;
        domain::apply(&mut state, &e.event, domain::EventTime { valid_at: e.valid_at })
            .map_err(|err| StoreError::Corrupt(format!("replaying event {}: {err}", se.seq)))?;
        Ok::<(), StoreError>(())
    })?;
    let mut rows: Vec<_> =
        state.map.values().map(|r: &Record| (r.key().kind.as_str().to_string(), r.key().id, r.to_bytes())).collect();
    rows.sort();
    Ok((next, rows))
}

/// Rebuilds current state from the log and compares it byte for byte with the stored rows.
pub fn rebuild(store: &mut dyn Store, progress: &mut dyn FnMut(u64)) -> Result<RebuildReport, StoreError> {
    let (events, rebuilt) = replay(store, progress)?;
    let stored = store.projection_rows()?;
    let a: BTreeMap<_, _> = rebuilt.iter().map(|(k, i, b)| ((k.as_str(), i.as_str()), b)).collect();
    let b: BTreeMap<_, _> = stored.iter().map(|(k, i, b)| ((k.as_str(), i.as_str()), b)).collect();
    let mut differences = Vec::new();
    for key in a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>() {
        if a.get(key) != b.get(key) {
            differences.push(format!("{}/{}", key.0, key.1));
        }
    }
    let difference_count = differences.len();
    differences.truncate(20);
    Ok(RebuildReport { events, rows: rebuilt.len(), differences, difference_count })
}

/// Writes every entry as one NDJSON line (its canonical bytes). Returns the count.
pub fn export(store: &mut dyn Store, out: &mut dyn Write, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
    let next = scan(store, progress, |se| {
        out.write_all(&se.bytes)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|source| StoreError::Io { context: "writing export".into(), source })
    })?;
    out.flush().map_err(|source| StoreError::Io { context: "writing export".into(), source })?;
    Ok(next)
}

/// An import file that failed validation, with the line that failed.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ImportError {
    pub line: usize,
    pub reason: String,
}

/// Reads and checks an NDJSON export: every line parses, is canonical, and the lines form
/// one contiguous hash chain. Nothing is written.
pub fn read_import(input: &mut dyn BufRead) -> Result<Vec<StoredEntry>, ImportError> {
    let mut out: Vec<StoredEntry> = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0usize;
    loop {
        buf.clear();
        line += 1;
        // At most one byte past the limit (plus the newline) is read: a huge line is refused
        // before it is in memory.
        let limit = u64::try_from(IMPORT_LINE_BYTES_MAX + 2).unwrap_or(u64::MAX);
        let n = (&mut *input)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(|e| ImportError { line, reason: format!("cannot read: {e}") })?;
        if n == 0 {
            break;
        }
        if buf.len() > IMPORT_LINE_BYTES_MAX + usize::from(buf.ends_with(b"\n")) {
            return Err(ImportError { line, reason: format!("longer than {IMPORT_LINE_BYTES_MAX} bytes") });
        }
        if buf.ends_with(b"\n") {
            buf.pop();
        }
        if buf.is_empty() {
            return Err(ImportError { line, reason: "empty line".into() });
        }
        let bad = |reason: String| ImportError { line, reason };
        let entry: Entry<Event> = serde_json::from_slice(&buf).map_err(|e| bad(format!("not a Liaison event: {e}")))?;
        if entry.to_bytes() != buf {
            return Err(bad("not in canonical form (fields reordered, spaces added, or edited by hand)".into()));
        }
        let (seq, prev) = read_prefix(&buf).ok_or_else(|| bad("unreadable sequence number".into()))?;
        if let Some(last) = out.last() {
            if seq != last.seq + 1 {
                return Err(bad(format!("event {seq} does not follow event {}", last.seq)));
            }
            if prev != last.leaf {
                return Err(bad(format!("event {seq}'s prev hash does not match event {}", last.seq)));
            }
        }
        out.push(StoredEntry { seq, leaf: leaf_hash(&buf), bytes: buf.clone() });
    }
    Ok(out)
}

/// Appends checked entries in batches of [`IMPORT_BATCH_EVENTS`], calling `acked` with the
/// last sequence number of each committed batch. A first dry run over the whole file in one
/// rolled-back transaction rejects a bad file before anything is written.
pub fn import(store: &mut dyn Store, entries: &[StoredEntry], acked: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
    store.check_entries(entries)?;
    let mut appended = 0u64;
    for batch in entries.chunks(IMPORT_BATCH_EVENTS) {
        if let Some(r) = store.append_entries(batch)? {
            appended += r.last_seq + 1 - r.first_seq;
            acked(r.last_seq);
        }
    }
    Ok(appended)
}
