//! Officers, their designations and training.
//!
//! A designation records the source of an officer's authority (8 CFR 287.5, 287.7(b),
//! 241.2(a)(1), or a 287(g) agreement), its scope and its expiry. Whether a designation
//! permits a given action is the law engine's question; this module only records facts.

use crate::ids::{AgencyId, AgreementId, OfficerId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// An officer's role in their home agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DeportationOfficer,
    SpecialAgent,
    BorderPatrolAgent,
    CbpOfficer,
    Supervisor,
    JailStaff,
    /// A state or local officer nominated for 287(g) designation.
    LocalOfficer,
    /// A National Guard member (Title 32).
    GuardMember,
    Auditor,
}

/// Where an officer's immigration authority comes from (reference.md R1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum AuthoritySource {
    /// 8 CFR 287.5(e)(2)/(e)(3): classes of immigration officers who may issue/serve warrants.
    Cfr287_5,
    /// 8 CFR 287.7(b): officers who may issue detainers.
    Cfr287_7b,
    /// 8 CFR 241.2(a)(1): officials who may issue I-205 warrants of removal.
    Cfr241_2,
    /// A 287(g) memorandum of agreement (8 U.S.C. 1357(g)).
    Agreement287g { agreement: AgreementId },
    /// Title 32 orders for a National Guard member (processing, clerical, logistics only).
    Title32,
}

/// One grant of authority to one officer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Designation {
    pub authority: AuthoritySource,
    /// Free-text scope as written in the grant (e.g. "jail: Harris County Jail").
    pub scope: String,
    pub granted_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// One completed training course (e.g. the 287(g) JEM course, a WSO online course).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    pub course: String,
    pub completed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

/// An officer (agent, deputy, Guard member) and what they are entitled to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Officer {
    pub id: OfficerId,
    pub agency: AgencyId,
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub designations: Vec<Designation>,
    #[serde(default)]
    pub training: Vec<TrainingRecord>,
}
