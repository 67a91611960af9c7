//! Complaints against recorded acts: filed by anyone who may know every event it names,
//! assigned and resolved by oversight. A complaint is known to oversight and to the agency
//! that filed it (`access::may_know`).

use crate::commands::Planned;
use crate::{Principal, ServiceError, text};
use domain::complaint::{COMPLAINT_EVENTS_MAX, Complaint, ComplaintOutcome, ComplaintStatus};
use domain::{ComplaintId, Event, RecordKind};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use store::Batch;
use utoipa::ToSchema;

/// File a complaint against one or more events of the log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComplaint {
    #[serde(default)]
    pub id: Option<ComplaintId>,
    /// The events complained of, by sequence number.
    pub events: Vec<u64>,
    #[schema(schema_with = text::long)]
    pub text: String,
}

/// Oversight gives the complaint to an investigator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintAssignment {
    #[schema(schema_with = text::short)]
    pub assignee: String,
}

/// Oversight resolves the complaint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintResolution {
    pub outcome: ComplaintOutcome,
    #[schema(schema_with = text::long)]
    pub resolution: String,
}

/// The complaint workflow's commands.
#[derive(Debug, Clone)]
pub enum ComplaintCommand {
    File(NewComplaint),
    Assign { complaint: ComplaintId, assignment: ComplaintAssignment },
    Resolve { complaint: ComplaintId, resolution: ComplaintResolution },
}

impl ComplaintCommand {
    pub(crate) fn texts(&self) -> Vec<(&'static str, &str, usize)> {
        match self {
            ComplaintCommand::File(n) => vec![("text", &n.text, text::LONG)],
            ComplaintCommand::Assign { assignment: a, .. } => vec![("assignee", &a.assignee, text::SHORT)],
            ComplaintCommand::Resolve { resolution: r, .. } => vec![("resolution", &r.resolution, text::LONG)],
        }
    }
}

pub(crate) fn plan(
    b: &mut dyn Batch,
    p: &Principal,
    c: &ComplaintCommand,
    now: Timestamp,
) -> Result<Planned, ServiceError> {
    let event = match c {
        ComplaintCommand::File(n) => {
            let id = n.id.clone().ok_or_else(|| ServiceError::invalid("the complaint needs an id"))?;
            let mut events = n.events.clone();
            events.sort_unstable();
            events.dedup();
            if events.is_empty() || events.len() > COMPLAINT_EVENTS_MAX {
                return Err(ServiceError::invalid(format!(
                    "a complaint names from 1 to {COMPLAINT_EVENTS_MAX} events of the log"
                )));
            }
            if n.text.trim().is_empty() {
                return Err(ServiceError::invalid("say what the complaint is about (text)"));
            }
            // One may complain only of events one may know about: any other number is the same
            // "not found" as one beyond the log.
            for seq in &events {
                let known = match b.entry(*seq)? {
                    Some(e) => crate::access::may_know_event(b, p, &e.decode()?.event)?,
                    None => false,
                };
                if !known {
                    return Err(ServiceError::not_found("event", &seq.to_string()));
                }
            }
            Event::ComplaintFiled {
                complaint: Complaint {
                    id,
                    events,
                    filed_by: p.id.clone(),
                    agency: p.agency.clone(),
                    text: n.text.trim().to_string(),
                    filed_at: now,
                    status: ComplaintStatus::Filed,
                    assignee: None,
                    outcome: None,
                    resolution: None,
                },
            }
        }
        ComplaintCommand::Assign { complaint, assignment } => {
            crate::access::visible(b, p, RecordKind::Complaint, complaint.as_str())?;
            Event::ComplaintAssigned { complaint: complaint.clone(), assignee: assignment.assignee.trim().to_string() }
        }
        ComplaintCommand::Resolve { complaint, resolution } => {
            crate::access::visible(b, p, RecordKind::Complaint, complaint.as_str())?;
            Event::ComplaintResolved {
                complaint: complaint.clone(),
                outcome: resolution.outcome,
                resolution: resolution.resolution.trim().to_string(),
            }
        }
    };
    Ok((vec![event], None))
}
