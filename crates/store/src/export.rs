//! Exports that anyone can check offline, and imports that make a mirror.
//!
//! An export is NDJSON, one item per line, in this order:
//!
//! ```text
//! {"liaison_export":1,"origin":"liaison/…","verifier_key":"liaison/…+…+…"}
//! {"law_version":{"rules_hash":"…","sources":"…"}}      every version decisions quote
//! {"v":1,"seq":0,"prev":"…",…}                           each entry, its canonical bytes
//! {"checkpoint":"liaison/…\n12\n…\n\n— liaison/… …\n"}  each signed checkpoint, right
//!                                                        after the entry that completes it
//! {"end":{"events":N,"checkpoints":M,"law_versions":L}}
//! ```
//!
//! [`verify_export`] checks a file with no store: the hash chain, every signed checkpoint
//! against the recomputed tree (one closes every commit), the law versions against their
//! hashes, and the end line (so a file cut at a line boundary fails). [`import`] copies a
//! checked file into a store of the same log (a mirror keeps the original's key, signatures
//! and law versions: it is never re-signed), streaming, in batches that end at checkpoints.

use crate::verify::{VerifyError, VerifyOptions, VerifyReport};
use crate::{Store, StoreError, StoredEntry};
use domain::Event;
use ledger::checkpoint::{VerifyingKey, parse_verifier_key, verifier_key};
use ledger::entry::read_prefix;
use ledger::{Entry, SignedCheckpoint, Tamper, Verifier, leaf_hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};

/// Longest line accepted on import (a law version's sources are about 1 MB).
pub const IMPORT_LINE_BYTES_MAX: usize = 16 << 20;
/// Events per committed import batch (a batch ends at the first checkpoint after this many).
pub const IMPORT_BATCH_EVENTS: usize = 1_000;
/// Rows read per round trip while exporting.
const CHUNK: usize = 8_192;
/// The export format version.
pub const EXPORT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    liaison_export: u32,
    origin: String,
    verifier_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LawVersion {
    rules_hash: String,
    sources: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct End {
    /// The first event of a slice (0, and left out, for a whole export).
    #[serde(default, skip_serializing_if = "is_zero")]
    from: u64,
    /// The log's size at the end of the export.
    events: u64,
    checkpoints: u64,
    law_versions: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One line that is not an entry.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Tagged {
    LawVersion(LawVersion),
    Checkpoint(String),
    End(End),
}

/// One item of an export.
#[derive(Debug)]
pub enum Item {
    LawVersion {
        rules_hash: String,
        sources: String,
    },
    /// An entry: its stored form and what it decodes to.
    Entry(StoredEntry, Box<Entry<Event>>),
    Checkpoint(SignedCheckpoint),
    End {
        events: u64,
        checkpoints: u64,
        law_versions: u64,
    },
}

/// What an export holds, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub events: u64,
    pub checkpoints: u64,
    pub law_versions: u64,
}

/// Writes the log as an export (see the module documentation): the entries up to the
/// latest signed checkpoint, with every checkpoint and kept law version.
pub fn export(
    store: &mut dyn Store,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, StoreError> {
    export_range(store, out, 0, u64::MAX, progress)
}

/// An export of the entries from `from` on, about `max_events` of them: it ends at the last
/// signed checkpoint within that many (or at the first after `from`, for a larger commit), and
/// carries the checkpoints after `from`. A slice from 0 is a whole export as of that
/// checkpoint; a later slice continues a mirror that holds the entries before `from`.
pub fn export_range(
    store: &mut dyn Store,
    out: &mut dyn Write,
    from: u64,
    max_events: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, StoreError> {
    let io = |source| StoreError::Io { context: "writing export".into(), source };
    let line = |out: &mut dyn Write, bytes: &[u8]| out.write_all(bytes).and_then(|()| out.write_all(b"\n")).map_err(io);
    let key = store.verifying_key()?;
    let origin = store.meta_rows()?.into_iter().find(|(k, _)| k == "origin").map(|(_, v)| v);
    let origin = origin.ok_or_else(|| StoreError::Corrupt("meta origin is missing".into()))?;
    let header =
        Header { liaison_export: EXPORT_VERSION, origin: origin.clone(), verifier_key: verifier_key(&origin, &key) };
    line(out, &serde_json::to_vec(&header).expect("json"))?;
    let hashes = store.law_version_hashes()?;
    for rules_hash in &hashes {
        let sources = store.law_version(rules_hash)?.unwrap_or_default();
        let t = Tagged::LawVersion(LawVersion { rules_hash: rules_hash.clone(), sources });
        line(out, &serde_json::to_vec(&t).expect("json"))?;
    }
    let checkpoints: Vec<SignedCheckpoint> =
        store.checkpoints()?.into_iter().filter(|c| c.checkpoint.size > from).collect();
    let limit = from.saturating_add(max_events);
    let end = checkpoints
        .iter()
        .map(|c| c.checkpoint.size)
        .filter(|s| *s <= limit)
        .max()
        .or_else(|| checkpoints.first().map(|c| c.checkpoint.size))
        .unwrap_or(from);
    let mut notes =
        checkpoints.iter().filter(|c| c.checkpoint.size <= end).map(|c| (c.checkpoint.size, c.to_note())).peekable();
    let mut next = from;
    while next < end {
        let chunk = store.entries(next, CHUNK.min((end - next) as usize))?;
        let Some(last) = chunk.last() else { break };
        next = last.seq + 1;
        for e in &chunk {
            line(out, &e.bytes)?;
            while let Some((_, note)) = notes.next_if(|(s, _)| *s == e.seq + 1) {
                line(out, &serde_json::to_vec(&Tagged::Checkpoint(note)).expect("json"))?;
            }
        }
        progress(next);
    }
    let written = checkpoints.iter().filter(|c| c.checkpoint.size <= end).count() as u64;
    let summary = ExportSummary { events: next - from, checkpoints: written, law_versions: hashes.len() as u64 };
    let end = End { from, events: next, checkpoints: summary.checkpoints, law_versions: summary.law_versions };
    line(out, &serde_json::to_vec(&Tagged::End(end)).expect("json"))?;
    out.flush().map_err(io)?;
    Ok(summary)
}

/// An export line that could not be read, with its line number.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ImportError {
    pub line: usize,
    pub reason: String,
}

/// Reads an export line by line, never holding more than one line (of at most
/// [`IMPORT_LINE_BYTES_MAX`] bytes) in memory.
pub struct Reader<R> {
    input: R,
    buf: Vec<u8>,
    /// Number of the line last read.
    pub line: usize,
    pub origin: String,
    pub key: VerifyingKey,
}

impl<R: BufRead> Reader<R> {
    /// Reads the header line.
    pub fn new(mut input: R) -> Result<Self, ImportError> {
        let mut buf = Vec::new();
        let bad = |reason: String| ImportError { line: 1, reason };
        if !read_line(&mut input, &mut buf).map_err(|reason| ImportError { line: 1, reason })? {
            return Err(bad("the file is empty".into()));
        }
        let h: Header = serde_json::from_slice(&buf).map_err(|e| {
            bad(format!("not a Liaison export header ({e}); exports made before the header existed cannot be checked"))
        })?;
        if h.liaison_export != EXPORT_VERSION {
            return Err(bad(format!("export format {} (this Liaison reads {EXPORT_VERSION})", h.liaison_export)));
        }
        let (name, key) = parse_verifier_key(&h.verifier_key).map_err(|e| bad(e.to_string()))?;
        if name != h.origin {
            return Err(bad(format!("the verifier key is for {name}, not {}", h.origin)));
        }
        Ok(Reader { input, buf, line: 1, origin: h.origin, key })
    }

    /// The next item, or `None` at the end of the file.
    pub fn next_item(&mut self) -> Result<Option<Item>, ImportError> {
        self.line += 1;
        let line = self.line;
        let bad = |reason: String| ImportError { line, reason };
        if !read_line(&mut self.input, &mut self.buf).map_err(bad)? {
            return Ok(None);
        }
        let buf = &self.buf;
        if buf.starts_with(b"{\"v\":") {
            let entry: Entry<Event> =
                serde_json::from_slice(buf).map_err(|e| bad(format!("not a Liaison event: {e}")))?;
            if entry.to_bytes() != *buf {
                return Err(bad("not in canonical form (fields reordered, spaces added, or edited by hand)".into()));
            }
            let (seq, _) = read_prefix(buf).ok_or_else(|| bad("unreadable sequence number".into()))?;
            return Ok(Some(Item::Entry(
                StoredEntry { seq, leaf: leaf_hash(buf), bytes: buf.clone() },
                Box::new(entry),
            )));
        }
        let tagged: Tagged = serde_json::from_slice(buf).map_err(|e| bad(format!("not an export line: {e}")))?;
        Ok(Some(match tagged {
            Tagged::LawVersion(l) => Item::LawVersion { rules_hash: l.rules_hash, sources: l.sources },
            Tagged::Checkpoint(note) => {
                Item::Checkpoint(SignedCheckpoint::parse(&note).map_err(|e| bad(e.to_string()))?)
            }
            Tagged::End(e) => Item::End { events: e.events, checkpoints: e.checkpoints, law_versions: e.law_versions },
        }))
    }
}

/// Reads one line into `buf` (without its newline), refusing a line longer than the limit
/// before it is in memory. Returns false at the end of the input.
fn read_line(input: &mut dyn BufRead, buf: &mut Vec<u8>) -> Result<bool, String> {
    buf.clear();
    let limit = u64::try_from(IMPORT_LINE_BYTES_MAX + 2).unwrap_or(u64::MAX);
    let n = input.take(limit).read_until(b'\n', buf).map_err(|e| format!("cannot read: {e}"))?;
    if n == 0 {
        return Ok(false);
    }
    if buf.len() > IMPORT_LINE_BYTES_MAX + usize::from(buf.ends_with(b"\n")) {
        return Err(format!("longer than {IMPORT_LINE_BYTES_MAX} bytes"));
    }
    if buf.ends_with(b"\n") {
        buf.pop();
    } else {
        return Err("the last line has no newline (the file was cut)".into());
    }
    if buf.is_empty() {
        return Err("empty line".into());
    }
    Ok(true)
}

/// Checks an export with no store (see the module documentation).
pub fn verify_export(
    input: &mut dyn BufRead,
    opts: &VerifyOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport, VerifyError> {
    let mut r = Reader::new(input).map_err(|e| export_error(&e, 0))?;
    if let Some(k) = opts.key
        && k != r.key
    {
        return Err(VerifyError::Meta {
            key: "verifier_key".into(),
            reason: format!("in the export is not the key you gave ({})", hex::encode(k.as_bytes())),
        });
    }
    let mut v = Verifier::new();
    let mut laws: BTreeMap<String, bool> = BTreeMap::new();
    let (mut checkpoints, mut last_good, mut commit) = (0u64, 0u64, None::<(u64, i64)>);
    let mut signed_at = 0u64;
    let mut pending: Option<Tamper> = None;
    let external = opts.checkpoint.map(|c| (c.checkpoint.size, c.checkpoint.root));
    if let Some(c) = opts.checkpoint {
        c.verify(&r.key).map_err(|e| VerifyError::Checkpoint {
            size: c.checkpoint.size,
            first_seq: 0,
            reason: format!("the checkpoint you hold does not verify under the export's key: {e}"),
        })?;
    }
    let end = loop {
        let item = r.next_item().map_err(|e| export_error(&e, v.count()))?;
        let line = r.line;
        let Some(item) = item else {
            return Err(VerifyError::Export {
                line,
                first_seq: v.count(),
                reason: "the file ends without its end line: it was cut short".into(),
            });
        };
        match item {
            Item::LawVersion { rules_hash, sources } => {
                if v.count() > 0 {
                    return Err(export_at(line, 0, "law versions come before the entries".into()));
                }
                if let Some(f) = opts.rules_hash {
                    let h = f(&sources).map_err(|e| export_at(line, 0, format!("law version {rules_hash}: {e}")))?;
                    if h != rules_hash {
                        return Err(VerifyError::LawVersion {
                            hash: rules_hash,
                            first_seq: 0,
                            reason: format!("its sources hash to {h}"),
                        });
                    }
                }
                laws.insert(rules_hash, true);
            }
            Item::Entry(e, entry) => {
                let seq = v.count();
                v.push_hashed(e.seq, &e.bytes, e.leaf, &e.leaf).map_err(|t| match t {
                    Tamper::ChainBroken { next, .. } if last_good == next => Tamper::PrevAltered { seq: next },
                    t => t,
                })?;
                if let Some(t) = pending.take() {
                    return Err(t.into());
                }
                let t = entry.recorded_at.as_microsecond();
                match commit {
                    Some((_, ct)) if ct == t => {}
                    Some((first, ct)) => {
                        if t < ct {
                            return Err(export_at(line, seq, "is recorded before the commit that precedes it".into()));
                        }
                        if signed_at != seq {
                            return Err(VerifyError::Checkpoint {
                                size: seq,
                                first_seq: first,
                                reason: format!(
                                    "no signed checkpoint closes the commit of events {first}..={}",
                                    seq - 1
                                ),
                            });
                        }
                        commit = Some((seq, t));
                    }
                    None => commit = Some((seq, t)),
                }
                if let Some(h) = entry.decision.as_ref().and_then(|d| d.get("rules_hash")).and_then(|h| h.as_str())
                    && !laws.contains_key(h)
                {
                    return Err(VerifyError::LawVersion {
                        hash: h.to_string(),
                        first_seq: seq,
                        reason: "is quoted by a decision but not in the export".into(),
                    });
                }
                if let Some((size, root)) = external
                    && size == v.count()
                    && root != v.root()
                {
                    return Err(Tamper::CheckpointMismatch { first: last_good, last: size - 1, size }.into());
                }
                if v.count().is_multiple_of(65_536) {
                    progress(v.count());
                }
            }
            Item::Checkpoint(c) => {
                let size = c.checkpoint.size;
                let first_seq = commit.map_or(0, |c| c.0);
                let bad = |reason: String| VerifyError::Checkpoint { size, first_seq, reason };
                if size != v.count() {
                    return Err(bad(format!(
                        "it comes after event {} instead of after event {}",
                        v.count().wrapping_sub(1),
                        size.wrapping_sub(1)
                    )));
                }
                if c.checkpoint.origin != r.origin {
                    return Err(bad(format!("it is of log {}, not {}", c.checkpoint.origin, r.origin)));
                }
                c.verify(&r.key).map_err(|e| bad(e.to_string()))?;
                if c.checkpoint.root != v.root() {
                    // Reported after the next entry's link is checked, which names it better.
                    pending.get_or_insert(Tamper::CheckpointMismatch { first: last_good, last: size - 1, size });
                    continue;
                }
                last_good = size;
                signed_at = size;
                checkpoints += 1;
            }
            Item::End { events, checkpoints: cps, law_versions } => {
                if let Some(t) = pending.take() {
                    return Err(t.into());
                }
                let want = End { from: 0, events: v.count(), checkpoints, law_versions: laws.len() as u64 };
                let got = End { from: 0, events, checkpoints: cps, law_versions };
                if got != want {
                    return Err(export_at(
                        line,
                        v.count().min(events),
                        format!("the end line says {got:?}; the file holds {want:?}"),
                    ));
                }
                if r.next_item().map_err(|e| export_error(&e, v.count()))?.is_some() {
                    return Err(export_at(line + 1, v.count(), "lines after the end line".into()));
                }
                break want;
            }
        }
    };
    let count = v.count();
    if let Some((size, _)) = external
        && size > count
    {
        return Err(Tamper::Truncated { size, count }.into());
    }
    if signed_at != count {
        return Err(Tamper::Unsigned { first: signed_at, last: count - 1 }.into());
    }
    progress(count);
    Ok(VerifyReport {
        count,
        root: v.root(),
        checkpoints_checked: end.checkpoints as usize + usize::from(external.is_some()),
        commands_checked: 0,
        nodes_checked: 0,
        law_versions_checked: laws.len(),
        cosignatures_checked: 0,
    })
}

fn export_at(line: usize, first_seq: u64, reason: String) -> VerifyError {
    VerifyError::Export { line, first_seq, reason }
}

fn export_error(e: &ImportError, first_seq: u64) -> VerifyError {
    export_at(e.line, first_seq, e.reason.clone())
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    pub already_present: u64,
    pub checkpoints: u64,
}

/// Copies a checked export into `store`, which must be a store of the same log (a new
/// mirror, or an earlier copy it continues): entries, their original checkpoints and the law
/// versions, in batches that each commit (`acked` hears the last sequence number of each).
/// Call [`verify_export`] on the file first: this pass checks again as it appends, but a bad
/// file found here leaves the batches before it committed.
pub fn import(
    store: &mut dyn Store,
    input: &mut dyn BufRead,
    acked: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    let mut r = Reader::new(input)?;
    let key = store.verifying_key()?;
    let origin = store.meta_rows()?.into_iter().find(|(k, _)| k == "origin").map(|(_, v)| v).unwrap_or_default();
    if origin != r.origin || key != r.key {
        return Err(ImportFailure::Store(StoreError::Invalid(format!(
            "the export is of log {} and this store holds log {origin}: a store takes only its own log",
            r.origin
        ))));
    }
    let mut report = ImportReport { imported: 0, already_present: 0, checkpoints: 0 };
    let (mut entries, mut cps): (Vec<StoredEntry>, Vec<SignedCheckpoint>) = (Vec::new(), Vec::new());
    let mut flush = |store: &mut dyn Store, entries: &mut Vec<StoredEntry>, cps: &mut Vec<SignedCheckpoint>| {
        let n = entries.len() as u64;
        let appended = store.append_entries(entries, cps)?;
        let added = appended.map_or(0, |(f, l)| l + 1 - f);
        report.imported += added;
        report.already_present += n - added;
        report.checkpoints += cps.len() as u64;
        if let Some((_, last)) = appended {
            acked(last);
        }
        entries.clear();
        cps.clear();
        Ok::<(), StoreError>(())
    };
    while let Some(item) = r.next_item()? {
        match item {
            Item::LawVersion { rules_hash, sources } => store.put_law_version(&rules_hash, &sources)?,
            Item::Entry(e, _) => {
                entries.push(e);
                if entries.len() >= crate::BATCH_EVENTS_MAX {
                    flush(store, &mut entries, &mut cps)?;
                }
            }
            Item::Checkpoint(c) => {
                cps.push(c);
                if entries.len() >= IMPORT_BATCH_EVENTS {
                    flush(store, &mut entries, &mut cps)?;
                }
            }
            Item::End { .. } => break,
        }
    }
    flush(store, &mut entries, &mut cps)?;
    Ok(report)
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    #[error(transparent)]
    File(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
