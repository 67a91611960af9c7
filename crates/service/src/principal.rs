//! Who is asking: principals and their roles.

use domain::{AgencyId, OfficerId};
use serde::{Deserialize, Serialize};

/// What a principal may do through the API. A role is a grant of API functions; whether an
/// enforcement action is lawful is still the law engine's question, asked about the officer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiRole {
    /// Records encounters and arrests, offers and accepts custody, issues detainers.
    FieldOfficer,
    /// A field officer who also decides citizenship claims and plans operations.
    Supervisor,
    /// Books people into a jail and answers detainers and handoffs for it.
    JailStaff,
    /// A state or local officer acting under a 287(g) designation.
    #[serde(rename = "officer_287g", alias = "officer287g")]
    Officer287g,
    /// Reads everything and writes only its handling of complaints; its reads are logged like anyone's.
    Oversight,
    /// Manages the 287(g) registry (agreements, designations, training).
    Administrator,
}

impl ApiRole {
    pub const ALL: [ApiRole; 6] = [
        ApiRole::FieldOfficer,
        ApiRole::Supervisor,
        ApiRole::JailStaff,
        ApiRole::Officer287g,
        ApiRole::Oversight,
        ApiRole::Administrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiRole::FieldOfficer => "field_officer",
            ApiRole::Supervisor => "supervisor",
            ApiRole::JailStaff => "jail_staff",
            ApiRole::Officer287g => "officer_287g",
            ApiRole::Oversight => "oversight",
            ApiRole::Administrator => "administrator",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// The principal's name (an officer id, or a service account's name).
    pub id: String,
    pub agency: AgencyId,
    /// The officer record this principal acts as, when it is an officer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub officer: Option<OfficerId>,
    pub roles: Vec<ApiRole>,
}

impl Principal {
    pub fn has(&self, role: ApiRole) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any(&self, roles: &[ApiRole]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    /// Oversight reads everything and writes nothing.
    pub fn is_oversight(&self) -> bool {
        self.has(ApiRole::Oversight)
    }
}
