//! Model-based property test: random command sequences against a tiny independent model of
//! custody. The operations are those of the custody workflows: arrests, bookings, handoff
//! offers and answers, releases, detainers whose assumption of custody races open offers,
//! "same as" links between two records of one person, and supervisors' resolutions of the
//! conflicts those links expose. Each is appended as the service appends it (a release, an
//! assumption or a resolution closes the open offer it would orphan, in the same group).
//! After every sequence: the store agreed with the model on every accept/refuse, each
//! subject has the model's one custodian (or none) and the model's custody conflict (or
//! none), no handoff stays "offered" unless it is its subject's open offer from the current
//! custodian, the log verifies with contiguous sequence numbers, rebuilt projections equal
//! the incremental ones, and every proof checks.
//!
//! Cases default to 64 so CI stays fast (about a second); `LIAISON_PROP_CASES=2000` runs the long version
//! (scripts/long-tests, 2,000 cases).

use super::{ev, fresh, t};
use domain::agency::{Agency, AgencyKind, Facility, FacilityKind};
use domain::custody::{Handoff, HandoffParty, HandoffStatus};
use domain::detainer::{Detainer, DetainerForm, DetainerStatus, ProbableCauseBasis};
use domain::encounter::{AuthorityClaimed, Encounter, MethodCode};
use domain::identity::{Candidate, IdentityCheck, MatchResult, MatchedOn, RecordedStatus};
use domain::officer::{Officer, Role};
use domain::subject::Subject;
use domain::{Event, LatLon, Record, RecordKey, RecordKind};
use proptest::prelude::*;
use store::{Store, ops};

const AGENCIES: [&str; 3] = ["WL-USBP", "WL-ERO", "P-JAIL"];
const OFFICERS: [&str; 3] = ["WL-O-USBP", "WL-O-ERO", "P-O-JAIL"];
const SUBJECTS: u8 = 2;

#[derive(Debug, Clone)]
enum Op {
    Register(u8),
    Arrest(u8, usize),
    Book(u8),
    Offer(u8, usize, usize),
    Accept(u8),
    Reject(u8),
    Expire(u8),
    Release(u8, usize),
    /// ICE ERO lodges a detainer with the jail, the jail accepts it and the subject becomes
    /// release-eligible (one group: the hold is running).
    Detain(u8),
    /// ICE ERO assumes custody on the subject's latest detainer.
    Assume(u8),
    /// A booking's identity check finds the second subject, and the jail verifies "same as".
    Link(u8, u8),
    /// A supervisor resolves the first subject's custody conflict in favour of its own
    /// custodian (`true`) or the other record's.
    Resolve(u8, bool),
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0..SUBJECTS;
    // Weighted so that short sequences reach the interesting states: registered and held
    // subjects, open offers, holding detainers, and links between two held records (links
    // only among the first two subjects, so that both sides are often held).
    prop_oneof![
        3 => s.clone().prop_map(Op::Register),
        3 => (s.clone(), 0..2usize).prop_map(|(a, b)| Op::Arrest(a, b)),
        2 => s.clone().prop_map(Op::Book),
        2 => (s.clone(), 0..3usize, 0..3usize).prop_map(|(a, b, c)| Op::Offer(a, b, c)),
        2 => s.clone().prop_map(Op::Accept),
        1 => s.clone().prop_map(Op::Reject),
        1 => s.clone().prop_map(Op::Expire),
        1 => (s.clone(), 0..3usize).prop_map(|(a, b)| Op::Release(a, b)),
        2 => s.clone().prop_map(Op::Detain),
        2 => s.clone().prop_map(Op::Assume),
        2 => (0..2u8, 0..2u8).prop_map(|(a, b)| Op::Link(a, b)),
        2 => (0..2u8, any::<bool>()).prop_map(|(a, b)| Op::Resolve(a, b)),
    ]
}

#[derive(Default, Clone)]
struct Model {
    registered: [bool; SUBJECTS as usize],
    custodian: [Option<usize>; SUBJECTS as usize],
    /// Open offer per subject: (handoff number, from, to).
    offer: [Option<(u32, usize, usize)>; SUBJECTS as usize],
    /// Number of the latest handoff per subject (answered ones included).
    last_handoff: [Option<u32>; SUBJECTS as usize],
    /// The latest detainer per subject, and whether it is still holding.
    detainer: [Option<(u32, bool)>; SUBJECTS as usize],
    /// Records linked as the same person, in the order the links were made.
    same: [Vec<usize>; SUBJECTS as usize],
}

impl Model {
    /// The custody conflict the store must show on `x`: the first linked record that another
    /// agency holds while `x` is held.
    fn conflict(&self, x: usize) -> Option<(usize, usize)> {
        let mine = self.custodian[x]?;
        self.same[x].iter().find_map(|&o| self.custodian[o].filter(|&a| a != mine).map(|a| (o, a)))
    }

    /// The event closing `i`'s open offer, as the service appends it before custody moves by
    /// another path.
    fn supersede(&mut self, i: usize) -> Vec<Event> {
        self.offer[i]
            .take()
            .map(|(k, _, _)| Event::HandoffSuperseded {
                handoff: p(&format!("P-H-{k}")),
                reason: "custody moved".into(),
            })
            .into_iter()
            .collect()
    }
}

fn sid(s: u8) -> String {
    format!("P-S-{s}")
}

fn sid_index(id: &str) -> usize {
    id.trim_start_matches("P-S-").parse().unwrap()
}

fn p<T: TryFrom<String, Error = domain::IdError>>(s: &str) -> T {
    T::try_from(s.to_string()).unwrap()
}

fn aid(a: usize) -> domain::AgencyId {
    domain::AgencyId::parse(AGENCIES[a]).unwrap()
}

/// The events for an op (one group), and whether the model says they must be accepted
/// (updating the model).
fn step(m: &mut Model, o: &Op, n: u32) -> (Vec<Event>, bool) {
    let before = m.clone();
    let (events, ok) = step_one(m, o, n);
    if !ok {
        *m = before;
    }
    (events, ok)
}

fn step_one(m: &mut Model, o: &Op, n: u32) -> (Vec<Event>, bool) {
    match *o {
        Op::Register(s) => {
            let ok = !m.registered[s as usize];
            m.registered[s as usize] = true;
            let subject = Subject::new(p(&sid(s)), vec![format!("P {s}")]);
            (vec![Event::SubjectRegistered { subject }], ok)
        }
        Op::Arrest(s, a) => {
            // The custodian's own arrest of someone it holds changes the basis of its custody.
            let held = m.custodian[s as usize];
            let ok = m.registered[s as usize] && (held.is_none() || held == Some(a));
            if ok {
                m.custodian[s as usize] = Some(a);
            }
            let encounter = Encounter {
                id: p(&format!("P-E-{n}")),
                subject: p(&sid(s)),
                agency: aid(a),
                officer: p(OFFICERS[a]),
                location: LatLon::new(32.6, -117.0).unwrap(),
                method: MethodCode::PatrollingBorder,
                authority: AuthorityClaimed::WarrantlessArrest1357a2,
                suspicion_factors: vec![],
                arrest: true,
                operation: None,
                warrant: None,
                escape_risk: None,
            };
            (vec![Event::EncounterRecorded { encounter }], ok)
        }
        Op::Book(s) => {
            let ok = m.registered[s as usize] && m.custodian[s as usize].is_none();
            if ok {
                m.custodian[s as usize] = Some(2);
            }
            (
                vec![Event::JailBooked {
                    subject: p(&sid(s)),
                    agency: aid(2),
                    facility: p("P-F-JAIL"),
                    charge: "test".into(),
                }],
                ok,
            )
        }
        Op::Offer(s, from, to) => {
            let i = s as usize;
            let ok = m.registered[i] && m.custodian[i] == Some(from) && from != to && m.offer[i].is_none();
            if ok {
                m.offer[i] = Some((n, from, to));
                m.last_handoff[i] = Some(n);
            }
            let handoff = Handoff {
                id: p(&format!("P-H-{n}")),
                subject: p(&sid(s)),
                releasing: HandoffParty { agency: aid(from), facility: None, official: None },
                receiving: HandoffParty { agency: aid(to), facility: None, official: None },
                offered_at: t(n as i64),
                expires_at: t(n as i64 + 12),
                status: HandoffStatus::Offered,
                answered_at: None,
                note: None,
            };
            (vec![Event::HandoffOffered { handoff }], ok)
        }
        Op::Accept(s) | Op::Reject(s) | Op::Expire(s) => {
            let (e, ok) = answer(m, o, s);
            (vec![e], ok)
        }
        Op::Release(s, a) => {
            let i = s as usize;
            let ok = m.custodian[i] == Some(a);
            let mut events = if ok { m.supersede(i) } else { vec![] };
            m.custodian[i] = None;
            events.push(Event::CustodyReleased {
                subject: p(&sid(s)),
                agency: aid(a),
                reason: "test".into(),
                code: None,
            });
            (events, ok)
        }
        Op::Detain(s) => {
            let i = s as usize;
            let ok = m.registered[i];
            m.detainer[i] = Some((n, true));
            let id: domain::DetainerId = p(&format!("P-D-{n}"));
            let detainer = Detainer {
                id: id.clone(),
                subject: p(&sid(s)),
                form: DetainerForm::I247a,
                issuing_agency: aid(1),
                issuing_officer: p(OFFICERS[1]),
                recipient_agency: aid(2),
                warrant: None,
                probable_cause: vec![ProbableCauseBasis::FinalOrderOfRemoval],
                transferred_for_proceeding: false,
                notification_only: false,
                issued_at: t(n as i64),
                served_on_subject_at: None,
                release_eligible_at: None,
                status: DetainerStatus::Issued,
                lift_code: None,
                answer: None,
            };
            let events = vec![
                Event::DetainerIssued { detainer },
                Event::DetainerAnswered {
                    detainer: id.clone(),
                    accepted: true,
                    official: p(OFFICERS[2]),
                    answer: None,
                },
                Event::SubjectReleaseEligible { detainer: id },
            ];
            (events, ok)
        }
        Op::Assume(s) => {
            let i = s as usize;
            let Some((k, holding)) = m.detainer[i] else {
                let e =
                    Event::DetainerCustodyAssumed { detainer: p("P-D-none"), official: p(OFFICERS[1]), facility: None };
                return (vec![e], false);
            };
            let ok = holding && m.custodian[i] == Some(2);
            let mut events = if ok { m.supersede(i) } else { vec![] };
            m.detainer[i] = Some((k, false));
            m.custodian[i] = Some(1);
            events.push(Event::DetainerCustodyAssumed {
                detainer: p(&format!("P-D-{k}")),
                official: p(OFFICERS[1]),
                facility: None,
            });
            (events, ok)
        }
        Op::Link(a, b) => {
            let (i, j) = (a as usize, b as usize);
            let ok = m.registered[i] && m.registered[j];
            if i != j {
                if !m.same[i].contains(&j) {
                    m.same[i].push(j);
                }
                if !m.same[j].contains(&i) {
                    m.same[j].push(i);
                }
            }
            let check = IdentityCheck {
                result: MatchResult::Ambiguous,
                confidence: 70,
                candidates: vec![Candidate {
                    subject: p(&sid(b)),
                    confidence: 70,
                    matched_on: vec![MatchedOn::NameAndDateOfBirth],
                }],
                status: RecordedStatus::NothingRecorded,
                agency: aid(2),
                checked_at: t(n as i64),
                verification: None,
            };
            let events = vec![
                Event::IdentityChecked { subject: p(&sid(a)), check },
                Event::IdentityVerified {
                    subject: p(&sid(a)),
                    official: p(OFFICERS[2]),
                    same_as: Some(p(&sid(b))),
                    basis: "fingerprints compared".into(),
                },
            ];
            (events, ok)
        }
        Op::Resolve(s, keep_mine) => {
            let i = s as usize;
            let Some((other, theirs)) = m.conflict(i) else {
                // No conflict to resolve (the service refuses it); a resolution naming the
                // subject as its own other record is refused by the store.
                let e = Event::CustodyConflictResolved {
                    subject: p(&sid(s)),
                    other: p(&sid(s)),
                    custodian: aid(2),
                    official: p(OFFICERS[1]),
                    basis: "checked".into(),
                };
                return (vec![e], false);
            };
            let mine = m.custodian[i].expect("a conflict needs a custodian");
            let keep = if keep_mine { mine } else { theirs };
            let mut events = vec![];
            for x in [i, other] {
                if m.custodian[x].is_some_and(|a| a != keep) {
                    events.extend(m.supersede(x));
                    m.custodian[x] = None;
                }
            }
            events.push(Event::CustodyConflictResolved {
                subject: p(&sid(s)),
                other: p(&sid(other as u8)),
                custodian: aid(keep),
                official: p(OFFICERS[1]),
                basis: "records compared".into(),
            });
            (events, true)
        }
    }
}

fn answer(m: &mut Model, o: &Op, s: u8) -> (Event, bool) {
    let i = s as usize;
    // Answer the latest handoff of the subject (an answered one must be refused), or a
    // handoff that does not exist.
    let h = m.last_handoff[i].map_or("P-H-none".to_string(), |k| format!("P-H-{k}"));
    let handoff: domain::HandoffId = h.try_into().unwrap();
    let open = m.offer[i];
    let (event, ok) = match (o, open) {
        (Op::Accept(_), Some((_, _, to))) => (
            Event::HandoffAccepted { handoff, official: OFFICERS[to].to_string().try_into().unwrap(), facility: None },
            true,
        ),
        (Op::Accept(_), None) => (
            Event::HandoffAccepted { handoff, official: "WL-O-ERO".to_string().try_into().unwrap(), facility: None },
            false,
        ),
        (Op::Reject(_), Some((_, _, to))) => (
            Event::HandoffRejected {
                handoff,
                official: OFFICERS[to].to_string().try_into().unwrap(),
                reason: "no".into(),
            },
            true,
        ),
        (Op::Reject(_), None) => (
            Event::HandoffRejected {
                handoff,
                official: "WL-O-ERO".to_string().try_into().unwrap(),
                reason: "no".into(),
            },
            false,
        ),
        (_, open) => (Event::HandoffExpired { handoff }, open.is_some()),
    };
    if ok {
        if let (Op::Accept(_), Some((_, _, to))) = (o, open) {
            m.custodian[i] = Some(to);
        }
        m.offer[i] = None;
    }
    (event, ok)
}

fn extra_setup() -> Vec<Event> {
    vec![
        Event::AgencyRegistered { agency: Agency::new(aid(2), "Test jail", AgencyKind::StateLocalLe) },
        Event::OfficerRegistered {
            officer: Officer {
                id: "P-O-JAIL".to_string().try_into().unwrap(),
                agency: aid(2),
                name: "Jailer".into(),
                role: Role::JailStaff,
                designations: vec![],
                training: vec![],
            },
        },
        Event::FacilityRegistered {
            facility: Facility {
                id: "P-F-JAIL".to_string().try_into().unwrap(),
                agency: aid(2),
                name: "Jail".into(),
                kind: FacilityKind::Jail,
                state: None,
                location: None,
                beds: 10,
            },
        },
    ]
}

fn cases() -> u32 {
    std::env::var("LIAISON_PROP_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_command_sequences_keep_every_invariant(ops_list in prop::collection::vec(op(), 1..60)) {
        let (_dir, mut s) = fresh();
        s.append(&extra_setup().into_iter().map(|e| ev(0, e)).collect::<Vec<_>>(), None, t(0)).unwrap();
        let mut m = Model::default();
        for (n, o) in ops_list.iter().enumerate() {
            let n = n as u32 + 1;
            let (events, expect_ok) = step(&mut m, o, n);
            // Expiry happens after the window; everything else at its own hour.
            let at = if matches!(o, Op::Expire(_)) { n as i64 + 100 } else { n as i64 };
            let group: Vec<_> = events.into_iter().map(|e| ev(at, e)).collect();
            let result = s.append(&group, None, t(n as i64));
            prop_assert_eq!(result.is_ok(), expect_ok, "op {:?} -> {:?}", o, result.err().map(|e| e.to_string()));
        }
        for n in 1..=ops_list.len() as u32 {
            // No orphaned offer: a handoff still "offered" is its subject's open offer, made
            // by the current custodian.
            if let Some(Record::Handoff(h)) = s.record(&RecordKey::new(RecordKind::Handoff, format!("P-H-{n}"))).unwrap()
                && h.status == HandoffStatus::Offered
            {
                let i = sid_index(h.subject.as_str());
                prop_assert_eq!(m.offer[i].map(|o| o.0), Some(n), "handoff P-H-{} left offered", n);
                prop_assert_eq!(m.custodian[i], m.offer[i].map(|o| o.1));
            }
        }
        for subj in 0..SUBJECTS {
            let rec = s.record(&RecordKey::new(RecordKind::Custody, sid(subj))).unwrap();
            let holder = match rec {
                Some(Record::Custody(c)) => c.custodian.map(|c| c.agency.to_string()),
                _ => None,
            };
            prop_assert_eq!(holder, m.custodian[subj as usize].map(|a| AGENCIES[a].to_string()));
            let conflict = match s.record(&RecordKey::new(RecordKind::Custody, sid(subj))).unwrap() {
                Some(Record::Custody(c)) => c.conflict.map(|c| (c.with.to_string(), c.held_by.to_string())),
                _ => None,
            };
            let want = m.conflict(subj as usize).map(|(o, a)| (sid(o as u8), AGENCIES[a].to_string()));
            prop_assert_eq!(conflict, want, "custody conflict of {}", sid(subj));
        }
        let report = ops::verify(&mut s, &Default::default(), &mut |_| {}).unwrap();
        prop_assert_eq!(report.count, s.size().unwrap());
        prop_assert_eq!(ops::rebuild(&mut s, &mut |_| {}).unwrap().difference_count, 0);
        let cps = s.checkpoints().unwrap();
        let (first, last) = (&cps[0].checkpoint, &cps[cps.len() - 1].checkpoint);
        prop_assert_eq!(last.root, report.root);
        for seq in 0..report.count {
            let proof = s.inclusion_proof(seq, report.count).unwrap();
            let bytes = s.entries(seq, 1).unwrap().remove(0).bytes;
            prop_assert!(ledger::merkle::verify_inclusion(&report.root, report.count, seq, &bytes, &proof));
        }
        for cp in &cps {
            let proof = s.consistency_proof(cp.checkpoint.size, last.size).unwrap();
            prop_assert!(ledger::merkle::verify_consistency(&cp.checkpoint.root, cp.checkpoint.size, &last.root, last.size, &proof));
        }
        prop_assert!(first.size <= last.size);
    }
}
