//! Subjects: the people whose custody Liaison records.
//!
//! All demo and test subjects are synthetic. Citizenship claims are never overwritten: each
//! claim and its evidence is kept, because a claim of US citizenship suspends detainer actions
//! until a supervisor records a determination (reference.md R6).

use crate::identity::IdentityCheck;
use crate::ids::{ANumber, AgencyId, FbiNumber, OfficerId, SubjectId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Evidence offered for a citizenship claim (reference.md R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CitizenshipEvidence {
    StatementOnly,
    UsPassport,
    BirthRecord,
    NaturalizationCertificate,
    StateIdRealId,
    Other,
}

/// A claim of citizenship, as made, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CitizenshipClaim {
    /// ISO 3166 alpha-2 country of the claimed citizenship (`US` for a US citizenship claim).
    pub country: String,
    pub evidence: Vec<CitizenshipEvidence>,
    pub claimed_at: Timestamp,
}

impl CitizenshipClaim {
    pub fn is_us(&self) -> bool {
        self.country == "US"
    }
}

/// A supervisor's determination of a US citizenship claim (reference.md R6). The latest
/// determination decides; a claim made after it is pending again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CitizenshipDetermination {
    pub us_citizen: bool,
    pub official: OfficerId,
    /// What the determination rests on (documents examined, records checked).
    pub basis: String,
    pub determined_at: Timestamp,
}

/// A person. Dates of birth are calendar dates (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub id: SubjectId,
    pub names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<jiff::civil::Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a_number: Option<ANumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbi_number: Option<FbiNumber>,
    #[serde(default)]
    pub citizenship_claims: Vec<CitizenshipClaim>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citizenship_determinations: Vec<CitizenshipDetermination>,
    /// The latest identity and status check (earlier ones stay in the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_check: Option<IdentityCheck>,
    /// The agency that registered the record (set by the server from the caller, never
    /// taken from a request); it may always know the record exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<AgencyId>,
    /// Other records of the same person, linked by an identity verification ("same as").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub same_person: Vec<SubjectId>,
}

impl Subject {
    /// A new subject with no claims, determinations or checks.
    pub fn new(id: SubjectId, names: Vec<String>) -> Self {
        Subject {
            id,
            names,
            date_of_birth: None,
            a_number: None,
            fbi_number: None,
            citizenship_claims: vec![],
            citizenship_determinations: vec![],
            identity_check: None,
            registered_by: None,
            same_person: vec![],
        }
    }

    fn last_determination(&self) -> Option<&CitizenshipDetermination> {
        self.citizenship_determinations.last()
    }

    /// A US citizenship claim was made and no supervisor has determined it since.
    pub fn citizenship_claim_pending(&self) -> bool {
        let since = self.last_determination().map(|d| d.determined_at);
        self.citizenship_claims.iter().any(|c| c.is_us() && since.is_none_or(|t| c.claimed_at > t))
    }

    /// The latest determination found the subject a US citizen.
    pub fn determined_us_citizen(&self) -> bool {
        self.last_determination().is_some_and(|d| d.us_citizen)
    }

    /// The latest identity check was ambiguous and no person has verified it.
    pub fn identity_unverified(&self) -> bool {
        self.identity_check.as_ref().is_some_and(IdentityCheck::awaits_verification)
    }
}
