//! Fuzzing the scenario parser and `decide`: no scenario text, however malformed, may panic
//! them. Issue 11's review found two panics (`"€X"` sliced mid-character as a state code; a
//! release time in year 9999 overflowing the hold clock).
//!
//! Seeds are the single cases of every file in `scenarios/` (the file's header with one case),
//! so that most mutants still parse and reach `decide`. Each execution applies one or two
//! mutations (bytes replaced, inserted or deleted; a quoted value swapped for a hostile one; a
//! number swapped for an extreme one), parses, checks the facts, and decides every case, checked
//! or not. Every other execution instead replaces a parsed seed case's facts with random,
//! often hostile ones and decides it directly. `LIAISON_FUZZ_EXECUTIONS` sets the count (CI: 20,000; `scripts/long-tests`: 10
//! million), `LIAISON_FUZZ_SEED` the seed. Two threads share the work.

use super::{law, repo};
use law::scenario::Scenario;

/// Values that have broken, or could break, a reader of facts.
const HOSTILE: [&str; 34] = [
    "€X",
    "Tx",
    "",
    " ",
    "ZZ",
    "US",
    "NY-NYC",
    "\u{0}",
    "é",
    "🦀🦀",
    "America/Chicgo",
    "Etc/GMT+14",
    "UTC",
    "America/Denver",
    "9999-12-31T23:59:59Z",
    "-009999-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "2017-04-01T23:59:59Z",
    "2026-03-08T08:00:00Z",
    "I-247X",
    "I-247N",
    "I-247",
    "judicial",
    "I-205",
    "honor",
    "decline",
    "notify_only",
    "enter_287g_agreement",
    "search_vehicle",
    "enter_dwelling",
    "answer_detainer",
    "hold_on_detainer",
    "state_or_local",
    "federal_immigration",
];

const NUMBERS: [&str; 14] = [
    "0",
    "-0.0",
    "-1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "90.0000001",
    "-180",
    "180.5",
    "4294967296",
    "0.0",
    "5280",
];

/// xorshift64*: a small, seeded generator (the run is reproducible from its seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every scenario case as a document of its own: the file's header and that case.
fn seeds() -> Vec<String> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(repo("scenarios")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        let text = std::fs::read_to_string(f).unwrap();
        let mut parts = text.split("[[case]]");
        let header = parts.next().unwrap_or_default().to_string();
        out.extend(parts.map(|case| format!("{header}[[case]]{case}")));
    }
    out
}

fn char_floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(2) {
        let at = char_floor(&s, rng.below(s.len() + 1));
        match rng.below(10) {
            // Swap a quoted value for a hostile one.
            0..=4 => {
                let quotes: Vec<usize> = s.match_indices('"').map(|(i, _)| i).collect();
                if quotes.len() >= 2 {
                    let k = rng.below(quotes.len() - 1);
                    let (a, b) = (quotes[k] + 1, quotes[k + 1]);
                    s.replace_range(a..b, HOSTILE[rng.below(HOSTILE.len())]);
                }
            }
            // Swap a number for an extreme one.
            5..=7 => {
                let digits: Vec<usize> = s.match_indices(|c: char| c.is_ascii_digit()).map(|(i, _)| i).collect();
                if !digits.is_empty() {
                    let a = digits[rng.below(digits.len())];
                    let b = s[a..].find(|c: char| !(c.is_ascii_digit() || c == '.')).map_or(s.len(), |e| a + e);
                    s.replace_range(a..b, NUMBERS[rng.below(NUMBERS.len())]);
                }
            }
            // Insert a hostile fragment anywhere.
            8 => s.insert_str(at, ["€", "\"", "]", "[", "=", "\n", "{", "}", ",", "#"][rng.below(10)]),
            // Delete a short span.
            _ => {
                let end = char_floor(&s, at + rng.below(12));
                s.replace_range(at..end.max(at), "");
            }
        }
    }
    s
}

/// A structured mutant: a seed case with its facts replaced by random, often hostile ones
/// (any action, codes, zones, places anywhere on Earth, times across jiff's whole range, NaN
/// distances), decided directly, so that every execution of this kind reaches `decide`.
fn structured(seed: &Scenario, rng: &mut Rng) {
    use domain::detainer::{DetainerAnswer, DetainerForm};
    use law::{Action, CourtKind, Courthouse, FieldWarrant};
    let case = &seed.cases[rng.below(seed.cases.len())];
    let mut ctx = case.context.clone();
    let pick = |rng: &mut Rng, xs: &[&str]| xs[rng.below(xs.len())].to_string();
    let codes = ["TX", "CA", "€X", "NY-NYC", "ZZ", "", "IL", "OR", "WA", "FL", "NV", "NY", "US", "GU", "Tx"];
    let time = |rng: &mut Rng| {
        let (lo, hi) = (jiff::Timestamp::MIN.as_second(), jiff::Timestamp::MAX.as_second());
        let near = 1_772_000_000 + (rng.next() % 4_000_000_000) as i64 - 2_000_000_000;
        let s = if rng.below(4) == 0 { lo + (rng.next() % (hi - lo) as u64) as i64 } else { near };
        jiff::Timestamp::from_second(s).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    };
    let action = Action::ALL[rng.below(Action::ALL.len())];
    if rng.below(2) == 0 {
        ctx.jurisdictions = (0..rng.below(3)).map(|_| pick(rng, &codes)).collect();
    }
    if rng.below(3) == 0 {
        ctx.time_zone =
            Some(pick(rng, &["America/Chicago", "America/Chicgo", "UTC", "Etc/GMT+14", "", "Pacific/Guam"]));
    }
    if rng.below(2) == 0 {
        let (lat, lon) = if rng.below(2) == 0 {
            (24.0 + (rng.below(2600) as f64) / 100.0, -125.0 + (rng.below(5900) as f64) / 100.0)
        } else {
            ((rng.below(18001) as f64) / 100.0 - 90.0, (rng.below(36001) as f64) / 100.0 - 180.0)
        };
        ctx.location = domain::LatLon::new(lat, lon).ok();
    }
    let nums = [f64::NAN, f64::INFINITY, -1.0, 0.0, 999.0, 1e308, 5280.0, 1000.0, 50.0];
    if rng.below(4) == 0 {
        ctx.sector_distance_miles = Some(nums[rng.below(nums.len())]);
    }
    if rng.below(3) == 0 {
        let kinds = [CourtKind::StateOrLocal, CourtKind::FederalImmigration, CourtKind::Federal];
        ctx.courthouse = Some(Courthouse { kind: kinds[rng.below(3)], distance_feet: nums[rng.below(nums.len())] });
    }
    if let Some(d) = ctx.detainer.as_mut() {
        let forms =
            [DetainerForm::I247a, DetainerForm::I247, DetainerForm::I247d, DetainerForm::I247n, DetainerForm::I247x];
        d.form = forms[rng.below(forms.len())];
        if rng.below(2) == 0 {
            d.release_eligible_at = Some(time(rng));
        }
    }
    if rng.below(3) == 0 {
        let answers = [DetainerAnswer::Honor, DetainerAnswer::Decline, DetainerAnswer::NotifyOnly];
        ctx.detainer_answer = Some(answers[rng.below(3)]);
    }
    if rng.below(3) == 0 {
        let w = [FieldWarrant::I200, FieldWarrant::I205, FieldWarrant::Judicial];
        ctx.warrant = Some(w[rng.below(3)]);
    }
    ctx.consent = rng.below(2) == 0;
    ctx.dwelling = rng.below(4) == 0;
    ctx.in_jail = rng.below(2) == 0;
    if let Some(c) = ctx.custody.as_mut() {
        c.since = time(rng);
    }
    let now = if rng.below(2) == 0 { time(rng) } else { case.now };
    let req = law::Request {
        officer: &seed.officer,
        agency: &seed.agency,
        agreements: &seed.agreements,
        action,
        context: &ctx,
        now,
    };
    let d = law().decide(&req);
    assert!(!d.rules_hash.is_empty());
}

/// One execution: parse, check, decide. Returns whether the mutant parsed.
fn execute(text: &str) -> bool {
    let Ok(s) = Scenario::parse(text) else { return false };
    let _ = s.check_facts(law());
    // Decide whether or not the facts passed the check: `decide` must refuse, not panic.
    for o in s.run(law()) {
        assert!(!o.decision.rules_hash.is_empty());
    }
    true
}

#[test]
fn no_scenario_text_panics_the_parser_or_the_law() {
    let executions: u64 = std::env::var("LIAISON_FUZZ_EXECUTIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let seed: u64 = std::env::var("LIAISON_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5EED_1111);
    let seeds = seeds();
    assert!(seeds.len() > 200, "{} seed cases", seeds.len());
    let parsed_seeds: Vec<Scenario> = seeds.iter().map(|t| Scenario::parse(t).expect("every seed parses")).collect();
    law(); // load once, outside the threads
    let started = std::time::Instant::now();
    let parsed: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2u64)
            .map(|t| {
                let seeds = &seeds;
                let parsed_seeds = &parsed_seeds;
                scope.spawn(move || {
                    let mut rng = Rng(seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    let mut parsed = 0u64;
                    for i in (t..executions).step_by(2) {
                        if (i / 2) % 2 == 0 {
                            let seed_case = &parsed_seeds[rng.below(parsed_seeds.len())];
                            let state = rng.0;
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| structured(seed_case, &mut rng)))
                                .unwrap_or_else(|_| panic!("structured execution {i} (rng state {state}) panicked"));
                            parsed += 1;
                            continue;
                        }
                        let base = &seeds[rng.below(seeds.len())];
                        let text = mutate(base, &mut rng);
                        let ok = std::panic::catch_unwind(|| execute(&text)).unwrap_or_else(|_| {
                            panic!("execution {i} (seed {seed}) panicked on this scenario text:\n{text}")
                        });
                        parsed += u64::from(ok);
                    }
                    parsed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a fuzz thread panicked")).sum()
    });
    eprintln!(
        "fuzz: {executions} executions from {} seed cases, {parsed} parsed and decided, in {:.1} s (seed {seed})",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_two_inputs_that_panicked_are_refused_with_errors() {
    let s = seeds().into_iter().find(|s| s.contains("hold_on_detainer") && s.contains("release_eligible_at")).unwrap();
    let euro = s.replacen("jurisdictions = [\"", "jurisdictions = [\"€X\", \"", 1);
    let far = regex_free_replace_release(&s, "9999-12-30T12:00:00Z");
    for text in [euro, far] {
        let scenario = Scenario::parse(&text).expect("parses");
        let err = scenario.check_facts(law()).expect_err("refused").to_string();
        assert!(err.contains("€X") || err.contains("9999"), "{err}");
        for o in scenario.run(law()) {
            assert_eq!(o.decision.effect, law::Effect::Deny, "{}", o.case);
        }
    }
}

/// The text with its first `release_eligible_at` set to `to`.
fn regex_free_replace_release(s: &str, to: &str) -> String {
    let key = "release_eligible_at = \"";
    let a = s.find(key).unwrap() + key.len();
    let b = a + s[a..].find('"').unwrap();
    format!("{}{to}{}", &s[..a], &s[b..])
}
