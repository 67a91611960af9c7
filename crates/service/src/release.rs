//! A release of the ledger report: the events of one signed checkpoint, each checked on the
//! way in (sequence, hash chain, leaf hash, and at the end the Merkle root against the
//! checkpoint's), tallied by [`reports::ledger`]. The same log, checkpoint and period give the
//! same bytes, wherever and whenever it runs.

use crate::ServiceError;
use ledger::SignedCheckpoint;
use ledger::verify::Verifier;
use reports::Report;
use reports::ledger::{Basis, Period, Tally};
use store::Store;

/// Entries read per page.
const PAGE: usize = 10_000;

/// The ledger report for `period` at `checkpoint` (a signed note this log's key signed), or
/// at the log's latest checkpoint. Refuses a checkpoint of another log, a forged one, and a log
/// whose first entries no longer hash to the checkpoint's root.
pub fn ledger_report(
    store: &mut dyn Store,
    period: Period,
    checkpoint: Option<&str>,
) -> Result<(Report, SignedCheckpoint), ServiceError> {
    if period.from > period.to {
        return Err(ServiceError::invalid(format!(
            "the period starts ({}) after it ends ({})",
            period.from, period.to
        )));
    }
    let key = store.verifying_key()?;
    let cp = match checkpoint {
        Some(note) => {
            let cp = SignedCheckpoint::parse(note)
                .map_err(|e| ServiceError::invalid(format!("the checkpoint file: {e}")))?;
            cp.verify(&key).map_err(|e| ServiceError::invalid(format!("the checkpoint is not this log's: {e}")))?;
            cp
        }
        None => store
            .checkpoints()?
            .pop()
            .ok_or_else(|| ServiceError::invalid("the log is empty: there is no checkpoint to report from"))?,
    };
    let size = cp.checkpoint.size;
    if size > store.size()? {
        return Err(ServiceError::invalid(format!(
            "the checkpoint covers {size} events but this copy of the log holds {}",
            store.size()?
        )));
    }
    let mut verifier = Verifier::new();
    let mut tally = Tally::new(period);
    let mut next = 0u64;
    while next < size {
        let want = PAGE.min((size - next) as usize);
        let page = store.entries(next, want)?;
        if page.is_empty() {
            return Err(ServiceError::internal(format!(
                "the log ends at event {next}, before the checkpoint's {size}"
            )));
        }
        for e in &page {
            verifier
                .push(e.seq, &e.bytes, &e.leaf)
                .map_err(|t| ServiceError::internal(format!("the log fails verification: {t}")))?;
            tally.add(&e.decode()?);
        }
        next += page.len() as u64;
    }
    if verifier.root() != cp.checkpoint.root {
        return Err(ServiceError::internal(format!(
            "the log's first {size} events do not hash to the checkpoint's root: the log was altered"
        )));
    }
    let basis = Basis {
        origin: cp.checkpoint.origin.clone(),
        size,
        root: cp.checkpoint.body().lines().nth(2).unwrap_or_default().to_string(),
    };
    Ok((tally.report(&basis), cp))
}
