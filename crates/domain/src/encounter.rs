//! Encounters and arrests: one record per encounter, shaped after the I-213.
//!
//! The record keeps what the law engine needs to judge the encounter afterwards: who, which
//! agency, where (a point), when, how the person was located (the I-213 method code), the
//! authority claimed, and the suspicion factors the officer recorded. It holds no narrative
//! and no ethnicity, language or appearance fields: Liaison does not profile.

use crate::detainer::Warrant;
use crate::ids::{AgencyId, EncounterId, LatLon, OfficerId, OperationId, SubjectId};
use serde::{Deserialize, Serialize};

/// I-213 "Method of Location/Apprehension" codes (reference.md §4.1). CAP, NCA and L are
/// defined in an ICE FOIA document; the others are inferred by UWCHR ("likely"; UNVERIFIED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MethodCode {
    /// CAP Local (city/county jails).
    #[serde(rename = "CLC")]
    CapLocal,
    /// CAP State.
    #[serde(rename = "CST")]
    CapState,
    /// CAP Federal.
    #[serde(rename = "CFD")]
    CapFederal,
    /// Non-custodial arrest (street).
    #[serde(rename = "NCA")]
    NonCustodialArrest,
    /// Located (fugitive operations).
    #[serde(rename = "L")]
    Located,
    /// Other agency.
    #[serde(rename = "OA")]
    OtherAgency,
    /// Patrolling border (inferred).
    #[serde(rename = "PB")]
    PatrollingBorder,
    /// Inspection (inferred).
    #[serde(rename = "ISP")]
    Inspection,
    /// Transportation/bus check (inferred).
    #[serde(rename = "TCB")]
    TransportationCheck,
    /// Task force (inferred).
    #[serde(rename = "OTF")]
    TaskForce,
    /// Law-enforcement assistance (inferred).
    #[serde(rename = "LEA")]
    LawEnforcementAssistance,
    /// Other.
    #[serde(rename = "O")]
    Other,
}

/// The legal authority the officer claims for the encounter (reference.md §6, R1, R7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthorityClaimed {
    /// 8 U.S.C. 1357(a)(1): interrogate a person believed to be an alien.
    #[serde(rename = "interrogation_1357a1")]
    Interrogation1357a1,
    /// 8 U.S.C. 1357(a)(2): warrantless arrest with reason to believe and likelihood of escape.
    #[serde(rename = "warrantless_arrest_1357a2")]
    WarrantlessArrest1357a2,
    /// 8 U.S.C. 1357(a)(3): board and search vehicles within a reasonable distance of the border.
    #[serde(rename = "border_search_1357a3")]
    BorderSearch1357a3,
    /// Arrest on an administrative warrant (I-200 or I-205).
    AdministrativeWarrant,
    /// Arrest on a judicial warrant.
    JudicialWarrant,
    /// Fixed checkpoint (United States v. Martinez-Fuerte, 428 U.S. 543 (1976)).
    FixedCheckpoint,
    /// Authority delegated by a 287(g) agreement.
    #[serde(rename = "delegated_287g")]
    Delegated287g,
    /// A state criminal arrest by state or local officers.
    StateCriminalArrest,
}

/// An articulable reasonable-suspicion factor as the officer recorded it (Brignoni-Ponce;
/// reference.md §6). The factors that never suffice alone are still recordable, so that the law
/// engine can flag a stop that rests on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SuspicionFactor {
    ProximityToBorder,
    RecentIllegalCrossingsInArea,
    InformationFromInformant,
    DriverBehavior,
    VehicleCharacteristics,
    AdmissionOfStatus,
    FleeingOrHiding,
    RecordsCheckHit,
    /// Never sufficient alone (Vasquez Perdomo factors).
    ApparentRaceOrEthnicity,
    /// Never sufficient alone.
    LanguageOrAccent,
    /// Never sufficient alone.
    PresenceAtLocationType,
    /// Never sufficient alone.
    TypeOfWork,
}

/// One encounter. `arrest` says whether the subject entered the agency's custody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Encounter {
    pub id: EncounterId,
    pub subject: SubjectId,
    pub agency: AgencyId,
    pub officer: OfficerId,
    pub location: LatLon,
    pub method: MethodCode,
    pub authority: AuthorityClaimed,
    #[serde(default)]
    pub suspicion_factors: Vec<SuspicionFactor>,
    pub arrest: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationId>,
    /// The administrative warrant served, for an arrest on one (I-200 or I-205).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warrant: Option<Warrant>,
    /// For a warrantless arrest: the officer's recorded reason to believe the person was
    /// likely to escape before a warrant could be obtained (8 U.S.C. 1357(a)(2)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escape_risk: Option<String>,
}
