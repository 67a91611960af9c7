//! The public registry (287(g) agreements: a county map, a sortable table, each agreement's
//! page) and operations ("who was where": deployments by city, headcounts and arrests by
//! agency). The registry is public to every principal; an operation is listed only to its
//! participants and oversight, and only counts of its encounters are shown.

use crate::session::Viewer;
use crate::{PageError, PageResult, W, label, shell};
use domain::agreement::{Agreement, AgreementKind};
use domain::{Record, RecordKind};
use maud::html;
use reports::map;
use std::collections::{BTreeMap, HashMap};
use store::Store;

/// Rows of the agreements table per page.
const PAGE_ROWS: usize = 200;

fn all(s: &mut dyn Store, kind: RecordKind) -> Result<Vec<Record>, service::ServiceError> {
    let mut out = vec![];
    crate::scan(s, kind, usize::MAX, &mut |_, r| {
        out.push(r);
        Ok(false)
    })?;
    Ok(out)
}

/// An agreement as the table shows it.
struct Row {
    agreement: Agreement,
    agency: String,
    agency_name: String,
    state: String,
    county: String,
    fips: Option<&'static str>,
    model: String,
}

fn rows(s: &mut dyn Store) -> Result<Vec<Row>, service::ServiceError> {
    let agencies: HashMap<String, domain::agency::Agency> = all(s, RecordKind::Agency)?
        .into_iter()
        .filter_map(|r| if let Record::Agency(a) = r { Some((a.id.to_string(), a)) } else { None })
        .collect();
    Ok(all(s, RecordKind::Agreement)?
        .into_iter()
        .filter_map(|r| if let Record::Agreement(a) = r { Some(a) } else { None })
        .map(|a| {
            let partner = a.parties.iter().map(|p| p.to_string()).find(|p| p != "ICE-ERO").unwrap_or_default();
            let ag = agencies.get(&partner);
            let state = ag.and_then(|g| g.state.as_ref()).map(|s| s.to_string()).unwrap_or_default();
            let county = ag
                .and_then(|g| g.coverage.first())
                .and_then(|c| c.split_once('/'))
                .map(|(_, c)| c.to_string())
                .unwrap_or_default();
            let fips = map::county_fips(&state, &county);
            let model = match &a.kind {
                AgreementKind::Moa287g { model } => label(model),
                other => {
                    label(&serde_json::to_value(other).ok().and_then(|v| v.get("kind").cloned()).unwrap_or_default())
                }
            };
            Row {
                agency_name: ag.map(|g| g.name.clone()).unwrap_or_else(|| partner.clone()),
                agency: partner,
                state,
                county,
                fips,
                model,
                agreement: a,
            }
        })
        .collect())
}

#[derive(serde::Deserialize, Default)]
pub struct AgreementQuery {
    model: Option<String>,
    state: Option<String>,
    signed_from: Option<String>,
    signed_to: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    by: Option<String>,
    page: Option<usize>,
}

impl AgreementQuery {
    fn keep(&self, r: &Row) -> Result<bool, String> {
        let date = |s: &Option<String>, what: &str| -> Result<Option<jiff::civil::Date>, String> {
            match s.as_deref().filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(d) => d.parse().map(Some).map_err(|_| format!("{what} {d:?} is not a date (YYYY-MM-DD)")),
            }
        };
        let (from, to) = (date(&self.signed_from, "signed from")?, date(&self.signed_to, "signed to")?);
        let eq = |f: &Option<String>, v: &str| {
            f.as_deref().filter(|x| !x.is_empty()).is_none_or(|x| x.eq_ignore_ascii_case(v))
        };
        Ok(eq(&self.model, &r.model)
            && eq(&self.state, &r.state)
            && eq(&self.status, &label(&r.agreement.status))
            && from.is_none_or(|f| r.agreement.signed_on >= f)
            && to.is_none_or(|t| r.agreement.signed_on <= t))
    }

    /// This query with one parameter changed, as a link.
    fn with(&self, key: &str, value: &str) -> String {
        let mut parts = vec![];
        let mut push = |k: &str, v: &Option<String>| {
            let v = if k == key { Some(value.to_string()) } else { v.clone() };
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", crate::session::encode(&v)));
            }
        };
        push("model", &self.model);
        push("state", &self.state);
        push("signed_from", &self.signed_from);
        push("signed_to", &self.signed_to);
        push("status", &self.status);
        push("sort", &self.sort);
        push("by", &self.by);
        format!("/agreements?{}", parts.join("&"))
    }
}

pub async fn agreements(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Query(q): axum::extract::Query<AgreementQuery>,
) -> PageResult {
    let mut all_rows = web.st.read(rows).await.map_err(|e| PageError::from(e).for_viewer(&v))?;
    let states: std::collections::BTreeSet<String> =
        all_rows.iter().map(|r| r.state.clone()).filter(|s| !s.is_empty()).collect();
    let models: std::collections::BTreeSet<String> = all_rows.iter().map(|r| r.model.clone()).collect();
    let mut bad = None;
    all_rows.retain(|r| match q.keep(r) {
        Ok(k) => k,
        Err(e) => {
            bad = Some(e);
            false
        }
    });
    if let Some(e) = bad {
        return Err(PageError::new(400, "Not valid", e).for_viewer(&v));
    }
    let sort = q.sort.clone().unwrap_or_else(|| "signed".into());
    match sort.as_str() {
        "agency" => all_rows.sort_by(|a, b| a.agency_name.cmp(&b.agency_name)),
        "state" => all_rows.sort_by(|a, b| (&a.state, &a.county).cmp(&(&b.state, &b.county))),
        "model" => all_rows.sort_by(|a, b| a.model.cmp(&b.model)),
        _ => all_rows.sort_by_key(|r| std::cmp::Reverse(r.agreement.signed_on)),
    }
    let by_state = q.by.as_deref() == Some("state");
    let mut per_state: BTreeMap<String, u32> = BTreeMap::new();
    let mut per_county: HashMap<String, u32> = HashMap::new();
    for r in &all_rows {
        *per_state.entry(r.state.clone()).or_default() += 1;
        if let Some(f) = r.fips {
            *per_county.entry(f.to_string()).or_default() += 1;
        }
    }
    let values: HashMap<String, u32> = if by_state {
        map::shapes().iter().map(|s| (s.fips.clone(), per_state.get(s.state).copied().unwrap_or(0))).collect()
    } else {
        per_county
    };
    let unplaced = all_rows.iter().filter(|r| r.fips.is_none()).count();
    let page = q.page.unwrap_or(0);
    let pages = all_rows.len().div_ceil(PAGE_ROWS).max(1);
    if page >= pages {
        return Err(PageError::new(404, "Not found", format!("there are {pages} pages")).for_viewer(&v));
    }
    let shown = &all_rows[page * PAGE_ROWS..((page + 1) * PAGE_ROWS).min(all_rows.len())];
    let title = if by_state { "287(g) agreements by state" } else { "287(g) agreements by county" };
    Ok(shell::page(
        Some(&v),
        "287(g) agreements",
        "/agreements",
        html! {
            p.intro { "ICE's published list of 287(g) agreements (snapshot of 2026-05-18; reference/PROVENANCE.md), with agreements recorded here since." }
            form.filters method="get" action="/agreements" {
                label for="model" { "Model" }
                select #model name="model" { option value="" { "All" } @for m in &models { option value=(m) selected[q.model.as_deref() == Some(m.as_str())] { (m) } } }
                label for="state" { "State" }
                select #state name="state" { option value="" { "All" } @for s in &states { option value=(s) selected[q.state.as_deref() == Some(s.as_str())] { (s) } } }
                label for="signed_from" { "Signed from" }
                input #signed_from type="date" name="signed_from" value=[q.signed_from.as_deref()];
                label for="signed_to" { "to" }
                input #signed_to type="date" name="signed_to" value=[q.signed_to.as_deref()];
                label for="by" { "Map" }
                select #by name="by" { option value="county" { "By county" } option value="state" selected[by_state] { "By state" } }
                input type="hidden" name="sort" value=(sort);
                button type="submit" { "Filter" }
            }
            p { strong { (all_rows.len()) } " agreements match." @if unplaced > 0 { " " (unplaced) " name no county the Census outlines know (cities, state agencies) and are not on the county map." } }
            div.split {
                (map::choropleth(&values, title, "agreements"))
                div.side {
                    table.dense {
                        caption { "Agreements by state" }
                        thead { tr { th scope="col" { "State" } th scope="col".num { "Agreements" } } }
                        tbody { @for (s, n) in &per_state { tr { td { a href=(q.with("state", s)) { (s) } } td.num { (n) } } } }
                    }
                }
            }
            table.dense #agreements {
                caption { "Agreements, page " (page + 1) " of " (pages) }
                thead { tr {
                    th scope="col" aria-sort=[(sort == "agency").then_some("ascending")] { a href=(q.with("sort", "agency")) { "Agency" } }
                    th scope="col" aria-sort=[(sort == "state").then_some("ascending")] { a href=(q.with("sort", "state")) { "State, county" } }
                    th scope="col" aria-sort=[(sort == "model").then_some("ascending")] { a href=(q.with("sort", "model")) { "Model" } }
                    th scope="col" aria-sort=[(sort == "signed").then_some("descending")] { a href=(q.with("sort", "signed")) { "Signed" } }
                    th scope="col" { "Status" }
                } }
                tbody { @for r in shown { tr {
                    td { a href={"/agreements/" (r.agreement.id)} { (r.agency_name) } }
                    td { (r.state) @if !r.county.is_empty() { ", " (r.county) } }
                    td { (r.model) }
                    td { (r.agreement.signed_on) }
                    td { (label(&r.agreement.status)) }
                } } }
            }
            nav.pager aria-label="Pages" {
                @if page > 0 { a href={(q.with("sort", &sort)) "&page=" (page - 1)} { "Previous" } }
                @if page + 1 < pages { a href={(q.with("sort", &sort)) "&page=" (page + 1)} { "Next" } }
            }
        },
    ))
}

pub async fn agreement(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> PageResult {
    let id2 = id.clone();
    let rows = web.st.read(rows).await.map_err(|e| PageError::from(e).for_viewer(&v))?;
    let r = rows
        .into_iter()
        .find(|r| r.agreement.id.as_str() == id2)
        .ok_or_else(|| PageError::new(404, "Not found", format!("no agreement {id:?}")).for_viewer(&v))?;
    Ok(shell::page(
        Some(&v),
        &format!("{} · {}", r.agency_name, r.model),
        "/agreements",
        html! {
            dl.facts {
                dt { "Agreement" } dd { (r.agreement.id) }
                dt { "Agency" } dd { (r.agency_name) " (" (r.agency) ")" }
                dt { "Where" } dd { (r.state) @if !r.county.is_empty() { ", " (r.county) } @if let Some(f) = r.fips { " (county FIPS " (f) ")" } }
                dt { "Kind" } dd { (r.model) }
                dt { "Parties" } dd { (r.agreement.parties.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")) }
                dt { "Signed" } dd { (r.agreement.signed_on) }
                dt { "Status" } dd { (label(&r.agreement.status)) }
                @if let Some(u) = &r.agreement.source_url { dt { "Text" } dd { a href=(u) rel="noreferrer" { "The memorandum as ICE publishes it" } } }
            }
            p { a href={"/law?action=enter_287g_agreement&state=" (r.state)} { "Ask the law whether this state lets an agency enter such an agreement" } }
        },
    ))
}

struct OpRow {
    op: domain::operation::Operation,
    arrests: BTreeMap<String, u32>,
}

pub async fn operations(axum::extract::State(web): W, v: Viewer) -> PageResult {
    let p = v.principal.clone();
    let ops = web
        .st
        .read(move |s| {
            let mut ops = vec![];
            for r in all(s, RecordKind::Operation)? {
                if service::access::may_know(s, &p, &r)?
                    && let Record::Operation(op) = r
                {
                    ops.push(OpRow { op, arrests: BTreeMap::new() });
                }
            }
            if !ops.is_empty() {
                for r in all(s, RecordKind::Encounter)? {
                    if let Record::Encounter(e) = r
                        && e.arrest
                        && let Some(o) = ops.iter_mut().find(|o| Some(&o.op.id) == e.operation.as_ref())
                    {
                        *o.arrests.entry(e.agency.to_string()).or_default() += 1;
                    }
                }
            }
            Ok(ops)
        })
        .await
        .map_err(|e| PageError::from(e).for_viewer(&v))?;
    Ok(shell::page(
        Some(&v),
        "Operations",
        "/operations",
        html! {
            p.intro { "Deployments by city: who was there, how many, for whom they worked, and the arrests each agency recorded. You see the operations your agency takes part in." }
            p { a.button href="/forms/operation" { "Plan an operation" } }
            @if ops.is_empty() { p { "No operation you may see." } }
            @for o in &ops {
                section.card {
                    h2 { (o.op.name) " — " (o.op.city) ", " (o.op.state) }
                    p.muted { (o.op.starts_on) " to " (o.op.ends_on.map(|d| d.to_string()).unwrap_or_else(|| "open".into())) " · " (label(&o.op.status)) " · " (o.op.encounters) " encounters, " (o.op.arrests) " arrests" }
                    table.dense {
                        caption { "Who was there" }
                        thead { tr { th scope="col" { "Agency" } th scope="col" { "Working for" } th scope="col" .num { "Headcount" } th scope="col" .num { "Arrests recorded" } } }
                        tbody { @for part in &o.op.participants { tr {
                            td { (part.agency) }
                            td { (part.detailed_to.as_ref().map(|d| d.to_string()).unwrap_or_else(|| "itself".into())) }
                            td.num { (part.headcount) }
                            td.num { (o.arrests.get(part.agency.as_str()).copied().unwrap_or(0)) }
                        } } }
                    }
                }
            }
        },
    ))
}
