//! Oversight: the audit search (including who read whose record), verification of the whole
//! ledger run from the page, the current signed checkpoint to download, and one event's
//! inclusion proof, checked here and given with what an auditor needs to check it elsewhere.

use crate::session::{Viewer, check_csrf};
use crate::{PageError, PageResult, W, local, shell};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use maud::html;
use service::ApiRole;

/// Events an audit search looks through at most, newest first.
const AUDIT_SCAN_MAX: u64 = 100_000;
/// Events an audit search shows at most.
const AUDIT_ROWS: usize = 100;

fn auditor(v: &Viewer) -> Result<(), PageError> {
    if v.principal.has_any(&[ApiRole::Oversight, ApiRole::Administrator]) {
        Ok(())
    } else {
        Err(PageError::new(
            403,
            "Not permitted",
            "the audit and the ledger's verification are for oversight and administrators",
        )
        .for_viewer(v))
    }
}

#[derive(serde::Deserialize)]
pub struct AuditQuery {
    subject: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    actor: Option<String>,
}

struct Found {
    seq: u64,
    at: jiff::Timestamp,
    actor: String,
    type_: &'static str,
    subject: Option<domain::SubjectId>,
    detail: String,
}

fn describe(e: &domain::Event) -> String {
    match e {
        domain::Event::SubjectRecordRead { reader, agency, what, .. } => {
            format!("{reader} of {agency} read the record ({what})")
        }
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| {
                v.as_object().map(|m| m.keys().filter(|k| *k != "type").cloned().collect::<Vec<_>>().join(", "))
            })
            .unwrap_or_default(),
    }
}

pub async fn audit(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Query(q): axum::extract::Query<AuditQuery>,
) -> PageResult {
    auditor(&v)?;
    let clean =
        |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty() && s.len() <= 200).map(String::from);
    let (subject, type_, actor) = (clean(&q.subject), clean(&q.type_), clean(&q.actor));
    let subject_id = match &subject {
        Some(s) => Some(
            domain::SubjectId::parse(s).map_err(|e| PageError::new(400, "Not valid", e.to_string()).for_viewer(&v))?,
        ),
        None => None,
    };
    let p = v.principal.clone();
    let (t2, a2, s2) = (type_.clone(), actor.clone(), subject_id.clone());
    let found = web
        .st
        .read(move |s| {
            let mut out = vec![];
            let keep = |e: &ledger::Entry<domain::Event>| {
                t2.as_deref().is_none_or(|t| e.event.type_name() == t) && a2.as_deref().is_none_or(|a| e.actor == a)
            };
            let entries: Vec<ledger::Entry<domain::Event>> = match &s2 {
                Some(sid) => {
                    service::access::visible_subject(s, &p, sid.as_str())?;
                    let mut v = s.subject_entries(sid.as_str(), None)?;
                    v.reverse();
                    v
                }
                None => {
                    let size = s.size()?;
                    let mut v = vec![];
                    let mut end = size;
                    while end > 0 && size - end < AUDIT_SCAN_MAX && v.len() < AUDIT_ROWS * 10 {
                        let from = end.saturating_sub(1000);
                        let mut chunk = s
                            .entries(from, (end - from) as usize)?
                            .into_iter()
                            .map(|se| se.decode())
                            .collect::<Result<Vec<_>, _>>()?;
                        chunk.reverse();
                        v.extend(chunk.into_iter().filter(&keep));
                        end = from;
                    }
                    v
                }
            };
            for e in entries.into_iter().filter(keep) {
                if !service::access::may_know_event(s, &p, &e.event)? {
                    continue;
                }
                let subject = service::access::event_subject(s, &e.event)?;
                out.push(Found {
                    seq: e.seq,
                    at: e.recorded_at,
                    actor: e.actor.clone(),
                    type_: e.event.type_name(),
                    subject,
                    detail: describe(&e.event),
                });
                if out.len() == AUDIT_ROWS {
                    break;
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| PageError::from(e).for_viewer(&v))?;
    let mut read: Vec<domain::SubjectId> = found.iter().filter_map(|f| f.subject.clone()).collect();
    read.sort();
    read.dedup();
    web.st.log_reads(&v.principal, read, "audit search").await?;
    Ok(shell::page(
        Some(&v),
        "Audit",
        "/oversight/audit",
        html! {
            nav.tabs aria-label="Oversight" {
                a href="/oversight/audit" aria-current="page" { "Audit search" }
                a href="/oversight/verify" { "Verify the ledger" }
                a href="/complaints" { "Complaints" }
                a href="/public/ledger" { "Ledger report" }
            }
            form.filters method="get" action="/oversight/audit" role="search" {
                label for="type" { "Event type" }
                input #type name="type" value=[type_.as_deref()] list="types" placeholder="e.g. subject_record_read";
                datalist #types { option value="subject_record_read" {} option value="handoff_offered" {} option value="handoff_accepted" {} option value="detainer_issued" {} option value="citizenship_claimed" {} }
                label for="subject" { "Subject" }
                input #subject name="subject" value=[subject.as_deref()];
                label for="actor" { "Actor" }
                input #actor name="actor" value=[actor.as_deref()];
                button type="submit" { "Search" }
                a href="/oversight/audit?type=subject_record_read" { "Who read whose record" }
            }
            p.muted { "Newest first; at most " (AUDIT_ROWS) " events. The people named here are logged as read by you." }
            table.dense #audit {
                thead { tr { th scope="col" { "Event" } th scope="col" { "Recorded (UTC)" } th scope="col" { "Actor" } th scope="col" { "Type" } th scope="col" { "Subject" } th scope="col" { "What" } } }
                tbody { @for f in &found { tr {
                    td { a href={"/ledger/proof/" (f.seq)} { (f.seq) } }
                    td { (local(f.at, "UTC")) }
                    td { (f.actor) }
                    td { (f.type_) }
                    td { @if let Some(s) = &f.subject { a href={"/subjects/" (s)} { (s) } } }
                    td { (f.detail) }
                } } }
            }
        },
    ))
}

pub async fn verify_page(v: Viewer) -> PageResult {
    auditor(&v)?;
    Ok(verify_view(&v, None))
}

fn verify_view(v: &Viewer, report: Option<Result<store::verify::VerifyReport, String>>) -> maud::Markup {
    shell::page(
        Some(v),
        "Verify the ledger",
        "/oversight/audit",
        html! {
            nav.tabs aria-label="Oversight" {
                a href="/oversight/audit" { "Audit search" }
                a href="/oversight/verify" aria-current="page" { "Verify the ledger" }
                a href="/complaints" { "Complaints" }
                a href="/public/ledger" { "Ledger report" }
            }
            p.intro { "Checks every stored byte against the hashed entries: the hash chain, the Merkle tree, every signed checkpoint, every index and the law versions. To check the server itself, download the checkpoint, keep it, and verify a copy of the log against it with " code { "liaison verify --export FILE --checkpoint checkpoint.txt" } "." }
            form method="post" action="/oversight/verify" {
                input type="hidden" name="csrf" value=(v.csrf);
                button type="submit" { "Verify now" }
                " "
                a.button.secondary href="/oversight/checkpoint.txt" download="checkpoint.txt" { "Download the signed checkpoint" }
            }
            @match report {
                None => {}
                Some(Ok(r)) => div.notice.ok role="status" #verified {
                    p { strong { "Verified." } " " (r.count) " events; Merkle root " code { (hex::encode(r.root)) } "." }
                    p { (r.checkpoints_checked) " signed checkpoints, " (r.nodes_checked) " Merkle nodes, " (r.commands_checked) " idempotency records, " (r.law_versions_checked) " law versions and " (r.cosignatures_checked) " cosignatures checked." }
                }
                Some(Err(e)) => div.notice.error role="alert" #verified { p { strong { "Verification failed: " } (e) } }
            }
        },
    )
}

pub async fn verify(
    axum::extract::State(web): W,
    v: Viewer,
    headers: HeaderMap,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    auditor(&v)?;
    let csrf = f.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    check_csrf(&v, &headers, csrf)?;
    let report = web
        .st
        .read(|s| {
            let law_hash = |kept: &str| law::kept_rules_hash(kept);
            let opts = store::verify::VerifyOptions { rules_hash: Some(&law_hash), ..Default::default() };
            Ok(store::verify::verify(s, &opts, &mut |_| {}).map_err(|e| e.to_string()))
        })
        .await
        .map_err(|e| PageError::from(e).for_viewer(&v))?;
    Ok(verify_view(&v, Some(report)))
}

/// The latest signed checkpoint as a C2SP signed note (any signed-in principal).
pub async fn checkpoint(axum::extract::State(web): W, v: Viewer) -> Result<axum::response::Response, PageError> {
    let note = web
        .st
        .read(|s| {
            let size = s.size()?;
            Ok(s.checkpoint_at(size)?.map(|c| c.to_note()))
        })
        .await
        .map_err(|e| PageError::from(e).for_viewer(&v))?
        .ok_or_else(|| PageError::new(404, "Not found", "the log is empty").for_viewer(&v))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"checkpoint.txt\""),
        ],
        note,
    )
        .into_response())
}

struct Proof {
    seq: u64,
    size: u64,
    leaf: String,
    root: String,
    path: Vec<String>,
    ok: bool,
    note: String,
}

/// An event's inclusion proof in the latest signed checkpoint, checked here. Only for events
/// the viewer may know about; any other number is the same 404 as one beyond the log.
pub async fn proof(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Path(seq): axum::extract::Path<String>,
) -> PageResult {
    let not_found = || PageError::new(404, "Not found", format!("no event {seq:?} is visible to you"));
    let n: u64 = seq.parse().map_err(|_| not_found().for_viewer(&v))?;
    let p = v.principal.clone();
    let proof = web
        .st
        .read(move |s| {
            let Some(se) = s.entries(n, 1)?.into_iter().next().filter(|se| se.seq == n) else { return Ok(None) };
            if !service::access::may_know_event(s, &p, &se.decode()?.event)? {
                return Ok(None);
            }
            let size = s.size()?;
            let Some(cp) = s.checkpoint_at(size)? else { return Ok(None) };
            let path = s.inclusion_proof(n, size)?;
            let root = s.root_at(size)?;
            let ok = ledger::merkle::verify_inclusion(&root, size, n, &se.bytes, &path) && cp.checkpoint.root == root;
            Ok(Some(Proof {
                seq: n,
                size,
                leaf: hex::encode(se.leaf),
                root: hex::encode(root),
                path: path.iter().map(hex::encode).collect(),
                ok,
                note: cp.to_note(),
            }))
        })
        .await
        .map_err(|e| PageError::from(e).for_viewer(&v))?
        .ok_or_else(|| not_found().for_viewer(&v))?;
    Ok(shell::page(
        Some(&v),
        &format!("Inclusion proof of event {}", proof.seq),
        "",
        html! {
            @if proof.ok {
                div.notice.ok role="status" { p { "Event " (proof.seq) " is in the log of " (proof.size) " events that the signed checkpoint below commits to (RFC 9162 audit path, checked here)." } }
            } @else {
                div.notice.error role="alert" { p { "The proof does not check against the signed checkpoint: the log may have been altered." } }
            }
            dl.facts {
                dt { "Leaf hash" } dd { code { (proof.leaf) } }
                dt { "Tree size" } dd { (proof.size) }
                dt { "Root" } dd { code { (proof.root) } }
                dt { "Audit path" } dd { ol { @for h in &proof.path { li { code { (h) } } } } }
            }
            h2 { "Signed checkpoint" }
            pre.note { (proof.note) }
            p.muted { "Check it elsewhere: " code { "liaison proof inclusion --seq " (proof.seq) } " against a copy of the log, and the checkpoint with the log's public key." }
            p { a.button.secondary href={"/forms/complaint?events=" (proof.seq)} { "File a complaint about this event" } }
        },
    ))
}
