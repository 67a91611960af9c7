//! A synthetic workload for benchmarks and load tests: a stream of valid commands in which
//! synthetic subjects are apprehended by Border Patrol, offered to ICE ERO, accepted, and
//! released. Deterministic; pure data.

use crate::agency::{Agency, AgencyKind};
use crate::custody::{Handoff, HandoffParty, HandoffStatus};
use crate::encounter::{AuthorityClaimed, Encounter, MethodCode, SuspicionFactor};
use crate::event::Event;
use crate::ids::*;
use crate::officer::{Officer, Role};
use crate::subject::Subject;
use jiff::{SignedDuration, Timestamp};

/// Events per subject in [`subject_events`].
pub const EVENTS_PER_SUBJECT: usize = 5;

fn p<T: TryFrom<String, Error = IdError>>(s: String) -> T {
    T::try_from(s).expect("workload ids are valid")
}

/// The agencies and officers the workload needs (register once, first).
pub fn setup() -> Vec<Event> {
    let agency =
        |id: &str, kind| Event::AgencyRegistered { agency: Agency::new(p(id.into()), format!("Workload {id}"), kind) };
    let officer = |id: &str, agency: &str, role| Event::OfficerRegistered {
        officer: Officer {
            id: p(id.into()),
            agency: p(agency.into()),
            name: format!("Workload officer {id}"),
            role,
            designations: vec![],
            training: vec![],
        },
    };
    vec![
        agency("WL-USBP", AgencyKind::CbpBorderPatrol),
        agency("WL-ERO", AgencyKind::IceEro),
        officer("WL-O-USBP", "WL-USBP", Role::BorderPatrolAgent),
        officer("WL-O-ERO", "WL-ERO", Role::DeportationOfficer),
    ]
}

/// The five events of subject number `i`, with valid times from `t0`.
pub fn subject_events(i: u64, t0: Timestamp) -> Vec<(Timestamp, Event)> {
    let s: SubjectId = p(format!("WL-S-{i:010}"));
    let h: HandoffId = p(format!("WL-H-{i:010}"));
    let t = |m: i64| t0 + SignedDuration::from_mins(m);
    // North of the Mexican border at San Ysidro (32.54 N at this longitude).
    let lat = 32.56 + (i % 1000) as f64 * 0.0001;
    vec![
        (t(0), Event::SubjectRegistered { subject: Subject::new(s.clone(), vec![format!("Synthetic Person {i}")]) }),
        (
            t(1),
            Event::EncounterRecorded {
                encounter: Encounter {
                    id: p(format!("WL-E-{i:010}")),
                    subject: s.clone(),
                    agency: p("WL-USBP".into()),
                    officer: p("WL-O-USBP".into()),
                    location: LatLon::new(lat, -117.03).expect("valid"),
                    method: MethodCode::PatrollingBorder,
                    authority: AuthorityClaimed::WarrantlessArrest1357a2,
                    suspicion_factors: vec![SuspicionFactor::RecentIllegalCrossingsInArea],
                    arrest: true,
                    operation: None,
                    warrant: None,
                    escape_risk: None,
                },
            },
        ),
        (
            t(60),
            Event::HandoffOffered {
                handoff: Handoff {
                    id: h.clone(),
                    subject: s.clone(),
                    releasing: HandoffParty {
                        agency: p("WL-USBP".into()),
                        facility: None,
                        official: Some(p("WL-O-USBP".into())),
                    },
                    receiving: HandoffParty { agency: p("WL-ERO".into()), facility: None, official: None },
                    offered_at: t(60),
                    expires_at: t(60 + 12 * 60),
                    status: HandoffStatus::Offered,
                    answered_at: None,
                    note: None,
                },
            },
        ),
        (t(120), Event::HandoffAccepted { handoff: h, official: p("WL-O-ERO".into()), facility: None }),
        (
            t(600),
            Event::CustodyReleased {
                subject: s,
                agency: p("WL-ERO".into()),
                reason: "order of recognizance".into(),
                code: Some(crate::custody::ReleaseReasonCode::Recognizance),
            },
        ),
    ]
}
