//! Operations and deployments: joint enforcement efforts in a city, with the agencies that
//! took part and their headcounts (e.g. Border Patrol agents detailed to an ICE operation).

use crate::TransitionError;
use crate::ids::{AgencyId, OperationId, StateCode};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Lifecycle: planned → active → concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OperationStatus {
    Planned,
    Active,
    Concluded,
}

impl OperationStatus {
    /// The one transition function for operations.
    pub fn transition(self, id: &OperationId, to: OperationStatus) -> Result<Self, TransitionError> {
        match (self, to) {
            (Self::Planned, Self::Active) | (Self::Active, Self::Concluded) | (Self::Planned, Self::Concluded) => {
                Ok(to)
            }
            _ => Err(TransitionError {
                entity: "operation",
                id: id.to_string(),
                from: format!("{self:?}").to_lowercase(),
                attempted: "change status",
                reason: "operations only go planned -> active -> concluded",
            }),
        }
    }
}

/// One agency's part in an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Participation {
    pub agency: AgencyId,
    pub headcount: u32,
    /// The agency that directs these personnel, when detailed to another (e.g. USBP to ICE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detailed_to: Option<AgencyId>,
}

/// An operation or deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub id: OperationId,
    pub name: String,
    pub city: String,
    pub state: StateCode,
    pub starts_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_on: Option<Date>,
    pub participants: Vec<Participation>,
    pub status: OperationStatus,
    /// Encounters recorded as part of the operation, and how many of them were arrests.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub encounters: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub arrests: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
