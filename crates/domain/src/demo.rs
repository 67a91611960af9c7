//! The demo scenario: three synthetic people moving between real agencies.
//!
//! 1. A Border Patrol apprehension near San Diego, handed to ICE ERO San Diego.
//! 2. A jail booking in Angelina County, Texas, with an I-247A detainer from ICE ERO Houston
//!    that the jail honors; ERO assumes custody when the subject becomes release-eligible.
//! 3. 287(g) processing in Collier County, Florida (a Jail Enforcement Model agreement): a
//!    designated deputy processes the booked subject and the jail hands the subject to ICE ERO
//!    Miami; the handoff's recorded time is later corrected.
//! 4. A California county jail (San Diego) with a jail officer and no one in it yet, for
//!    working a detainer under California's law; and a joint operation under way in San Diego
//!    (ERO with Border Patrol agents detailed to it).
//!
//! Agencies and agreements are the real ones loaded from `reference/`; every person, officer
//! and facility here is synthetic. Times are offsets from `t0`, so the scenario is
//! deterministic. Pure data: nothing here appends or prints.

use crate::agency::{Facility, FacilityKind};
use crate::custody::{Handoff, HandoffParty, HandoffStatus};
use crate::detainer::{
    Detainer, DetainerAnswer, DetainerForm, DetainerStatus, ProbableCauseBasis, Warrant, WarrantForm,
};
use crate::encounter::{AuthorityClaimed, Encounter, MethodCode, SuspicionFactor};
use crate::event::Event;
use crate::ids::*;
use crate::officer::{AuthoritySource, Designation, Officer, Role, TrainingRecord};
use crate::subject::Subject;
use jiff::{SignedDuration, Timestamp};

/// One command of the scenario: who issues it, its idempotency key, and its events (each
/// with its valid time).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCommand {
    pub actor: String,
    pub idempotency_key: String,
    pub events: Vec<(Timestamp, Event)>,
    /// For a correction: the idempotency key of the command whose first event it corrects.
    pub corrects_command: Option<String>,
}

/// The synthetic subjects, for printing their custody chains.
pub const DEMO_SUBJECTS: [&str; 3] = ["S-DEMO-0001", "S-DEMO-0002", "S-DEMO-0003"];

fn p<T: TryFrom<String, Error = IdError>>(s: &str) -> T {
    T::try_from(s.to_string()).expect("demo ids are valid")
}

fn cmd(actor: &str, key: &str, events: Vec<(Timestamp, Event)>) -> DemoCommand {
    DemoCommand { actor: actor.into(), idempotency_key: key.into(), events, corrects_command: None }
}

fn officer(id: &str, agency: &str, name: &str, role: Role) -> Event {
    // Federal immigration officers hold the officer classes of 8 CFR 287.5 and 287.7(b).
    let federal = matches!(role, Role::BorderPatrolAgent | Role::DeportationOfficer);
    let since: Timestamp = "2020-01-01T00:00:00Z".parse().expect("valid");
    let designations = if federal {
        [AuthoritySource::Cfr287_5, AuthoritySource::Cfr287_7b]
            .into_iter()
            .map(|authority| Designation {
                authority,
                scope: "immigration officer".into(),
                granted_at: since,
                expires_at: None,
            })
            .collect()
    } else {
        vec![]
    };
    Event::OfficerRegistered {
        officer: Officer { id: p(id), agency: p(agency), name: name.into(), role, designations, training: vec![] },
    }
}

/// A demo facility: a synthetic name at a real city's coordinates (the law reads its county,
/// state and time zone from them).
fn facility(id: &str, agency: &str, name: &str, kind: FacilityKind, state: &str, beds: u32) -> Event {
    let (lat, lon) = match id {
        "F-USBP-CHULA-VISTA" => (32.6401, -117.0842),
        "F-ERO-OTAY-MESA" => (32.5790, -116.9690),
        "F-ERO-HOU-HOLD" => (29.7604, -95.3698),
        "F-ERO-MIA-HOLD" => (25.9860, -80.3036),
        "F-TX-ANG-JAIL" => (31.3382, -94.7291),
        "F-FL-COL-JAIL" => (26.1420, -81.7948),
        "F-CA-SD-JAIL" => (32.7157, -117.1611),
        _ => unreachable!("every demo facility has a place"),
    };
    let location = Some(LatLon::new(lat, lon).expect("valid"));
    Event::FacilityRegistered {
        facility: Facility {
            id: p(id),
            agency: p(agency),
            name: name.into(),
            kind,
            state: Some(p(state)),
            location,
            beds,
        },
    }
}

fn subject(id: &str, name: &str, dob: &str, a_number: Option<&str>) -> Event {
    Event::SubjectRegistered {
        subject: Subject {
            date_of_birth: Some(dob.parse().expect("demo dates are valid")),
            a_number: a_number.map(p),
            ..Subject::new(p(id), vec![name.into()])
        },
    }
}

fn offer(id: &str, subject: &str, from: (&str, &str, &str), to: (&str, &str), at: Timestamp) -> Event {
    Event::HandoffOffered {
        handoff: Handoff {
            id: p(id),
            subject: p(subject),
            releasing: HandoffParty { agency: p(from.0), facility: Some(p(from.1)), official: Some(p(from.2)) },
            receiving: HandoffParty { agency: p(to.0), facility: Some(p(to.1)), official: None },
            offered_at: at,
            expires_at: at + SignedDuration::from_hours(12),
            status: HandoffStatus::Offered,
            answered_at: None,
            note: None,
        },
    }
}

/// The scenario's commands, in order.
pub fn scenario(t0: Timestamp) -> Vec<DemoCommand> {
    let h = |hours: i64| t0 + SignedDuration::from_mins(hours * 60);
    let mut out = vec![cmd(
        "system:demo",
        "demo-setup",
        vec![
            (h(0), officer("O-USBP-0001", "USBP-SAN-DIEGO", "Agent Demo Alvarez", Role::BorderPatrolAgent)),
            (h(0), officer("O-ERO-SND-0001", "ICE-ERO-SND", "Officer Demo Brooks", Role::DeportationOfficer)),
            (h(0), officer("O-ERO-HOU-0001", "ICE-ERO-HOU", "Officer Demo Chen", Role::DeportationOfficer)),
            (h(0), officer("O-ERO-MIA-0001", "ICE-ERO-MIA", "Officer Demo Diaz", Role::DeportationOfficer)),
            (
                h(0),
                officer("O-TX-ANG-0001", "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE", "Deputy Demo Evans", Role::JailStaff),
            ),
            (
                h(0),
                officer("O-FL-COL-0001", "FL-COLLIER-COUNTY-SHERIFFS-OFFICE", "Deputy Demo Foster", Role::LocalOfficer),
            ),
            (
                h(0),
                facility(
                    "F-USBP-CHULA-VISTA",
                    "USBP-SAN-DIEGO",
                    "Chula Vista Station hold room (demo)",
                    FacilityKind::BorderPatrolStation,
                    "CA",
                    60,
                ),
            ),
            (
                h(0),
                facility(
                    "F-ERO-OTAY-MESA",
                    "ICE-ERO-SND",
                    "Otay Mesa processing (demo)",
                    FacilityKind::IceFacility,
                    "CA",
                    1500,
                ),
            ),
            (
                h(0),
                facility("F-ERO-HOU-HOLD", "ICE-ERO-HOU", "Houston hold room (demo)", FacilityKind::HoldRoom, "TX", 40),
            ),
            (
                h(0),
                facility("F-ERO-MIA-HOLD", "ICE-ERO-MIA", "Miramar hold room (demo)", FacilityKind::HoldRoom, "FL", 40),
            ),
            (
                h(0),
                facility(
                    "F-TX-ANG-JAIL",
                    "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE",
                    "Angelina County Jail (demo)",
                    FacilityKind::Jail,
                    "TX",
                    280,
                ),
            ),
            (
                h(0),
                facility(
                    "F-FL-COL-JAIL",
                    "FL-COLLIER-COUNTY-SHERIFFS-OFFICE",
                    "Collier County Jail (demo)",
                    FacilityKind::Jail,
                    "FL",
                    1200,
                ),
            ),
            (
                h(0),
                Event::DesignationGranted {
                    officer: p("O-FL-COL-0001"),
                    designation: Designation {
                        authority: AuthoritySource::Agreement287g {
                            agreement: p("287G-FL-COLLIER-COUNTY-SHERIFFS-OFFICE-JEM-20200609"),
                        },
                        scope: "jail: Collier County Jail".into(),
                        granted_at: h(0),
                        expires_at: Some(h(24 * 365)),
                    },
                },
            ),
            (
                h(0),
                Event::TrainingRecorded {
                    officer: p("O-FL-COL-0001"),
                    training: TrainingRecord {
                        course: "287(g) Jail Enforcement Model basic course".into(),
                        completed_at: h(-24 * 30),
                        valid_until: Some(h(24 * 700)),
                    },
                },
            ),
            (h(0), subject("S-DEMO-0001", "Demo Person One", "1990-01-01", None)),
            (h(0), subject("S-DEMO-0002", "Demo Person Two", "1985-06-15", Some("A000000002"))),
            (h(0), subject("S-DEMO-0003", "Demo Person Three", "1979-11-30", Some("A000000003"))),
        ],
    )];

    // 1. Border Patrol apprehension handed to ICE ERO.
    out.push(cmd(
        "O-USBP-0001",
        "demo-1-apprehension",
        vec![(
            h(1),
            Event::EncounterRecorded {
                encounter: Encounter {
                    id: p("E-DEMO-0001"),
                    subject: p("S-DEMO-0001"),
                    agency: p("USBP-SAN-DIEGO"),
                    officer: p("O-USBP-0001"),
                    location: LatLon::new(32.5560, -117.0300).expect("valid"),
                    method: MethodCode::PatrollingBorder,
                    authority: AuthorityClaimed::WarrantlessArrest1357a2,
                    suspicion_factors: vec![
                        SuspicionFactor::RecentIllegalCrossingsInArea,
                        SuspicionFactor::FleeingOrHiding,
                    ],
                    arrest: true,
                    operation: None,
                    warrant: None,
                    escape_risk: Some(
                        "Ran from the agents toward the border fence when approached (synthetic).".into(),
                    ),
                },
            },
        )],
    ));
    out.push(cmd(
        "O-USBP-0001",
        "demo-1-offer",
        vec![(
            h(6),
            offer(
                "H-DEMO-0001",
                "S-DEMO-0001",
                ("USBP-SAN-DIEGO", "F-USBP-CHULA-VISTA", "O-USBP-0001"),
                ("ICE-ERO-SND", "F-ERO-OTAY-MESA"),
                h(6),
            ),
        )],
    ));
    out.push(cmd(
        "O-ERO-SND-0001",
        "demo-1-accept",
        vec![(
            h(9),
            Event::HandoffAccepted { handoff: p("H-DEMO-0001"), official: p("O-ERO-SND-0001"), facility: None },
        )],
    ));

    // 2. Jail booking with a detainer.
    out.push(cmd(
        "O-TX-ANG-0001",
        "demo-2-booking",
        vec![(
            h(2),
            Event::JailBooked {
                subject: p("S-DEMO-0002"),
                agency: p("TX-ANGELINA-COUNTY-SHERIFFS-OFFICE"),
                facility: p("F-TX-ANG-JAIL"),
                charge: "Tex. Penal Code 31.03 theft (demo)".into(),
            },
        )],
    ));
    out.push(cmd(
        "O-ERO-HOU-0001",
        "demo-2-detainer",
        vec![(
            h(4),
            Event::DetainerIssued {
                detainer: Detainer {
                    id: p("D-DEMO-0001"),
                    subject: p("S-DEMO-0002"),
                    form: DetainerForm::I247a,
                    issuing_agency: p("ICE-ERO-HOU"),
                    issuing_officer: p("O-ERO-HOU-0001"),
                    recipient_agency: p("TX-ANGELINA-COUNTY-SHERIFFS-OFFICE"),
                    warrant: Some(Warrant { form: WarrantForm::I200, signed_by: p("O-ERO-HOU-0001"), signed_at: h(3) }),
                    probable_cause: vec![
                        ProbableCauseBasis::PendingRemovalProceedings,
                        ProbableCauseBasis::BiometricAndRecordsCheck,
                    ],
                    transferred_for_proceeding: false,
                    notification_only: false,
                    issued_at: h(4),
                    served_on_subject_at: None,
                    release_eligible_at: None,
                    status: DetainerStatus::Issued,
                    lift_code: None,
                    answer: None,
                },
            },
        )],
    ));
    out.push(cmd(
        "O-TX-ANG-0001",
        "demo-2-jail-answers",
        vec![
            (h(5), Event::DetainerServed { detainer: p("D-DEMO-0001") }),
            (
                h(5),
                Event::DetainerAnswered {
                    detainer: p("D-DEMO-0001"),
                    accepted: true,
                    official: p("O-TX-ANG-0001"),
                    answer: Some(DetainerAnswer::Honor),
                },
            ),
        ],
    ));
    out.push(cmd(
        "O-TX-ANG-0001",
        "demo-2-release-eligible",
        vec![(h(30), Event::SubjectReleaseEligible { detainer: p("D-DEMO-0001") })],
    ));
    out.push(cmd(
        "O-ERO-HOU-0001",
        "demo-2-assume",
        vec![(
            h(40),
            Event::DetainerCustodyAssumed {
                detainer: p("D-DEMO-0001"),
                official: p("O-ERO-HOU-0001"),
                facility: Some(p("F-ERO-HOU-HOLD")),
            },
        )],
    ));

    // 3. 287(g) processing in a Jail Enforcement Model jail, then a handoff to ERO.
    out.push(cmd(
        "O-FL-COL-0001",
        "demo-3-booking",
        vec![(
            h(3),
            Event::JailBooked {
                subject: p("S-DEMO-0003"),
                agency: p("FL-COLLIER-COUNTY-SHERIFFS-OFFICE"),
                facility: p("F-FL-COL-JAIL"),
                charge: "Fla. Stat. 322.34 driving with a suspended license (demo)".into(),
            },
        )],
    ));
    out.push(cmd(
        "O-FL-COL-0001",
        "demo-3-287g-processing",
        vec![(
            h(5),
            Event::EncounterRecorded {
                encounter: Encounter {
                    id: p("E-DEMO-0003"),
                    subject: p("S-DEMO-0003"),
                    agency: p("FL-COLLIER-COUNTY-SHERIFFS-OFFICE"),
                    officer: p("O-FL-COL-0001"),
                    location: LatLon::new(26.1420, -81.7948).expect("valid"),
                    method: MethodCode::CapLocal,
                    authority: AuthorityClaimed::Delegated287g,
                    suspicion_factors: vec![SuspicionFactor::RecordsCheckHit],
                    arrest: false,
                    operation: None,
                    warrant: None,
                    escape_risk: None,
                },
            },
        )],
    ));
    out.push(cmd(
        "O-FL-COL-0001",
        "demo-3-offer",
        vec![(
            h(20),
            offer(
                "H-DEMO-0003",
                "S-DEMO-0003",
                ("FL-COLLIER-COUNTY-SHERIFFS-OFFICE", "F-FL-COL-JAIL", "O-FL-COL-0001"),
                ("ICE-ERO-MIA", "F-ERO-MIA-HOLD"),
                h(20),
            ),
        )],
    ));
    out.push(cmd(
        "O-ERO-MIA-0001",
        "demo-3-accept",
        vec![(
            h(23),
            Event::HandoffAccepted { handoff: p("H-DEMO-0003"), official: p("O-ERO-MIA-0001"), facility: None },
        )],
    ));
    let mut fix = cmd(
        "O-ERO-MIA-0001",
        "demo-3-correct-accept-time",
        vec![(
            h(22),
            Event::ValidTimeCorrected {
                note: "custody changed at 22h, not 23h: the acceptance was keyed in late".into(),
            },
        )],
    );
    fix.corrects_command = Some("demo-3-accept".into());
    out.push(fix);
    // 4. A California county jail, for working a detainer under California's law in the web
    // app (added last, so the events above keep their sequence numbers).
    out.push(cmd(
        "system:demo",
        "demo-4-california-jail",
        vec![
            (
                h(30),
                Event::AgencyRegistered {
                    agency: crate::agency::Agency {
                        state: Some(p("CA")),
                        coverage: vec!["CA/San Diego County".into()],
                        ..crate::agency::Agency::new(
                            p("CA-SAN-DIEGO-COUNTY-SHERIFFS-OFFICE"),
                            "San Diego County Sheriff's Office",
                            crate::agency::AgencyKind::StateLocalLe,
                        )
                    },
                },
            ),
            (
                h(30),
                facility(
                    "F-CA-SD-JAIL",
                    "CA-SAN-DIEGO-COUNTY-SHERIFFS-OFFICE",
                    "San Diego Central Jail (demo)",
                    FacilityKind::Jail,
                    "CA",
                    900,
                ),
            ),
            (
                h(30),
                officer("O-CA-SD-0001", "CA-SAN-DIEGO-COUNTY-SHERIFFS-OFFICE", "Deputy Demo Garcia", Role::JailStaff),
            ),
            // A joint operation in San Diego, under way: Border Patrol agents detailed to ERO.
            (
                h(30),
                Event::OperationPlanned {
                    operation: crate::operation::Operation {
                        id: p("OP-DEMO-0001"),
                        name: "Operation Demo Harbor".into(),
                        city: "San Diego".into(),
                        state: p("CA"),
                        starts_on: "2026-03-03".parse().expect("valid"),
                        ends_on: None,
                        participants: vec![
                            crate::operation::Participation {
                                agency: p("ICE-ERO-SND"),
                                headcount: 25,
                                detailed_to: None,
                            },
                            crate::operation::Participation {
                                agency: p("USBP-SAN-DIEGO"),
                                headcount: 40,
                                detailed_to: Some(p("ICE-ERO-SND")),
                            },
                        ],
                        status: crate::operation::OperationStatus::Planned,
                        encounters: 0,
                        arrests: 0,
                    },
                },
            ),
            (
                h(30),
                Event::OperationStatusChanged {
                    operation: p("OP-DEMO-0001"),
                    status: crate::operation::OperationStatus::Active,
                },
            ),
        ],
    ));
    out
}
