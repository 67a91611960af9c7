//! Identity and status checks at booking: does the person a jail books match a subject
//! Liaison already knows, and what do Liaison's records say of that subject's status?
//!
//! The check is biographic only (A-number, FBI number, names, date of birth): Liaison ingests
//! no biometrics, photographs or face images. A database match is a lead, not probable cause
//! (Gonzalez v. ICE, 416 F. Supp. 3d 995 (C.D. Cal. 2019)), so an ambiguous result must be
//! verified by a person, and that verification recorded, before any detainer
//! (reference.md R6 and issue 4; the confidence figures below are Liaison's own scale, not a
//! published standard).

use crate::ids::{ANumber, AgencyId, OfficerId, SubjectId};
use crate::subject::Subject;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchResult {
    /// Exactly one known subject matches with high confidence.
    Match,
    /// No known subject matches.
    NoMatch,
    /// More than one candidate, or one candidate without enough agreement: a person decides.
    Ambiguous,
}

/// Which data agreed between the booked person and a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchedOn {
    ANumber,
    FbiNumber,
    NameAndDateOfBirth,
    SurnameAndDateOfBirth,
}

impl MatchedOn {
    /// Confidence, in percent, that two records sharing only this are one person.
    fn confidence(self) -> u8 {
        match self {
            MatchedOn::ANumber => 99,
            MatchedOn::FbiNumber => 97,
            MatchedOn::NameAndDateOfBirth => 90,
            MatchedOn::SurnameAndDateOfBirth => 60,
        }
    }
}

/// A known subject the booked person may be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub subject: SubjectId,
    /// Percent, 0 to 100.
    pub confidence: u8,
    pub matched_on: Vec<MatchedOn>,
}

/// What Liaison's records say of the matched subject (not an immigration-status database:
/// Liaison holds only what agencies recorded in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordedStatus {
    /// A supervisor determined the subject is a US citizen.
    UsCitizenDetermined,
    /// A US citizenship claim awaits a supervisor's determination.
    UsCitizenshipClaimPending,
    /// An A-number (alien file) is recorded.
    AFileOnRecord,
    /// A known subject, with none of the above recorded.
    NothingRecorded,
    /// No single subject matched: nothing can be said.
    Unknown,
}

impl RecordedStatus {
    pub fn of(s: &Subject) -> Self {
        if s.determined_us_citizen() {
            RecordedStatus::UsCitizenDetermined
        } else if s.citizenship_claim_pending() {
            RecordedStatus::UsCitizenshipClaimPending
        } else if s.a_number.is_some() {
            RecordedStatus::AFileOnRecord
        } else {
            RecordedStatus::NothingRecorded
        }
    }
}

/// A person's verification of an identity check: either the booked person is the candidate
/// `same_as`, or (`same_as` absent) none of the candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IdentityVerification {
    pub official: OfficerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_as: Option<SubjectId>,
    /// What the official relied on (documents seen, records compared).
    pub basis: String,
    pub verified_at: Timestamp,
}

/// One identity and status check, as recorded on the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IdentityCheck {
    pub result: MatchResult,
    /// Percent, 0 to 100: for a match or an ambiguous result, the best candidate's; for no
    /// match, how complete the search keys were (identifiers or a date of birth: 90; names
    /// only: 50).
    pub confidence: u8,
    /// Best first, at most [`CANDIDATES_MAX`].
    pub candidates: Vec<Candidate>,
    pub status: RecordedStatus,
    /// The agency whose booking asked for the check.
    pub agency: AgencyId,
    pub checked_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<IdentityVerification>,
}

impl IdentityCheck {
    /// Whether the check needs a person's verification that has not been recorded.
    pub fn awaits_verification(&self) -> bool {
        self.result == MatchResult::Ambiguous && self.verification.is_none()
    }
}

/// One identity index key and the subjects filed under it (a projection record, rebuilt from
/// the log like any other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityKey {
    pub key: String,
    pub subjects: Vec<SubjectId>,
}

pub const CANDIDATES_MAX: usize = 10;
const MATCH_MIN: u8 = 85;
const CANDIDATE_MIN: u8 = 50;

/// An A-number's nine digits (`A12345678` and `A012345678` are one file).
fn a_file(a: &ANumber) -> String {
    format!("{:0>9}", &a.as_str()[1..])
}

/// Lowercased letters and digits of a name, words separated by one space.
fn normalize(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_alphanumeric() { c.to_lowercase().next().unwrap_or(c) } else { ' ' }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The keys under which a subject is indexed for identity checks: its identifiers, and the
/// surname of each of its names with its date of birth (the candidates a check scores; a full
/// name with the date of birth would be a second key that every match under it shares with
/// the surname key, and each key costs a write at a random place in the index). Names
/// without a date of birth are not keys (too many people share them to narrow anything).
/// Sorted, so identifiers (`a:`, `f:`) come before surnames (`s:`).
pub fn index_keys(s: &Subject) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(a) = &s.a_number {
        keys.push(format!("a:{}", a_file(a)));
    }
    if let Some(f) = &s.fbi_number {
        keys.push(format!("f:{f}"));
    }
    if let Some(dob) = s.date_of_birth {
        for n in s.names.iter().map(|n| normalize(n)).filter(|n| !n.is_empty()) {
            if let Some(surname) = n.split(' ').next_back() {
                keys.push(format!("s:{surname}|{dob}"));
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// How well `candidate` matches `booked`, or `None` when they cannot be one person (a
/// different A-number or FBI number) or share nothing.
fn score(booked: &Subject, candidate: &Subject) -> Option<Candidate> {
    let conflict = |a: Option<String>, b: Option<String>| matches!((a, b), (Some(x), Some(y)) if x != y);
    let (ba, ca) = (booked.a_number.as_ref().map(a_file), candidate.a_number.as_ref().map(a_file));
    let fbi = |s: &Subject| s.fbi_number.as_ref().map(|f| f.as_str().to_string());
    if conflict(ba.clone(), ca.clone()) || conflict(fbi(booked), fbi(candidate)) {
        return None;
    }
    let mut on = Vec::new();
    if ba.is_some() && ba == ca {
        on.push(MatchedOn::ANumber);
    }
    if booked.fbi_number.is_some() && booked.fbi_number == candidate.fbi_number {
        on.push(MatchedOn::FbiNumber);
    }
    if booked.date_of_birth.is_some() && booked.date_of_birth == candidate.date_of_birth {
        let names = |s: &Subject| s.names.iter().map(|n| normalize(n)).collect::<Vec<_>>();
        let (b, c) = (names(booked), names(candidate));
        let surname = |n: &String| n.split(' ').next_back().map(str::to_string);
        if b.iter().any(|n| c.contains(n)) {
            on.push(MatchedOn::NameAndDateOfBirth);
        } else if b.iter().filter_map(surname).any(|s| c.iter().filter_map(surname).any(|t| t == s)) {
            on.push(MatchedOn::SurnameAndDateOfBirth);
        }
    }
    let best = on.iter().map(|m| m.confidence()).max()?;
    // Agreement on more than one kind of datum raises confidence halfway to certainty.
    let confidence = if on.len() > 1 { best + (100 - best) / 2 } else { best };
    Some(Candidate { subject: candidate.id.clone(), confidence, matched_on: on })
}

/// Checks `booked` against the `known` subjects that share an index key with it (the booked
/// subject itself is skipped). Pure: the caller gathers `known` and passes the time.
pub fn check(booked: &Subject, known: &[Subject], agency: AgencyId, now: Timestamp) -> IdentityCheck {
    let mut candidates: Vec<Candidate> = known
        .iter()
        .filter(|k| k.id != booked.id)
        .filter_map(|k| score(booked, k))
        .filter(|c| c.confidence >= CANDIDATE_MIN)
        .collect();
    candidates.sort_by(|a, b| b.confidence.cmp(&a.confidence).then_with(|| a.subject.cmp(&b.subject)));
    candidates.dedup_by(|a, b| a.subject == b.subject);
    candidates.truncate(CANDIDATES_MAX);
    let (result, confidence, status) = match candidates.as_slice() {
        [] => {
            let keyed = booked.a_number.is_some() || booked.fbi_number.is_some() || booked.date_of_birth.is_some();
            (MatchResult::NoMatch, if keyed { 90 } else { 50 }, RecordedStatus::Unknown)
        }
        [one] if one.confidence >= MATCH_MIN => {
            let matched = known.iter().find(|k| k.id == one.subject).expect("a candidate is known");
            (MatchResult::Match, one.confidence, RecordedStatus::of(matched))
        }
        [best, ..] => (MatchResult::Ambiguous, best.confidence, RecordedStatus::Unknown),
    };
    IdentityCheck { result, confidence, candidates, status, agency, checked_at: now, verification: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(id: &str, name: &str, dob: Option<&str>, a: Option<&str>) -> Subject {
        Subject {
            date_of_birth: dob.map(|d| d.parse().unwrap()),
            a_number: a.map(|a| ANumber::parse(a).unwrap()),
            ..Subject::new(SubjectId::parse(id).unwrap(), vec![name.into()])
        }
    }

    fn run(booked: &Subject, known: &[Subject]) -> IdentityCheck {
        check(booked, known, AgencyId::parse("SD-SHERIFF").unwrap(), Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn one_strong_candidate_is_a_match_with_its_status() {
        let known = subject("S1", "Ana Ruiz", Some("1990-02-03"), Some("A012345678"));
        let booked = subject("S2", "ANA  RUIZ", Some("1990-02-03"), None);
        let c = run(&booked, &[known]);
        assert_eq!((c.result, c.confidence, c.status), (MatchResult::Match, 90, RecordedStatus::AFileOnRecord));
        assert_eq!(c.candidates[0].matched_on, vec![MatchedOn::NameAndDateOfBirth]);
        assert!(!c.awaits_verification());
    }

    #[test]
    fn two_candidates_or_a_weak_one_are_ambiguous() {
        let booked = subject("S9", "Ana Ruiz", Some("1990-02-03"), None);
        let a = subject("S1", "Ana Ruiz", Some("1990-02-03"), None);
        let b = subject("S2", "Luisa Ruiz", Some("1990-02-03"), None);
        let c = run(&booked, &[a.clone(), b.clone()]);
        assert_eq!(c.result, MatchResult::Ambiguous);
        assert_eq!(c.candidates.iter().map(|c| c.confidence).collect::<Vec<_>>(), vec![90, 60]);
        assert!(c.awaits_verification());
        let c = run(&booked, &[b]);
        assert_eq!((c.result, c.confidence), (MatchResult::Ambiguous, 60));
    }

    #[test]
    fn different_identifiers_rule_a_candidate_out_and_nothing_is_no_match() {
        let booked = subject("S9", "Ana Ruiz", Some("1990-02-03"), Some("A000000001"));
        let other = subject("S1", "Ana Ruiz", Some("1990-02-03"), Some("A000000002"));
        let c = run(&booked, &[other]);
        assert_eq!((c.result, c.confidence, c.status), (MatchResult::NoMatch, 90, RecordedStatus::Unknown));
        let names_only = subject("S8", "Ana Ruiz", None, None);
        assert_eq!(run(&names_only, &[]).confidence, 50);
        assert!(index_keys(&names_only).is_empty());
    }

    #[test]
    fn agreeing_identifier_and_name_raise_confidence() {
        let booked = subject("S9", "Ana Ruiz", Some("1990-02-03"), Some("A000000001"));
        let known = subject("S1", "Ana Ruiz", Some("1990-02-03"), Some("A000000001"));
        let c = run(&booked, &[known]);
        assert_eq!((c.result, c.confidence), (MatchResult::Match, 99));
        assert_eq!(index_keys(&booked), vec!["a:000000001", "s:ruiz|1990-02-03"]);
    }
}
