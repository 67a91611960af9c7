//! `liaison simulate --into DB`: a sample of a simulated run's actions, sent as real commands
//! through `service::execute` (the same path as the API's writer: role checks, the law's
//! decision, the ledger), so that a store holds weeks of law-checked activity.
//!
//! Each simulated day's counts (Border Patrol handoffs, ICE at-large arrests, detainers honored
//! and declined, 287(g) jail processing, removals and releases) are sampled at one rate, and
//! each sampled person's steps become commands by the demo's cast (`domain::demo`): Border
//! Patrol San Diego hands to ERO San Diego; ERO San Diego, Houston and Miami arrest at large;
//! detainers go to the Angelina County jail (Texas must honor) or the San Diego County jail
//! (California may not hold), as the simulated jail's answer says; Collier County's 287(g)
//! deputies process and hand to ERO Miami. What the law refuses or flags is counted, and a
//! refused step ends that person's chain.

use anyhow::{Context as _, Result};
use domain::{AgencyId, OfficerId, Timestamp};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{Value, json};
use service::{ApiRole, Command, Principal, Request, Settings};
use sim::Run;
use sim::model::Channel;
use std::collections::BTreeMap;
use store::Store;

/// Bounds of `--people`.
pub const PEOPLE_MAX: u32 = 100_000;

/// What the replay did, by command.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Fed {
    pub people: u32,
    pub commands: u32,
    pub allowed: u32,
    pub flagged: u32,
    pub denied: u32,
    /// Refused for other reasons (by error code), and the steps skipped after a refusal.
    pub refused: BTreeMap<String, u32>,
    pub skipped: u32,
    pub by_command: BTreeMap<&'static str, [u32; 3]>,
    /// The first few refusals, to read.
    pub examples: Vec<String>,
}

struct Cast {
    usbp: Principal,
    ero: [Principal; 3],
    tx_jail: Principal,
    ca_jail: Principal,
    fl_287g: Principal,
    system: Principal,
}

fn officer(id: &str, agency: &str, roles: Vec<ApiRole>) -> Principal {
    Principal {
        id: id.into(),
        agency: AgencyId::parse(agency).expect("a demo agency"),
        officer: Some(OfficerId::parse(id).expect("a demo officer")),
        roles,
    }
}

fn cast() -> Cast {
    let ero = |id: &str, agency: &str| officer(id, agency, vec![ApiRole::Supervisor, ApiRole::FieldOfficer]);
    Cast {
        usbp: officer("O-USBP-0001", "USBP-SAN-DIEGO", vec![ApiRole::FieldOfficer]),
        ero: [
            ero("O-ERO-SND-0001", "ICE-ERO-SND"),
            ero("O-ERO-HOU-0001", "ICE-ERO-HOU"),
            ero("O-ERO-MIA-0001", "ICE-ERO-MIA"),
        ],
        tx_jail: officer("O-TX-ANG-0001", "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE", vec![ApiRole::JailStaff]),
        ca_jail: officer("O-CA-SD-0001", "CA-SAN-DIEGO-COUNTY-SHERIFFS-OFFICE", vec![ApiRole::JailStaff]),
        fl_287g: officer(
            "O-FL-COL-0001",
            "FL-COLLIER-COUNTY-SHERIFFS-OFFICE",
            vec![ApiRole::Officer287g, ApiRole::JailStaff],
        ),
        system: service::system_principal(),
    }
}

/// The ERO offices of the cast: (principal index, holding facility, city centre).
const ERO_PLACES: [(&str, (f64, f64)); 3] = [
    ("F-ERO-OTAY-MESA", (32.7157, -117.1611)),
    ("F-ERO-HOU-HOLD", (29.7604, -95.3698)),
    ("F-ERO-MIA-HOLD", (25.7617, -80.1918)),
];

/// One step of a person's chain.
struct Step {
    at: Timestamp,
    chain: u32,
    who: Who,
    command: Command,
    /// When the step puts the person in ICE custody: the ERO office that holds them.
    into_ice: Option<usize>,
}

#[derive(Clone, Copy)]
enum Who {
    Usbp,
    Ero(usize),
    TxJail,
    CaJail,
    Fl287g,
    System,
}

fn cmd<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("the feed builds valid requests")
}

struct Builder {
    /// The store's size when the replay began, so that replays into one store never collide.
    tag: u64,
    rng: Pcg64Mcg,
    steps: Vec<Step>,
    chains: u32,
    /// People in ICE custody by the time they got there: (time, chain, office, subject).
    in_ice: Vec<(Timestamp, u32, usize, String)>,
}

impl Builder {
    /// A record id of this replay: the kind, the store's size when it began, the person.
    fn id(&self, kind: &str, chain: u32) -> String {
        format!("{kind}-SIM-{}-{chain:06}", self.tag)
    }

    fn person(&mut self, who: Who, at: Timestamp) -> (u32, String) {
        self.chains += 1;
        let id = self.id("S", self.chains);
        let dob = format!(
            "{}-{:02}-{:02}",
            self.rng.random_range(1960..2006),
            self.rng.random_range(1..13),
            self.rng.random_range(1..29)
        );
        let names = [format!("Synthetic Person {:06}", self.chains)];
        let command = Command::RegisterSubject(cmd(json!({"id": id, "names": names, "date_of_birth": dob})));
        self.push(at, self.chains, who, command, None);
        (self.chains, id)
    }

    fn push(&mut self, at: Timestamp, chain: u32, who: Who, command: Command, into_ice: Option<usize>) {
        self.steps.push(Step { at, chain, who, command, into_ice });
    }

    fn near(&mut self, (lat, lon): (f64, f64), spread: f64) -> Value {
        json!({"lat": lat + self.rng.random_range(-spread..spread), "lon": lon + self.rng.random_range(-spread..spread)})
    }

    fn border_patrol(&mut self, t: Timestamp) {
        let (chain, s) = self.person(Who::Usbp, t);
        let loc = json!({"lat": 32.545 + self.rng.random_range(0.0..0.02), "lon": -117.05 + self.rng.random_range(-0.08..0.08)});
        let enc = json!({"id": self.id("E", chain), "subject": s, "location": loc, "method": "PB",
            "authority": "warrantless_arrest_1357a2", "arrest": true,
            "suspicion_factors": ["recent_illegal_crossings_in_area", "fleeing_or_hiding"],
            "escape_risk": "Synthetic: ran from the agents toward the fence line"});
        self.push(t + hours(0.2), chain, Who::Usbp, Command::RecordEncounter(cmd(enc)), None);
        let offer_at = t + hours(self.rng.random_range(6.0..60.0));
        let h = self.id("H", chain);
        let offer =
            json!({"id": h, "subject": s, "receiving_agency": "ICE-ERO-SND", "receiving_facility": ERO_PLACES[0].0});
        self.push(offer_at, chain, Who::Usbp, Command::OfferHandoff(cmd(offer)), None);
        let answer = service::HandoffAnswer::Accept { facility: None };
        let accept_at = offer_at + hours(self.rng.random_range(0.5..3.5));
        self.push(
            accept_at,
            chain,
            Who::Ero(0),
            Command::AnswerHandoff { handoff: h.clone().try_into().expect("valid"), answer },
            Some(0),
        );
    }

    fn at_large(&mut self, t: Timestamp) {
        let office = self.rng.random_range(0..3);
        let (chain, s) = self.person(Who::Ero(office), t);
        let loc = self.near(ERO_PLACES[office].1, 0.15);
        let signed = t - hours(self.rng.random_range(24.0..24.0 * 30.0));
        let officer = ["O-ERO-SND-0001", "O-ERO-HOU-0001", "O-ERO-MIA-0001"][office];
        let enc = json!({"id": self.id("E", chain), "subject": s, "location": loc, "method": "L",
            "authority": "administrative_warrant", "arrest": true,
            "warrant": {"form": "I-200", "signed_by": officer, "signed_at": signed.to_string()}});
        self.push(t + hours(0.2), chain, Who::Ero(office), Command::RecordEncounter(cmd(enc)), Some(office));
    }

    /// A jail booking with a detainer; `honor` picks the Texas jail, else California's.
    fn detainer(&mut self, t: Timestamp, honor: bool, picked_up: bool, last: Timestamp) {
        let (jail, office, facility, charge) = if honor {
            (Who::TxJail, 1, "F-TX-ANG-JAIL", "Tex. Penal Code 49.04 (synthetic)")
        } else {
            (Who::CaJail, 0, "F-CA-SD-JAIL", "Cal. Veh. Code 23152 (synthetic)")
        };
        let officer = ["O-ERO-SND-0001", "O-ERO-HOU-0001"][office];
        let recipient =
            if honor { "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE" } else { "CA-SAN-DIEGO-COUNTY-SHERIFFS-OFFICE" };
        // ICE's own record of the person (an earlier encounter), which the booking matches.
        let a_number = format!("A{:09}", 100_000_000 + (self.tag % 8_000) * 100_000 + u64::from(self.chains) + 1);
        let (chain, s) = self.person(jail, t);
        let dob = match &self.steps.last().expect("just pushed").command {
            Command::RegisterSubject(n) => n.date_of_birth.map(|d| d.to_string()),
            _ => None,
        };
        let names = [format!("Synthetic Person {chain:06}")];
        self.steps.pop();
        let ice_id = self.id("S", chain) + "-I";
        self.push(
            t - hours(1.0),
            chain,
            Who::Ero(office),
            Command::RegisterSubject(cmd(
                json!({"id": ice_id, "names": names, "date_of_birth": dob, "a_number": a_number}),
            )),
            None,
        );
        self.push(
            t,
            chain,
            jail,
            Command::RegisterSubject(cmd(json!({"id": s, "names": names, "date_of_birth": dob, "a_number": a_number}))),
            None,
        );
        self.push(
            t + hours(0.5),
            chain,
            jail,
            Command::BookIntoJail(cmd(json!({"subject": s, "facility": facility, "charge": charge}))),
            None,
        );
        let d = self.id("D", chain);
        let issued = t + hours(self.rng.random_range(2.0..20.0));
        let issue = json!({"id": d, "subject": s, "recipient_agency": recipient,
            "warrant": {"form": "I-200", "signed_by": officer, "signed_at": (issued - hours(1.0)).to_string()},
            "probable_cause": ["pending_removal_proceedings"]});
        self.push(issued, chain, Who::Ero(office), Command::IssueDetainer(cmd(issue)), None);
        let step = |answer: &str| cmd::<service::DetainerUpdate>(json!({"step": "answer", "answer": answer}));
        let answered = issued + hours(self.rng.random_range(0.5..6.0));
        let id: domain::DetainerId = d.clone().try_into().expect("valid");
        self.push(
            answered,
            chain,
            jail,
            Command::UpdateDetainer { detainer: id.clone(), update: step(if honor { "honor" } else { "decline" }) },
            None,
        );
        // The jail's own case ends within the window (days to weeks).
        let ends = (answered + hours(self.rng.random_range(24.0..24.0 * 21.0))).min(last);
        let release = |reason: &str| Command::Release {
            subject: s.clone().try_into().expect("valid"),
            release: cmd(json!({"reason": reason})),
        };
        if !honor {
            self.push(
                ends,
                chain,
                jail,
                release("Charges disposed; released (detainer declined under state law)"),
                None,
            );
            return;
        }
        self.push(
            ends,
            chain,
            jail,
            Command::UpdateDetainer { detainer: id.clone(), update: cmd(json!({"step": "release_eligible"})) },
            None,
        );
        if picked_up {
            let at = ends + hours(self.rng.random_range(1.0..40.0));
            let assume = cmd(json!({"step": "assume_custody", "facility": ERO_PLACES[1].0}));
            self.push(at, chain, Who::Ero(1), Command::UpdateDetainer { detainer: id, update: assume }, Some(1));
        } else {
            self.push(ends + hours(48.5), chain, Who::System, Command::ExpireDetainer { detainer: id }, None);
            self.push(
                ends + hours(49.0),
                chain,
                jail,
                release("Sentence served; no pickup within the 48-hour hold"),
                None,
            );
        }
    }

    fn jail_287g(&mut self, t: Timestamp) {
        let (chain, s) = self.person(Who::Fl287g, t);
        let charge = "Fla. Stat. 322.34 (synthetic)";
        self.push(
            t + hours(0.3),
            chain,
            Who::Fl287g,
            Command::BookIntoJail(cmd(json!({"subject": s, "facility": "F-FL-COL-JAIL", "charge": charge}))),
            None,
        );
        let enc = json!({"id": self.id("E", chain), "subject": s, "location": {"lat": 26.1420, "lon": -81.7948},
            "method": "CLC", "authority": "delegated_287g", "suspicion_factors": ["records_check_hit"], "arrest": false, "in_jail": true});
        self.push(t + hours(2.0), chain, Who::Fl287g, Command::RecordEncounter(cmd(enc)), None);
        let offer_at = t + hours(self.rng.random_range(8.0..30.0));
        let h = self.id("H", chain);
        let offer =
            json!({"id": h, "subject": s, "receiving_agency": "ICE-ERO-MIA", "receiving_facility": ERO_PLACES[2].0});
        self.push(offer_at, chain, Who::Fl287g, Command::OfferHandoff(cmd(offer)), None);
        let answer = service::HandoffAnswer::Accept { facility: None };
        self.push(
            offer_at + hours(2.0),
            chain,
            Who::Ero(2),
            Command::AnswerHandoff { handoff: h.clone().try_into().expect("valid"), answer },
            Some(2),
        );
    }
}

fn hours(h: f64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_secs((h * 3600.0) as i64)
}

/// How many of `count` to sample at `rate`: the whole part, plus one with the remainder's
/// probability.
fn sample(rng: &mut Pcg64Mcg, count: u32, rate: f64) -> u32 {
    let x = f64::from(count) * rate;
    x.floor() as u32 + u32::from(rng.random::<f64>() < x.fract())
}

/// The release codes of `sim::model::Release` in the order of `Day::releases`.
const RELEASE_CODES: [&str; 6] = ["BOND", "OREC", "OSUP", "PARO", "OREC", "OREC"];

/// Builds the steps of about `people` sampled people from `run` (the first run of a batch).
fn steps(run: &Run, people: u32, seed: u64, tag: u64) -> Vec<Step> {
    let flows = |d: &sim::Day| {
        d.handoffs_bp_to_ice
            + d.arrests[Channel::IceAtLarge as usize]
            + d.detainers_issued
            + d.arrests[Channel::G287Jem as usize]
    };
    let total: u64 = run.days.iter().map(|d| u64::from(flows(d))).sum();
    let rate = if total == 0 { 0.0 } else { (f64::from(people) / total as f64).min(1.0) };
    let mut b = Builder { tag, rng: Pcg64Mcg::seed_from_u64(seed), steps: Vec::new(), chains: 0, in_ice: Vec::new() };
    let Some(last_day) = run.days.last().and_then(|d| d.date) else { return vec![] };
    let last = midnight(last_day) + hours(24.0 * 3.0);
    for d in &run.days {
        let Some(date) = d.date else { continue };
        let day = midnight(date);
        let at = |b: &mut Builder, from: f64, to: f64| day + hours(b.rng.random_range(from..to));
        for _ in 0..sample(&mut b.rng, d.handoffs_bp_to_ice, rate) {
            let t = at(&mut b, 0.0, 24.0);
            b.border_patrol(t);
        }
        for _ in 0..sample(&mut b.rng, d.arrests[Channel::IceAtLarge as usize], rate) {
            let t = at(&mut b, 6.0, 18.0);
            b.at_large(t);
        }
        let honored = sample(&mut b.rng, d.detainers_honored, rate);
        let declined = sample(&mut b.rng, d.detainers_declined, rate);
        let pickup = if d.detainers_honored == 0 {
            0.0
        } else {
            f64::from(d.detainers_picked_up)
                / f64::from(d.detainers_picked_up + d.detainers_released_before_pickup).max(1.0)
        };
        for i in 0..honored + declined {
            let t = at(&mut b, 0.0, 24.0);
            let picked = b.rng.random::<f64>() < pickup;
            b.detainer(t, i < honored, picked, last);
        }
        for _ in 0..sample(&mut b.rng, d.arrests[Channel::G287Jem as usize], rate) {
            let t = at(&mut b, 0.0, 24.0);
            b.jail_287g(t);
        }
    }
    // Exits from ICE custody: removals and releases at the run's daily rates relative to its
    // population, applied to the sampled people in custody.
    b.in_ice = b.steps.iter().filter_map(|s| s.into_ice.map(|o| (s.at, s.chain, o, b.id("S", s.chain)))).collect();
    b.in_ice.sort_by_key(|x| x.0);
    let mut exits = Vec::new();
    for (t, chain, office, s) in b.in_ice.clone() {
        let Some(day) = run.days.iter().find(|d| d.date.is_some_and(|x| midnight(x) >= t)) else { continue };
        let pop = f64::from(day.population[0] + day.population[1]).max(1.0);
        let removed = f64::from(day.removals) / pop;
        let released: u32 = day.releases.iter().sum();
        // Daily hazard of leaving, over the days left in the window.
        let left = last.duration_since(t).as_secs_f64() / 86_400.0;
        let hazard = removed + f64::from(released) / pop;
        if b.rng.random::<f64>() >= 1.0 - (-hazard * left).exp() {
            continue;
        }
        let when = t + hours(b.rng.random_range(24.0..(left * 24.0).max(25.0)));
        let code = if b.rng.random::<f64>() < removed / hazard {
            "DEP"
        } else {
            let mut u = b.rng.random::<f64>() * f64::from(released.max(1));
            let mut code = "OREC";
            for (i, n) in day.releases.iter().enumerate() {
                if u < f64::from(*n) {
                    code = RELEASE_CODES[i];
                    break;
                }
                u -= f64::from(*n);
            }
            code
        };
        let reason = if code == "DEP" { "Removed (synthetic)" } else { "Released from ICE custody (synthetic)" };
        let release = cmd(json!({"code": code, "reason": reason}));
        exits.push(Step {
            at: when.min(last),
            chain,
            who: Who::Ero(office),
            command: Command::Release { subject: s.clone().try_into().expect("valid"), release },
            into_ice: None,
        });
    }
    b.steps.extend(exits);
    b.steps.sort_by_key(|s| (s.at, s.chain));
    b.steps
}

fn midnight(d: jiff::civil::Date) -> Timestamp {
    d.to_zoned(jiff::tz::TimeZone::UTC).expect("a simulated date").timestamp()
}

/// The demo's simulation: `seeds-2025` for `days` days from 2026-03-03, the day after the
/// demo scenario.
pub fn demo_scenario(days: u32) -> Result<sim::Scenario> {
    let mut sc = sim::Scenario::bundled("seeds-2025").context("the bundled seeds-2025")?;
    sc.window(Some(jiff::civil::date(2026, 3, 3)), Some(days))?;
    Ok(sc)
}

/// One run of a scenario on the bundled data and law.
pub fn simulate_one(sc: &sim::Scenario, seed: u64, progress: &dyn Fn(u64)) -> Result<Run> {
    let inputs = sim::Inputs::bundled().context("the bundled simulator data")?;
    let law = law::Law::bundled();
    let jail = sim::law::JailLaw::new(&law, &inputs, sc.scenario.from, sc.scenario.days);
    Ok(sim::model::run(sc, &inputs, &jail, sim::run_seed(seed, 0), &|d| progress(u64::from(d)))?)
}

/// Sends the sampled steps through `service::execute`, one transaction per simulated day (as
/// the API's writer groups commands; a refused command writes nothing).
pub fn feed(store: &mut dyn Store, run: &Run, people: u32, seed: u64, progress: &dyn Fn(u64, u64)) -> Result<Fed> {
    let law = law::Law::bundled();
    let settings = Settings::default();
    let cast = cast();
    let steps = steps(run, people.min(PEOPLE_MAX), seed, store.size()?);
    let mut fed = Fed { people: steps.iter().map(|s| s.chain).max().unwrap_or(0), ..Fed::default() };
    let mut broken = std::collections::BTreeSet::new();
    let n = steps.len() as u64;
    let mut done = 0u64;
    let mut rest = &steps[..];
    while let Some(first) = rest.first() {
        let day = first.at.to_zoned(jiff::tz::TimeZone::UTC).date();
        let len = rest.iter().take_while(|s| s.at.to_zoned(jiff::tz::TimeZone::UTC).date() == day).count();
        let (today, later) = rest.split_at(len);
        rest = later;
        let mut outcomes = Vec::with_capacity(len);
        store
            .transact(Timestamp::now(), &mut |b| {
                outcomes.clear();
                for s in today {
                    if broken.contains(&s.chain) {
                        outcomes.push(None);
                        continue;
                    }
                    let principal = match s.who {
                        Who::Usbp => &cast.usbp,
                        Who::Ero(i) => &cast.ero[i],
                        Who::TxJail => &cast.tx_jail,
                        Who::CaJail => &cast.ca_jail,
                        Who::Fl287g => &cast.fl_287g,
                        Who::System => &cast.system,
                    };
                    let req =
                        Request { principal, command: &s.command, key: None, as_system: matches!(s.who, Who::System) };
                    match service::execute(b, &law, &settings, &req, s.at) {
                        Ok(d) => outcomes.push(Some(Ok(d.decision.map(|d| d.effect)))),
                        Err(e) if e.status >= 500 => return Err(store::StoreError::Invalid(e.message)),
                        Err(e) => {
                            broken.insert(s.chain);
                            outcomes.push(Some(Err(e)));
                        }
                    }
                }
                Ok(())
            })
            .with_context(|| format!("replaying {day}"))?;
        for (s, outcome) in today.iter().zip(outcomes.drain(..)) {
            let name = command_name(&s.command);
            let Some(outcome) = outcome else {
                fed.skipped += 1;
                continue;
            };
            fed.commands += 1;
            let row = fed.by_command.entry(name).or_default();
            match outcome {
                Ok(Some(law::Effect::AllowWithFlags)) => {
                    fed.flagged += 1;
                    row[0] += 1;
                }
                Ok(_) => {
                    fed.allowed += 1;
                    row[0] += 1;
                }
                Err(e) => {
                    if e.code == "denied_by_law" {
                        fed.denied += 1;
                        row[1] += 1;
                    } else {
                        *fed.refused.entry(e.code.to_string()).or_default() += 1;
                        row[2] += 1;
                    }
                    if fed.examples.len() < 5 {
                        fed.examples.push(format!("{name} (person {}): {} {}", s.chain, e.code, e.message));
                    }
                }
            }
        }
        done += len as u64;
        progress(done, n);
    }
    Ok(fed)
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::RegisterSubject(_) => "register_subject",
        Command::RecordEncounter(_) => "record_encounter",
        Command::BookIntoJail(_) => "book_into_jail",
        Command::OfferHandoff(_) => "offer_handoff",
        Command::AnswerHandoff { .. } => "answer_handoff",
        Command::IssueDetainer(_) => "issue_detainer",
        Command::UpdateDetainer { .. } => "update_detainer",
        Command::ExpireDetainer { .. } => "expire_detainer",
        Command::Release { .. } => "release",
        _ => "other",
    }
}

/// The replay's counts for people to read.
pub fn render(f: &Fed) -> String {
    let mut s = format!(
        "replayed {} simulated people as {} commands through the law engine: {} allowed ({} with flags), {} denied by law, {} refused, {} steps skipped after a refusal\n",
        f.people,
        f.commands,
        f.allowed + f.flagged,
        f.flagged,
        f.denied,
        f.refused.values().sum::<u32>(),
        f.skipped
    );
    for (name, [ok, denied, refused]) in &f.by_command {
        s.push_str(&format!("  {name:<18} {ok:>6} done {denied:>5} denied {refused:>5} refused\n"));
    }
    for e in &f.examples {
        s.push_str(&format!("  e.g. {e}\n"));
    }
    s
}
