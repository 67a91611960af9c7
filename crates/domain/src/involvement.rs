//! Who may know that a subject exists: the agencies involved in the subject's case, kept as
//! one projection record per subject so that the question costs one lookup, whatever the
//! length of the subject's history.
//!
//! An agency is involved when it registered the subject's record, issued or received a
//! detainer on the subject, or took part in a handoff of the subject (either side may read the
//! handoff), or holds another record of the same person that conflicts with this one. ICE and
//! CBP components are also involved when they encountered, booked or released the subject. A
//! booking identity check that matched a known person, or was ambiguous, notifies every ICE
//! component, as the IDENT/IAFIS interoperability of Secure Communities does (reference.md §5:
//! a matching booking "notifies ICE"; it does not notify CBP). The current custodian and
//! oversight are not listed here: the custody record and the principal's role answer for them.

use crate::ids::{AgencyId, DetainerId, SubjectId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Involvement {
    pub subject: SubjectId,
    /// Involved agencies, sorted, each once.
    pub agencies: Vec<AgencyId>,
    /// Every ICE component may know the subject exists.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ice_notified: bool,
    /// Every detainer issued on the subject, in issue order: what a release must answer to.
    /// Kept here, not on the custody record, because not everyone who may read the custody
    /// record may know the detainers exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detainers: Vec<DetainerId>,
}

impl Involvement {
    pub fn new(subject: SubjectId) -> Self {
        Involvement { subject, agencies: vec![], ice_notified: false, detainers: vec![] }
    }

    /// Adds `agency`; true when it was not yet involved.
    pub fn add(&mut self, agency: &AgencyId) -> bool {
        match self.agencies.binary_search(agency) {
            Ok(_) => false,
            Err(at) => {
                self.agencies.insert(at, agency.clone());
                true
            }
        }
    }

    /// Whether an agency that is (`ice`) or is not an ICE component is involved.
    pub fn includes(&self, agency: &AgencyId, ice: bool) -> bool {
        (ice && self.ice_notified) || self.agencies.binary_search(agency).is_ok()
    }
}
