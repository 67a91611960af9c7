//! The ledger report: what Liaison's own log shows about a period, computed from the events
//! of one signed checkpoint and nothing else, so anyone holding the log and the checkpoint
//! reproduces it byte for byte. Counts of people and of acts on them are cross-tabs under
//! small-cell suppression ([`crate::suppress`]); the report names the checkpoint (origin, tree
//! size, Merkle root) it was computed from.
//!
//! The tally reads events in log order ([`Tally::add`]), keeping only what later events need
//! (who an agency, officer, handoff or detainer is; who holds whom since when), so a log of
//! millions of events is read once in bounded memory per record.

use crate::report::{Cell, Chart, Note, Report, Section, Series, Table, Totals};
use domain::agency::AgencyKind;
use domain::agreement::AgreementKind;
use domain::detainer::{DetainerAnswer, DetainerForm};
use domain::officer::AuthoritySource;
use domain::{Event, Timestamp};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The checkpoint a release is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    pub origin: String,
    pub size: u64,
    /// The Merkle root as the checkpoint writes it (base64).
    pub root: String,
}

/// The days a release covers, by valid time in UTC, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    fn contains(&self, t: Timestamp) -> bool {
        let d = t.to_zoned(TimeZone::UTC).date();
        self.from <= d && d <= self.to
    }

    /// The first instant after the period.
    fn end(&self) -> Timestamp {
        self.to.tomorrow().ok().and_then(|d| d.to_zoned(TimeZone::UTC).ok()).map_or(Timestamp::MAX, |z| z.timestamp())
    }
}

/// Where the counts come from, for every table.
const SOURCE: &str = "Liaison ledger events of the checkpoint named above";
/// Border Patrol's short-term custody standard (CBP TEDS 2015 §4.1; the law engine's rule
/// `R9-cbp-72-hour-standard`).
const CBP_HOURS: i64 = 72;
const NONE: &str = "(not recorded)";

#[derive(Debug, Clone)]
struct AgencyInfo {
    name: String,
    kind: AgencyKind,
    state: Option<String>,
    aor: Option<String>,
    parent: Option<String>,
}

#[derive(Debug, Clone)]
struct FacilityInfo {
    state: Option<String>,
    zone: Option<String>,
}

#[derive(Debug, Clone)]
struct HandoffInfo {
    subject: String,
    releasing: String,
    releasing_facility: Option<String>,
}

#[derive(Debug, Clone)]
struct DetainerInfo {
    subject: String,
    recipient: String,
    issuing: String,
    form: DetainerForm,
    honored: bool,
    /// The hold's start and deadline, while it runs.
    hold: Option<(Timestamp, Timestamp)>,
}

#[derive(Debug, Clone)]
struct Spell {
    agency: String,
    facility: Option<String>,
    since: Timestamp,
}

#[derive(Debug, Clone)]
struct OperationInfo {
    name: String,
    city: String,
    state: String,
    participants: Vec<(String, u32, Option<String>)>,
}

/// Handoff channels to ICE, never merged.
const CHANNELS: [&str; 4] = ["Border Patrol", "Jail, by handoff", "Jail, on a detainer", "Other agency"];
const DETAINER_STAGES: [&str; 7] =
    ["Issued", "Honored", "Notify only", "Declined", "Custody assumed", "Expired", "Lifted"];
const G287: [&str; 3] = ["Encounters", "Arrests", "Detainers issued"];
const CLAIMS: [&str; 3] = ["Found a US citizen", "Found not a US citizen", "Not yet determined"];
const STANDARDS: [&str; 2] = ["Border Patrol custody past 72 hours", "Detainer holds past their deadline"];
const DECISIONS: [&str; 2] = ["Allowed with this warning", "Refused by this rule"];

type Rows<K> = BTreeMap<K, Vec<u64>>;

fn bump<K: Ord>(rows: &mut Rows<K>, key: K, width: usize, col: usize) {
    rows.entry(key).or_insert_with(|| vec![0; width])[col] += 1;
}

/// Reads a log's events in order and counts what the report publishes.
pub struct Tally {
    period: Period,
    /// The latest valid time seen: "now" as the log knows it.
    last: Option<Timestamp>,
    events: u64,
    agencies: HashMap<String, AgencyInfo>,
    facilities: HashMap<String, FacilityInfo>,
    officers: HashMap<String, String>,
    /// Officer → the 287(g) model codes of its designations.
    officer_287g: HashMap<String, BTreeSet<&'static str>>,
    models: HashMap<String, &'static str>,
    handoffs: HashMap<String, HandoffInfo>,
    detainers: HashMap<String, DetainerInfo>,
    operations: BTreeMap<String, OperationInfo>,
    custody: HashMap<String, Spell>,
    /// Subject → month of the first claim in the period, and the latest determination.
    claims: BTreeMap<String, (String, Option<bool>)>,
    handoff_month: Rows<String>,
    handoff_aor: Rows<String>,
    handoff_state: Rows<String>,
    handoff_city: Rows<String>,
    detainer_state: Rows<String>,
    answers_by_rule: Rows<(String, String, String)>,
    g287: Rows<(String, String)>,
    channels: BTreeSet<&'static str>,
    arrests_by_channel: BTreeMap<(String, &'static str), u64>,
    operation_arrests: Rows<(String, String)>,
    standards: Rows<String>,
    decisions: Rows<(String, String, String)>,
}

/// A method code's published name.
fn channel_name(m: domain::encounter::MethodCode) -> &'static str {
    use domain::encounter::MethodCode as M;
    match m {
        M::CapLocal => "CAP local jail (CLC)",
        M::CapState => "CAP state prison (CST)",
        M::CapFederal => "CAP federal (CFD)",
        M::NonCustodialArrest => "Non-custodial (NCA)",
        M::Located => "Located (L)",
        M::OtherAgency => "Other agency (OA)",
        M::PatrollingBorder => "Patrolling border (PB)",
        M::Inspection => "Inspection (ISP)",
        M::TransportationCheck => "Transportation check (TCB)",
        M::TaskForce => "Task force (OTF)",
        M::LawEnforcementAssistance => "Law-enforcement assistance (LEA)",
        M::Other => "Other (O)",
    }
}
const ASSUMED: &str = "Detainer custody assumed";

impl Tally {
    pub fn new(period: Period) -> Tally {
        Tally {
            period,
            last: None,
            events: 0,
            agencies: HashMap::new(),
            facilities: HashMap::new(),
            officers: HashMap::new(),
            officer_287g: HashMap::new(),
            models: HashMap::new(),
            handoffs: HashMap::new(),
            detainers: HashMap::new(),
            operations: BTreeMap::new(),
            custody: HashMap::new(),
            claims: BTreeMap::new(),
            handoff_month: Rows::new(),
            handoff_aor: Rows::new(),
            handoff_state: Rows::new(),
            handoff_city: Rows::new(),
            detainer_state: Rows::new(),
            answers_by_rule: Rows::new(),
            g287: Rows::new(),
            channels: BTreeSet::new(),
            arrests_by_channel: BTreeMap::new(),
            operation_arrests: Rows::new(),
            standards: Rows::new(),
            decisions: Rows::new(),
        }
    }

    fn agency_name(&self, id: &str) -> String {
        self.agencies.get(id).map_or_else(|| id.to_string(), |a| a.name.clone())
    }

    fn kind(&self, id: &str) -> Option<AgencyKind> {
        self.agencies.get(id).map(|a| a.kind)
    }

    /// The area of responsibility of an ICE agency: its own, or its parent's.
    fn aor(&self, id: &str) -> String {
        let mut at = self.agencies.get(id);
        for _ in 0..4 {
            let Some(a) = at else { break };
            if let Some(aor) = &a.aor {
                return aor.clone();
            }
            at = a.parent.as_ref().and_then(|p| self.agencies.get(p));
        }
        NONE.into()
    }

    fn state_of(&self, agency: &str, facility: Option<&str>) -> String {
        facility
            .and_then(|f| self.facilities.get(f))
            .and_then(|f| f.state.clone())
            .or_else(|| self.agencies.get(agency).and_then(|a| a.state.clone()))
            .unwrap_or_else(|| NONE.into())
    }

    /// The time zone a hold is counted in: the facility's, else its state's, else UTC.
    fn zone(&self, agency: &str, facility: Option<&str>) -> TimeZone {
        let name = facility.and_then(|f| self.facilities.get(f)).and_then(|f| f.zone.clone()).or_else(|| {
            let state = self.state_of(agency, facility);
            law::place::state_time_zone(&state).map(str::to_string)
        });
        name.and_then(|n| TimeZone::get(&n).ok()).unwrap_or(TimeZone::UTC)
    }

    fn is_ice(&self, agency: &str) -> bool {
        matches!(self.kind(agency), Some(AgencyKind::IceEro | AgencyKind::IceHsi))
    }

    /// One handoff into ICE's custody on channel `ch`, counted by month, area, state and city.
    fn handoff_to_ice(
        &mut self,
        at: Timestamp,
        ch: usize,
        receiving: &str,
        releasing: &str,
        fac: Option<&str>,
        city: String,
    ) {
        let w = CHANNELS.len();
        bump(&mut self.handoff_month, month(at), w, ch);
        let aor = self.aor(receiving);
        bump(&mut self.handoff_aor, aor, w, ch);
        let state = self.state_of(releasing, fac);
        bump(&mut self.handoff_state, state, w, ch);
        bump(&mut self.handoff_city, city, w, ch);
    }

    fn channel_from(&self, releasing: &str) -> usize {
        match self.kind(releasing) {
            Some(AgencyKind::CbpBorderPatrol) => 0,
            Some(AgencyKind::StateLocalLe) => 1,
            _ => 3,
        }
    }

    /// Custody of `subject` ends at `at`: a Border Patrol spell past the standard is counted.
    fn end_spell(&mut self, subject: &str, at: Timestamp) {
        if let Some(s) = self.custody.remove(subject) {
            self.check_spell(&s, at);
        }
    }

    fn check_spell(&mut self, s: &Spell, until: Timestamp) {
        if self.kind(&s.agency) != Some(AgencyKind::CbpBorderPatrol) {
            return;
        }
        let Ok(mark) = s.since.checked_add(jiff::SignedDuration::from_hours(CBP_HOURS)) else { return };
        if until > mark && self.period.contains(mark) {
            bump(&mut self.standards, month(mark), STANDARDS.len(), 0);
        }
    }

    /// A hold ends at `at` with the subject still held (custody assumed, released, or the log's
    /// end): past its deadline, it is counted in the deadline's month. A detainer that expired
    /// or was lifted ends its hold without a count: that is the jail letting go in time.
    fn end_hold(&mut self, detainer: &str, at: Timestamp, held_until_then: bool) {
        let Some(d) = self.detainers.get_mut(detainer) else { return };
        if let Some((_, deadline)) = d.hold.take()
            && held_until_then
            && at > deadline
            && self.period.contains(deadline)
        {
            bump(&mut self.standards, month(deadline), STANDARDS.len(), 1);
        }
    }

    fn start_spell(&mut self, subject: &str, agency: &str, facility: Option<&str>, at: Timestamp) {
        self.end_spell(subject, at);
        self.custody.insert(
            subject.to_string(),
            Spell { agency: agency.to_string(), facility: facility.map(str::to_string), since: at },
        );
    }

    /// Reads one event of the log (in log order).
    pub fn add(&mut self, entry: &ledger::Entry<Event>) {
        let at = entry.valid_at;
        let inside = self.period.contains(at);
        self.events += 1;
        if self.last.is_none_or(|l| at > l) {
            self.last = Some(at);
        }
        if inside && let Some(d) = &entry.decision {
            self.decision(d);
        }
        match &entry.event {
            Event::AgencyRegistered { agency: a } => {
                self.agencies.insert(
                    a.id.as_str().into(),
                    AgencyInfo {
                        name: a.name.clone(),
                        kind: a.kind,
                        state: a.state.as_ref().map(|s| s.as_str().to_string()),
                        aor: a.ice_aor.as_ref().map(|s| s.as_str().to_string()),
                        parent: a.parent.as_ref().map(|s| s.as_str().to_string()),
                    },
                );
            }
            Event::FacilityRegistered { facility: f } => {
                let zone = f.location.map(|l| law::place::Places::bundled().time_zone(l.lat(), l.lon()).to_string());
                let state = f.state.as_ref().map(|s| s.as_str().to_string());
                self.facilities.insert(f.id.as_str().into(), FacilityInfo { state, zone });
            }
            Event::OfficerRegistered { officer } => {
                self.officers.insert(officer.id.as_str().into(), officer.agency.as_str().into());
                for d in &officer.designations {
                    self.designate(officer.id.as_str(), &d.authority);
                }
            }
            Event::DesignationGranted { officer, designation } => {
                self.designate(officer.as_str(), &designation.authority)
            }
            Event::AgreementRecorded { agreement } => {
                if let AgreementKind::Moa287g { model } = agreement.kind {
                    self.models.insert(agreement.id.as_str().into(), model.code());
                }
            }
            Event::EncounterRecorded { encounter: e } => {
                let agency = e.agency.as_str();
                if e.arrest {
                    self.start_spell(e.subject.as_str(), agency, None, at);
                }
                if !inside {
                    return;
                }
                let models = self.models_of(e.officer.as_str());
                let name = self.agency_name(agency);
                for m in &models {
                    bump(&mut self.g287, (m.to_string(), name.clone()), G287.len(), 0);
                    if e.arrest {
                        bump(&mut self.g287, (m.to_string(), name.clone()), G287.len(), 1);
                    }
                }
                if e.arrest {
                    let ch = channel_name(e.method);
                    self.channels.insert(ch);
                    *self.arrests_by_channel.entry((name.clone(), ch)).or_default() += 1;
                }
                if let Some(op) = &e.operation {
                    let label =
                        self.operations.get(op.as_str()).map_or_else(|| op.as_str().to_string(), |o| o.name.clone());
                    bump(&mut self.operation_arrests, (label.clone(), name.clone()), 2, 0);
                    if e.arrest {
                        bump(&mut self.operation_arrests, (label, name), 2, 1);
                    }
                }
            }
            Event::JailBooked { subject, agency, facility, .. } => {
                self.start_spell(subject.as_str(), agency.as_str(), Some(facility.as_str()), at);
            }
            Event::HandoffOffered { handoff: h } => {
                self.handoffs.insert(
                    h.id.as_str().into(),
                    HandoffInfo {
                        subject: h.subject.as_str().into(),
                        releasing: h.releasing.agency.as_str().into(),
                        releasing_facility: h.releasing.facility.as_ref().map(|f| f.as_str().to_string()),
                    },
                );
            }
            Event::HandoffAccepted { handoff, official, facility } => {
                let Some(h) = self.handoffs.remove(handoff.as_str()) else { return };
                let receiving = self.officers.get(official.as_str()).cloned().unwrap_or_default();
                self.start_spell(&h.subject, &receiving, facility.as_ref().map(|f| f.as_str()), at);
                if inside && self.is_ice(&receiving) {
                    let ch = self.channel_from(&h.releasing);
                    let city = city(entry.decision.as_ref());
                    self.handoff_to_ice(at, ch, &receiving, &h.releasing, h.releasing_facility.as_deref(), city);
                }
            }
            Event::HandoffRejected { handoff, .. }
            | Event::HandoffExpired { handoff }
            | Event::HandoffSuperseded { handoff, .. } => {
                self.handoffs.remove(handoff.as_str());
            }
            Event::CustodyReleased { subject, .. } => {
                let held: Vec<String> = self
                    .detainers
                    .iter()
                    .filter(|(_, d)| d.subject == subject.as_str() && d.hold.is_some())
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in held {
                    self.end_hold(&id, at, true);
                }
                self.end_spell(subject.as_str(), at);
            }
            Event::CustodyConflictResolved { subject, other, custodian, .. } => {
                self.end_spell(other.as_str(), at);
                self.start_spell(subject.as_str(), custodian.as_str(), None, at);
            }
            Event::DetainerIssued { detainer: d } => {
                self.detainers.insert(
                    d.id.as_str().into(),
                    DetainerInfo {
                        subject: d.subject.as_str().into(),
                        recipient: d.recipient_agency.as_str().into(),
                        issuing: d.issuing_agency.as_str().into(),
                        form: d.form,
                        honored: false,
                        hold: None,
                    },
                );
                if inside {
                    self.detainer_stage(d.id.as_str(), 0);
                    let name = self.agency_name(d.issuing_agency.as_str());
                    for m in self.models_of(d.issuing_officer.as_str()) {
                        bump(&mut self.g287, (m.to_string(), name.clone()), G287.len(), 2);
                    }
                }
            }
            Event::DetainerAnswered { detainer, accepted, answer, .. } => {
                let answer = answer.unwrap_or(if *accepted { DetainerAnswer::Honor } else { DetainerAnswer::Decline });
                if let Some(d) = self.detainers.get_mut(detainer.as_str()) {
                    d.honored = answer == DetainerAnswer::Honor;
                }
                if inside {
                    let col = match answer {
                        DetainerAnswer::Honor => 1,
                        DetainerAnswer::NotifyOnly => 2,
                        DetainerAnswer::Decline => 3,
                    };
                    self.detainer_stage(detainer.as_str(), col);
                    self.answer_rules(detainer.as_str(), entry.decision.as_ref(), col - 1);
                }
            }
            Event::SubjectReleaseEligible { detainer } => {
                let Some(d) = self.detainers.get(detainer.as_str()).cloned() else { return };
                if d.honored && law::hold::form_asks_hold(d.form) {
                    let fac = self.custody.get(&d.subject).and_then(|s| s.facility.clone());
                    let tz = self.zone(&d.recipient, fac.as_deref());
                    if let Some(clock) = law::hold::hold_clock(at, &tz, d.form)
                        && let Some(x) = self.detainers.get_mut(detainer.as_str())
                    {
                        x.hold = Some((at, clock.deadline));
                    }
                }
            }
            Event::DetainerCustodyAssumed { detainer, official, facility } => {
                self.end_hold(detainer.as_str(), at, true);
                let Some(d) = self.detainers.get(detainer.as_str()).cloned() else { return };
                let receiving = self.officers.get(official.as_str()).cloned().unwrap_or(d.issuing.clone());
                let from_fac = self.custody.get(&d.subject).and_then(|s| s.facility.clone());
                self.start_spell(&d.subject, &receiving, facility.as_ref().map(|f| f.as_str()), at);
                if inside {
                    self.detainer_stage(detainer.as_str(), 4);
                    let name = self.agency_name(&receiving);
                    self.channels.insert(ASSUMED);
                    *self.arrests_by_channel.entry((name, ASSUMED)).or_default() += 1;
                    if self.is_ice(&receiving) {
                        let city = city(entry.decision.as_ref());
                        self.handoff_to_ice(at, 2, &receiving, &d.recipient, from_fac.as_deref(), city);
                    }
                }
            }
            Event::DetainerExpired { detainer } => {
                self.end_hold(detainer.as_str(), at, false);
                if inside {
                    self.detainer_stage(detainer.as_str(), 5);
                }
            }
            Event::DetainerLifted { detainer, .. } => {
                self.end_hold(detainer.as_str(), at, false);
                if inside {
                    self.detainer_stage(detainer.as_str(), 6);
                }
            }
            Event::OperationPlanned { operation: o } => {
                self.operations.insert(
                    o.id.as_str().into(),
                    OperationInfo {
                        name: o.name.clone(),
                        city: o.city.clone(),
                        state: o.state.as_str().into(),
                        participants: o
                            .participants
                            .iter()
                            .map(|p| {
                                (
                                    p.agency.as_str().to_string(),
                                    p.headcount,
                                    p.detailed_to.as_ref().map(|d| d.as_str().to_string()),
                                )
                            })
                            .collect(),
                    },
                );
            }
            Event::CitizenshipClaimed { subject, .. } if inside => {
                self.claims.entry(subject.as_str().into()).or_insert((month(at), None));
            }
            Event::CitizenshipDetermined { subject, us_citizen, .. } => {
                if let Some(c) = self.claims.get_mut(subject.as_str()) {
                    c.1 = Some(*us_citizen);
                }
            }
            _ => {}
        }
    }

    fn designate(&mut self, officer: &str, authority: &AuthoritySource) {
        if let AuthoritySource::Agreement287g { agreement } = authority
            && let Some(m) = self.models.get(agreement.as_str())
        {
            self.officer_287g.entry(officer.into()).or_default().insert(m);
        }
    }

    fn models_of(&self, officer: &str) -> Vec<&'static str> {
        self.officer_287g.get(officer).map(|m| m.iter().copied().collect()).unwrap_or_default()
    }

    fn detainer_stage(&mut self, detainer: &str, col: usize) {
        let state = match self.detainers.get(detainer) {
            Some(d) => self.state_of(&d.recipient.clone(), None),
            None => NONE.into(),
        };
        bump(&mut self.detainer_state, state, DETAINER_STAGES.len(), col);
    }

    /// The rules the law applied to a detainer answer, each counted once per answer.
    fn answer_rules(&mut self, detainer: &str, decision: Option<&serde_json::Value>, col: usize) {
        let state = match self.detainers.get(detainer) {
            Some(d) => self.state_of(&d.recipient.clone(), None),
            None => NONE.into(),
        };
        let rules = rule_citations(decision);
        if rules.is_empty() {
            bump(&mut self.answers_by_rule, (state.clone(), NONE.into(), String::new()), 3, col);
        }
        for (rule, citation) in rules {
            bump(&mut self.answers_by_rule, (state.clone(), rule, citation), 3, col);
        }
    }

    /// Warnings and refusals by rule, from a recorded decision.
    fn decision(&mut self, d: &serde_json::Value) {
        let action = d.pointer("/inputs/action").and_then(|a| a.as_str()).unwrap_or(NONE).to_string();
        let cite: HashMap<String, String> = rule_citations(Some(d)).into_iter().collect();
        for (field, col) in [("flags", 0), ("denials", 1)] {
            for rule in d.get(field).and_then(|f| f.as_array()).into_iter().flatten().filter_map(|r| r.as_str()) {
                let c = cite.get(rule).cloned().unwrap_or_default();
                bump(&mut self.decisions, (action.clone(), rule.to_string(), c), DECISIONS.len(), col);
            }
        }
    }

    /// The report of what was read, computed from `basis`.
    pub fn report(mut self, basis: &Basis) -> Report {
        // Custody still open at the end counts against the standard up to the log's last
        // valid time (no clock is read: the report depends on the log alone).
        let until = self.last.map_or(self.period.end(), |l| l.min(self.period.end()));
        let open: Vec<Spell> = self.custody.values().cloned().collect();
        for s in &open {
            self.check_spell(s, until);
        }
        let holds: Vec<String> =
            self.detainers.iter().filter(|(_, d)| d.hold.is_some()).map(|(k, _)| k.clone()).collect();
        for h in holds {
            self.end_hold(&h, until, true);
        }
        let p = self.period;
        let mut summary = Vec::new();
        let sections = vec![
            self.handoffs_section(&mut summary),
            self.detainers_section(),
            self.g287_section(),
            self.arrests_section(),
            self.operations_section(),
            self.claims_section(),
            self.standards_section(),
            self.decisions_section(),
        ];
        Report {
            id: "ledger".into(),
            title: format!("Liaison ledger report, {} to {}", p.from, p.to),
            computed_from: vec![
                format!(
                    "The log {} at its signed checkpoint of {} events, Merkle root {}",
                    basis.origin, basis.size, basis.root
                ),
                format!("Events whose valid time falls from {} to {} (UTC days, both included)", p.from, p.to),
            ],
            summary,
            sections,
            methodology: methodology(self.events),
        }
    }

    fn handoffs_section(&self, summary: &mut Vec<String>) -> Section {
        let cols: Vec<String> = CHANNELS.iter().map(|s| s.to_string()).collect();
        let one = |rows: &Rows<String>| -> Vec<(Vec<String>, Vec<u64>)> {
            rows.iter().map(|(k, v)| (vec![k.clone()], v.clone())).collect()
        };
        let by_month = Table::crosstab(
            "handoffs_by_month",
            "People handed to ICE, by month and channel",
            SOURCE,
            &["Month"],
            &cols,
            one(&self.handoff_month),
            Totals::RowsAndColumns,
        );
        // The summary quotes only cells the table publishes (its total row): a figure the
        // table withholds, or a sum of channels it does not publish, could undo suppression.
        let published = by_month.rows.last().expect("a crosstab has a total row");
        let quoted = |c: &Cell| if matches!(c, Cell::Withheld(_)) { "withheld".to_string() } else { c.shown() };
        let parts: Vec<String> =
            CHANNELS.iter().enumerate().map(|(j, name)| format!("{name} {}", quoted(&published[j + 1]))).collect();
        summary.push(format!(
            "People handed to ICE in this period: {}; by channel: {}.",
            quoted(&published[CHANNELS.len() + 1]),
            parts.join(", ")
        ));
        let body = &by_month.rows[..by_month.rows.len() - 1];
        let chart = Chart::Lines {
            title: "People handed to ICE per month".into(),
            unit: "people".into(),
            x: body.iter().map(|r| r[0].csv()).collect(),
            // All channels first: the monthly totals are what suppression leaves visible most.
            series: std::iter::once("All channels")
                .chain(CHANNELS)
                .enumerate()
                .map(|(k, name)| {
                    let col = if k == 0 { CHANNELS.len() + 1 } else { k };
                    Series { name: name.to_string(), values: body.iter().map(|r| r[col].value()).collect() }
                })
                .collect(),
        };
        Section {
            id: "handoffs".into(),
            title: "Handoffs to ICE".into(),
            text: "Custody accepted by an ICE officer, by the channel it came through: a Border Patrol handoff, a jail's handoff, or a jail's answer to a detainer (ICE assumed custody). Channels are never merged.".into(),
            charts: vec![chart],
            tables: vec![
                by_month,
                Table::crosstab("handoffs_by_aor", "People handed to ICE, by ICE area of responsibility", SOURCE, &["Area of responsibility"], &cols, one(&self.handoff_aor), Totals::RowsAndColumns),
                Table::crosstab("handoffs_by_state", "People handed to ICE, by the state of the releasing agency or facility", SOURCE, &["State"], &cols, one(&self.handoff_state), Totals::RowsAndColumns),
                Table::crosstab("handoffs_by_city", "People handed to ICE, by city or county with its own cooperation law", SOURCE, &["City or county"], &cols, one(&self.handoff_city), Totals::RowsAndColumns),
            ],
        }
    }

    fn detainers_section(&self) -> Section {
        let cols: Vec<String> = DETAINER_STAGES.iter().map(|s| s.to_string()).collect();
        let rows = self.detainer_state.iter().map(|(k, v)| (vec![k.clone()], v.clone())).collect();
        let rule_cols: Vec<String> = ["Honored", "Notify only", "Declined"].iter().map(|s| s.to_string()).collect();
        let rule_rows = self
            .answers_by_rule
            .iter()
            .map(|((s, r, c), v)| (vec![s.clone(), r.clone(), c.clone()], v.clone()))
            .collect();
        Section {
            id: "detainers".into(),
            title: "Detainers".into(),
            text: "Detainers issued, and how the receiving jails answered them, by the jail's state; then each answer by the rules the law engine applied to it, with their citations.".into(),
            charts: vec![],
            tables: vec![
                Table::crosstab("detainers_by_state", "Detainers by stage and the receiving jail's state", SOURCE, &["State"], &cols, rows, Totals::Columns),
                Table::crosstab("detainer_answers_by_rule", "Detainer answers by state and the rule that applied", SOURCE, &["State", "Rule", "Citation"], &rule_cols, rule_rows, Totals::Columns),
            ],
        }
    }

    fn g287_section(&self) -> Section {
        let cols: Vec<String> = G287.iter().map(|s| s.to_string()).collect();
        let rows = self.g287.iter().map(|((m, a), v)| (vec![m.clone(), a.clone()], v.clone())).collect();
        Section {
            id: "g287".into(),
            title: "287(g) activity".into(),
            text: "Encounters, arrests and detainers by officers acting under a 287(g) designation, by the agreement's model (JEM jail enforcement, WSO warrant service, TFM task force) and the officer's agency.".into(),
            charts: vec![],
            tables: vec![Table::crosstab("g287_by_model", "287(g) activity by model and agency", SOURCE, &["Model", "Agency"], &cols, rows, Totals::Columns)],
        }
    }

    fn arrests_section(&self) -> Section {
        let channels: Vec<&str> = self.channels.iter().copied().collect();
        let mut by_agency: Rows<String> = Rows::new();
        for ((agency, ch), n) in &self.arrests_by_channel {
            let j = channels.iter().position(|c| c == ch).expect("channel seen");
            by_agency.entry(agency.clone()).or_insert_with(|| vec![0; channels.len()])[j] += n;
        }
        let cols: Vec<String> = channels.iter().map(|s| s.to_string()).collect();
        let rows = by_agency.into_iter().map(|(k, v)| (vec![k], v)).collect();
        Section {
            id: "arrests".into(),
            title: "Arrests by agency and channel".into(),
            text: "Arrests recorded as encounters, by the I-213 method of apprehension the officer recorded, and custody assumed on a detainer as its own channel. Each arrest is in exactly one channel.".into(),
            charts: vec![],
            tables: vec![Table::crosstab("arrests_by_channel", "Arrests by agency and channel", SOURCE, &["Agency"], &cols, rows, Totals::RowsAndColumns)],
        }
    }

    fn operations_section(&self) -> Section {
        let cols: Vec<String> = ["Encounters", "Arrests"].iter().map(|s| s.to_string()).collect();
        let rows = self.operation_arrests.iter().map(|((o, a), v)| (vec![o.clone(), a.clone()], v.clone())).collect();
        let mut agents = Vec::new();
        for o in self.operations.values() {
            for (agency, headcount, detailed) in &o.participants {
                agents.push(vec![
                    Cell::text(&o.name),
                    Cell::text(format!("{}, {}", o.city, o.state)),
                    Cell::text(self.agency_name(agency)),
                    Cell::text(detailed.as_ref().map_or_else(String::new, |d| self.agency_name(d))),
                    Cell::Count(u64::from(*headcount)),
                ]);
            }
        }
        let detailed: u64 = self
            .operations
            .values()
            .flat_map(|o| &o.participants)
            .filter(|(a, _, d)| d.is_some() && self.kind(a) == Some(AgencyKind::CbpBorderPatrol))
            .map(|(_, h, _)| u64::from(*h))
            .sum();
        Section {
            id: "operations".into(),
            title: "Operations".into(),
            text: format!(
                "Operations in the log with the personnel each agency committed (officers, not people arrested, so not suppressed), including {detailed} Border Patrol agents detailed to another agency in cities; then encounters and arrests in each operation by agency."
            ),
            charts: vec![],
            tables: vec![
                Table {
                    id: "operation_personnel".into(),
                    title: "Operations and the personnel each agency committed".into(),
                    source: SOURCE.into(),
                    columns: ["Operation", "City", "Agency", "Detailed to", "Personnel"]
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                    folded: agents.len() > 24,
                    rows: agents,
                },
                Table::crosstab(
                    "operation_arrests",
                    "Encounters and arrests in operations, by agency",
                    SOURCE,
                    &["Operation", "Agency"],
                    &cols,
                    rows,
                    Totals::Columns,
                ),
            ],
        }
    }

    fn claims_section(&self) -> Section {
        let mut rows: Rows<String> = Rows::new();
        for (m, outcome) in self.claims.values() {
            let col = match outcome {
                Some(true) => 0,
                Some(false) => 1,
                None => 2,
            };
            bump(&mut rows, m.clone(), CLAIMS.len(), col);
        }
        let cols: Vec<String> = CLAIMS.iter().map(|s| s.to_string()).collect();
        Section {
            id: "citizenship".into(),
            title: "US citizenship claims".into(),
            text: "People who claimed US citizenship, by the month of their first claim in the period, and what a supervisor determined by the checkpoint.".into(),
            charts: vec![],
            tables: vec![Table::crosstab("citizenship_claims", "Citizenship claims and their outcomes", SOURCE, &["Month of claim"], &cols, rows.into_iter().map(|(k, v)| (vec![k], v)).collect(), Totals::RowsAndColumns)],
        }
    }

    fn standards_section(&self) -> Section {
        let cols: Vec<String> = STANDARDS.iter().map(|s| s.to_string()).collect();
        let rows = self.standards.iter().map(|(k, v)| (vec![k.clone()], v.clone())).collect();
        Section {
            id: "standards".into(),
            title: "Custody-time standards exceeded".into(),
            text: "Border Patrol custody that passed the 72-hour standard (CBP TEDS 2015 §4.1), and detainer holds that ran past the deadline the law engine computes (48 clock hours under Form I-247A; 8 CFR 287.7(d)'s business hours for the legacy I-247), by the month the limit passed.".into(),
            charts: vec![],
            tables: vec![Table::crosstab("custody_standards", "Custody-time standards exceeded, by month", SOURCE, &["Month"], &cols, rows, Totals::Columns)],
        }
    }

    fn decisions_section(&self) -> Section {
        let cols: Vec<String> = DECISIONS.iter().map(|s| s.to_string()).collect();
        let rows =
            self.decisions.iter().map(|((a, r, c), v)| (vec![a.clone(), r.clone(), c.clone()], v.clone())).collect();
        Section {
            id: "law".into(),
            title: "Legal warnings and refusals by rule".into(),
            text: "Each warning the law engine raised on an action it allowed, and each rule that refused one, with the rule's citation.".into(),
            charts: vec![],
            tables: vec![Table::crosstab("law_by_rule", "Warnings and refusals by action and rule", SOURCE, &["Action", "Rule", "Citation"], &cols, rows, Totals::Columns)],
        }
    }
}

/// `YYYY-MM` of a valid time, in UTC.
fn month(t: Timestamp) -> String {
    let d = t.to_zoned(TimeZone::UTC).date();
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The city or county with its own law where a decided act happened (the jurisdictions the
/// law engine established, below the state), if any.
fn city(decision: Option<&serde_json::Value>) -> String {
    decision
        .and_then(|d| d.pointer("/inputs/context/jurisdictions"))
        .and_then(|j| j.as_array())
        .and_then(|j| j.iter().filter_map(|x| x.as_str()).find(|x| x.contains('-') && !x.starts_with("US")))
        .map_or_else(|| "(none below the state)".into(), str::to_string)
}

/// A recorded decision's rules with their citations, as `(rule id, citation)`.
fn rule_citations(decision: Option<&serde_json::Value>) -> Vec<(String, String)> {
    let Some(d) = decision else { return vec![] };
    let ids = d.get("rule_ids").and_then(|r| r.as_array()).cloned().unwrap_or_default();
    let cites = d.get("citations").and_then(|r| r.as_array()).cloned().unwrap_or_default();
    ids.iter()
        .enumerate()
        .filter_map(|(i, r)| {
            Some((r.as_str()?.to_string(), cites.get(i).and_then(|c| c.as_str()).unwrap_or_default().to_string()))
        })
        .collect()
}

fn methodology(events: u64) -> Vec<Note> {
    let t = crate::suppress::THRESHOLD;
    vec![
        Note {
            heading: "What this is computed from".into(),
            text: format!("The {events} events of one signed checkpoint of the log, read in order; the checkpoint's size and Merkle root are named above, and `liaison report ledger --checkpoint FILE` recomputes this release byte for byte from any copy of the log that still contains it. Reference events (agencies, facilities, officers, agreements, operations) are read whatever their date; counts take events whose valid time falls in the period."),
        },
        Note {
            heading: "Disclosure control".into(),
            text: format!("Counts of people and of acts on them from 1 to {} are withheld (shown \"<{t}\"), and further cells are withheld (shown \"c\") until no withheld cell can be worked out from the published cells and totals by differencing or by combining the totals' equations. Zeros are shown. Personnel counts of operations are not about the people Liaison records and are shown as they are.", t - 1),
        },
        Note {
            heading: "What cannot be read from this".into(),
            text: "Only what agencies recorded in Liaison is counted: an arrest or handoff done outside it is missing, and an agency that joined during the period shows a partial first month. Months and days are in UTC, so an act late in the evening in the west can fall in the next day. Areas of responsibility and states come from the agency and facility records, not from where the person lives. A city column names only cities and counties with a cooperation law of their own in the jurisdiction table. Detainer holds are timed in the facility's time zone (else its state's), and custody still open at the end is measured up to the log's latest valid time.".into(),
        },
        Note {
            heading: "Refusals".into(),
            text: "Warnings come from the decisions recorded with allowed actions. Refusals are counted where the log records them; decisions recorded before warnings and refusals were kept apart by rule (decisions without `flags` and `denials` fields) are not counted by rule.".into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crosstab_withholds_small_cells_and_what_would_reveal_them() {
        let t = Table::crosstab(
            "t",
            "t",
            "s",
            &["Month"],
            &["A".into(), "B".into()],
            vec![(vec!["m1".into()], vec![3, 40]), (vec!["m2".into()], vec![25, 30])],
            Totals::RowsAndColumns,
        );
        assert_eq!(t.rows[0][1], Cell::Withheld(crate::suppress::Mark::Primary));
        // With the row total shown, 40 would give the 3 away: it or the total must go.
        let row0_hidden = t.rows[0][2..].iter().filter(|c| matches!(c, Cell::Withheld(_))).count();
        assert!(row0_hidden >= 1, "{:?}", t.rows);
        assert_eq!(t.rows.last().unwrap()[0], Cell::text("Total"));
    }

    #[test]
    fn the_period_includes_both_days_in_utc() {
        let p = Period { from: jiff::civil::date(2025, 1, 1), to: jiff::civil::date(2025, 1, 31) };
        assert!(p.contains("2025-01-31T23:59:59Z".parse().unwrap()));
        assert!(!p.contains("2025-02-01T00:00:00Z".parse().unwrap()));
        assert_eq!(p.end(), "2025-02-01T00:00:00Z".parse::<Timestamp>().unwrap());
    }
}
