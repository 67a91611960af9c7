//! Model-based property test: random command sequences against a tiny independent model of
//! custody. After every sequence: the store agreed with the model on every accept/refuse,
//! each subject has the model's one custodian (or none), the log verifies with contiguous
//! sequence numbers, rebuilt projections equal the incremental ones, and every proof checks.
//!
//! Cases default to 16 so CI stays fast; `LIAISON_PROP_CASES=500` runs the long version
//! (scripts/long-tests).

use super::{ev, fresh, t};
use domain::agency::{Agency, AgencyKind, Facility, FacilityKind};
use domain::custody::{Handoff, HandoffParty, HandoffStatus};
use domain::encounter::{AuthorityClaimed, Encounter, MethodCode};
use domain::officer::{Officer, Role};
use domain::subject::Subject;
use domain::{Event, LatLon, Record, RecordKey, RecordKind};
use proptest::prelude::*;
use store::{Store, ops};

const AGENCIES: [&str; 3] = ["WL-USBP", "WL-ERO", "P-JAIL"];
const OFFICERS: [&str; 3] = ["WL-O-USBP", "WL-O-ERO", "P-O-JAIL"];
const SUBJECTS: u8 = 4;

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
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0..SUBJECTS;
    prop_oneof![
        s.clone().prop_map(Op::Register),
        (s.clone(), 0..2usize).prop_map(|(a, b)| Op::Arrest(a, b)),
        s.clone().prop_map(Op::Book),
        (s.clone(), 0..3usize, 0..3usize).prop_map(|(a, b, c)| Op::Offer(a, b, c)),
        s.clone().prop_map(Op::Accept),
        s.clone().prop_map(Op::Reject),
        s.clone().prop_map(Op::Expire),
        (s, 0..3usize).prop_map(|(a, b)| Op::Release(a, b)),
    ]
}

#[derive(Default)]
struct Model {
    registered: [bool; SUBJECTS as usize],
    custodian: [Option<usize>; SUBJECTS as usize],
    /// Open offer per subject: (handoff number, from, to).
    offer: [Option<(u32, usize, usize)>; SUBJECTS as usize],
    /// Number of the latest handoff per subject (answered ones included).
    last_handoff: [Option<u32>; SUBJECTS as usize],
}

fn sid(s: u8) -> String {
    format!("P-S-{s}")
}

fn p<T: TryFrom<String, Error = domain::IdError>>(s: &str) -> T {
    T::try_from(s.to_string()).unwrap()
}

fn aid(a: usize) -> domain::AgencyId {
    domain::AgencyId::parse(AGENCIES[a]).unwrap()
}

/// The event for an op, and whether the model says it must be accepted (updating the model).
fn step(m: &mut Model, o: &Op, n: u32) -> (Event, bool) {
    match *o {
        Op::Register(s) => {
            let ok = !m.registered[s as usize];
            m.registered[s as usize] = true;
            let subject = Subject::new(p(&sid(s)), vec![format!("P {s}")]);
            (Event::SubjectRegistered { subject }, ok)
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
            };
            (Event::EncounterRecorded { encounter }, ok)
        }
        Op::Book(s) => {
            let ok = m.registered[s as usize] && m.custodian[s as usize].is_none();
            if ok {
                m.custodian[s as usize] = Some(2);
            }
            (
                Event::JailBooked {
                    subject: p(&sid(s)),
                    agency: aid(2),
                    facility: p("P-F-JAIL"),
                    charge: "test".into(),
                },
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
            (Event::HandoffOffered { handoff }, ok)
        }
        Op::Accept(s) | Op::Reject(s) | Op::Expire(s) => answer(m, o, s),
        Op::Release(s, a) => {
            let i = s as usize;
            let ok = m.custodian[i] == Some(a) && m.offer[i].is_none();
            if ok {
                m.custodian[i] = None;
            }
            (Event::CustodyReleased { subject: p(&sid(s)), agency: aid(a), reason: "test".into(), code: None }, ok)
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
                beds: 10,
            },
        },
    ]
}

fn cases() -> u32 {
    std::env::var("LIAISON_PROP_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(16)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_command_sequences_keep_every_invariant(ops_list in prop::collection::vec(op(), 1..40)) {
        let (_dir, mut s) = fresh();
        s.append(&extra_setup().into_iter().map(|e| ev(0, e)).collect::<Vec<_>>(), None, t(0)).unwrap();
        let mut m = Model::default();
        for (n, o) in ops_list.iter().enumerate() {
            let n = n as u32 + 1;
            let (event, expect_ok) = step(&mut m, o, n);
            // Expiry happens after the window; everything else at its own hour.
            let at = if matches!(o, Op::Expire(_)) { n as i64 + 100 } else { n as i64 };
            let result = s.append(&[ev(at, event)], None, t(n as i64));
            prop_assert_eq!(result.is_ok(), expect_ok, "op {:?} -> {:?}", o, result.err().map(|e| e.to_string()));
        }
        for subj in 0..SUBJECTS {
            let rec = s.record(&RecordKey::new(RecordKind::Custody, sid(subj))).unwrap();
            let holder = match rec {
                Some(Record::Custody(c)) => c.custodian.map(|c| c.agency.to_string()),
                _ => None,
            };
            prop_assert_eq!(holder, m.custodian[subj as usize].map(|a| AGENCIES[a].to_string()));
        }
        let report = ops::verify(&mut s, None, &mut |_| {}).unwrap();
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
