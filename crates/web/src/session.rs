//! Sign-in, sessions and CSRF.
//!
//! A session is made by presenting a bearer token (checked as the API checks it: argon2id) or,
//! on a demo server only, by picking a demo principal. The browser holds only a random
//! session id in an HttpOnly, Secure, SameSite=Strict cookie; the server keeps the principal
//! and a per-session CSRF token that every state-changing form carries. A POST is also refused
//! unless it comes from this origin (`Sec-Fetch-Site` or `Origin`).

use crate::{PageError, W, shell};
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use service::Principal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COOKIE: &str = "liaison_session";
/// A session ends this long after sign-in, whatever happens in it.
const SESSION_SECONDS: u64 = 8 * 3600;
/// Sessions held at most; past it the oldest are dropped.
const SESSIONS_MAX: usize = 10_000;

/// Who is looking at a page, and the CSRF token their forms carry.
#[derive(Clone)]
pub struct Viewer {
    pub principal: Principal,
    pub csrf: String,
}

struct Session {
    viewer: Viewer,
    until: Instant,
}

/// The live sessions, by session id.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS random source");
    hex::encode(b)
}

impl Sessions {
    fn create(&self, principal: Principal) -> String {
        let id = random_hex();
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        m.retain(|_, s| s.until > now);
        if m.len() >= SESSIONS_MAX
            && let Some(oldest) = m.iter().min_by_key(|(_, s)| s.until).map(|(k, _)| k.clone())
        {
            m.remove(&oldest);
        }
        let viewer = Viewer { principal, csrf: random_hex() };
        m.insert(id.clone(), Session { viewer, until: now + Duration::from_secs(SESSION_SECONDS) });
        id
    }

    fn get(&self, id: &str) -> Option<Viewer> {
        let m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        m.get(id).filter(|s| s.until > Instant::now()).map(|s| s.viewer.clone())
    }

    fn end(&self, id: &str) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether a POST comes from this site: browsers send `Sec-Fetch-Site`; without it, an
/// `Origin` equal to the `Host` will do.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, h)| h == host),
        _ => false,
    }
}

/// Refuses a state-changing form whose CSRF token is not the session's, or that comes from
/// another site.
pub fn check_csrf(v: &Viewer, headers: &HeaderMap, token: Option<&str>) -> Result<(), PageError> {
    use subtle_eq as eq;
    if !same_origin(headers) || !token.is_some_and(|t| eq(t.as_bytes(), v.csrf.as_bytes())) {
        return Err(PageError::new(
            403,
            "Form expired",
            "this form did not come from this session (its CSRF token is missing or stale); reload the page and submit it again",
        )
        .for_viewer(v));
    }
    Ok(())
}

/// Compares without stopping at the first difference.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<Arc<crate::Web>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Arc<crate::Web>) -> Result<Self, Self::Rejection> {
        match session_id(&parts.headers).and_then(|id| web.sessions.get(&id)).and_then(|v| current(web, v)) {
            Some(v) => Ok(v),
            None => {
                let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                let next = if next.starts_with('/') && !next.starts_with("//") { next } else { "/" };
                Err(Redirect::to(&format!("/login?next={}", encode(next))).into_response())
            }
        }
    }
}

impl OptionalFromRequestParts<Arc<crate::Web>> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, web: &Arc<crate::Web>) -> Result<Option<Self>, Self::Rejection> {
        Ok(session_id(&parts.headers).and_then(|id| web.sessions.get(&id)).and_then(|v| current(web, v)))
    }
}

/// The session's viewer with the principal as the tokens file lists it now: a principal
/// removed by a reload has no session any more, and changed roles apply at once.
fn current(web: &crate::Web, mut v: Viewer) -> Option<Viewer> {
    v.principal = web.st.tokens().principal(&v.principal.id)?;
    Some(v)
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && n.len() < 500).unwrap_or("/").to_string()
}

pub async fn login_page(
    axum::extract::State(web): W,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> maud::Markup {
    login_view(&web, &safe_next(q.next.as_deref()), None)
}

fn login_view(web: &crate::Web, next: &str, error: Option<&str>) -> maud::Markup {
    shell::page(
        None,
        "Sign in",
        "",
        html! {
            @if let Some(e) = error { div.notice.error role="alert" { p { (e) } } }
            div.cols {
                section.card {
                    h2 { "With your token" }
                    p.muted { "The token your administrator issued (" code { "liaison token" } "), or one the demo printed." }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        label for="token" { "Token" }
                        input #token type="password" name="token" autocomplete="off" required;
                        button type="submit" { "Sign in" }
                    }
                }
                @if let Some(demo) = &web.demo {
                    section.card {
                        h2 { "Demo: sign in as a role" }
                        p.muted { "This server runs the demo: every person in it is synthetic." }
                        form method="post" action="/login" {
                            input type="hidden" name="next" value=(next);
                            ul.picker {
                                @for p in demo {
                                    li { button type="submit" name="principal" value=(p.id) {
                                        strong { (shell::role_names(p)) } " · " (p.id) " of " (p.agency)
                                    } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    token: Option<String>,
    principal: Option<String>,
    next: Option<String>,
}

pub async fn login(
    axum::extract::State(web): W,
    headers: HeaderMap,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let next = |f: &LoginForm| safe_next(f.next.as_deref());
    let Ok(axum::Form(f)) = form else {
        return (axum::http::StatusCode::BAD_REQUEST, login_view(&web, "/", Some("the sign-in form was not valid")))
            .into_response();
    };
    if !same_origin(&headers) {
        return (axum::http::StatusCode::FORBIDDEN, login_view(&web, &next(&f), Some("sign in from this site")))
            .into_response();
    }
    let principal = match (&f.token, &f.principal, &web.demo) {
        (Some(t), _, _) if !t.trim().is_empty() => {
            // The API's limit on failed token checks applies here too (per principal named).
            let keys: Vec<String> =
                api::auth::Tokens::split(t.trim()).map(|(id, _)| format!("principal:{id}")).into_iter().collect();
            if web.st.failures.blocked(&keys).is_some() {
                return (
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    login_view(&web, &next(&f), Some("too many failed sign-ins; wait a minute and try again")),
                )
                    .into_response();
            }
            let tokens = web.st.tokens();
            let t = t.trim().to_string();
            let found = tokio::task::spawn_blocking(move || tokens.check(&t)).await.ok().flatten();
            if found.is_none() {
                web.st.failures.fail(&keys);
            }
            found
        }
        (_, Some(id), Some(demo)) => demo.iter().find(|p| &p.id == id).cloned(),
        _ => None,
    };
    let Some(principal) = principal else {
        return (axum::http::StatusCode::UNAUTHORIZED, login_view(&web, &next(&f), Some("that token is not valid")))
            .into_response();
    };
    let id = web.sessions.create(principal);
    let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={SESSION_SECONDS}");
    let mut resp = Redirect::to(&next(&f)).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii"));
    resp
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn logout(
    axum::extract::State(web): W,
    v: Viewer,
    headers: HeaderMap,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, PageError> {
    check_csrf(&v, &headers, f.csrf.as_deref())?;
    if let Some(id) = session_id(&headers) {
        web.sessions.end(&id);
    }
    let mut resp = Redirect::to("/login").into_response();
    let gone = format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&gone).expect("ascii"));
    Ok(resp)
}
