//! Subjects: finding a person, and a person's page. The page shows the person by name, date
//! of birth and A-number, who holds them now and since when, and the custody chain as a
//! timeline "as known at" any time, each step with the law's decision that permitted it and a
//! link to its inclusion proof. The viewer must be allowed to know the person exists
//! (`service::access`), and the read is logged before anything is shown.

use crate::session::Viewer;
use crate::{PageError, PageResult, W, label, local, shell};
use domain::chain::ChainStep;
use domain::{Record, RecordKey, RecordKind};
use maud::html;
use store::Store;

/// Subjects a search looks through at most.
const SEARCH_SCAN_MAX: usize = 50_000;
/// Matches a search shows at most.
const SEARCH_RESULTS_MAX: usize = 50;

#[derive(serde::Deserialize)]
pub struct FindQuery {
    q: Option<String>,
}

/// Find a person by record id, A-number or name (every match shown is a logged read).
pub async fn find(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Query(q): axum::extract::Query<FindQuery>,
) -> PageResult {
    let query = q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && s.len() <= 200);
    let mut found = vec![];
    if let Some(text) = query.clone() {
        let p = v.principal.clone();
        found = web
            .st
            .read(move |s| {
                let needle = text.to_lowercase();
                let digits: String = needle.chars().filter(|c| c.is_ascii_digit()).collect();
                let mut hits = vec![];
                crate::scan(s, RecordKind::Subject, SEARCH_SCAN_MAX, &mut |s, r| {
                    let Record::Subject(x) = r else { return Ok(false) };
                    let a = x.a_number.as_ref().map(|a| a.to_string()).unwrap_or_default();
                    let hit = x.id.as_str().eq_ignore_ascii_case(&needle)
                        || (digits.len() >= 8 && a.contains(&digits))
                        || x.names.iter().any(|n| n.to_lowercase().contains(&needle));
                    if hit && service::access::may_know_subject(s, &p, x.id.as_str())? {
                        hits.push(x);
                    }
                    Ok(hits.len() == SEARCH_RESULTS_MAX)
                })?;
                Ok(hits)
            })
            .await?;
        web.st.log_reads(&v.principal, found.iter().map(|x| x.id.clone()).collect(), "subject search").await?;
    }
    Ok(shell::page(
        Some(&v),
        "Subjects",
        "/subjects",
        html! {
            form.filters method="get" action="/subjects" role="search" {
                label for="q" { "Record id, A-number or name" }
                input #q type="search" name="q" value=[query.as_deref()] maxlength="200";
                button type="submit" { "Find" }
                a.button.secondary href="/forms/subject" { "Register a person" }
            }
            @if query.is_some() {
                @if found.is_empty() { p { "No person you may see matches." } } @else {
                    table.dense {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Record" } th scope="col" { "Date of birth" } th scope="col" { "A-number" } } }
                        tbody { @for x in &found { tr {
                            td { a href={"/subjects/" (x.id)} { (x.names.join(" / ")) } }
                            td { (x.id) }
                            td { (x.date_of_birth.map(|d| d.to_string()).unwrap_or_default()) }
                            td { (x.a_number.as_ref().map(|a| a.to_string()).unwrap_or_default()) }
                        } } }
                    }
                }
            }
        },
    ))
}

#[derive(serde::Deserialize)]
pub struct SubjectQuery {
    /// "As known at" this date and time (`YYYY-MM-DDTHH:MM`, in UTC).
    as_of: Option<String>,
}

/// The forms a subject's page links to, for the roles that may send them.
const ACTIONS: &[(&str, &str)] = &[
    ("handoff", "Offer custody"),
    ("detainer", "Issue a detainer"),
    ("booking", "Book into a jail"),
    ("encounter", "Record an encounter"),
    ("citizenship-claim", "Citizenship claim"),
    ("citizenship-determination", "Decide the claim"),
    ("identity-verification", "Verify identity"),
    ("release", "Release"),
];

struct SubjectPage {
    subject: domain::subject::Subject,
    custody: Option<domain::custody::Custody>,
    zone: String,
    steps: Vec<(ChainStep, Option<law::Decision>, String)>,
}

fn parse_as_of(s: &str) -> Result<jiff::Timestamp, PageError> {
    let s = s.trim();
    let civil: Result<jiff::civil::DateTime, _> = s.parse();
    civil
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .or_else(|| s.parse::<jiff::Timestamp>().ok())
        .ok_or_else(|| {
            PageError::new(400, "Not valid", format!("as of {s:?} is not a date and time (YYYY-MM-DDTHH:MM, UTC)"))
        })
}

/// The zone a subject's times read in: where the custodian holds them, else its state's.
fn custody_zone(s: &mut dyn Store, c: Option<&domain::custody::Custody>) -> Result<String, service::ServiceError> {
    let Some(held) = c.and_then(|c| c.custodian.as_ref()) else { return Ok("UTC".into()) };
    if let Some(f) = &held.facility
        && let Some(Record::Facility(f)) = s.record(&RecordKey::new(RecordKind::Facility, f.as_str()))?
        && let Some(at) = f.location
    {
        return Ok(law::place::Places::bundled().time_zone(at.lat(), at.lon()).to_string());
    }
    crate::agency_zone(s, &held.agency)
}

pub async fn subject(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<SubjectQuery>,
) -> PageResult {
    let sid =
        domain::SubjectId::parse(&id).map_err(|e| PageError::new(404, "Not found", e.to_string()).for_viewer(&v))?;
    let as_of = match q.as_of.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_as_of(s).map_err(|e| e.for_viewer(&v))?),
        None => None,
    };
    let (p, s2) = (v.principal.clone(), sid.clone());
    web.st
        .read(move |s| service::access::visible_subject(s, &p, s2.as_str()).map(|_| ()))
        .await
        .map_err(|e| PageError::from(e).for_viewer(&v))?;
    web.st.log_reads(&v.principal, vec![sid.clone()], "subject page").await?;
    let (p, law) = (v.principal.clone(), web.st.law.clone());
    let page = web
        .st
        .read(move |s| {
            let mut subject = service::access::visible_subject(s, &p, sid.as_str())?;
            let mut custody = match s.record(&RecordKey::new(RecordKind::Custody, sid.as_str()))? {
                Some(Record::Custody(c)) => Some(c),
                _ => None,
            };
            service::access::hide_unknown_links(s, &p, &mut subject, custody.as_mut())?;
            let zone = custody_zone(s, custody.as_ref())?;
            let entries = s.subject_entries(sid.as_str(), as_of)?;
            let steps = store::ops::chain_of(&entries)
                .into_iter()
                .map(|step| {
                    let e = entries.iter().find(|e| e.seq == step.seq);
                    let decision = e
                        .and_then(|e| e.decision.clone())
                        .and_then(|v| serde_json::from_value::<law::RecordedDecision>(v).ok())
                        .map(|r| law.decide_inputs(&r.inputs));
                    let actor = e.map(|e| e.actor.clone()).unwrap_or_default();
                    (step, decision, actor)
                })
                .collect();
            Ok(SubjectPage { subject, custody, zone, steps })
        })
        .await
        .map_err(|e| PageError::from(e).for_viewer(&v))?;
    Ok(view(&v, page, q.as_of.as_deref()))
}

fn view(v: &Viewer, pg: SubjectPage, as_of: Option<&str>) -> maud::Markup {
    let SubjectPage { subject: x, custody, zone, steps } = pg;
    let title = x.names.first().cloned().unwrap_or_else(|| x.id.to_string());
    let held = custody.as_ref().and_then(|c| c.custodian.as_ref());
    let open_claim = x.citizenship_claims.len() > x.citizenship_determinations.len();
    shell::page(
        Some(v),
        &title,
        "/subjects",
        maud::html! {
            dl.facts {
                dt { "Record" } dd { (x.id) }
                dt { "Names" } dd { (x.names.join(" / ")) }
                dt { "Date of birth" } dd { (x.date_of_birth.map(|d| d.to_string()).unwrap_or_else(|| "not recorded".into())) }
                dt { "A-number" } dd { (x.a_number.as_ref().map(|a| a.to_string()).unwrap_or_else(|| "none recorded".into())) }
                dt { "Held by" } dd #custodian {
                    @match held {
                        Some(h) => {
                            strong { (h.agency) }
                            @if let Some(f) = &h.facility { " at " (f) }
                            " since " (local(h.since, &zone)) " (" (label(&h.basis)) ")"
                        }
                        None => { "No one (not in custody)" }
                    }
                }
                @if let Some(c) = custody.as_ref().and_then(|c| c.pending_handoff.as_ref()) {
                    dt { "Pending handoff" } dd { (c) }
                }
                @if let Some(c) = custody.as_ref().and_then(|c| c.conflict.as_ref()) {
                    dt { "Custody conflict" } dd { "Another record of the same person, " a href={"/subjects/" (c.with)} { (c.with) } ", is held by another agency." }
                }
                dt { "Citizenship" } dd #citizenship {
                    @if x.citizenship_claims.is_empty() { "No claim recorded" }
                    @for c in &x.citizenship_claims { "Claimed " (c.country) " (" (c.evidence.iter().map(label).collect::<Vec<_>>().join(", ")) "). " }
                    @for d in &x.citizenship_determinations { "Determined: " (if d.us_citizen { "a US citizen" } else { "not a US citizen" }) " by " (d.official) ". " }
                    @if open_claim { strong.warn { "Undecided: detainers are refused until a supervisor decides." } }
                }
                @if let Some(c) = &x.identity_check {
                    dt { "Identity check" } dd { (label(&c.result)) " (confidence " (c.confidence) ") by " (c.agency)
                        @if c.awaits_verification() { " — " strong.warn { "awaits a person's verification" } } }
                }
                @if !x.same_person.is_empty() {
                    dt { "Same person as" } dd { @for o in &x.same_person { a href={"/subjects/" (o)} { (o) } " " } }
                }
            }
            nav.actions aria-label="Record for this person" {
                @for (slug, text) in ACTIONS {
                    @if crate::forms::offered(slug, &v.principal) && (*slug != "citizenship-determination" || open_claim) {
                        a.button href={"/forms/" (slug) "?subject=" (x.id)} { (text) }
                    }
                }
            }
            section aria-labelledby="h-chain" {
                h2 #h-chain { "Custody chain" }
                form.filters method="get" {
                    label for="as_of" { "As known at (UTC)" }
                    input #as_of type="datetime-local" name="as_of" value=[as_of];
                    button type="submit" { "Show" }
                    @if as_of.is_some() { a href={"/subjects/" (x.id)} { "Now" } }
                }
                p.muted { "Times are in " (zone) "." }
                @if steps.is_empty() { p { "Nothing recorded" @if as_of.is_some() { " by then" } "." } }
                ol.timeline {
                    @for (step, decision, actor) in &steps {
                        li {
                            p.when { time datetime=(step.valid_at) { (local(step.valid_at, &zone)) }
                                @if let Some(c) = step.corrected_by { " " span.warn { "(time corrected by event " (c) ")" } } }
                            p.what { (step.what) }
                            p.muted { "Recorded " (local(step.recorded_at, &zone)) " by " (actor) " · event " (step.seq) " · "
                                a href={"/ledger/proof/" (step.seq)} { "inclusion proof" } }
                            @if let Some(d) = decision { details { summary { "The law's decision" } (shell::decision(d, &zone)) } }
                        }
                    }
                }
            }
        },
    )
}
