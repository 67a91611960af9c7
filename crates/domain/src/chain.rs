//! A subject's custody chain, read from logged events as they were known at some time.
//!
//! Input is the subject's logged events with both time axes; output is one step per event
//! that moved or concerned custody, ordered by valid time, with valid-time corrections
//! applied when the correction itself is among the inputs. Callers choose "as known at T" by
//! passing only events recorded by T.

use crate::event::Event;
use jiff::Timestamp;
use serde::Serialize;

/// One logged event, as the chain view needs it.
#[derive(Debug, Clone, Copy)]
pub struct Logged<'a> {
    pub seq: u64,
    pub valid_at: Timestamp,
    pub recorded_at: Timestamp,
    pub corrects: Option<u64>,
    pub event: &'a Event,
}

/// One step of a custody chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainStep {
    pub seq: u64,
    pub valid_at: Timestamp,
    pub recorded_at: Timestamp,
    /// Set when a later event corrected this step's valid time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_by: Option<u64>,
    pub what: String,
}

/// Builds the chain. Events that say nothing about custody or detainers are left out.
pub fn custody_chain(events: &[Logged<'_>]) -> Vec<ChainStep> {
    let mut steps: Vec<ChainStep> = events
        .iter()
        .filter_map(|l| {
            describe(l.event).map(|what| ChainStep {
                seq: l.seq,
                valid_at: l.valid_at,
                recorded_at: l.recorded_at,
                corrected_by: None,
                what,
            })
        })
        .collect();
    for l in events {
        if let (Event::ValidTimeCorrected { .. }, Some(target)) = (l.event, l.corrects)
            && let Some(step) = steps.iter_mut().find(|s| s.seq == target)
        {
            step.valid_at = l.valid_at;
            step.corrected_by = Some(l.seq);
        }
    }
    steps.sort_by_key(|s| (s.valid_at, s.seq));
    steps
}

fn describe(e: &Event) -> Option<String> {
    Some(match e {
        Event::EncounterRecorded { encounter: x } => format!(
            "{} by {} (officer {}, authority {}, method {})",
            if x.arrest { "arrested" } else { "encounter without new arrest" },
            x.agency,
            x.officer,
            code(&x.authority),
            code(&x.method)
        ),
        Event::JailBooked { agency, facility, charge, .. } => format!("booked into {facility} by {agency} on {charge}"),
        Event::HandoffOffered { handoff: h } => {
            format!("handoff {} offered by {} to {}", h.id, h.releasing.agency, h.receiving.agency)
        }
        Event::HandoffAccepted { handoff, official, .. } => {
            format!("handoff {handoff} accepted by {official}: custody moved")
        }
        Event::HandoffRejected { handoff, reason, .. } => format!("handoff {handoff} rejected: {reason}"),
        Event::HandoffExpired { handoff } => format!("handoff {handoff} expired unanswered"),
        Event::HandoffSuperseded { handoff, reason } => format!("handoff {handoff} closed: {reason}"),
        Event::CustodyReleased { agency, reason, code: c, .. } => match c {
            Some(c) => format!("released by {agency} (NIEM release reason {}: {reason})", code(c)),
            None => format!("released by {agency} ({reason})"),
        },
        // The other record is not named: a reader of this chain may not know it exists.
        Event::CustodyConflictResolved { custodian, official, basis, .. } => format!(
            "custody conflict with another record of the same person resolved by {official}: held by {custodian} ({basis})"
        ),
        Event::DetainerIssued { detainer: d } => {
            format!("detainer {} ({}) issued by {} to {}", d.id, code(&d.form), d.issuing_agency, d.recipient_agency)
        }
        Event::DetainerServed { detainer } => format!("detainer {detainer} served on the subject"),
        Event::DetainerAnswered { detainer, accepted, answer, .. } => {
            use crate::detainer::DetainerAnswer as A;
            let how = match (answer, accepted) {
                (Some(A::Honor), _) => "honored",
                (Some(A::NotifyOnly), _) => "answered with notice only",
                (Some(A::Decline), _) | (None, false) => "declined",
                (None, true) => "accepted",
            };
            format!("detainer {detainer} {how} by the recipient agency")
        }
        Event::SubjectReleaseEligible { detainer } => {
            format!("release-eligible; hold clock starts on detainer {detainer}")
        }
        Event::DetainerCustodyAssumed { detainer, official, .. } => {
            format!("custody assumed on detainer {detainer} by {official}")
        }
        Event::DetainerLifted { detainer, code: c } => {
            format!("detainer {detainer} lifted (NIEM lift code {})", code(c))
        }
        Event::DetainerExpired { detainer } => format!("detainer {detainer} expired: hold window over"),
        Event::CitizenshipClaimed { claim, .. } => {
            let evidence: Vec<String> = claim.evidence.iter().map(code).collect();
            format!("claimed {} citizenship (evidence: {})", claim.country, evidence.join(", "))
        }
        _ => return None,
    })
}

/// The wire name of an enum value (its serde name), for messages.
fn code<T: Serialize>(x: &T) -> String {
    match serde_json::to_value(x) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}
