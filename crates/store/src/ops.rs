//! Whole-log operations that work the same on every [`Store`]: rebuild and custody chains
//! (`verify` is re-exported from [`crate::verify`]; exports and imports are in
//! [`crate::export`]). Each takes a progress callback so the CLI can draw a bar; none prints.

pub use crate::verify::{VerifyError, VerifyOptions, VerifyReport, verify};
use crate::{ProjectionRow, Store, StoreError, StoredEntry};
use domain::chain::{ChainStep, Logged};
use domain::{MemoryRecords, Record, Timestamp};
use std::collections::BTreeMap;

/// Rows read per round trip while streaming the log.
pub const SCAN_CHUNK_EVENTS: usize = 8_192;

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
    Ok(chain_of(&store.subject_entries(subject, as_of)?))
}

/// The custody chain a subject's entries make (as [`Store::subject_entries`] returns them).
pub fn chain_of(entries: &[ledger::Entry<domain::Event>]) -> Vec<ChainStep> {
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
    domain::chain::custody_chain(&logged)
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
