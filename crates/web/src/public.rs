//! The public pages, open without signing in: the public-data report (`reports::public`)
//! with its charts, maps and tables, each table's CSV, and the whole release as one offline
//! HTML file and as JSON. The report is built once per process from the compiled-in data.

use crate::session::Viewer;
use crate::{PageError, PageResult, shell};
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use reports::{Report, render};
use std::sync::OnceLock;

fn public_report() -> Result<&'static Report, PageError> {
    static REPORT: OnceLock<Result<Report, String>> = OnceLock::new();
    REPORT
        .get_or_init(|| {
            reports::public::PublicInputs::bundled().map(|i| reports::public::report(&i)).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| PageError::new(500, "Something went wrong", format!("the bundled public data: {e}")))
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
                a href="/public/public.json" { "as JSON" } "."
            }
            (render::body(r, &|t| format!("/public/{}.csv", t.id)))
        },
    ))
}

/// `/public/{file}`: `public.html`, `public.json`, or a table's `<id>.csv`; anything else 404.
pub async fn file(Path(file): Path<String>) -> Result<Response, PageError> {
    let r = public_report()?;
    let (body, kind) = if file == format!("{}.html", r.id) {
        (render::document(r), "text/html; charset=utf-8")
    } else if file == format!("{}.json", r.id) {
        (render::json(r), "application/json")
    } else if let Some(t) =
        file.strip_suffix(".csv").and_then(|id| r.sections.iter().flat_map(|s| &s.tables).find(|t| t.id == id))
    {
        (render::table_csv(t), "text/csv; charset=utf-8")
    } else {
        return Err(PageError::new(404, "Not found", "No such file in the public report."));
    };
    // Downloaded, not shown here: the offline file carries its own stylesheet, which this
    // site's content security policy would block.
    let disposition = format!("attachment; filename=\"{file}\"");
    Ok(([(header::CONTENT_TYPE, kind.to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
}
