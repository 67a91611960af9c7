//! The web app: the pages people work in, served by the `liaison` binary beside the API.
//!
//! Pages are rendered on the server (maud: compile-time checked, auto-escaped HTML) from the
//! same `service` layer as the API: the one visibility question (`service::access`) before
//! anything is shown, every read of a subject's record logged before it is returned, every
//! write through the single writer and the law. A page works without JavaScript; the one
//! small script (`assets/app.js`) only ticks the clocks. Every asset is compiled into the
//! binary: nothing is fetched from anywhere else.
//!
//! Sign-in makes a server-side session (an HttpOnly, Secure, SameSite=Strict cookie); every
//! form that changes anything carries the session's CSRF token, and every POST must come from
//! this origin. What it does not do: keep sessions across restarts (they live in memory,
//! eight hours at most), or offer anything the API does not.
//!
//! Adding a page is one view function, one route in [`pages`] and one browser test
//! (`crates/web/e2e/`); the navigation lists it from [`shell::NAV`].

mod board;
mod complaints;
mod forms;
mod law_page;
mod oversight;
mod planner;
mod public;
mod registry;
mod session;
mod shell;
mod subject;

use api::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::Markup;
use service::{Principal, ServiceError};
use std::sync::Arc;

pub use session::Sessions;

/// What every page handler shares.
pub struct Web {
    pub st: Arc<AppState>,
    pub sessions: Sessions,
    /// In demo mode, the principals one may sign in as by picking them (no token).
    pub demo: Option<Vec<Principal>>,
    /// Enumerations of the API's request types, from its OpenAPI document (one source of
    /// truth for what a form's selects offer).
    pub schema: forms::Schema,
}

type W = State<Arc<Web>>;

/// The pages, with their state, to merge into the API's router. `demo` lists the principals
/// a demo server lets one pick at sign-in; a real server passes `None` (tokens only).
pub fn pages(st: Arc<AppState>, demo: Option<Vec<Principal>>) -> Router {
    let web = Arc::new(Web { st, sessions: Sessions::default(), demo, schema: forms::Schema::from_openapi() });
    Router::new()
        .route("/", get(board::board))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/subjects", get(subject::find))
        .route("/subjects/{id}", get(subject::subject))
        .route("/forms", get(forms::hub))
        .route("/forms/{workflow}", get(forms::form).post(forms::submit))
        .route("/complaints", get(complaints::list))
        .route("/complaints/{id}", get(complaints::complaint))
        .route("/agreements", get(registry::agreements))
        .route("/agreements/{id}", get(registry::agreement))
        .route("/operations", get(registry::operations))
        .route("/oversight/audit", get(oversight::audit))
        .route("/oversight/verify", get(oversight::verify_page).post(oversight::verify))
        .route("/oversight/checkpoint.txt", get(oversight::checkpoint))
        .route("/ledger/proof/{seq}", get(oversight::proof))
        .route("/law", get(law_page::ask))
        .route("/planner", get(planner::planner))
        .route("/public", get(public::page))
        .route("/public/{file}", get(public::file))
        .route("/public/ledger", get(public::ledger))
        .route("/public/ledger/{file}", get(public::ledger_file))
        .route("/assets/{file}", get(asset))
        .layer(middleware::from_fn(headers))
        .with_state(web)
}

/// Security headers on every page: no framing, no sniffing, scripts and styles only from here.
async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// The compiled-in assets.
async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match file.as_str() {
        "style.css" => (include_bytes!("../assets/style.css"), "text/css; charset=utf-8"),
        "app.js" => (include_bytes!("../assets/app.js"), "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// A page handler's failure: shown as a page with the status it carries. A record the viewer
/// may not know exists is the same 404 page as one that does not exist.
pub struct PageError {
    status: u16,
    title: String,
    message: String,
    viewer: Option<Box<session::Viewer>>,
}

impl PageError {
    fn new(status: u16, title: &str, message: impl Into<String>) -> Self {
        PageError { status, title: title.into(), message: message.into(), viewer: None }
    }

    fn for_viewer(mut self, v: &session::Viewer) -> Self {
        self.viewer = Some(Box::new(v.clone()));
        self
    }

    /// [`PageError::for_viewer`] on a page open to anyone, signed in or not.
    fn for_viewer_opt(self, v: Option<&session::Viewer>) -> Self {
        match v {
            Some(v) => self.for_viewer(v),
            None => self,
        }
    }
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        let title = match e.status {
            404 => "Not found",
            403 => "Not permitted",
            400 | 422 => "Not valid",
            409 => "Conflict",
            503 => "Unavailable",
            _ => "Something went wrong",
        };
        PageError::new(e.status, title, e.message)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = shell::page(
            self.viewer.as_deref(),
            &self.title,
            "",
            maud::html! {
                div.notice.error role="alert" { p { (self.message) } }
                p { a href="/" { "Back to the operations board" } }
            },
        );
        (status, body).into_response()
    }
}

type PageResult = Result<Markup, PageError>;

/// A timestamp in a zone, as people read it: `2026-03-06 09:00 PST`.
pub fn local(ts: jiff::Timestamp, zone: &str) -> String {
    match jiff::tz::TimeZone::get(zone) {
        Ok(tz) => ts.to_zoned(tz).strftime("%Y-%m-%d %H:%M %Z").to_string(),
        Err(_) => ts.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// How long until `t` (or how long ago), in hours and minutes.
pub fn left(now: jiff::Timestamp, t: jiff::Timestamp) -> String {
    let secs = t.as_second() - now.as_second();
    let (sign, s) = if secs < 0 { ("overdue by ", -secs) } else { ("", secs) };
    let (h, m) = (s / 3600, (s % 3600) / 60);
    if h >= 48 { format!("{sign}{}d {}h", h / 24, h % 24) } else { format!("{sign}{h}h {m:02}m") }
}

/// A value's wire name (`honor`, `I-247A`, `criminal_arrest`), with underscores as spaces.
pub fn label<T: serde::Serialize>(t: &T) -> String {
    match serde_json::to_value(t) {
        Ok(serde_json::Value::String(s)) => s.replace('_', " "),
        Ok(v) => v.to_string(),
        Err(_) => String::new(),
    }
}

/// Looks at the records of a kind in id order, a page at a time, until `f` says stop (true)
/// or `max` were seen; `f` gets the store too (to ask `service::access` about each). True when
/// `max` cut the scan short.
pub fn scan(
    s: &mut dyn store::Store,
    kind: domain::RecordKind,
    max: usize,
    f: &mut dyn FnMut(&mut dyn store::Store, domain::Record) -> Result<bool, ServiceError>,
) -> Result<bool, ServiceError> {
    let (mut after, mut seen) = (None::<String>, 0);
    loop {
        let page = s.records(kind, after.as_deref(), 1000)?;
        let Some(last) = page.last() else { return Ok(false) };
        after = Some(last.key().id);
        for r in page {
            if seen == max {
                return Ok(true);
            }
            seen += 1;
            if f(s, r)? {
                return Ok(false);
            }
        }
    }
}

/// The main zone of an agency's state (UTC when it has none).
pub fn agency_zone(s: &mut dyn store::Store, agency: &domain::AgencyId) -> Result<String, ServiceError> {
    let state = match s.record(&domain::RecordKey::new(domain::RecordKind::Agency, agency.as_str()))? {
        Some(domain::Record::Agency(a)) => a.state,
        _ => None,
    };
    Ok(state.as_ref().and_then(|s| law::place::state_time_zone(s.as_str())).unwrap_or("UTC").to_string())
}
