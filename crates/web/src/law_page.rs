//! "Ask the law": the scenario format (docs/scenarios.md) in a browser. Who acts (the kind of
//! agency and the officer's role), the action, where and when, and the other facts as the
//! scenario format writes them; the page builds the scenario, shows it, and decides it with
//! the same law the server records decisions with. Asking changes nothing, so the form is a
//! GET and a case can be linked to.

use crate::session::Viewer;
use crate::{PageResult, W, shell};
use maud::html;
use reports::map;

/// The longest facts text the page takes.
const FACTS_BYTES_MAX: usize = 8_000;

const AGENCY_KINDS: &[(&str, &str)] = &[
    ("state_local_le", "Sheriff, police or jail (state or local)"),
    ("ice_ero", "ICE Enforcement and Removal Operations"),
    ("ice_hsi", "ICE Homeland Security Investigations"),
    ("cbp_border_patrol", "CBP Border Patrol"),
    ("cbp_ofo", "CBP Office of Field Operations"),
    ("national_guard", "National Guard"),
];

const ROLES: &[(&str, &str)] = &[
    ("jail_staff", "Jail staff"),
    ("local_officer", "Local officer"),
    ("deportation_officer", "Deportation officer"),
    ("special_agent", "Special agent"),
    ("border_patrol_agent", "Border Patrol agent"),
    ("cbp_officer", "CBP officer"),
    ("supervisor", "Supervisor"),
    ("guard_member", "Guard member"),
];

#[derive(serde::Deserialize, Default)]
pub struct Ask {
    agency_kind: Option<String>,
    role: Option<String>,
    action: Option<String>,
    when: Option<String>,
    lat: Option<String>,
    lon: Option<String>,
    state: Option<String>,
    designations: Option<String>,
    facts: Option<String>,
}

/// Who the officer is designated as: the federal immigration officer classes, or nothing
/// beyond the role (a 287(g) designation needs its agreement: pose it with `liaison law check`).
const DESIGNATIONS: &[(&str, &str)] =
    &[("federal", "Immigration officer (8 CFR 287.5; detainers: 287.7(b))"), ("none", "No designation")];

fn federal(kind: &str) -> bool {
    matches!(kind, "ice_ero" | "ice_hsi" | "cbp_border_patrol" | "cbp_ofo")
}

fn actions() -> Vec<String> {
    law::Action::ALL
        .iter()
        .map(|a| serde_json::to_value(a).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
        .collect()
}

/// The scenario the form describes, or what is wrong with the form.
fn scenario(a: &Ask) -> Result<String, String> {
    let pick = |v: &Option<String>, options: &[&str], what: &str| -> Result<String, String> {
        let v = v.as_deref().unwrap_or("");
        options.iter().find(|o| **o == v).map(|o| o.to_string()).ok_or_else(|| format!("choose {what}"))
    };
    let kinds: Vec<&str> = AGENCY_KINDS.iter().map(|k| k.0).collect();
    let roles: Vec<&str> = ROLES.iter().map(|k| k.0).collect();
    let all = actions();
    let acts: Vec<&str> = all.iter().map(String::as_str).collect();
    let kind = pick(&a.agency_kind, &kinds, "who acts")?;
    let role = pick(&a.role, &roles, "the officer's role")?;
    let action = pick(&a.action, &acts, "an action")?;
    let designated = match a.designations.as_deref() {
        None | Some("") => federal(&kind),
        Some("federal") => true,
        Some("none") => false,
        Some(other) => return Err(format!("designations {other:?} is not federal or none")),
    };
    let designations = if designated {
        "[\n  { authority = { source = \"cfr287_5\" }, scope = \"immigration officer\", granted_at = \"2020-01-01T00:00:00Z\" },\n  { authority = { source = \"cfr287_7b\" }, scope = \"detainer issuance\", granted_at = \"2020-01-01T00:00:00Z\" },\n]"
    } else {
        "[]"
    };
    let when = a.when.as_deref().unwrap_or("").trim();
    let when: jiff::civil::DateTime = when.parse().map_err(|_| format!("when: {when:?} is not a date and time"))?;
    let mut context = String::new();
    let coord = |v: &Option<String>, what: &str, max: f64| -> Result<Option<f64>, String> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && x.abs() <= max)
                .map(Some)
                .ok_or_else(|| format!("{what}: {s:?} is not a number from -{max} to {max}")),
        }
    };
    match (coord(&a.lat, "latitude", 90.0)?, coord(&a.lon, "longitude", 180.0)?) {
        (Some(lat), Some(lon)) => context.push_str(&format!("location = {{ lat = {lat}, lon = {lon} }}\n")),
        (None, None) => {}
        _ => return Err("give both latitude and longitude, or neither".into()),
    }
    if let Some(st) = a.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if st.len() > 12 || !st.bytes().all(|b| b.is_ascii_uppercase() || b == b'-') {
            return Err(format!("jurisdiction {st:?} is not a code such as TX or NY-NYC"));
        }
        context.push_str(&format!("jurisdictions = [\"{st}\"]\n"));
    }
    let facts = a.facts.as_deref().unwrap_or("");
    if facts.len() > FACTS_BYTES_MAX {
        return Err(format!("the facts are longer than {FACTS_BYTES_MAX} bytes"));
    }
    context.push_str(facts.trim());
    Ok(format!(
        "[agency]\nid = \"ASKING-AGENCY\"\nname = \"The agency asking\"\nkind = \"{kind}\"\n\n[officer]\nid = \"O-ASKING-1\"\nagency = \"ASKING-AGENCY\"\nname = \"The officer asking\"\nrole = \"{role}\"\ndesignations = {designations}\ntraining = []\n\n[[case]]\nname = \"Asked in the browser\"\nnow = \"{}\"\naction = \"{action}\"\n[case.context]\n{context}\n",
        when.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| e.to_string())?.timestamp()
    ))
}

pub async fn ask(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Query(a): axum::extract::Query<Ask>,
) -> PageResult {
    let asked = a.action.is_some();
    let result = asked.then(|| {
        let text = scenario(&a)?;
        let s = law::scenario::Scenario::parse(&text).map_err(|e| e.to_string())?;
        s.check_facts(&web.st.law).map_err(|e| e.to_string())?;
        let out = s.run(&web.st.law).into_iter().next().ok_or("no case")?;
        Ok::<_, String>((text, out.decision))
    });
    let val = |o: &Option<String>| o.clone().unwrap_or_default();
    let sel = |o: &Option<String>, x: &str| o.as_deref() == Some(x);
    let default_when = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M").to_string();
    Ok(shell::page(
        Some(&v),
        "Ask the law",
        "/law",
        html! {
            p.intro { "Pose a case: who acts, what they would do, where and when, and the facts. The law answers with the rule, its citation, the duties that follow and, for holds, the clock. Nothing is recorded." }
            form.record method="get" action="/law" {
                div.grid {
                    div.field { label for="agency_kind" { "Who acts" }
                        select #agency_kind name="agency_kind" { @for (k, l) in AGENCY_KINDS { option value=(k) selected[sel(&a.agency_kind, k)] { (l) } } } }
                    div.field { label for="role" { "Officer's role" }
                        select #role name="role" { @for (k, l) in ROLES { option value=(k) selected[sel(&a.role, k)] { (l) } } } }
                    div.field { label for="designations" { "Designations" }
                        select #designations name="designations" {
                            option value="" { "As the agency kind has them" }
                            @for (k, l) in DESIGNATIONS { option value=(k) selected[sel(&a.designations, k)] { (l) } }
                        } }
                    div.field { label for="action" { "Action" }
                        select #action name="action" { @for x in actions() { option value=(x) selected[sel(&a.action, &x)] { (x.replace('_', " ")) } } } }
                    div.field { label for="when" { "When (UTC)" }
                        input #when type="datetime-local" name="when" value=(a.when.clone().unwrap_or(default_when)); }
                    div.field { label for="lat" { "Latitude" } input #lat name="lat" inputmode="decimal" value=(val(&a.lat)); }
                    div.field { label for="lon" { "Longitude" } input #lon name="lon" inputmode="decimal" value=(val(&a.lon)); }
                    div.field { label for="state" { "Jurisdiction (without a location)" } input #state name="state" value=(val(&a.state)) placeholder="TX, NY-NYC"; }
                }
                div.field {
                    label for="facts" { "Other facts (scenario format, docs/scenarios.md)" }
                    textarea #facts name="facts" rows="6" spellcheck="false" aria-describedby="facts-help" { (val(&a.facts)) }
                    p.help #facts-help { "For example: " code { "actor_has_custody = true" } ", " code { "in_jail = true" } ", " code { "detainer_answer = \"decline\"" } ", " code { "detainer = { recipient_agency = \"ASKING-AGENCY\", warrant = \"I-200\", probable_cause = [\"final_order_of_removal\"] }" } }
                }
                div.buttons { button type="submit" { "Ask" } }
            }
            @match &result {
                None => {}
                Some(Err(e)) => div.notice.error role="alert" { p { strong { "The case cannot be decided: " } (e) } },
                Some(Ok((text, d))) => {
                    h2 { "The decision" }
                    (shell::decision(d, shell::zone_of(d)))
                    @if let (Some(p), Ok(lat), Ok(lon)) = (&d.place, val(&a.lat).parse::<f64>(), val(&a.lon).parse::<f64>()) {
                        (map::locator(&p.state, lon, lat, &format!("Where the case happens: {}, {}", p.county, p.state)))
                    }
                    details { summary { "The scenario, to keep or run with " code { "liaison law check" } } pre.note { (text) } }
                }
            }
        },
    ))
}
