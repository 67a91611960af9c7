//! Complaints: oversight's own record of a grievance against recorded acts. A complaint names
//! one or more events of the log (by sequence number), is filed by anyone who may know those
//! events, assigned by oversight to an investigator, and resolved with an outcome. Every step
//! is an event, so a complaint's handling is as tamper-evident as the acts it concerns.

use crate::TransitionError;
use crate::ids::{AgencyId, ComplaintId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Events a complaint may name at most.
pub const COMPLAINT_EVENTS_MAX: usize = 50;

/// Lifecycle: filed → assigned (again, to another investigator) → resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ComplaintStatus {
    Filed,
    Assigned,
    Resolved,
}

impl ComplaintStatus {
    /// The one transition function for complaints.
    pub fn transition(self, id: &ComplaintId, to: ComplaintStatus) -> Result<Self, TransitionError> {
        match (self, to) {
            (Self::Filed | Self::Assigned, Self::Assigned) | (Self::Assigned, Self::Resolved) => Ok(to),
            _ => Err(TransitionError {
                entity: "complaint",
                id: id.to_string(),
                from: format!("{self:?}").to_lowercase(),
                attempted: if to == Self::Resolved { "resolve" } else { "assign" },
                reason: "a complaint is assigned before it is resolved, and a resolved one stays resolved",
            }),
        }
    }
}

/// How a complaint was resolved (the dispositions oversight offices report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ComplaintOutcome {
    /// The facts show the act was wrongful.
    Sustained,
    /// The facts do not show whether it was.
    NotSustained,
    /// The act did not happen as alleged, or was lawful.
    Unfounded,
    /// Sent to another body (an inspector general, a court, the agency's own office).
    Referred,
}

/// A complaint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Complaint {
    pub id: ComplaintId,
    /// The events complained of (sequence numbers of the log).
    pub events: Vec<u64>,
    /// Who filed it (a principal's id) and for which agency.
    pub filed_by: String,
    pub agency: AgencyId,
    pub text: String,
    pub filed_at: Timestamp,
    pub status: ComplaintStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ComplaintOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}
