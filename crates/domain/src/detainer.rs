//! Detainers (Form I-247A) and their lifecycle.
//!
//! A detainer asks the agency holding a subject to notify DHS before release and to hold the
//! subject up to 48 hours beyond release (8 CFR 287.7; reference.md §3). It carries its
//! accompanying warrant (I-200 or I-205, ICE Policy 10074.2), the I-247A box-1 probable-cause
//! basis, the times it was served and the subject became release-eligible, and how it ended
//! (NIEM `im:DetentionDetainerLiftCode`). Whether issuing or holding is lawful is decided by
//! the law engine; the hold clock arithmetic lives there too.

use crate::TransitionError;
use crate::ids::{AgencyId, DetainerId, OfficerId, SubjectId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The detainer form family (reference.md §3.3). Only I-247A may be issued since
/// April 2, 2017; the others are kept for historic records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DetainerForm {
    #[serde(rename = "I-247A")]
    I247a,
    #[serde(rename = "I-247")]
    I247,
    #[serde(rename = "I-247D")]
    I247d,
    #[serde(rename = "I-247N")]
    I247n,
    #[serde(rename = "I-247X")]
    I247x,
}

/// How the recipient jail answers a detainer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DetainerAnswer {
    /// Do what the detainer asks: notify before release and hold up to its limit.
    Honor,
    /// Refuse the request.
    Decline,
    /// Tell DHS of the release, but hold no one past it.
    NotifyOnly,
}

/// The administrative warrant that must accompany a detainer (ICE Policy 10074.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WarrantForm {
    /// Warrant for Arrest of Alien.
    #[serde(rename = "I-200")]
    I200,
    /// Warrant of Removal/Deportation.
    #[serde(rename = "I-205")]
    I205,
}

/// An accompanying warrant: administrative, not judicial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Warrant {
    pub form: WarrantForm,
    pub signed_by: OfficerId,
    pub signed_at: Timestamp,
}

/// I-247A box 1 probable-cause bases, plus two bases that are recordable only so that they
/// can be refused: Policy 10074.2 says an investigation's initiation, and foreign birth with no
/// database match, are never probable cause (Gonzalez v. ICE, C.D. Cal. 2019).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProbableCauseBasis {
    FinalOrderOfRemoval,
    PendingRemovalProceedings,
    /// Biometric confirmation plus a federal database records check (database-only; flagged).
    BiometricAndRecordsCheck,
    StatementsOrOtherEvidence,
    InvestigationInitiated,
    ForeignBirthNoDatabaseMatch,
}

/// NIEM `im:DetentionDetainerLiftCode` (reference.md §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LiftCode {
    /// Booked into detention.
    B,
    /// Case closed.
    C,
    /// Died.
    D,
    /// Lifted – lack of funds.
    F,
    /// Lifted.
    L,
    /// Not deportable.
    N,
    /// Lifted – lack of space.
    S,
    /// Transferred.
    T,
    /// United States citizen interviewed.
    U,
}

/// Lifecycle (reference.md "Implications": detainer lifecycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DetainerStatus {
    Issued,
    /// The recipient agency said it will honor the request.
    Accepted,
    /// The recipient agency declined, e.g. as its state law requires.
    Declined,
    /// The subject became release-eligible and is held on the detainer.
    Holding,
    CustodyAssumed,
    Lifted,
    /// The hold window ran out; the subject must be released.
    Expired,
}

/// A step in a detainer's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetainerStep {
    Answer { accepted: bool },
    ReleaseEligible,
    AssumeCustody,
    Lift,
    Expire,
}

impl DetainerStatus {
    /// The one transition function for detainers.
    pub fn transition(self, id: &DetainerId, step: DetainerStep) -> Result<Self, TransitionError> {
        use DetainerStatus as S;
        use DetainerStep as E;
        let refuse = |attempted, reason| TransitionError {
            entity: "detainer",
            id: id.to_string(),
            from: format!("{self:?}").to_lowercase(),
            attempted,
            reason,
        };
        match (self, step) {
            (S::CustodyAssumed | S::Lifted | S::Expired, _) => Err(refuse(step.verb(), "the detainer has ended")),
            (S::Issued, E::Answer { accepted: true }) => Ok(S::Accepted),
            (S::Issued, E::Answer { accepted: false }) => Ok(S::Declined),
            (_, E::Answer { .. }) => Err(refuse("answer", "the recipient agency has already answered")),
            (S::Accepted, E::ReleaseEligible) => Ok(S::Holding),
            (S::Issued, E::ReleaseEligible) => Err(refuse("hold", "the recipient agency has not answered the request")),
            (S::Declined, E::ReleaseEligible) => Err(refuse("hold", "the recipient agency declined the request")),
            (S::Holding, E::ReleaseEligible) => Err(refuse("hold", "the subject is already held on it")),
            (S::Holding, E::AssumeCustody) => Ok(S::CustodyAssumed),
            (_, E::AssumeCustody) => Err(refuse("assume custody", "the subject is not being held on this detainer")),
            (S::Holding, E::Expire) => Ok(S::Expired),
            (_, E::Expire) => Err(refuse("expire", "no hold clock is running")),
            (_, E::Lift) => Ok(S::Lifted),
        }
    }
}

impl DetainerStep {
    fn verb(self) -> &'static str {
        match self {
            Self::Answer { .. } => "answer",
            Self::ReleaseEligible => "hold",
            Self::AssumeCustody => "assume custody",
            Self::Lift => "lift",
            Self::Expire => "expire",
        }
    }
}

/// One detainer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Detainer {
    pub id: DetainerId,
    pub subject: SubjectId,
    pub form: DetainerForm,
    pub issuing_agency: AgencyId,
    pub issuing_officer: OfficerId,
    pub recipient_agency: AgencyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warrant: Option<Warrant>,
    pub probable_cause: Vec<ProbableCauseBasis>,
    /// I-247A box 2: DHS transferred the subject to the recipient for a proceeding.
    #[serde(default)]
    pub transferred_for_proceeding: bool,
    /// A request to be notified before release, without a request to hold.
    #[serde(default)]
    pub notification_only: bool,
    pub issued_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_on_subject_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_eligible_at: Option<Timestamp>,
    pub status: DetainerStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lift_code: Option<LiftCode>,
    /// How the recipient answered (absent before it answered, and in records from before
    /// answers were kept: `status` then says accepted or declined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<DetainerAnswer>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declined_detainer_cannot_hold() {
        let id = DetainerId::parse("D1").unwrap();
        let s = DetainerStatus::Issued.transition(&id, DetainerStep::Answer { accepted: false }).unwrap();
        let e = s.transition(&id, DetainerStep::ReleaseEligible).unwrap_err();
        assert_eq!(e.to_string(), "detainer D1: cannot hold while declined: the recipient agency declined the request");
        assert_eq!(s.transition(&id, DetainerStep::Lift).unwrap(), DetainerStatus::Lifted);
    }
}
