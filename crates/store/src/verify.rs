//! `verify`: every stored byte of the log is either inside the hashed entries or recomputed
//! from them, and checked.
//!
//! What is checked, on any [`Store`]:
//! - `event`: the hash chain and the sequence numbers; each row's `leaf` against the hash of
//!   its bytes; `recorded_us`, `valid_us`, `type`, `subject` and `corrects` against what the
//!   entry says (the subject through the handoff or detainer it names, or the event it
//!   corrects);
//! - `merkle_node`: every stored node recomputed, none missing, none extra;
//! - `checkpoint`: each row's size against its note, its origin and signature, its root
//!   against the recomputed tree; every commit closed by one (a commit's events share one
//!   recorded time, and each commit's time is later than the last), so a deleted checkpoint
//!   is caught; none beyond the log;
//! - `command` (idempotency keys): each row against the run of entries that carry its key and
//!   request hash, none without one;
//! - `law_version`: each kept version hashes to its name, and every version a decision quotes
//!   is kept;
//! - `meta`: the schema version, origin and key, and nothing else.
//!
//! The answer names the first bad sequence number in every case (see
//! [`VerifyError::first_bad_seq`]). Decoding and hashing, the costly part, run on two threads.

use crate::engine::V;
use crate::{EventRow, Store, StoreError};
use domain::event::{Peek, PeekedRef};
use ledger::checkpoint::{VerifyingKey, parse_verifier_key, verifier_key};
use ledger::merkle::StoredNode;
use ledger::witness::WitnessKey;
use ledger::{Entry, Hash, SignedCheckpoint, Tamper, Verifier, leaf_hash};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Rows read per round trip while verifying.
const CHUNK: usize = 8_192;
/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: &str = "1";

/// Hashes law sources as a store keeps them (the law crate's `kept_rules_hash`).
pub type RulesHash = dyn Fn(&str) -> Result<String, String>;

/// What `verify` is given besides the store.
#[derive(Default)]
pub struct VerifyOptions<'a> {
    /// A checkpoint an agency kept: the log must still extend it, under the same key.
    pub checkpoint: Option<&'a SignedCheckpoint>,
    /// The log's public key as the caller knows it (otherwise the store's own is used).
    pub key: Option<VerifyingKey>,
    /// Hashes the law sources kept under a rules hash (the law crate's `rules_hash`); when
    /// absent, kept versions are checked for presence only.
    pub rules_hash: Option<&'a RulesHash>,
}

/// Why verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Tamper(#[from] Tamper),
    #[error("event {seq}: the stored {column} {reason}")]
    Column { seq: u64, column: &'static str, reason: String },
    #[error("Merkle node (level {level}, index {index}) over events from {first_seq}: {reason}")]
    Node { level: u32, index: u64, first_seq: u64, reason: String },
    #[error("checkpoint of size {size} (closing the events from {first_seq}): {reason}")]
    Checkpoint { size: u64, first_seq: u64, reason: String },
    #[error("idempotency key {key:?} (events from {first_seq}): {reason}")]
    Command { key: String, first_seq: u64, reason: String },
    #[error("law version {hash} (first quoted by event {first_seq}): {reason}")]
    LawVersion { hash: String, first_seq: u64, reason: String },
    #[error("the store's {key} {reason}")]
    Meta { key: String, reason: String },
    #[error("export line {line}: {reason}")]
    Export { line: usize, first_seq: u64, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VerifyError {
    /// The first sequence number known or suspected to be bad. A finding in `meta` (the key,
    /// origin or schema every entry is read under) names event 0.
    pub fn first_bad_seq(&self) -> Option<u64> {
        Some(match self {
            VerifyError::Tamper(t) => t.first_bad_seq(),
            VerifyError::Column { seq, .. } => *seq,
            VerifyError::Node { first_seq, .. }
            | VerifyError::Checkpoint { first_seq, .. }
            | VerifyError::Command { first_seq, .. }
            | VerifyError::LawVersion { first_seq, .. }
            | VerifyError::Export { first_seq, .. } => *first_seq,
            VerifyError::Meta { .. } => 0,
            VerifyError::Store(_) => return None,
        })
    }
}

/// What an intact log looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub count: u64,
    pub root: Hash,
    pub checkpoints_checked: usize,
    pub commands_checked: u64,
    pub nodes_checked: u64,
    pub law_versions_checked: usize,
    pub cosignatures_checked: usize,
}

/// Checks the whole store (see the module documentation).
pub fn verify(
    store: &mut dyn Store,
    opts: &VerifyOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport, VerifyError> {
    let (origin, key) = check_meta(&store.meta_rows()?, opts.key)?;
    let mut findings = Vec::new();
    let checkpoints = read_checkpoints(store.checkpoint_rows()?, &origin, &key, &mut findings);
    if let Some(c) = opts.checkpoint {
        c.verify(&key).map_err(|e| VerifyError::Checkpoint {
            size: c.checkpoint.size,
            first_seq: 0,
            reason: format!("the checkpoint you hold does not verify under this log's key: {e}"),
        })?;
        if c.checkpoint.origin != origin {
            return Err(VerifyError::Checkpoint {
                size: c.checkpoint.size,
                first_seq: 0,
                reason: format!("the checkpoint you hold is of log {}, not {origin}", c.checkpoint.origin),
            });
        }
    }
    let mut walk = Walk::new(&checkpoints, opts.checkpoint);
    let stream = walk.run(store, progress);
    let stream = stream.and_then(|()| walk.finish(store));
    if let Err(e) = stream {
        findings.push(e);
    }
    if let Some(worst) = first_finding(findings)? {
        return Err(worst);
    }
    let law_versions_checked = walk.check_law_versions(store, opts)?;
    let cosignatures_checked = check_cosignatures(store, &origin, &checkpoints)?;
    Ok(VerifyReport {
        count: walk.v.count(),
        root: walk.v.root(),
        checkpoints_checked: checkpoints.len() + usize::from(opts.checkpoint.is_some()),
        commands_checked: walk.commands,
        nodes_checked: walk.nodes_checked,
        law_versions_checked,
        cosignatures_checked,
    })
}

/// Each stored cosignature verifies under the witness key stored with it, over a checkpoint
/// the log signed.
fn check_cosignatures(
    store: &mut dyn Store,
    origin: &str,
    checkpoints: &BTreeMap<u64, Hash>,
) -> Result<usize, VerifyError> {
    let rows = store.cosignature_rows()?;
    for (size, witness, line) in &rows {
        let size = u64::try_from(*size).unwrap_or(u64::MAX);
        let first_seq = checkpoints.range(..size).next_back().map_or(0, |(s, _)| *s);
        let bad = |reason: String| VerifyError::Checkpoint { size, first_seq, reason };
        let Some(root) = checkpoints.get(&size) else {
            return Err(bad("a witness's cosignature is kept for a checkpoint the log never signed".into()));
        };
        let key = WitnessKey::parse(witness).map_err(|e| bad(format!("a cosignature's witness key: {e}")))?;
        let c = ledger::Checkpoint { origin: origin.to_string(), size, root: *root };
        if key.cosigned(&c, &[line.as_str()]).is_none() {
            return Err(bad(format!("the cosignature of witness {} does not verify", key.name)));
        }
    }
    Ok(rows.len())
}

/// The finding with the smallest first bad sequence number (a store error wins: the check
/// could not finish).
fn first_finding(findings: Vec<VerifyError>) -> Result<Option<VerifyError>, VerifyError> {
    let mut best: Option<VerifyError> = None;
    for f in findings {
        let Some(seq) = f.first_bad_seq() else { return Err(f) };
        if best.as_ref().and_then(VerifyError::first_bad_seq).is_none_or(|b| seq < b) {
            best = Some(f);
        }
    }
    Ok(best)
}

/// Checks the `meta` rows; returns the log's origin and key.
fn check_meta(rows: &[(String, String)], given: Option<VerifyingKey>) -> Result<(String, VerifyingKey), VerifyError> {
    let bad = |key: &str, reason: String| VerifyError::Meta { key: key.to_string(), reason };
    let get = |k: &str| rows.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    for (k, _) in rows {
        if !["schema_version", "origin", "public_key", "verifier_key"].contains(&k.as_str()) {
            return Err(bad(k, "is not a field Liaison writes".into()));
        }
    }
    match get("schema_version") {
        Some(SCHEMA_VERSION) => {}
        Some(v) => return Err(bad("schema_version", format!("is {v:?}; this Liaison reads {SCHEMA_VERSION:?}"))),
        None => return Err(bad("schema_version", "is missing".into())),
    }
    let origin = get("origin").ok_or_else(|| bad("origin", "is missing".into()))?;
    let well_formed = origin
        .strip_prefix("liaison/")
        .is_some_and(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if !well_formed {
        return Err(bad("origin", format!("{origin:?} is not liaison/ and 16 hex digits")));
    }
    let hex_key = get("public_key").ok_or_else(|| bad("public_key", "is missing".into()))?;
    let mut raw = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut raw).map_err(|_| bad("public_key", "is not 64 hex digits".into()))?;
    let key = VerifyingKey::from_bytes(&raw).map_err(|_| bad("public_key", "is not an Ed25519 key".into()))?;
    if hex::encode(key.as_bytes()) != hex_key {
        return Err(bad("public_key", "is not in lower-case hex".into()));
    }
    let vkey = get("verifier_key").ok_or_else(|| bad("verifier_key", "is missing".into()))?;
    if vkey != verifier_key(origin, &key) {
        let why = match parse_verifier_key(vkey) {
            Ok((name, k)) if name == origin && k == key => "is not in canonical form".to_string(),
            Ok(_) => "names another log or key than origin and public_key".to_string(),
            Err(e) => e.to_string(),
        };
        return Err(bad("verifier_key", why));
    }
    if let Some(g) = given
        && g != key
    {
        return Err(bad("public_key", format!("is {hex_key}, not the key you gave ({})", hex::encode(g.as_bytes()))));
    }
    Ok((origin.to_string(), key))
}

/// The checkpoint rows that check out, by size; a finding for each that does not, naming the
/// first event of the commit the checkpoint closes (the one after the checkpoint before it).
fn read_checkpoints(
    rows: Vec<(i64, String)>,
    origin: &str,
    key: &VerifyingKey,
    findings: &mut Vec<VerifyError>,
) -> BTreeMap<u64, Hash> {
    let sizes: Vec<i64> = rows.iter().map(|r| r.0).collect();
    // The largest other row's size below `size`.
    let start = |size: u64, own: i64| -> u64 {
        sizes.iter().filter(|s| **s != own && **s >= 0 && (**s as u64) < size).max().map_or(0, |s| *s as u64)
    };
    let mut good = BTreeMap::new();
    for (size, note) in rows {
        let Ok(usize_) = u64::try_from(size) else {
            findings.push(VerifyError::Checkpoint { size: 0, first_seq: 0, reason: format!("its size is {size}") });
            continue;
        };
        let bad = |reason: String| VerifyError::Checkpoint { size: usize_, first_seq: start(usize_, size), reason };
        match SignedCheckpoint::parse(&note) {
            Err(e) => findings.push(bad(e.to_string())),
            Ok(c) if c.checkpoint.size != usize_ => {
                // A row moved to another size: named where its note says it belongs.
                findings.push(VerifyError::Checkpoint {
                    size: usize_,
                    first_seq: start(c.checkpoint.size, size),
                    reason: format!("the row holds the checkpoint of size {}", c.checkpoint.size),
                });
            }
            Ok(c) if c.checkpoint.origin != origin => {
                findings.push(bad(format!("it is of log {}, not {origin}", c.checkpoint.origin)));
            }
            Ok(c) if c.to_note() != note => findings.push(bad("its note is not in canonical form".into())),
            Ok(c) => match c.verify(key) {
                Err(e) => findings.push(bad(e.to_string())),
                Ok(()) => {
                    good.insert(usize_, c.checkpoint.root);
                }
            },
        }
    }
    good
}

/// What verification reads from an entry besides its prefix: the fields the store copies
/// into columns, the key, and the rules hash its decision quotes (the rest of the decision
/// is skipped).
#[derive(serde::Deserialize)]
struct Checked<'a> {
    recorded_at: jiff::Timestamp,
    valid_at: jiff::Timestamp,
    #[serde(default)]
    idempotency_key: Option<String>,
    #[serde(default)]
    request_hash: Option<String>,
    #[serde(default)]
    corrects: Option<u64>,
    #[serde(borrow)]
    event: Peek<'a>,
    #[serde(default)]
    decision: Option<Quoted>,
}

#[derive(serde::Deserialize)]
struct Quoted {
    #[serde(default)]
    rules_hash: Option<String>,
}

impl Checked<'_> {
    fn request_hash(&self) -> Option<Hash> {
        let mut h = [0u8; 32];
        hex::decode_to_slice(self.request_hash.as_deref()?, &mut h).ok()?;
        Some(h)
    }
}

/// How an entry names its subject, when the parallel phase cannot check it alone.
enum Via {
    /// Checked already (named directly, or none).
    Checked,
    /// Through the handoff or detainer it names: resolved in order.
    Handoff(String),
    Detainer(String),
    /// No subject of its own: a correction's is the corrected event's.
    Corrected(u64),
}

/// What the parallel phase learns of one row: its leaf hash, and, if its bytes decode, what
/// the in-order checks need and the first of its columns that disagrees with it.
struct Facts {
    leaf: Hash,
    entry: Option<EntryFacts>,
}

struct EntryFacts {
    recorded: i64,
    /// The first stored column that disagrees with the entry: (column, why).
    column: Option<(&'static str, String)>,
    via: Via,
    /// A handoff (true) or detainer this event creates: its id and subject.
    created: Option<(bool, String, String)>,
    key: Option<String>,
    request_hash: Option<Hash>,
    rules_hash: Option<String>,
}

fn mismatch(stored: &V, expected: &V) -> String {
    format!("{} but the entry says {}", show(stored), show(expected))
}

/// The parallel part: hashes a row's bytes, decodes what verification needs, and checks the
/// columns that need nothing from earlier entries.
fn facts(r: &EventRow) -> Facts {
    let leaf = leaf_hash(&r.bytes);
    let Ok(e) = serde_json::from_slice::<Checked>(&r.bytes) else { return Facts { leaf, entry: None } };
    let expected = [
        ("recorded_us", &r.recorded_us, V::I(e.recorded_at.as_microsecond())),
        ("valid_us", &r.valid_us, V::I(e.valid_at.as_microsecond())),
        ("type", &r.kind, V::T(e.event.kind.to_string())),
        ("corrects", &r.corrects, e.corrects.map_or(V::Null, |c| V::I(c as i64))),
    ];
    let mut column = expected.iter().find(|(_, s, x)| *s != x).map(|(c, s, x)| (*c, mismatch(s, x)));
    let via = match (e.event.subject_ref(), e.corrects) {
        (None, _) => {
            column = column.or(Some(("entry", "does not name what its kind needs".into())));
            Via::Checked
        }
        (Some(PeekedRef::Subject(s)), _) => {
            let x = V::T(s.to_string());
            if r.subject != x {
                column = column.or(Some(("subject", mismatch(&r.subject, &x))));
            }
            Via::Checked
        }
        (Some(PeekedRef::Handoff(h)), _) => Via::Handoff(h.to_string()),
        (Some(PeekedRef::Detainer(d)), _) => Via::Detainer(d.to_string()),
        (Some(PeekedRef::None), Some(c)) => Via::Corrected(c),
        (Some(PeekedRef::None), None) => {
            if r.subject != V::Null {
                column = column.or(Some(("subject", mismatch(&r.subject, &V::Null))));
            }
            Via::Checked
        }
    };
    let created = e.event.created().map(|(id, s)| (e.event.kind == "handoff_offered", id.to_string(), s.to_string()));
    let request_hash = e.request_hash();
    Facts {
        leaf,
        entry: Some(EntryFacts {
            recorded: e.recorded_at.as_microsecond(),
            column,
            via,
            created,
            key: e.idempotency_key,
            request_hash,
            rules_hash: e.decision.and_then(|d| d.rules_hash),
        }),
    }
}

fn decode(rows: &[EventRow]) -> Vec<Facts> {
    rows.iter().map(facts).collect()
}

/// The stored nodes of one level, read ahead in order.
struct NodeCursor {
    level: u32,
    buf: VecDeque<(u64, Vec<u8>)>,
    next: u64,
    done: bool,
}

/// The run of entries of one idempotency key.
struct Run {
    key: String,
    request_hash: Option<Hash>,
    first: u64,
    last: u64,
}

/// The streaming state of a verification.
struct Walk<'c> {
    v: Verifier,
    checkpoints: &'c BTreeMap<u64, Hash>,
    external: Option<(u64, Hash)>,
    /// The size up to which a matching checkpoint vouches for the log.
    last_good: u64,
    pending: Option<Tamper>,
    /// The current commit: its first event and recorded time.
    commit: Option<(u64, i64)>,
    handoffs: HashMap<String, String>,
    detainers: HashMap<String, String>,
    /// Corrections whose subject is the corrected event's: (seq, corrected, stored subject).
    corrections: Vec<(u64, u64, V)>,
    run: Option<Run>,
    commands: u64,
    cursors: Vec<NodeCursor>,
    nodes_checked: u64,
    /// The first event quoting each rules hash.
    quoted: BTreeMap<String, u64>,
}

impl<'c> Walk<'c> {
    fn new(checkpoints: &'c BTreeMap<u64, Hash>, external: Option<&SignedCheckpoint>) -> Self {
        Walk {
            v: Verifier::new(),
            checkpoints,
            external: external.map(|c| (c.checkpoint.size, c.checkpoint.root)),
            last_good: 0,
            pending: None,
            commit: None,
            handoffs: HashMap::new(),
            detainers: HashMap::new(),
            corrections: Vec::new(),
            run: None,
            commands: 0,
            cursors: Vec::new(),
            nodes_checked: 0,
            quoted: BTreeMap::new(),
        }
    }

    /// Streams the rows in chunks on two threads: while this thread checks chunk i in order
    /// and reads chunk i+2, a helper hashes and decodes chunk i+1.
    fn run(&mut self, store: &mut dyn Store, progress: &mut dyn FnMut(u64)) -> Result<(), VerifyError> {
        let after = |rows: &[EventRow]| rows.last().map_or(0, |r| r.seq.saturating_add(1));
        let mut cur = store.event_rows(0, CHUNK)?;
        let mut cur_facts = decode(&cur);
        let mut next = if cur.len() == CHUNK { store.event_rows(after(&cur), CHUNK)? } else { Vec::new() };
        while !cur.is_empty() {
            let (from, more) = (after(&next), next.len() == CHUNK);
            let (next_facts, ahead, checked) = std::thread::scope(|s| {
                let helper = s.spawn(|| decode(&next));
                let checked = cur.iter().zip(cur_facts.drain(..)).try_for_each(|(row, f)| self.entry(store, row, f));
                let ahead = if checked.is_ok() && more { store.event_rows(from, CHUNK) } else { Ok(Vec::new()) };
                (helper.join().expect("decoding does not panic"), ahead, checked)
            });
            checked?;
            progress(after(&cur));
            cur = std::mem::replace(&mut next, ahead?);
            cur_facts = next_facts;
        }
        Ok(())
    }

    fn entry(&mut self, store: &mut dyn Store, row: &EventRow, d: Facts) -> Result<(), VerifyError> {
        let seq = self.v.count();
        let nodes = match self.v.push_hashed(row.seq, &row.bytes, d.leaf, &row.leaf) {
            // A matching checkpoint vouches for every earlier entry: the link itself changed.
            Err(Tamper::ChainBroken { next, .. }) if self.last_good == next => {
                return Err(Tamper::PrevAltered { seq: next }.into());
            }
            Err(t) => return Err(t.into()),
            Ok(nodes) => nodes,
        };
        if let Some(t) = self.pending.take() {
            return Err(t.into());
        }
        let entry = d.entry.ok_or(Tamper::Unreadable { seq })?;
        self.commit_boundary(seq, entry.recorded)?;
        self.columns(row, &entry)?;
        self.command(store, seq, &entry)?;
        if let Some(h) = &entry.rules_hash
            && !self.quoted.contains_key(h)
        {
            self.quoted.insert(h.clone(), seq);
        }
        for node in nodes {
            self.node(store, node)?;
        }
        let size = self.v.count();
        for (s, root) in self.checkpoints.get(&size).map(|r| (size, *r)).into_iter().chain(self.external) {
            if s != size {
                continue;
            }
            if root != self.v.root() {
                // Reported after the next entry's link is checked, which names it better.
                self.pending = Some(Tamper::CheckpointMismatch { first: self.last_good, last: size - 1, size });
            } else if self.pending.is_none() {
                self.last_good = size;
            }
        }
        Ok(())
    }

    /// Each commit's events share one recorded time, later than the last commit's, and a
    /// signed checkpoint closes each: when the time changes, the commit before must have one.
    fn commit_boundary(&mut self, seq: u64, recorded: i64) -> Result<(), VerifyError> {
        match self.commit {
            Some((_, t)) if t == recorded => return Ok(()),
            Some((first, t)) => {
                if recorded < t {
                    return Err(VerifyError::Column {
                        seq,
                        column: "entry",
                        reason: format!("is recorded before the commit that precedes it (event {first})"),
                    });
                }
                self.require_checkpoint(first, seq)?;
            }
            None => {}
        }
        self.commit = Some((seq, recorded));
        Ok(())
    }

    fn require_checkpoint(&self, first: u64, size: u64) -> Result<(), VerifyError> {
        if self.checkpoints.contains_key(&size) {
            return Ok(());
        }
        Err(VerifyError::Checkpoint {
            size,
            first_seq: first,
            reason: format!("no signed checkpoint closes the commit of events {first}..={} (it was deleted)", size - 1),
        })
    }

    /// The columns beside the bytes against what the entry says: what the parallel phase
    /// found, then a subject named through a handoff or detainer (resolved in order).
    fn columns(&mut self, row: &EventRow, entry: &EntryFacts) -> Result<(), VerifyError> {
        let seq = row.seq;
        if let Some((column, reason)) = &entry.column {
            return Err(VerifyError::Column { seq, column, reason: reason.clone() });
        }
        let through = |map: &HashMap<String, String>, id: &str, what: &str| {
            map.get(id).cloned().ok_or_else(|| VerifyError::Column {
                seq,
                column: "entry",
                reason: format!(
                    "names {what} {id}, which no earlier event {}",
                    if what == "handoff" { "offered" } else { "issued" }
                ),
            })
        };
        let named = match &entry.via {
            Via::Checked => None,
            Via::Handoff(h) => Some(through(&self.handoffs, h, "handoff")?),
            Via::Detainer(d) => Some(through(&self.detainers, d, "detainer")?),
            Via::Corrected(c) => {
                self.corrections.push((seq, *c, row.subject.clone()));
                None
            }
        };
        if let Some((handoff, id, subject)) = &entry.created {
            let map = if *handoff { &mut self.handoffs } else { &mut self.detainers };
            map.insert(id.clone(), subject.clone());
        }
        match named {
            Some(s) if row.subject != V::T(s.clone()) => {
                Err(VerifyError::Column { seq, column: "subject", reason: mismatch(&row.subject, &V::T(s)) })
            }
            _ => Ok(()),
        }
    }

    /// Tracks runs of entries under one idempotency key; a finished run is checked against
    /// its row.
    fn command(&mut self, store: &mut dyn Store, seq: u64, entry: &EntryFacts) -> Result<(), VerifyError> {
        if let (Some(run), Some(k)) = (&mut self.run, &entry.key)
            && run.key == *k
            && run.request_hash == entry.request_hash
        {
            run.last = seq;
            return Ok(());
        }
        self.end_run(store)?;
        if let Some(k) = &entry.key {
            self.run = Some(Run { key: k.clone(), request_hash: entry.request_hash, first: seq, last: seq });
        }
        Ok(())
    }

    fn end_run(&mut self, store: &mut dyn Store) -> Result<(), VerifyError> {
        let Some(run) = self.run.take() else { return Ok(()) };
        self.commands += 1;
        let bad = |reason: String| VerifyError::Command { key: run.key.clone(), first_seq: run.first, reason };
        let Some(row) = store.command_row(&run.key)? else {
            return Err(bad("the entries carry it but its row is missing".into()));
        };
        if (row.first_seq, row.last_seq) != (run.first as i64, run.last as i64) {
            return Err(bad(format!(
                "its row says events {}..={}, the entries carrying it are {}..={}",
                row.first_seq, row.last_seq, run.first, run.last
            )));
        }
        if let Some(h) = run.request_hash
            && row.request_hash != h
        {
            return Err(bad("its row's request hash differs from the one its entries carry".into()));
        }
        if row.checkpoint_size != 0 {
            return Err(bad(format!("its row's checkpoint_size is {}; Liaison writes 0", row.checkpoint_size)));
        }
        Ok(())
    }

    /// A recomputed stored node against the next stored one of its level.
    fn node(&mut self, store: &mut dyn Store, node: StoredNode) -> Result<(), VerifyError> {
        let first_seq = node.index << node.level;
        let bad = |reason: String| VerifyError::Node { level: node.level, index: node.index, first_seq, reason };
        let i = match self.cursors.iter().position(|c| c.level == node.level) {
            Some(i) => i,
            None => {
                self.cursors.push(NodeCursor { level: node.level, buf: VecDeque::new(), next: 0, done: false });
                self.cursors.len() - 1
            }
        };
        let c = &mut self.cursors[i];
        if c.buf.is_empty() && !c.done {
            let rows = store.node_rows(c.level, c.next, CHUNK)?;
            c.done = rows.len() < CHUNK;
            if let Some((idx, _)) = rows.last() {
                c.next = idx + 1;
            }
            c.buf.extend(rows);
        }
        match c.buf.pop_front() {
            Some((idx, hash)) if idx == node.index => {
                self.nodes_checked += 1;
                if hash != node.hash {
                    return Err(bad("its stored hash differs from the one recomputed from the entries".into()));
                }
                Ok(())
            }
            Some((idx, _)) if idx < node.index => Err(VerifyError::Node {
                level: node.level,
                index: idx,
                first_seq: idx << node.level,
                reason: "is stored out of place (an extra node)".into(),
            }),
            _ => Err(bad("is missing".into())),
        }
    }

    /// What can be checked only at the end: the last commit's checkpoint, truncation, extra
    /// nodes and idempotency rows, and the corrections' subjects.
    fn finish(&mut self, store: &mut dyn Store) -> Result<(), VerifyError> {
        self.end_run(store)?;
        if let Some(t) = self.pending.take() {
            return Err(t.into());
        }
        let count = self.v.count();
        let largest = self.checkpoints.keys().next_back().copied().unwrap_or(0).max(self.external.map_or(0, |e| e.0));
        if largest > count {
            return Err(Tamper::Truncated { size: largest, count }.into());
        }
        if count > largest {
            return Err(Tamper::Unsigned { first: largest, last: count - 1 }.into());
        }
        for (level, n) in store.node_counts()? {
            let expected = u32::try_from(level)
                .ok()
                .filter(|l| *l > 0 && *l < 64 && l % crate::STORED_LEVEL_STRIDE == 0)
                .map_or(0, |l| count >> l);
            if n != expected {
                // Every node below `expected` was matched in order while streaming.
                let l = u32::try_from(level).unwrap_or(0);
                let index = store.node_rows(l, expected, 1)?.first().map_or(expected, |r| r.0);
                return Err(VerifyError::Node {
                    level: l,
                    index,
                    // A node reaching past the log's end says events were there: the
                    // first missing one is named.
                    first_seq: match (index.checked_shl(l), (index + 1).checked_shl(l)) {
                        (Some(first), Some(end)) if end <= count => first,
                        _ => count,
                    },
                    reason: format!("level {level} holds {n} nodes; a log of {count} events has {expected}"),
                });
            }
        }
        let rows = store.command_count()?;
        if rows != self.commands {
            // Find the row no run of entries carries.
            let mut after = String::new();
            loop {
                let page = store.command_rows(&after, CHUNK)?;
                let Some(last) = page.last() else { break };
                after = last.key.clone();
                for r in page {
                    let carried = u64::try_from(r.first_seq).ok().and_then(|s| {
                        store.event_rows(s, 1).ok()?.into_iter().next().filter(|e| e.seq == s).and_then(|e| {
                            serde_json::from_slice::<Entry<serde_json::Value>>(&e.bytes).ok()?.idempotency_key
                        })
                    });
                    if carried.as_deref() != Some(r.key.as_str()) {
                        return Err(VerifyError::Command {
                            key: r.key,
                            first_seq: u64::try_from(r.first_seq).unwrap_or(count).min(count),
                            reason: "no entry carries this key at the events its row names (an extra row)".into(),
                        });
                    }
                }
            }
            return Err(VerifyError::Command {
                key: String::new(),
                first_seq: count,
                reason: format!("{rows} idempotency rows for {} keyed commands", self.commands),
            });
        }
        for (seq, corrected, stored) in std::mem::take(&mut self.corrections) {
            let row = store.event_rows(corrected, 1)?.into_iter().next().filter(|r| r.seq == corrected);
            let expected = row.map_or(V::Null, |r| r.subject);
            if stored != expected {
                return Err(VerifyError::Column {
                    seq,
                    column: "subject",
                    reason: format!(
                        "is {} but the corrected event {corrected} concerns {}",
                        show(&stored),
                        show(&expected)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Every kept law version hashes to its name; every quoted one is kept.
    fn check_law_versions(&self, store: &mut dyn Store, opts: &VerifyOptions) -> Result<usize, VerifyError> {
        let kept = store.law_version_hashes()?;
        for (hash, first_seq) in &self.quoted {
            if !kept.contains(hash) {
                return Err(VerifyError::LawVersion {
                    hash: hash.clone(),
                    first_seq: *first_seq,
                    reason: "is quoted by a decision but not kept".into(),
                });
            }
        }
        for hash in &kept {
            let first_seq = self.quoted.get(hash).copied().unwrap_or(0);
            let bad = |reason: String| VerifyError::LawVersion { hash: hash.clone(), first_seq, reason };
            let sources = store.law_version(hash)?.ok_or_else(|| bad("vanished while being read".into()))?;
            if let Some(f) = opts.rules_hash {
                match f(&sources) {
                    Ok(h) if h == *hash => {}
                    Ok(h) => return Err(bad(format!("its sources hash to {h}"))),
                    Err(e) => return Err(bad(format!("its sources cannot be read: {e}"))),
                }
            }
        }
        Ok(kept.len())
    }
}

fn show(v: &V) -> String {
    match v {
        V::Null => "NULL".into(),
        V::I(n) => n.to_string(),
        V::T(t) => format!("{t:?}"),
        V::B(b) => format!("{} bytes", b.len()),
    }
}
