//! Streaming verification of a stored log: order, chaining, content and checkpoints.
//!
//! Feed the stored rows in sequence order to [`Verifier::push`]; it recomputes each entry's
//! leaf hash from its bytes, checks the hash chain and the sequence numbers, and keeps the
//! Merkle frontier so that [`Verifier::root`] gives the recomputed root at any size. The first
//! failure is a [`Tamper`] naming the first bad sequence number.

use crate::entry::{leaf_hash, read_prefix};
use crate::merkle::{Frontier, StoredNode};
use crate::{GENESIS_PREV, Hash};

/// What kind of tampering was found, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tamper {
    #[error("event {seq} is missing: the next stored event is {found} (events were deleted)")]
    Missing { seq: u64, found: u64 },
    #[error("event {seq} is not in canonical form (it was rewritten by hand)")]
    Unreadable { seq: u64 },
    #[error(
        "event stored at {seq} says it is event {claims} (events were reordered, inserted or deleted and renumbered)"
    )]
    OutOfPlace { seq: u64, claims: u64 },
    #[error("event {seq} was modified: its bytes no longer hash to its recorded leaf hash")]
    Modified { seq: u64 },
    #[error("event {seq} was modified: event {next} records a different hash for it")]
    ChainBroken { seq: u64, next: u64 },
    #[error("event {seq} was modified: its record of the previous event's hash was changed")]
    PrevAltered { seq: u64 },
    #[error(
        "events {first}..={last} do not match the signed checkpoint of size {size} (first bad event is at or after {first})"
    )]
    CheckpointMismatch { first: u64, last: u64, size: u64 },
    #[error(
        "the log was truncated: a checkpoint covers {size} events but only {count} are stored (first missing event is {count})"
    )]
    Truncated { size: u64, count: u64 },
    #[error("events {first}..={last} are not covered by any signed checkpoint (appended outside Liaison)")]
    Unsigned { first: u64, last: u64 },
}

impl Tamper {
    /// The first sequence number known or suspected to be bad.
    pub fn first_bad_seq(&self) -> u64 {
        match *self {
            Tamper::Missing { seq, .. }
            | Tamper::Unreadable { seq }
            | Tamper::Modified { seq }
            | Tamper::PrevAltered { seq }
            | Tamper::ChainBroken { seq, .. } => seq,
            Tamper::CheckpointMismatch { first, .. } | Tamper::Unsigned { first, .. } => first,
            Tamper::Truncated { count, .. } => count,
            // A row claiming an earlier number means rows were inserted at or after that number;
            // a later number means rows were moved or deleted from this position on.
            Tamper::OutOfPlace { seq, claims } => seq.min(claims),
        }
    }
}

/// Streaming verifier state.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    frontier: Frontier,
    prev: Option<Hash>,
}

impl Verifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries verified so far.
    pub fn count(&self) -> u64 {
        self.frontier.size()
    }

    /// The recomputed Merkle root over the entries verified so far.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Checks the next stored row: its sequence number, its chain link to the entry before,
    /// and its stored leaf hash against the hash of its bytes. Returns the stored Merkle nodes
    /// (above level 0) this entry completes, recomputed, for the caller to compare with the
    /// stored ones.
    pub fn push(&mut self, row_seq: u64, bytes: &[u8], stored_leaf: &[u8]) -> Result<Vec<StoredNode>, Tamper> {
        self.push_hashed(row_seq, bytes, leaf_hash(bytes), stored_leaf)
    }

    /// [`Verifier::push`] with the leaf hash of `bytes` already computed (on another thread).
    pub fn push_hashed(
        &mut self,
        row_seq: u64,
        bytes: &[u8],
        leaf: Hash,
        stored_leaf: &[u8],
    ) -> Result<Vec<StoredNode>, Tamper> {
        let seq = self.count();
        if row_seq != seq {
            return Err(Tamper::Missing { seq, found: row_seq });
        }
        let (claims, prev) = read_prefix(bytes).ok_or(Tamper::Unreadable { seq })?;
        if claims != seq {
            return Err(Tamper::OutOfPlace { seq, claims });
        }
        if leaf[..] != *stored_leaf {
            // The bytes or the stored hash changed: either way this entry is the bad one.
            return Err(Tamper::Modified { seq });
        }
        match self.prev {
            None if prev != GENESIS_PREV => return Err(Tamper::OutOfPlace { seq, claims }),
            Some(prev_leaf) if prev != prev_leaf => {
                // The previous entry's bytes changed together with its stored leaf hash, or
                // this entry's did (its record of the previous hash). The earlier one is
                // named: it is the first that may be bad. A caller holding a checkpoint that
                // vouches for the previous entry names this one instead ([`Tamper::PrevAltered`]).
                return Err(Tamper::ChainBroken { seq: seq - 1, next: seq });
            }
            _ => {}
        }
        self.prev = Some(leaf);
        Ok(self.frontier.push(leaf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Entry;
    use jiff::Timestamp;

    fn log(n: u64) -> Vec<(Vec<u8>, Hash)> {
        let mut prev = GENESIS_PREV;
        (0..n)
            .map(|seq| {
                let e = Entry {
                    v: 1,
                    seq,
                    prev,
                    recorded_at: Timestamp::UNIX_EPOCH,
                    valid_at: Timestamp::UNIX_EPOCH,
                    actor: "t".into(),
                    idempotency_key: None,
                    request_hash: None,
                    corrects: None,
                    event: seq,
                    decision: None,
                };
                let b = e.to_bytes();
                prev = leaf_hash(&b);
                (b, prev)
            })
            .collect()
    }

    fn run(rows: &[(u64, Vec<u8>, Hash)]) -> Result<(), Tamper> {
        let mut v = Verifier::new();
        for (s, b, h) in rows {
            v.push(*s, b, h)?;
        }
        Ok(())
    }

    fn rows() -> Vec<(u64, Vec<u8>, Hash)> {
        log(6).into_iter().enumerate().map(|(i, (b, h))| (i as u64, b, h)).collect()
    }

    #[test]
    fn intact_log_verifies() {
        assert_eq!(run(&rows()), Ok(()));
    }

    #[test]
    fn each_tampering_names_the_first_bad_event() {
        let mut r = rows();
        r[2].1 = String::from_utf8(r[2].1.clone()).unwrap().replace("\"t\"", "\"u\"").into_bytes();
        assert_eq!(run(&r).unwrap_err().first_bad_seq(), 2);

        let mut r = rows();
        r.remove(3);
        assert_eq!(run(&r), Err(Tamper::Missing { seq: 3, found: 4 }));

        let mut r = rows();
        let (b1, b2) = (r[1].1.clone(), r[2].1.clone());
        r[1].1 = b2;
        r[2].1 = b1;
        assert_eq!(run(&r), Err(Tamper::OutOfPlace { seq: 1, claims: 2 }));

        let mut r = rows();
        r[5].1.push(b' ');
        assert_eq!(run(&r), Err(Tamper::Modified { seq: 5 }));
    }
}
