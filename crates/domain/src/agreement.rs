//! Agreements between agencies: 287(g) memoranda, task-force MOUs, detention contracts.
//!
//! A 287(g) memorandum names its model (reference.md §2.2): the Jail Enforcement Model (JEM),
//! the Warrant Service Officer model (WSO) or the Task Force Model (TFM). Which functions a
//! model delegates is data here; whether an officer may act under it is the law engine's
//! question.

use crate::TransitionError;
use crate::ids::{AgencyId, AgreementId};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The three 287(g) models in use since 2025 (reference.md §2.2; ICE's SUPPORT TYPE column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Model287g {
    JailEnforcementModel,
    WarrantServiceOfficer,
    TaskForceModel,
}

impl Model287g {
    /// Parses ICE's SUPPORT TYPE text, tolerating the trailing spaces ICE's sheet has.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "Jail Enforcement Model" => Some(Self::JailEnforcementModel),
            "Warrant Service Officer" => Some(Self::WarrantServiceOfficer),
            "Task Force Model" => Some(Self::TaskForceModel),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::JailEnforcementModel => "JEM",
            Self::WarrantServiceOfficer => "WSO",
            Self::TaskForceModel => "TFM",
        }
    }

    /// The functions each model delegates, per reference.md §2.2. The TFM list is as reported
    /// by DHS and the press: the 2025 TFM MOA text was not retrieved (UNVERIFIED).
    pub fn delegated_functions(self) -> &'static [DelegatedFunction] {
        use DelegatedFunction::*;
        match self {
            Self::JailEnforcementModel => {
                &[InterviewInJail, DatabaseCheck, IssueDetainer, ServeWarrantInJail, ProcessForRemoval]
            }
            Self::WarrantServiceOfficer => &[ServeWarrantInJail],
            Self::TaskForceModel => &[FieldStopAndQuestion, FieldArrest, DatabaseCheck],
        }
    }
}

/// A function an agreement can delegate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DelegatedFunction {
    InterviewInJail,
    DatabaseCheck,
    IssueDetainer,
    ServeWarrantInJail,
    ProcessForRemoval,
    FieldStopAndQuestion,
    FieldArrest,
    Detention,
}

/// What kind of agreement this is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AgreementKind {
    /// A 287(g) memorandum of agreement (8 U.S.C. 1357(g)).
    Moa287g { model: Model287g },
    /// A task-force memorandum of understanding.
    TaskForceMou,
    /// A detention contract (IGSA, USMS IGA) for beds.
    DetentionContract { beds: u32 },
}

/// Lifecycle of an agreement (reference.md "Implications": MOA lifecycle). ICE's published
/// sheet lists only agreements in force, so recorded agreements start `Active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgreementStatus {
    Active,
    /// Replaced by a renewal or a newer agreement with the same parties.
    Superseded,
    /// No longer on ICE's published list (e.g. after a model switch).
    Removed,
    Terminated,
}

impl AgreementStatus {
    /// The one transition function for agreement status.
    pub fn transition(self, id: &AgreementId, to: AgreementStatus) -> Result<Self, TransitionError> {
        let refuse = |attempted, reason| TransitionError {
            entity: "agreement",
            id: id.to_string(),
            from: format!("{self:?}"),
            attempted,
            reason,
        };
        match (self, to) {
            (Self::Active, Self::Active) => Err(refuse("activate", "it is already active")),
            (Self::Active, next) => Ok(next),
            (_, Self::Active) => Err(refuse("reactivate", "an ended agreement is never revived; record a new one")),
            (_, _) => Err(refuse("end", "it has already ended")),
        }
    }
}

/// An agreement and its parties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agreement {
    pub id: AgreementId,
    #[serde(flatten)]
    pub kind: AgreementKind,
    /// The parties; for a 287(g) MOA, ICE ERO and the participating agency.
    pub parties: Vec<AgencyId>,
    pub signed_on: Date,
    pub status: AgreementStatus,
    /// Where the text is published (ICE's MOA link), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_agreements_stay_ended() {
        let id = AgreementId::parse("A1").unwrap();
        let s = AgreementStatus::Active.transition(&id, AgreementStatus::Terminated).unwrap();
        let e = s.transition(&id, AgreementStatus::Active).unwrap_err();
        assert_eq!(
            e.to_string(),
            "agreement A1: cannot reactivate while Terminated: an ended agreement is never revived; record a new one"
        );
        assert!(Model287g::parse("Jail Enforcement Model ").is_some());
    }
}
