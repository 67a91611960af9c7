//! The model: a person-level discrete-event simulation of the national pipeline, stepped
//! through days with events at the hour inside each day.
//!
//! Arrivals come by channel (Border Patrol apprehensions by sector; ICE at-large arrests from
//! officers × productivity; custodial arrests from detainers answered under each state's law
//! by the law engine; 287(g) arrests by model from ICE's agreement list; Border Patrol agents
//! detailed to interior operations). A person handed to or arrested by ICE is booked into
//! detention in an area of responsibility with beds (or transferred, or handled as the
//! scenario's `when_full` says), stays a log-normal time by arresting agency and criminality,
//! and leaves by removal (limited by flights and land removals per day: a queue when short)
//! or release (ICE's book-out reasons). Officers escorting flights and transfers, and picking
//! people up at jails, are not on arrest teams that day.
//!
//! Invariants are checked at the end of every simulated day: everyone is in exactly one
//! place (Border Patrol, a jail under a detainer, detention, the removal queue, or out), the
//! counts by place add up to everyone who ever entered, and no AOR holds more people than its
//! beds unless the scenario allows overflow.

use crate::inputs::{Agency, Criminality, Inputs, Month};
use crate::law::JailLaw;
use crate::scenario::{K, Scenario, WhenFull};
use jiff::civil::{Date, Weekday};
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal, Poisson};
use rand_pcg::Pcg64Mcg;
use std::collections::{BinaryHeap, VecDeque};

/// How a person came into custody. Border Patrol channels are arrests by CBP; the others by ICE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    BorderPatrol,
    BpInterior,
    IceAtLarge,
    IceCustodial,
    G287Jem,
    G287Wso,
    G287Tfm,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::BorderPatrol,
        Channel::BpInterior,
        Channel::IceAtLarge,
        Channel::IceCustodial,
        Channel::G287Jem,
        Channel::G287Wso,
        Channel::G287Tfm,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Channel::BorderPatrol => "border_patrol_apprehension",
            Channel::BpInterior => "border_patrol_interior",
            Channel::IceAtLarge => "ice_at_large",
            Channel::IceCustodial => "ice_custodial",
            Channel::G287Jem => "287g_jail_enforcement",
            Channel::G287Wso => "287g_warrant_service",
            Channel::G287Tfm => "287g_task_force",
        }
    }
    pub fn agency(self) -> Agency {
        match self {
            Channel::BorderPatrol | Channel::BpInterior => Agency::Cbp,
            _ => Agency::Ice,
        }
    }
    /// Arrests ICE may put off when beds are full (`when_full = defer`).
    fn discretionary(self) -> bool {
        matches!(self, Channel::IceAtLarge | Channel::G287Tfm | Channel::BpInterior)
    }
}

/// Why someone left detention without removal (ICE's book-out release reasons, plus the
/// capacity releases the model makes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Bond,
    Recognizance,
    Supervision,
    Parole,
    /// Released early to make room (when_full = early_release).
    CapacityEarly,
    /// Released at arrest for want of a bed (not booked in).
    CapacityNoBed,
}

impl Release {
    pub const ALL: [Release; 6] = [
        Release::Bond,
        Release::Recognizance,
        Release::Supervision,
        Release::Parole,
        Release::CapacityEarly,
        Release::CapacityNoBed,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Release::Bond => "bonded_out",
            Release::Recognizance => "order_of_recognizance",
            Release::Supervision => "order_of_supervision",
            Release::Parole => "paroled",
            Release::CapacityEarly => "capacity_early_release",
            Release::CapacityNoBed => "capacity_no_bed",
        }
    }
}

/// Where a person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    BorderPatrol = 0,
    Jail = 1,
    Detained = 2,
    RemovalQueue = 3,
    Out = 4,
}
const PLACES: usize = 5;

#[derive(Debug, Clone, Copy)]
struct Person {
    channel: Channel,
    crim: Criminality,
    place: Place,
    aor: u8,
    /// Index in its AOR's detained list while detained or queued.
    slot: u32,
    /// Arrival hour in Border Patrol custody (for the 72-hour standard).
    since_hour: u32,
    /// A detainer the jail will hold on (else declined or notified only).
    honored: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// ICE takes the person from Border Patrol.
    Handoff,
    /// The jail releases the person with a detainer.
    JailRelease,
    /// The person's stay ends: removal or release.
    StayEnd,
}

/// Counts for one simulated day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Day {
    pub date: Option<Date>,
    pub bp_encounters: u32,
    /// Arrests by channel (`Channel::ALL` order).
    pub arrests: [u32; 7],
    /// Initial book-ins into ICE detention by arresting agency (`Agency::ALL` order).
    pub book_ins: [u32; 2],
    pub handoffs_bp_to_ice: u32,
    pub handoffs_over_72h: u32,
    pub detainers_issued: u32,
    pub detainers_declined: u32,
    pub detainers_honored: u32,
    pub detainers_picked_up: u32,
    pub detainers_released_before_pickup: u32,
    /// Detained at midnight, by arresting agency.
    pub population: [u32; 2],
    pub population_by_aor: Vec<u32>,
    pub beds: u32,
    pub removals: u32,
    pub removal_capacity: u32,
    pub removal_queue: u32,
    /// Releases by `Release::ALL`.
    pub releases: [u32; 6],
    pub transfers: u32,
    pub deferred_arrests: u32,
    pub field_officers: f64,
    pub escort_officer_days: f64,
    pub at_large_capacity: f64,
    pub arrest_target: f64,
}

/// One run's days and totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub days: Vec<Day>,
    pub aors: Vec<String>,
    /// People the run created (everyone who reached Border Patrol's handoff, a jail detainer
    /// or ICE custody).
    pub people: u64,
    /// Events processed (arrivals, handoffs, jail releases, stay ends, removals, releases).
    pub events: u64,
}

/// A broken invariant: a bug in the model, reported rather than hidden.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant broken on {date}: {what}")]
pub struct InvariantError {
    pub date: String,
    pub what: String,
}

struct Engine<'a> {
    sc: &'a Scenario,
    inputs: &'a Inputs,
    jail_law: &'a JailLaw,
    rng: Pcg64Mcg,
    people: Vec<Person>,
    counts: [u64; PLACES],
    detained: Vec<Vec<u32>>,
    caps: Vec<u32>,
    /// Each AOR's detained count at the start of the day.
    start_len: Vec<u32>,
    aor_share: Vec<f64>,
    pop_agency: [u32; 2],
    removal_queue: VecDeque<u32>,
    heap: BinaryHeap<std::cmp::Reverse<(u32, u32, Kind, u32)>>,
    seq: u32,
    events: u64,
    today: Day,
    /// Officer-days spent yesterday on escorts and pickups (off arrest teams today).
    busy_officer_days: f64,
    /// Yesterday's ICE arrests by the non-at-large channels (to aim at-large at the target).
    other_ice_yesterday: f64,
    /// Today's parameter values, indexed by `K`.
    p: Vec<f64>,
    /// 287(g) agreements by signing date: (date, AOR, channel), and how many are in force by
    /// AOR and model.
    agreements: Vec<(Date, usize, Channel)>,
    agreements_next: usize,
    agreements_in_force: Vec<[u32; 3]>,
    /// Each Border Patrol sector's AOR, and each AOR's share of recent encounters.
    sector_aor: std::collections::BTreeMap<String, usize>,
    sector_shares: Vec<(usize, f64)>,
}

/// Runs the scenario once with the seed. Pure: the same inputs give the same run.
pub fn run(
    sc: &Scenario,
    inputs: &Inputs,
    jail_law: &JailLaw,
    seed: u64,
    progress: &dyn Fn(u32),
) -> Result<Run, InvariantError> {
    let n_aor = inputs.aors.len();
    let total_adp: f64 = inputs.aors.iter().map(|a| a.adp_fy2024).sum();
    let aor_share: Vec<f64> = inputs.aors.iter().map(|a| a.adp_fy2024 / total_adp).collect();
    let mut e = Engine {
        sc,
        inputs,
        jail_law,
        rng: Pcg64Mcg::seed_from_u64(seed),
        people: Vec::new(),
        counts: [0; PLACES],
        detained: vec![Vec::new(); n_aor],
        caps: vec![0; n_aor],
        start_len: vec![0; n_aor],
        aor_share,
        pop_agency: [0; 2],
        removal_queue: VecDeque::new(),
        heap: BinaryHeap::new(),
        seq: 0,
        events: 0,
        today: Day::default(),
        busy_officer_days: 0.0,
        other_ice_yesterday: 0.0,
        p: sc.values_at(sc.scenario.from),
        agreements: Vec::new(),
        agreements_next: 0,
        agreements_in_force: vec![[0; 3]; n_aor],
        sector_aor: inputs
            .sector_state
            .iter()
            .map(|(s, st)| (s.clone(), inputs.aor_of_state(st).unwrap_or(0)))
            .collect(),
        sector_shares: Vec::new(),
    };
    e.agreements = inputs
        .agreements
        .iter()
        .map(|a| {
            let channel = match a.model {
                domain::agreement::Model287g::JailEnforcementModel => Channel::G287Jem,
                domain::agreement::Model287g::WarrantServiceOfficer => Channel::G287Wso,
                domain::agreement::Model287g::TaskForceModel => Channel::G287Tfm,
            };
            (a.signed_on, inputs.aor_of_state(&a.state).unwrap_or(0), channel)
        })
        .collect();
    e.agreements.sort();
    e.sector_shares = e.compute_sector_shares();
    let from = sc.scenario.from;
    e.set_beds();
    e.initial_population(from);
    e.start_len = e.detained.iter().map(|l| l.len() as u32).collect();
    let mut days = Vec::with_capacity(sc.scenario.days as usize);
    for d in 0..sc.scenario.days {
        let date = from.checked_add(jiff::Span::new().days(d)).map_err(|err| InvariantError {
            date: from.to_string(),
            what: format!("day {d} is past the calendar: {err}"),
        })?;
        e.today = Day { date: Some(date), ..Day::default() };
        e.p = sc.values_at(date);
        e.set_beds();
        e.arrivals(d, date);
        e.process_until((d + 1) * 24);
        e.removals();
        e.end_of_day(date)?;
        days.push(std::mem::take(&mut e.today));
        progress(d + 1);
    }
    Ok(Run {
        days,
        aors: inputs.aors.iter().map(|a| a.code.clone()).collect(),
        people: e.people.len() as u64,
        events: e.events,
    })
}

fn poisson(rng: &mut Pcg64Mcg, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map(|p| p.sample(rng) as u32).unwrap_or(0)
}

fn lognormal(rng: &mut Pcg64Mcg, mean: f64, sigma: f64) -> f64 {
    let mu = mean.ln() - sigma * sigma / 2.0;
    LogNormal::new(mu, sigma).map(|l| l.sample(rng)).unwrap_or(mean)
}

impl Engine<'_> {
    fn v(&self, k: K) -> f64 {
        self.p[k as usize]
    }

    fn set_beds(&mut self) {
        let beds = self.v(K::beds) * self.v(K::population_scale);
        for (c, s) in self.caps.iter_mut().zip(&self.aor_share) {
            *c = (beds * s).round() as u32;
        }
        self.today.beds = self.caps.iter().sum();
    }

    fn schedule(&mut self, hour: u32, kind: Kind, person: u32) {
        self.seq += 1;
        self.heap.push(std::cmp::Reverse((hour, self.seq, kind, person)));
    }

    fn new_person(&mut self, channel: Channel, aor: usize, place: Place, hour: u32) -> u32 {
        let crim = self.criminality(channel.agency());
        let id = self.people.len() as u32;
        self.people.push(Person { channel, crim, place, aor: aor as u8, slot: 0, since_hour: hour, honored: false });
        self.counts[place as usize] += 1;
        id
    }

    fn criminality(&mut self, a: Agency) -> Criminality {
        let (c, p) = match a {
            Agency::Cbp => (self.v(K::convicted_share_cbp), self.v(K::pending_share_cbp)),
            Agency::Ice => (self.v(K::convicted_share_ice), self.v(K::pending_share_ice)),
        };
        let u: f64 = self.rng.random();
        if u < c {
            Criminality::Convicted
        } else if u < c + p {
            Criminality::Pending
        } else {
            Criminality::Other
        }
    }

    fn move_to(&mut self, id: u32, to: Place) {
        let p = &mut self.people[id as usize];
        self.counts[p.place as usize] -= 1;
        self.counts[to as usize] += 1;
        p.place = to;
    }

    /// The detained population at the start, with stays already under way.
    fn initial_population(&mut self, from: Date) {
        if self.sc.scenario.start == crate::scenario::Start::Empty {
            return;
        }
        let stats = &self.inputs.ice;
        let months = stats.months();
        let before = Month::of(from.checked_sub(jiff::Span::new().days(1)).unwrap_or(from));
        let Some(m) = months.iter().rev().find(|m| **m <= before).or(months.first()).copied() else { return };
        let sigma = self.v(K::los_sigma);
        for a in Agency::ALL {
            for c in Criminality::ALL {
                let adp = stats.monthly.get(&("adp".to_string(), m, Some(a), Some(c))).copied().unwrap_or(0.0);
                let mean = self.los_mean(a, c);
                for _ in 0..(adp * self.v(K::population_scale)).round() as u32 {
                    let aor = self.pick_aor();
                    let channel = if a == Agency::Cbp { Channel::BorderPatrol } else { Channel::IceAtLarge };
                    let id = self.people.len() as u32;
                    self.people.push(Person {
                        channel,
                        crim: c,
                        place: Place::Out,
                        aor: aor as u8,
                        slot: 0,
                        since_hour: 0,
                        honored: false,
                    });
                    self.counts[Place::Out as usize] += 1;
                    self.detain(id, aor);
                    // A stay under way is seen length-biased: a log-normal(mu, s) stay seen at a
                    // random moment has total length log-normal(mu + s², s), and it is a uniform
                    // share of the way through.
                    let total = lognormal(&mut self.rng, mean * (sigma * sigma).exp(), sigma);
                    let left: f64 = total * self.rng.random::<f64>();
                    self.schedule((left * 24.0) as u32, Kind::StayEnd, id);
                }
            }
        }
    }

    fn pick_aor(&mut self) -> usize {
        let u: f64 = self.rng.random();
        let mut acc = 0.0;
        for (i, s) in self.aor_share.iter().enumerate() {
            acc += s;
            if u < acc {
                return i;
            }
        }
        self.aor_share.len() - 1
    }

    fn los_mean(&self, a: Agency, c: Criminality) -> f64 {
        self.v(match (a, c) {
            (Agency::Cbp, Criminality::Convicted) => K::los_days_cbp_convicted,
            (Agency::Cbp, Criminality::Pending) => K::los_days_cbp_pending,
            (Agency::Cbp, Criminality::Other) => K::los_days_cbp_other,
            (Agency::Ice, Criminality::Convicted) => K::los_days_ice_convicted,
            (Agency::Ice, Criminality::Pending) => K::los_days_ice_pending,
            (Agency::Ice, Criminality::Other) => K::los_days_ice_other,
        })
    }

    fn detain(&mut self, id: u32, aor: usize) {
        self.move_to(id, Place::Detained);
        let p = &mut self.people[id as usize];
        p.aor = aor as u8;
        p.slot = self.detained[aor].len() as u32;
        self.detained[aor].push(id);
        self.pop_agency[p.channel.agency() as usize] += 1;
    }

    fn undetain(&mut self, id: u32, to: Place) {
        let p = self.people[id as usize];
        let list = &mut self.detained[p.aor as usize];
        let last = *list.last().expect("a detained person is in the list");
        list.swap_remove(p.slot as usize);
        if last != id {
            self.people[last as usize].slot = p.slot;
        }
        self.pop_agency[p.channel.agency() as usize] -= 1;
        self.move_to(id, to);
    }

    fn total_detained(&self) -> u64 {
        self.counts[Place::Detained as usize] + self.counts[Place::RemovalQueue as usize]
    }

    /// Books a person into detention, near `aor` if there is room. Returns false when the
    /// person is released for want of a bed.
    fn book_in(&mut self, id: u32, aor: usize, hour: u32) -> bool {
        let target = if (self.detained[aor].len() as u32) < self.caps[aor] {
            Some(aor)
        } else {
            let best = (0..self.caps.len()).max_by_key(|&i| self.caps[i] as i64 - self.detained[i].len() as i64);
            match best {
                Some(i) if (self.detained[i].len() as u32) < self.caps[i] => {
                    self.today.transfers += 1;
                    Some(i)
                }
                _ => None,
            }
        };
        let target = match (target, self.sc.scenario.when_full) {
            (Some(t), _) => t,
            (None, WhenFull::Overflow | WhenFull::Defer) => {
                let limit = self.today.beds as f64 * (1.0 + self.v(K::overflow_share));
                if (self.total_detained() as f64) < limit {
                    aor
                } else {
                    return self.no_bed(id);
                }
            }
            (None, WhenFull::EarlyRelease) => {
                let n = self.detained[aor].len();
                let pick = (0..if n == 0 { 0 } else { 8 })
                    .map(|_| self.detained[aor][self.rng.random_range(0..n)])
                    .find(|&p| self.people[p as usize].place == Place::Detained);
                match pick {
                    Some(p) => {
                        self.undetain(p, Place::Out);
                        self.today.releases[Release::CapacityEarly as usize] += 1;
                        aor
                    }
                    None => return self.no_bed(id),
                }
            }
            (None, WhenFull::ReleaseNew) => return self.no_bed(id),
        };
        let p = self.people[id as usize];
        self.detain(id, target);
        self.today.book_ins[p.channel.agency() as usize] += 1;
        let mean = self.los_mean(p.channel.agency(), p.crim);
        let sigma = self.v(K::los_sigma);
        let stay = lognormal(&mut self.rng, mean, sigma);
        self.schedule(hour + (stay * 24.0).max(1.0) as u32, Kind::StayEnd, id);
        true
    }

    fn no_bed(&mut self, id: u32) -> bool {
        self.move_to(id, Place::Out);
        self.today.releases[Release::CapacityNoBed as usize] += 1;
        false
    }

    fn weekday_factor(&self, d: Date) -> f64 {
        let wf = self.v(K::weekend_factor);
        let weekday = 7.0 / (5.0 + 2.0 * wf);
        match d.weekday() {
            Weekday::Saturday | Weekday::Sunday => wf * weekday,
            _ => weekday,
        }
    }

    fn arrivals(&mut self, day: u32, d: Date) {
        let h0 = day * 24;
        let free_beds = (self.today.beds as i64 - self.total_detained() as i64).max(0) as u32;
        let mut discretionary_left = if self.sc.scenario.when_full == WhenFull::Defer { free_beds } else { u32::MAX };
        self.border_patrol(h0, d);
        // ICE officers: arrest teams less yesterday's escorts and pickups.
        let scale = self.v(K::population_scale);
        let field = (self.v(K::ero_officers) * scale * self.v(K::field_share) - self.busy_officer_days).max(0.0);
        self.busy_officer_days = 0.0;
        let wf = self.weekday_factor(d);
        let pace = field * self.v(K::at_large_per_officer_day) * wf;
        let capacity = field * self.v(K::at_large_max_per_officer_day) * wf;
        let target = self.v(K::arrest_target_per_day);
        let wanted = if target > 0.0 { pace.max(target * scale * wf - self.other_ice_yesterday) } else { pace };
        self.today.field_officers = field;
        self.today.at_large_capacity = capacity;
        self.today.arrest_target = target;
        let at_large = poisson(&mut self.rng, wanted.min(capacity));
        let mut other_ice = 0u32;
        for _ in 0..at_large {
            let aor = self.pick_aor();
            let h = h0 + 6 + self.rng.random_range(0..12);
            self.field_arrest(Channel::IceAtLarge, aor, h, &mut discretionary_left);
        }
        // 287(g): arrests by model from the agreements in force (signed by today).
        while let Some(&(signed, aor, channel)) = self.agreements.get(self.agreements_next) {
            if signed > d {
                break;
            }
            self.agreements_in_force[aor][channel as usize - Channel::G287Jem as usize] += 1;
            self.agreements_next += 1;
        }
        let per_agreement = [
            self.v(K::jem_arrests_per_agreement_day),
            self.v(K::wso_arrests_per_agreement_day),
            self.v(K::tfm_arrests_per_agreement_day) * wf,
        ];
        let channels = [Channel::G287Jem, Channel::G287Wso, Channel::G287Tfm];
        for aor in 0..self.agreements_in_force.len() {
            for m in 0..3 {
                let count = self.agreements_in_force[aor][m];
                if count == 0 {
                    continue;
                }
                let n = poisson(&mut self.rng, count as f64 * per_agreement[m] * scale);
                other_ice += n;
                for _ in 0..n {
                    let h = h0 + self.rng.random_range(0..24);
                    self.field_arrest(channels[m], aor, h, &mut discretionary_left);
                }
            }
        }
        // Border Patrol agents detailed to interior operations.
        let active: Vec<(usize, u32)> = self
            .sc
            .operations
            .iter()
            .filter(|o| o.start <= d && d <= o.end)
            .map(|o| (self.inputs.aor_of_state(&o.state).unwrap_or(0), o.agents))
            .collect();
        let set_agents = self.sc.p("bp_interior_agents");
        let per_agent = self.v(K::bp_interior_per_agent_day) * wf * scale;
        for (aor, agents) in &active {
            let agents = if set_agents.source.starts_with("what-if") {
                set_agents.at(d) / active.len() as f64
            } else {
                *agents as f64
            };
            let n = poisson(&mut self.rng, agents * per_agent);
            for _ in 0..n {
                let h = h0 + 6 + self.rng.random_range(0..12);
                self.field_arrest(Channel::BpInterior, *aor, h, &mut discretionary_left);
            }
        }
        // Detainers lodged with jails, answered under the state's law.
        let detainers = self.v(K::detainers_per_day) * scale;
        let n = poisson(&mut self.rng, detainers);
        self.today.detainers_issued = n;
        let honor = self.v(K::honor_share_discretionary);
        let jail_days = self.v(K::jail_days_mean);
        for _ in 0..n {
            let (state, aor) = self.jail_law.pick_state(self.rng.random());
            let answer = self.jail_law.answer(state, d);
            let honored = match answer {
                crate::law::Answer::Declines => false,
                crate::law::Answer::MustHonor => true,
                crate::law::Answer::MayHonor => self.rng.random::<f64>() < honor,
            };
            let h = h0 + self.rng.random_range(0..24);
            let id = self.new_person(Channel::IceCustodial, aor, Place::Jail, h);
            self.people[id as usize].honored = honored;
            if honored {
                self.today.detainers_honored += 1;
            } else {
                self.today.detainers_declined += 1;
            }
            let wait = Exp::new(1.0 / jail_days).map(|x| x.sample(&mut self.rng)).unwrap_or(jail_days);
            self.schedule(h + (wait * 24.0) as u32, Kind::JailRelease, id);
            self.events += 1;
        }
        self.other_ice_yesterday = other_ice as f64 + self.today.detainers_picked_up as f64;
    }

    fn border_patrol(&mut self, h0: u32, d: Date) {
        let m = Month::of(d);
        let scale = self.v(K::population_scale);
        let days_in_month = m.days() as f64;
        let share = self.v(K::bp_book_in_share);
        let hours = self.v(K::bp_custody_hours_mean);
        let sectors: Vec<(usize, f64)> =
            match self.inputs.usbp.get(&m).filter(|_| self.sc.scenario.bp_encounters_from_data) {
                Some(by_sector) => {
                    by_sector.iter().map(|(s, q)| (self.sector_aor(s), *q as f64 / days_in_month * scale)).collect()
                }
                None => {
                    let total = self.v(K::bp_encounters_per_month) / days_in_month * scale;
                    self.sector_shares.iter().map(|(aor, s)| (*aor, total * s)).collect()
                }
            };
        for (aor, rate) in sectors {
            let n = poisson(&mut self.rng, rate);
            self.today.bp_encounters += n;
            self.today.arrests[Channel::BorderPatrol as usize] += n;
            let handed = (0..n).filter(|_| self.rng.random::<f64>() < share).count();
            for _ in 0..handed {
                let h = h0 + self.rng.random_range(0..24);
                let id = self.new_person(Channel::BorderPatrol, aor, Place::BorderPatrol, h);
                self.events += 1;
                let wait = lognormal(&mut self.rng, hours, 0.6);
                self.schedule(h + wait.max(1.0) as u32, Kind::Handoff, id);
            }
        }
    }

    fn sector_aor(&self, sector: &str) -> usize {
        self.sector_aor.get(sector).copied().unwrap_or(0)
    }

    /// Each AOR's share of Border Patrol encounters over the last 12 months of sector data.
    fn compute_sector_shares(&self) -> Vec<(usize, f64)> {
        let mut by_aor = vec![0.0; self.inputs.aors.len()];
        for by_sector in self.inputs.usbp.values().rev().take(12) {
            for (s, q) in by_sector {
                by_aor[self.sector_aor(s)] += *q as f64;
            }
        }
        let total: f64 = by_aor.iter().sum();
        by_aor.into_iter().enumerate().filter(|(_, q)| *q > 0.0).map(|(i, q)| (i, q / total)).collect()
    }

    fn field_arrest(&mut self, channel: Channel, aor: usize, hour: u32, discretionary_left: &mut u32) {
        if channel.discretionary() {
            if *discretionary_left == 0 {
                self.today.deferred_arrests += 1;
                return;
            }
            *discretionary_left -= 1;
        }
        self.today.arrests[channel as usize] += 1;
        self.events += 1;
        if channel.agency() == Agency::Ice && self.rng.random::<f64>() >= self.v(K::ice_book_in_share) {
            return; // released at arrest (alternatives to detention): not a person in custody
        }
        let id = self.new_person(channel, aor, Place::Out, hour);
        self.book_in(id, aor, hour);
    }

    fn process_until(&mut self, end_hour: u32) {
        while let Some(std::cmp::Reverse((h, _, kind, id))) = self.heap.peek().copied() {
            if h >= end_hour {
                break;
            }
            self.heap.pop();
            self.events += 1;
            match kind {
                Kind::Handoff => {
                    let p = self.people[id as usize];
                    self.today.handoffs_bp_to_ice += 1;
                    if h - p.since_hour > 72 {
                        self.today.handoffs_over_72h += 1;
                    }
                    self.move_to(id, Place::Out);
                    self.book_in(id, p.aor as usize, h);
                }
                Kind::JailRelease => {
                    let p = self.people[id as usize];
                    let picked = p.honored && self.rng.random::<f64>() < self.v(K::pickup_share);
                    self.move_to(id, Place::Out);
                    if picked {
                        self.today.detainers_picked_up += 1;
                        self.today.arrests[Channel::IceCustodial as usize] += 1;
                        self.busy_officer_days += self.v(K::officer_days_per_pickup);
                        if self.rng.random::<f64>() < self.v(K::ice_book_in_share) {
                            self.book_in(id, p.aor as usize, h);
                        }
                    } else {
                        self.today.detainers_released_before_pickup += 1;
                    }
                }
                Kind::StayEnd => {
                    if self.people[id as usize].place != Place::Detained {
                        continue; // released early to make room: this end is stale
                    }
                    if self.rng.random::<f64>() < self.v(K::removal_share) {
                        self.move_to(id, Place::RemovalQueue);
                        self.removal_queue.push_back(id);
                    } else {
                        let r = self.release_reason();
                        self.undetain(id, Place::Out);
                        self.today.releases[r as usize] += 1;
                    }
                }
            }
        }
    }

    fn release_reason(&mut self) -> Release {
        let w = [
            (Release::Bond, self.v(K::release_bond)),
            (Release::Recognizance, self.v(K::release_recognizance)),
            (Release::Supervision, self.v(K::release_supervision)),
            (Release::Parole, self.v(K::release_parole)),
        ];
        let total: f64 = w.iter().map(|x| x.1).sum();
        let mut u = self.rng.random::<f64>() * total;
        for (r, x) in w {
            if u < x {
                return r;
            }
            u -= x;
        }
        Release::Parole
    }

    fn removals(&mut self) {
        let flights = self.v(K::removal_flights_per_day);
        let capacity = (flights * self.v(K::seats_per_flight) + self.v(K::land_removals_per_day)).round() as u32;
        self.today.removal_capacity = capacity;
        let mut done = 0;
        while done < capacity {
            let Some(id) = self.removal_queue.pop_front() else { break };
            if self.people[id as usize].place != Place::RemovalQueue {
                continue;
            }
            self.undetain(id, Place::Out);
            done += 1;
            self.events += 1;
        }
        self.today.removals = done;
        let escort = flights * self.v(K::escort_officer_days_per_flight)
            + self.today.transfers as f64 * self.v(K::escort_officer_days_per_transfer);
        self.today.escort_officer_days = escort;
        self.busy_officer_days += escort;
    }

    fn end_of_day(&mut self, d: Date) -> Result<(), InvariantError> {
        let broken = |what: String| InvariantError { date: d.to_string(), what };
        let total: u64 = self.counts.iter().sum();
        if total != self.people.len() as u64 {
            return Err(broken(format!("{} people by place, {} people in all", total, self.people.len())));
        }
        let listed: u64 = self.detained.iter().map(|l| l.len() as u64).sum();
        if listed != self.total_detained() {
            return Err(broken(format!("{listed} in AOR lists, {} detained or queued", self.total_detained())));
        }
        if self.pop_agency.iter().map(|&x| x as u64).sum::<u64>() != listed {
            return Err(broken("population by agency does not add up".into()));
        }
        if self.removal_queue.len() as u64 != self.counts[Place::RemovalQueue as usize] {
            return Err(broken("removal queue and queued count differ".into()));
        }
        let overflow = matches!(self.sc.scenario.when_full, WhenFull::Overflow | WhenFull::Defer);
        if !overflow {
            // People already detained stay when beds are cut; an AOR may be above its beds only
            // if it did not grow today.
            for (i, l) in self.detained.iter().enumerate() {
                if l.len() as u32 > self.caps[i] && l.len() as u32 > self.start_len[i] {
                    return Err(broken(format!(
                        "AOR {} holds {} in {} beds",
                        self.inputs.aors[i].code,
                        l.len(),
                        self.caps[i]
                    )));
                }
            }
        }
        self.start_len = self.detained.iter().map(|l| l.len() as u32).collect();
        self.today.population = self.pop_agency;
        self.today.population_by_aor = self.detained.iter().map(|l| l.len() as u32).collect();
        self.today.removal_queue = self.removal_queue.len() as u32;
        Ok(())
    }
}
