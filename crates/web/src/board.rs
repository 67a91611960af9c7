//! The operations board: what is waiting on someone now. Open handoff offers with the time
//! left to answer, detainers with their hold clocks in the facility's local time, and
//! bookings whose identity check awaits a person's verification; filterable by agency. Only
//! what the viewer may know exists is listed, and the people named are logged as read.

use crate::session::Viewer;
use crate::{PageResult, W, local, shell};
use domain::custody::HandoffStatus;
use domain::detainer::DetainerStatus;
use domain::{Record, RecordKey, RecordKind};
use maud::html;
use service::Principal;
use service::views::{DetainerView, hold_time_zone};
use store::Store;

/// Records of one kind the board looks through at most (the newest are not favoured: ids
/// order them); past it the board says it is incomplete.
const SCAN_MAX: usize = 20_000;

#[derive(serde::Deserialize)]
pub struct BoardQuery {
    agency: Option<String>,
}

struct Board {
    handoffs: Vec<(domain::custody::Handoff, String, String)>,
    detainers: Vec<(DetainerView, String, String)>,
    verifications: Vec<domain::subject::Subject>,
    agencies: std::collections::BTreeSet<String>,
    truncated: bool,
}

fn name_of(s: &mut dyn Store, id: &str) -> Result<String, service::ServiceError> {
    Ok(match s.record(&RecordKey::new(RecordKind::Subject, id))? {
        Some(Record::Subject(x)) => x.names.first().cloned().unwrap_or_else(|| id.to_string()),
        _ => id.to_string(),
    })
}

fn read_board(s: &mut dyn Store, p: &Principal, agency: Option<&str>) -> Result<Board, service::ServiceError> {
    let mut b = Board {
        handoffs: vec![],
        detainers: vec![],
        verifications: vec![],
        agencies: Default::default(),
        truncated: false,
    };
    let keep = |a: &str, c: &str| agency.is_none_or(|x| x == a || x == c);
    let mut records = vec![];
    for kind in [RecordKind::Handoff, RecordKind::Detainer] {
        b.truncated |= crate::scan(s, kind, SCAN_MAX, &mut |_, r| {
            records.push(r);
            Ok(false)
        })?;
    }
    for r in records {
        if !service::access::may_know(s, p, &r)? {
            continue;
        }
        match r {
            Record::Handoff(h) if h.status == HandoffStatus::Offered => {
                b.agencies.insert(h.releasing.agency.to_string());
                b.agencies.insert(h.receiving.agency.to_string());
                if keep(h.releasing.agency.as_str(), h.receiving.agency.as_str()) {
                    let name = name_of(s, h.subject.as_str())?;
                    let zone = crate::agency_zone(s, &h.releasing.agency)?;
                    b.handoffs.push((h, name, zone));
                }
            }
            Record::Detainer(d)
                if matches!(d.status, DetainerStatus::Issued | DetainerStatus::Accepted | DetainerStatus::Holding) =>
            {
                b.agencies.insert(d.issuing_agency.to_string());
                b.agencies.insert(d.recipient_agency.to_string());
                if keep(d.issuing_agency.as_str(), d.recipient_agency.as_str()) {
                    let zone = hold_time_zone(&d, &mut |k| s.record(k))?;
                    let name = name_of(s, d.subject.as_str())?;
                    b.detainers.push((DetainerView::new(d, &zone), zone, name));
                }
            }
            _ => {}
        }
    }
    let mut subjects = vec![];
    b.truncated |= crate::scan(s, RecordKind::Subject, SCAN_MAX, &mut |_, r| {
        if let Record::Subject(x) = r
            && x.identity_check.as_ref().is_some_and(|c| c.awaits_verification())
        {
            subjects.push(x);
        }
        Ok(false)
    })?;
    for x in subjects {
        if !service::access::may_know_subject(s, p, x.id.as_str())? {
            continue;
        }
        let by = x.identity_check.as_ref().map(|c| c.agency.to_string()).unwrap_or_default();
        b.agencies.insert(by.clone());
        if agency.is_none_or(|a| a == by) {
            b.verifications.push(x);
        }
    }
    b.handoffs.sort_by_key(|(h, _, _)| h.expires_at);
    b.detainers.sort_by_key(|(d, _, _)| d.hold.as_ref().map(|h| h.deadline));
    Ok(b)
}

pub async fn board(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Query(q): axum::extract::Query<BoardQuery>,
) -> PageResult {
    let p = v.principal.clone();
    let agency = q.agency.filter(|a| !a.is_empty());
    let a2 = agency.clone();
    let b = web
        .st
        .read(move |s| read_board(s, &p, a2.as_deref()))
        .await
        .map_err(|e| crate::PageError::from(e).for_viewer(&v))?;
    let mut read: Vec<domain::SubjectId> = b.handoffs.iter().map(|(h, _, _)| h.subject.clone()).collect();
    read.extend(b.detainers.iter().map(|(d, _, _)| d.detainer.subject.clone()));
    read.extend(b.verifications.iter().map(|s| s.id.clone()));
    read.sort();
    read.dedup();
    web.st.log_reads(&v.principal, read, "operations board").await?;
    let now = jiff::Timestamp::now();
    Ok(shell::page(
        Some(&v),
        "Operations board",
        "/",
        html! {
            form.filters method="get" action="/" {
                label for="agency" { "Agency" }
                select #agency name="agency" {
                    option value="" { "All agencies" }
                    @for a in &b.agencies { option value=(a) selected[agency.as_deref() == Some(a.as_str())] { (a) } }
                }
                button type="submit" { "Filter" }
            }
            @if b.truncated { div.notice role="status" { p { "The board looked at the first " (SCAN_MAX) " records of a kind only." } } }
            section aria-labelledby="h-handoffs" {
                h2 #h-handoffs { "Handoff offers awaiting an answer (" (b.handoffs.len()) ")" }
                @if b.handoffs.is_empty() { p.muted { "None." } } @else {
                    table.dense {
                        thead { tr { th scope="col" { "Subject" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "Offered" } th scope="col" { "Expires" } th scope="col" { "Time left" } th scope="col" { "" } } }
                        tbody {
                            @for (h, name, zone) in &b.handoffs {
                                tr {
                                    td { a href={"/subjects/" (h.subject)} { (name) } br; span.muted { (h.subject) } }
                                    td { (h.releasing.agency) }
                                    td { (h.receiving.agency) }
                                    td { (local(h.offered_at, zone)) }
                                    td { (local(h.expires_at, zone)) }
                                    td { span.timer data-deadline=(h.expires_at.as_second()) { (crate::left(now, h.expires_at)) } }
                                    td { @if h.receiving.agency == v.principal.agency {
                                        a.button href={"/forms/handoff-answer?handoff=" (h.id)} { "Answer" }
                                    } }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="h-detainers" {
                h2 #h-detainers { "Open detainers (" (b.detainers.len()) ")" }
                @if b.detainers.is_empty() { p.muted { "None." } } @else {
                    table.dense {
                        thead { tr { th scope="col" { "Subject" } th scope="col" { "Detainer" } th scope="col" { "Issued by" } th scope="col" { "To" } th scope="col" { "Status" } th scope="col" { "Hold must end by (facility time)" } th scope="col" { "Time left" } th scope="col" { "" } } }
                        tbody {
                            @for (d, zone, name) in &b.detainers {
                                tr {
                                    td { a href={"/subjects/" (d.detainer.subject)} { (name) } br; span.muted { (d.detainer.subject) } }
                                    td { (d.detainer.id) " · " (crate::label(&d.detainer.form)) }
                                    td { (d.detainer.issuing_agency) }
                                    td { (d.detainer.recipient_agency) }
                                    td { (crate::label(&d.detainer.status)) }
                                    td { @if let Some(h) = &d.hold { (local(h.deadline, zone)) br; span.muted { (zone) } } @else { span.muted { "not release-eligible yet" } } }
                                    td { @if let Some(h) = &d.hold { span.timer data-deadline=(h.deadline.as_second()) { (crate::left(now, h.deadline)) } } }
                                    td { a.button href={"/forms/detainer-step?detainer=" (d.detainer.id)} { "Next step" } }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="h-verify" {
                h2 #h-verify { "Bookings awaiting identity verification (" (b.verifications.len()) ")" }
                @if b.verifications.is_empty() { p.muted { "None." } } @else {
                    table.dense {
                        thead { tr { th scope="col" { "Subject" } th scope="col" { "Checked by" } th scope="col" { "Result" } th scope="col" { "Checked" } th scope="col" { "" } } }
                        tbody {
                            @for x in &b.verifications {
                                @let c = x.identity_check.as_ref().expect("filtered");
                                tr {
                                    td { a href={"/subjects/" (x.id)} { (x.names.first().map_or("", |n| n.as_str())) } br; span.muted { (x.id) } }
                                    td { (c.agency) }
                                    td { (crate::label(&c.result)) " (confidence " (c.confidence) ")" }
                                    td { (local(c.checked_at, "UTC")) }
                                    td { a.button href={"/forms/identity-verification?subject=" (x.id)} { "Verify" } }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}
