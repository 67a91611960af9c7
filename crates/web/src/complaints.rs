//! Complaints: the list a viewer may know (oversight: all; anyone else: their agency's), and a
//! complaint's page with the events it names, its handling, and oversight's next step.

use crate::session::Viewer;
use crate::{PageError, PageResult, W, label, local, shell};
use domain::complaint::{Complaint, ComplaintStatus};
use domain::{Record, RecordKind};
use maud::html;
use service::ApiRole;

/// Complaints listed at most.
const LIST_MAX: usize = 500;

pub async fn list(axum::extract::State(web): W, v: Viewer) -> PageResult {
    let p = v.principal.clone();
    let mut all = web
        .st
        .read(move |s| {
            let mut out = vec![];
            crate::scan(s, RecordKind::Complaint, usize::MAX, &mut |s, r| {
                if service::access::may_know(s, &p, &r)?
                    && let Record::Complaint(c) = r
                {
                    out.push(c);
                }
                Ok(out.len() == LIST_MAX)
            })?;
            Ok(out)
        })
        .await
        .map_err(|e| PageError::from(e).for_viewer(&v))?;
    all.sort_by_key(|c| std::cmp::Reverse(c.filed_at));
    Ok(shell::page(
        Some(&v),
        "Complaints",
        "/complaints",
        html! {
            p.intro { "Complaints against recorded acts, each naming the events it concerns. Filing, assignment and resolution are each recorded in the ledger. You see "
                (if v.principal.is_oversight() { "every complaint" } else { "your agency's complaints" }) "." }
            p { a.button href="/forms/complaint" { "File a complaint" } }
            @if all.is_empty() { p { "No complaint you may see." } } @else {
                table.dense #complaints {
                    thead { tr { th scope="col" { "Complaint" } th scope="col" { "Filed (UTC)" } th scope="col" { "By" } th scope="col" { "Events" } th scope="col" { "Status" } th scope="col" { "Assigned to" } th scope="col" { "Outcome" } } }
                    tbody { @for c in &all { tr {
                        td { a href={"/complaints/" (c.id)} { (c.id) } }
                        td { (local(c.filed_at, "UTC")) }
                        td { (c.filed_by) " of " (c.agency) }
                        td { (c.events.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")) }
                        td { (label(&c.status)) }
                        td { (c.assignee.clone().unwrap_or_default()) }
                        td { (c.outcome.as_ref().map(label).unwrap_or_default()) }
                    } } }
                }
            }
        },
    ))
}

pub async fn complaint(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> PageResult {
    let p = v.principal.clone();
    let id2 = id.clone();
    let c: Complaint = web
        .st
        .read(move |s| match service::access::visible(s, &p, RecordKind::Complaint, &id2)? {
            Record::Complaint(c) => Ok(c),
            _ => Err(service::ServiceError::not_found("complaint", &id2)),
        })
        .await
        .map_err(|e| PageError::from(e).for_viewer(&v))?;
    let oversight = v.principal.has(ApiRole::Oversight);
    Ok(shell::page(
        Some(&v),
        &format!("Complaint {}", c.id),
        "/complaints",
        html! {
            dl.facts {
                dt { "Filed" } dd { (local(c.filed_at, "UTC")) " by " (c.filed_by) " of " (c.agency) }
                dt { "Events" } dd { @for e in &c.events { a href={"/ledger/proof/" (e)} { "event " (e) } " " } }
                dt { "Complaint" } dd { (c.text) }
                dt { "Status" } dd #status { (label(&c.status)) }
                @if let Some(a) = &c.assignee { dt { "Assigned to" } dd { (a) } }
                @if let Some(o) = &c.outcome { dt { "Outcome" } dd { (label(o)) } }
                @if let Some(r) = &c.resolution { dt { "Reasons" } dd { (r) } }
            }
            @if oversight && c.status != ComplaintStatus::Resolved {
                nav.actions aria-label="Handle this complaint" {
                    a.button href={"/forms/complaint-assignment?complaint=" (c.id)} { "Assign" }
                    @if c.status == ComplaintStatus::Assigned { a.button href={"/forms/complaint-resolution?complaint=" (c.id)} { "Resolve" } }
                }
            }
            p.muted { "Every step is in the ledger: search the audit for " code { "complaint_filed" } ", " code { "complaint_assigned" } " and " code { "complaint_resolved" } "." }
        },
    ))
}
