//! Subjects: the people whose custody Liaison records.
//!
//! All demo and test subjects are synthetic. Citizenship claims are never overwritten: each
//! claim and its evidence is kept, because a claim of US citizenship suspends detainer actions
//! until a supervisor records a determination (reference.md R6).

use crate::ids::{ANumber, FbiNumber, SubjectId};
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
}
