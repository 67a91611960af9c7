//! The public pages, open without signing in: the public-data report (`reports::public`)
//! and the ledger report (`reports::ledger`, small cells suppressed, from the latest signed
//! checkpoint) with their charts, maps and tables, each table's CSV, and each release as one
//! offline HTML file and as JSON; the ledger's with the checkpoint note it was computed from.
//! Both come from `api::releases`, which the API's `/v1/reports/*` endpoints serve too.

use crate::session::Viewer;
use crate::{PageError, PageResult, W, shell};
use api::releases::{self, PeriodQuery};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use reports::{Report, render};

fn public_report() -> Result<&'static Report, PageError> {
    Ok(releases::public_report()?)
}

/// `/public`: the report, in the page frame (with the navigation when signed in).
pub async fn page(v: Option<Viewer>) -> PageResult {
    let r = public_report()?;
    Ok(shell::page(
        v.as_ref(),
        &r.title,
        "/public",
        html! {
            p.intro {
                "Open to anyone, no sign-in. Figures ICE and CBP published, with their sources and what each can and cannot show. "
                a href="/public/public.html" download="public.html" { "The whole report as one file that works offline" } ", "
                a href="/public/public.json" { "as JSON" } ". "
                "What agencies recorded in Liaison itself is in "
                a href="/public/ledger" { "the ledger report" } "."
            }
            (render::body(r, &|t| format!("/public/{}.csv", t.id)))
        },
    ))
}

/// `/public/{file}`: `public.html`, `public.json`, or a table's `<id>.csv`; anything else 404.
pub async fn file(Path(file): Path<String>) -> Result<Response, PageError> {
    download(public_report()?, &file, None)
}

fn period(q: Result<Query<PeriodQuery>, QueryRejection>) -> Result<reports::ledger::Period, PageError> {
    let Query(q) = q.map_err(|e| PageError::new(400, "Not valid", format!("the period: {}", e.body_text())))?;
    q.period().map_err(|e| PageError::new(422, "Not valid", e.0.message))
}

/// `/public/ledger?from=&to=`: the ledger report for a period (default: the year to today).
pub async fn ledger(State(web): W, v: Option<Viewer>, q: Result<Query<PeriodQuery>, QueryRejection>) -> PageResult {
    let p = period(q).map_err(|e| e.for_viewer_opt(v.as_ref()))?;
    let r = releases::ledger_release(&web.st, p).await.map_err(|e| PageError::from(e).for_viewer_opt(v.as_ref()))?;
    let qs = format!("?from={}&to={}", p.from, p.to);
    let report = &r.report;
    Ok(shell::page(
        v.as_ref(),
        &report.title,
        "/public",
        html! {
            p.intro {
                "Open to anyone, no sign-in. What agencies recorded in Liaison, counted from one signed checkpoint of its ledger; counts from 1 to 10, and any cell that would give one away, are withheld. "
                a href={ "/public/ledger/ledger.html" (qs) } download="ledger.html" { "The whole release as one file that works offline" } ", "
                a href={ "/public/ledger/ledger.json" (qs) } { "as JSON" } ", and "
                a href={ "/public/ledger/checkpoint.txt" (qs) } download="checkpoint.txt" { "the checkpoint it was computed from" }
                " (" code { "liaison report ledger --from " (p.from) " --to " (p.to) " --checkpoint checkpoint.txt" } " reproduces it byte for byte)."
            }
            form.period method="get" action="/public/ledger" {
                label { "From " input type="date" name="from" value=(p.from) required; }
                " "
                label { "To " input type="date" name="to" value=(p.to) required; }
                " "
                button type="submit" { "Show this period" }
            }
            (render::body(report, &|t| format!("/public/ledger/{}.csv{qs}", t.id)))
        },
    ))
}

/// `/public/ledger/{file}?from=&to=`: `ledger.html`, `ledger.json`, `checkpoint.txt`, or a
/// table's `<id>.csv`, of the same release as the page.
pub async fn ledger_file(
    State(web): W,
    Path(file): Path<String>,
    q: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let p = period(q)?;
    let r = releases::ledger_release(&web.st, p).await?;
    download(&r.report, &file, Some(&r.checkpoint))
}

/// One file of a release, as a download; anything else 404.
fn download(r: &Report, file: &str, checkpoint: Option<&str>) -> Result<Response, PageError> {
    let (body, kind) = if let Some(note) = checkpoint.filter(|_| file == "checkpoint.txt") {
        (note.to_string(), "text/plain; charset=utf-8")
    } else if file == format!("{}.html", r.id) {
        (render::document(r), "text/html; charset=utf-8")
    } else if file == format!("{}.json", r.id) {
        (render::json(r), "application/json")
    } else if let Some(t) =
        file.strip_suffix(".csv").and_then(|id| r.sections.iter().flat_map(|s| &s.tables).find(|t| t.id == id))
    {
        (render::table_csv(t), "text/csv; charset=utf-8")
    } else {
        return Err(PageError::new(404, "Not found", "No such file in this report."));
    };
    // Downloaded, not shown here: the offline file carries its own stylesheet, which this
    // site's content security policy would block.
    let disposition = format!("attachment; filename=\"{file}\"");
    Ok(([(header::CONTENT_TYPE, kind.to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
}
