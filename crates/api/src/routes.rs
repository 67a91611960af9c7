//! Routes, handlers and the OpenAPI document they generate.

use crate::problem::{ApiError, Problem};
use crate::writer::Committed;
use crate::{AppState, auth};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::{
    AgreementId, ComplaintId, DetainerId, HandoffId, OfficerId, OperationId, Record, RecordKey, RecordKind, SubjectId,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use service::views::DetainerView;
use service::{
    AgreementStatusChange, Command, ComplaintAssignment, ComplaintCommand, ComplaintResolution, DetainerUpdate,
    HandoffAnswer, NewAgreement, NewBooking, NewClaim, NewComplaint, NewDesignation, NewDetainer, NewDetermination,
    NewEncounter, NewHandoff, NewOfficer, NewOperation, NewRelease, NewResolution, NewSubject, NewTraining,
    NewVerification, OperationStatusChange, Principal, RegistryCommand, ServiceError,
};
use std::sync::Arc;
use std::time::Instant;
use store::Store;
use utoipa::{IntoParams, OpenApi, ToSchema};

type St = State<Arc<AppState>>;
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Liaison coordination API", version = "1", license(name = "Apache-2.0", identifier = "Apache-2.0"), description = "Agencies coordinate custody, detainers and operations through Liaison. Every write is checked by the law engine and recorded in a tamper-evident ledger; every read of a subject's record is logged. Errors are RFC 9457 problem+json."),
    paths(
        healthz, readyz, register_subject, get_subject, custody_chain, claim_citizenship, determine_citizenship,
        verify_identity, release, resolve_custody_conflict, custody_conflicts, record_encounter, book, offer_handoff, answer_handoff, get_handoff, issue_detainer,
        update_detainer, get_detainer, plan_operation, get_operation, change_operation_status, list_agreements,
        record_agreement, get_agreement, change_agreement_status, register_officer, get_officer, grant_designation,
        record_training, file_complaint, get_complaint, assign_complaint, resolve_complaint, audit_events, latest_checkpoint, export_log, inclusion_proof, consistency_proof, crate::releases::public, crate::releases::ledger
    ),
    components(schemas(Problem, Written)),
    modifiers(&Bearer, &Contract)
)]
struct Doc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

/// What every operation can answer besides its own success, said once for all of them:
/// errors are `application/problem+json`; every authenticated call may get 401 and 429; a
/// write may get 400 (bad JSON, a bad Idempotency-Key), 408, 413, 415, 422, 409 and 503 (not
/// committed), and 200 for a replay of an earlier request under the same Idempotency-Key; a
/// call on a named record may get 400 `invalid_id` and 404; a read may get 400
/// `invalid_query` and 503 when the store does not answer.
struct Contract;

impl utoipa::Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                )
                .build()
        };
        let written = ResponseBuilder::new()
            .description(
                "A replay: the request was already answered under this Idempotency-Key; nothing new was written",
            )
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Written"))).build())
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let named = path.contains('{');
            let public = matches!(path.as_str(), "/healthz" | "/readyz") || path.starts_with("/v1/reports/");
            for (post, op) in [(false, item.get.as_mut()), (true, item.post.as_mut())] {
                let Some(op) = op else { continue };
                // A query parameter can name a record too (`?subject=`): the same 404.
                let queried = op.parameters.iter().flatten().any(|p| {
                    matches!(p, utoipa::openapi::RefOr::T(p)
                        if p.parameter_in == utoipa::openapi::path::ParameterIn::Query && p.name == "subject")
                });
                let named = named || queried;
                let r = &mut op.responses.responses;
                // Errors are problem documents.
                for (status, resp) in r.iter_mut() {
                    if (status.starts_with('4') || status.starts_with('5'))
                        && let utoipa::openapi::RefOr::T(resp) = resp
                        && let Some(c) = resp.content.shift_remove("application/json")
                    {
                        resp.content.insert("application/problem+json".into(), c);
                    }
                }
                let mut add = |status: &str, what: &str| {
                    r.entry(status.to_string()).or_insert_with(|| problem(what).into());
                };
                if !public {
                    add("401", "No valid bearer token (`unauthenticated`)");
                    add("429", "Too many failed token checks from this address or for this principal");
                    add("400", "A malformed request: bad JSON, query, id or Idempotency-Key");
                    add("503", "The store does not answer now; nothing was written; retry");
                }
                // Writes name records in their bodies too (the subject of an encounter, the
                // agency a handoff goes to), and a taken id the caller may not know is 404.
                if named || post {
                    add("404", "No such record, or none the caller may know exists (the same answer)");
                }
                if post {
                    add(
                        "403",
                        "The caller's role does not allow it, or the law does not (`denied_by_law`, with the decision)",
                    );
                    add("408", "The request body did not arrive in time");
                    add(
                        "409",
                        "A conflict with the record's state, a taken id, or an Idempotency-Key reused for another request",
                    );
                    add("413", "The request body is too large");
                    add("415", "The body is not application/json");
                    add("422", "The body is well-formed JSON but not a valid request");
                    r.entry("200".to_string()).or_insert_with(|| written.clone().into());
                }
                r.remove("4XX");
            }
        }
    }
}

/// The OpenAPI 3.1 document as pretty JSON (what `docs/openapi.json` holds).
pub fn openapi() -> String {
    let mut doc = Doc::openapi();
    doc.openapi = utoipa::openapi::OpenApiVersion::Version31;
    serde_json::to_string_pretty(&doc).expect("json") + "\n"
}

/// All routes, with authentication, metrics and problem+json fallbacks.
pub fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/subjects", post(register_subject))
        .route("/subjects/{id}", get(get_subject))
        .route("/subjects/{id}/custody-chain", get(custody_chain))
        .route("/subjects/{id}/citizenship-claims", post(claim_citizenship))
        .route("/subjects/{id}/citizenship-determinations", post(determine_citizenship))
        .route("/subjects/{id}/identity-verifications", post(verify_identity))
        .route("/subjects/{id}/releases", post(release))
        .route("/subjects/{id}/custody-conflict-resolutions", post(resolve_custody_conflict))
        .route("/custody-conflicts", get(custody_conflicts))
        .route("/encounters", post(record_encounter))
        .route("/bookings", post(book))
        .route("/handoffs", post(offer_handoff))
        .route("/handoffs/{id}", get(get_handoff))
        .route("/handoffs/{id}/answer", post(answer_handoff))
        .route("/detainers", post(issue_detainer))
        .route("/detainers/{id}", get(get_detainer))
        .route("/detainers/{id}/steps", post(update_detainer))
        .route("/operations", post(plan_operation))
        .route("/operations/{id}", get(get_operation))
        .route("/operations/{id}/status", post(change_operation_status))
        .route("/complaints", post(file_complaint))
        .route("/complaints/{id}", get(get_complaint))
        .route("/complaints/{id}/assignment", post(assign_complaint))
        .route("/complaints/{id}/resolution", post(resolve_complaint))
        .route("/agreements", get(list_agreements).post(record_agreement))
        .route("/agreements/{id}", get(get_agreement))
        .route("/agreements/{id}/status", post(change_agreement_status))
        .route("/officers", post(register_officer))
        .route("/officers/{id}", get(get_officer))
        .route("/officers/{id}/designations", post(grant_designation))
        .route("/officers/{id}/training", post(record_training))
        .route("/audit/events", get(audit_events))
        .route("/ledger/checkpoint", get(latest_checkpoint))
        .route("/ledger/export", get(export_log))
        .route("/ledger/proofs/inclusion", get(inclusion_proof))
        .route("/ledger/proofs/consistency", get(consistency_proof))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/reports/public", get(crate::releases::public))
        .route("/v1/reports/ledger", get(crate::releases::ledger))
        .route("/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], openapi()) }))
        .nest("/v1", v1)
        .fallback(|| async { ApiError::new(404, "no_route", "no such endpoint; see /openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(405, "method_not_allowed", "this endpoint does not take that method; see /openapi.json")
        })
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(axum::extract::DefaultBodyLimit::max(state.body_limit))
        .with_state(state)
}

/// `pages` (routes served beside the API) counted, timed and logged as the API's requests are.
pub(crate) fn observed(pages: Router, state: Arc<AppState>) -> Router {
    pages.layer(middleware::from_fn_with_state(state, observe))
}

/// Counts and times every request, and logs it.
async fn observe(State(st): St, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched".to_string(), |m| m.as_str().to_string());
    let mut resp = next.run(req).await;
    let status = resp.status().as_u16();
    // These answers may come before the request body was read; the connection cannot be
    // reused for another request, so say so instead of letting the client find out.
    if matches!(status, 401 | 404 | 405 | 408 | 413 | 429) {
        resp.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    }
    let secs = start.elapsed().as_secs_f64();
    st.metrics
        .requests
        .get_or_create(&crate::metrics::RequestLabels { method: method.clone(), route: route.clone(), status })
        .inc();
    st.metrics.latency.get_or_create(&crate::metrics::RouteLabels { route: route.clone() }).observe(secs);
    if status >= 500 {
        tracing::error!(%method, %route, status, ms = secs * 1000.0, "request");
    } else {
        tracing::debug!(%method, %route, status, ms = secs * 1000.0, "request");
    }
    resp
}

/// Resolves the bearer token to a principal, or answers 401 (429 after too many failures
/// from one address or for one principal). The scheme name is case-insensitive (RFC 9110
/// §11.1).
async fn authenticate(State(st): St, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let Some(token) = token else {
        return ApiError::new(401, "unauthenticated", "send Authorization: Bearer <token>").into_response();
    };
    let tokens = st.tokens();
    let mut keys = vec![];
    if let Some(crate::listen::Peer(addr)) = req.extensions().get::<crate::listen::Peer>() {
        keys.push(format!("ip:{}", addr.ip()));
    }
    if let Some((id, _)) = auth::Tokens::split(&token) {
        keys.push(format!("principal:{id}"));
    }
    let principal = match tokens.cached(&token) {
        Some(p) => Some(p),
        None => {
            if let Some(secs) = st.failures.blocked(&keys) {
                let mut r = ApiError::new(429, "too_many_failures", "too many failed token checks; wait and retry")
                    .into_response();
                r.headers_mut().insert(header::RETRY_AFTER, secs.into());
                return r;
            }
            let found = if !token.starts_with("lsn_") {
                tokens.check_jwt(&token)
            } else {
                let t = tokens.clone();
                tokio::task::spawn_blocking(move || t.check(&token)).await.ok().flatten()
            };
            if found.is_none() {
                st.failures.fail(&keys);
            }
            found
        }
    };
    match principal {
        Some(p) => {
            req.extensions_mut().insert(p);
            next.run(req).await
        }
        None => ApiError::new(401, "unauthenticated", "the bearer token is not valid").into_response(),
    }
}

fn principal(req_ext: &axum::http::Extensions) -> Principal {
    req_ext.get::<Principal>().cloned().expect("authenticate runs first")
}

/// Parses a JSON body, naming what was wrong.
/// The body as `T`, and its canonical JSON bytes.
fn parse<T: DeserializeOwned>(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult<(T, Bytes)> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(413, "body_too_large", "the request body is larger than the server accepts")
        } else {
            ApiError::new(400, "unreadable_body", format!("the request body could not be read: {e}"))
        }
    })?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return Err(ApiError::new(415, "unsupported_media_type", "send the body as Content-Type: application/json"));
    }
    let mut value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        let (status, code) = if e.is_syntax() || e.is_eof() { (400, "malformed_json") } else { (422, "invalid_body") };
        ApiError::new(status, code, format!("the request body is not valid: {e}"))
    })?;
    // The canonical form (keys sorted, no insignificant space) is what an Idempotency-Key
    // is bound to, so a retry that differs only in spacing or key order is the same request.
    sort_keys(&mut value);
    let canonical = Bytes::from(serde_json::to_vec(&value).expect("a JSON value serializes"));
    let body = T::deserialize(value)
        .map_err(|e| ApiError::new(422, "invalid_body", format!("the request body is not valid: {e}")))?;
    Ok((body, canonical))
}

/// Sorts every object's keys (serde_json keeps insertion order in this build).
fn sort_keys(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.sort_keys();
            m.values_mut().for_each(sort_keys);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(t)| t).map_err(|e| ApiError::new(400, "invalid_query", format!("the query string is not valid: {e}")))
}

fn id<T: TryFrom<String, Error = domain::IdError>>(s: String) -> ApiResult<T> {
    T::try_from(s).map_err(|e| ApiError::new(400, "invalid_id", e.to_string()))
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The request's Idempotency-Key, validated.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let k = v.to_str().map_err(|_| ApiError::new(400, "invalid_idempotency_key", "Idempotency-Key must be ASCII"))?;
    if k.is_empty() || k.len() > 100 {
        return Err(ApiError::new(400, "invalid_idempotency_key", "Idempotency-Key must be 1 to 100 characters"));
    }
    Ok(Some(k.to_string()))
}

/// A write request as every POST handler needs it: the caller, the parsed body, its canonical
/// JSON (for the idempotency hash) and the Idempotency-Key, each validated with a problem answer.
struct WriteReq<T> {
    p: Principal,
    body: T,
    canonical: Bytes,
    key: Option<String>,
}

impl<T: DeserializeOwned> axum::extract::FromRequest<Arc<AppState>> for WriteReq<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let p = principal(req.extensions());
        let headers = req.headers().clone();
        let read = <Bytes as axum::extract::FromRequest<Arc<AppState>>>::from_request(req, state);
        let body = tokio::time::timeout(state.body_timeout, read).await.map_err(|_| {
            ApiError::new(408, "body_timeout", "the request body did not arrive in time; send it whole and promptly")
        })?;
        let (body, canonical) = parse(&headers, body)?;
        let key = idempotency_key(&headers)?;
        Ok(WriteReq { p, body, canonical, key })
    }
}

/// What a write returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct Written {
    /// The id of the record the request created or changed.
    pub id: String,
    /// True when this answers a retry of an earlier request with the same Idempotency-Key.
    pub replayed: bool,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The signed checkpoint (C2SP signed note) that covers the events.
    pub checkpoint: String,
    pub events: Vec<domain::Event>,
    /// The law's decision: effect, reasons with rule ids and citations, hold clock, border zone.
    pub decision: Option<law::Decision>,
}

/// Runs a write through the writer and shapes the answer.
async fn write(
    st: &Arc<AppState>,
    p: Principal,
    cmd: Command,
    id: String,
    key: Option<String>,
    route: &str,
    body: &[u8],
) -> ApiResult<(StatusCode, axum::Json<Written>)> {
    let key = key.map(|k| {
        let mut req = route.as_bytes().to_vec();
        req.push(b'\n');
        req.extend_from_slice(body);
        (format!("{}:{k}", p.id), store::leaf_hash(&req))
    });
    let Committed { done, checkpoint } = st.writer.run(p, cmd, key).await?;
    let (events, decision) = if done.pending.replayed {
        replayed(st, done.pending.first_seq, done.pending.last_seq).await?
    } else {
        (done.events, done.decision)
    };
    let status = if done.pending.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((
        status,
        axum::Json(Written {
            id,
            replayed: done.pending.replayed,
            first_seq: done.pending.first_seq,
            last_seq: done.pending.last_seq,
            checkpoint: checkpoint.to_note(),
            events,
            decision,
        }),
    ))
}

/// The events and decision of an earlier request, read back from the log; the decision is
/// replayed from its recorded inputs (the law is deterministic, so it is the same decision).
async fn replayed(st: &Arc<AppState>, first: u64, last: u64) -> ApiResult<(Vec<domain::Event>, Option<law::Decision>)> {
    let law = st.law.clone();
    blocking(st, move |s| {
        let entries = s.entries(first, (last - first + 1) as usize)?;
        let mut events = Vec::new();
        let mut decision = None;
        for se in entries {
            let e = se.decode()?;
            if let Some(v) = e.decision {
                let rec: law::RecordedDecision =
                    serde_json::from_value(v).map_err(|e| ServiceError::internal(format!("recorded decision: {e}")))?;
                decision = Some(law.decide_inputs(&rec.inputs));
            }
            events.push(e.event);
        }
        Ok((events, decision))
    })
    .await
}

/// A write to the record named in the path (`route` with `{id}` in it): parses the id, builds
/// the command from it and the body, and runs it.
async fn write_to<I, T>(
    st: &Arc<AppState>,
    raw_id: String,
    w: WriteReq<T>,
    route: &str,
    command: impl FnOnce(I, T) -> Command,
) -> ApiResult<(StatusCode, axum::Json<Written>)>
where
    I: TryFrom<String, Error = domain::IdError> + std::fmt::Display,
{
    let rid: I = id(raw_id)?;
    let WriteReq { p, body, canonical, key } = w;
    let (rid_text, route) = (rid.to_string(), format!("POST {}", route.replace("{id}", &rid.to_string())));
    write(st, p, command(rid, body), rid_text, key, &route, &canonical).await
}

/// Runs a point read (a few primary-key lookups, tens of microseconds) on a read handle in
/// place: cheaper than a hop to the blocking pool, and short enough not to stall the worker.
async fn point_read<T: Send + 'static>(
    st: &Arc<AppState>,
    f: impl FnOnce(&mut dyn Store) -> Result<T, ServiceError> + Send + 'static,
) -> ApiResult<T> {
    if st.readers.inline { st.readers.with(f).map_err(ApiError::from) } else { blocking(st, f).await }
}

/// Runs a read on a read handle, off the async threads.
async fn blocking<T: Send + 'static>(
    st: &Arc<AppState>,
    f: impl FnOnce(&mut dyn Store) -> Result<T, ServiceError> + Send + 'static,
) -> ApiResult<T> {
    let st = st.clone();
    tokio::task::spawn_blocking(move || st.readers.with(f))
        .await
        .map_err(|e| ApiError::new(500, "internal", format!("read task failed: {e}")))?
        .map_err(ApiError::from)
}

fn not_found(kind: &str, id: &str) -> ServiceError {
    ServiceError::not_found(kind, id)
}

fn record(s: &mut dyn Store, kind: RecordKind, id: &str) -> Result<Option<Record>, ServiceError> {
    Ok(s.record(&RecordKey::new(kind, id))?)
}

/// The subject, if `p` may know it exists; "not found" otherwise (`service::access`).
fn visible_subject(s: &mut dyn Store, p: &Principal, id: &str) -> Result<domain::subject::Subject, ServiceError> {
    service::access::visible_subject(s, p, id)
}

/// The record, if `p` may know it exists; "not found" otherwise (`service::access`).
fn visible(s: &mut dyn Store, p: &Principal, kind: RecordKind, id: &str) -> Result<Record, ServiceError> {
    service::access::visible(s, p, kind, id)
}

/// Logs a read of a subject's record before it is returned.
async fn log_read(st: &Arc<AppState>, p: &Principal, subject: &domain::SubjectId, what: String) -> ApiResult<()> {
    log_reads(st, p, vec![subject.clone()], what).await
}

/// Logs reads of several subjects' records (one event each, one commit) before they are
/// returned.
async fn log_reads(st: &Arc<AppState>, p: &Principal, subjects: Vec<domain::SubjectId>, what: String) -> ApiResult<()> {
    if !subjects.is_empty() {
        st.writer.run(p.clone(), Command::LogRead { subjects, what }, None).await?;
    }
    Ok(())
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", security(()), responses((status = 200, description = "The process is up")))]
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the writer runs, its last commit reached the database, and the store answers.
#[utoipa::path(get, path = "/readyz", security(()), responses((status = 200, description = "Ready"), (status = 503, body = Problem)))]
async fn readyz(State(st): St) -> ApiResult<impl IntoResponse> {
    st.writer.ready().map_err(|why| ApiError::new(503, "not_ready", why))?;
    let size = blocking(&st, |s| Ok(s.size()?))
        .await
        .map_err(|e| ApiError::new(503, "not_ready", format!("the store does not answer: {}", e.0.message)))?;
    Ok(axum::Json(serde_json::json!({ "status": "ready", "events": size })))
}

async fn metrics(State(st): St) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], st.metrics.render())
}

/// Register a (synthetic) person.
#[utoipa::path(post, path = "/v1/subjects", request_body = NewSubject, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn register_subject(State(st): St, w: WriteReq<NewSubject>) -> ApiResult<impl IntoResponse> {
    let WriteReq { p, body: mut n, canonical, key } = w;
    let id = n.id.clone().map_or_else(|| service::new_id("S", &p.id, key.as_deref()), |i| i.to_string());
    n.id = Some(domain::SubjectId::parse(&id).expect("generated ids are valid"));
    write(&st, p, Command::RegisterSubject(n), id, key, "POST /v1/subjects", &canonical).await
}

/// What a reader sees of a subject: the record and who holds them now.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectView {
    pub subject: domain::subject::Subject,
    pub custody: Option<domain::custody::Custody>,
}

/// A subject's record (the read is logged).
#[utoipa::path(get, path = "/v1/subjects/{id}", params(("id" = SubjectId, Path)),
    responses((status = 200, body = SubjectView), (status = 404, body = Problem)))]
async fn get_subject(
    State(st): St,
    ext: axum::http::Extensions,
    Path(sid): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let p = principal(&ext);
    let sid: domain::SubjectId = id(sid)?;
    let (pp, s2) = (p.clone(), sid.clone());
    blocking(&st, move |s| visible_subject(s, &pp, s2.as_str())).await?;
    log_read(&st, &p, &sid, "subject".into()).await?;
    let view = blocking(&st, move |s| {
        let mut subject = visible_subject(s, &p, sid.as_str())?;
        let mut custody = match record(s, RecordKind::Custody, sid.as_str())? {
            Some(Record::Custody(c)) => Some(c),
            _ => None,
        };
        service::access::hide_unknown_links(s, &p, &mut subject, custody.as_mut())?;
        Ok(SubjectView { subject, custody })
    })
    .await?;
    Ok(axum::Json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AsOf {
    /// Show the chain as it was known at this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    as_of: Option<jiff::Timestamp>,
}

/// A subject's custody chain, optionally as known at a past time (the read is logged).
#[utoipa::path(get, path = "/v1/subjects/{id}/custody-chain", params(("id" = SubjectId, Path), AsOf),
    responses((status = 200, body = Vec<domain::chain::ChainStep>), (status = 404, body = Problem)))]
async fn custody_chain(
    State(st): St,
    ext: axum::http::Extensions,
    Path(sid): Path<String>,
    q: Result<Query<AsOf>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let p = principal(&ext);
    let as_of = query(q)?.as_of;
    let sid: domain::SubjectId = id(sid)?;
    let (pp, s2) = (p.clone(), sid.clone());
    blocking(&st, move |s| visible_subject(s, &pp, s2.as_str())).await?;
    log_read(&st, &p, &sid, "custody chain".into()).await?;
    let chain = blocking(&st, move |s| Ok(store::ops::custody_chain(s, sid.as_str(), as_of)?)).await?;
    Ok(axum::Json(chain))
}

/// Record a claim of citizenship (it must be decided before any detainer).
#[utoipa::path(post, path = "/v1/subjects/{id}/citizenship-claims", request_body = NewClaim, params(("id" = SubjectId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn claim_citizenship(
    State(st): St,
    Path(sid): Path<String>,
    w: WriteReq<NewClaim>,
) -> ApiResult<impl IntoResponse> {
    let route = "/v1/subjects/{id}/citizenship-claims";
    write_to(&st, sid, w, route, |subject, claim| Command::ClaimCitizenship { subject, claim }).await
}

/// A supervisor of ICE or CBP determines a US citizenship claim (reference.md R6). Until a
/// claim is determined, detainers and holds on the subject are refused; a determination that
/// the subject is a US citizen refuses them for good.
#[utoipa::path(post, path = "/v1/subjects/{id}/citizenship-determinations", request_body = NewDetermination, params(("id" = SubjectId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = 409, body = Problem, description = "No US citizenship claim to determine"), (status = "4XX", body = Problem)))]
async fn determine_citizenship(
    State(st): St,
    Path(sid): Path<String>,
    w: WriteReq<NewDetermination>,
) -> ApiResult<impl IntoResponse> {
    let route = "/v1/subjects/{id}/citizenship-determinations";
    write_to(&st, sid, w, route, |subject, determination| Command::DetermineCitizenship { subject, determination })
        .await
}

/// A person verifies the subject's latest identity check (required after an ambiguous one
/// before any detainer): the booked person is candidate `same_as`, or none of them.
#[utoipa::path(post, path = "/v1/subjects/{id}/identity-verifications", request_body = NewVerification, params(("id" = SubjectId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = 409, body = Problem, description = "No check to verify, or already verified"), (status = "4XX", body = Problem)))]
async fn verify_identity(
    State(st): St,
    Path(sid): Path<String>,
    w: WriteReq<NewVerification>,
) -> ApiResult<impl IntoResponse> {
    let route = "/v1/subjects/{id}/identity-verifications";
    write_to(&st, sid, w, route, |subject, verification| Command::VerifyIdentity { subject, verification }).await
}

/// The custodian releases the subject (NIEM book-out with its release reason code); an open
/// handoff offer for the subject closes with the release.
#[utoipa::path(post, path = "/v1/subjects/{id}/releases", request_body = NewRelease, params(("id" = SubjectId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = 409, body = Problem, description = "Not in the caller's custody"), (status = "4XX", body = Problem)))]
async fn release(State(st): St, Path(sid): Path<String>, w: WriteReq<NewRelease>) -> ApiResult<impl IntoResponse> {
    write_to(&st, sid, w, "/v1/subjects/{id}/releases", |subject, release| Command::Release { subject, release }).await
}

/// A supervisor of one of the two custodians resolves a custody conflict: two records of one
/// person (linked by a "same as" identity verification) held by two agencies. Custody on the
/// record not held by `custodian` ends; open offers on it close.
#[utoipa::path(post, path = "/v1/subjects/{id}/custody-conflict-resolutions", request_body = NewResolution, params(("id" = SubjectId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = 409, body = Problem, description = "No custody conflict on the record"), (status = "4XX", body = Problem)))]
async fn resolve_custody_conflict(
    State(st): St,
    Path(sid): Path<String>,
    w: WriteReq<NewResolution>,
) -> ApiResult<impl IntoResponse> {
    write_to(&st, sid, w, "/v1/subjects/{id}/custody-conflict-resolutions", |subject, resolution| {
        Command::ResolveCustodyConflict { subject, resolution }
    })
    .await
}

/// Custody records the caller may know that conflict with another record of the same person,
/// a page at a time (a queue to work: each waits for a handoff, a release or a resolution).
#[utoipa::path(get, path = "/v1/custody-conflicts", params(PageQuery), responses((status = 200, body = Page<domain::custody::Custody>), (status = "4XX", body = Problem)))]
async fn custody_conflicts(
    State(st): St,
    ext: axum::http::Extensions,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let p = principal(&ext);
    let q = query(q)?;
    let limit = q.limit()?;
    let page: Page<domain::custody::Custody> = blocking(&st, move |s| {
        let (mut items, mut scanned, mut after, mut last) = (vec![], 0, q.after.clone(), None);
        while items.len() < limit && scanned < SCAN_MAX {
            let recs = s.records(RecordKind::Custody, after.as_deref(), 1000)?;
            let Some(end) = recs.last().map(|r| r.key().id) else { break };
            for r in recs {
                scanned += 1;
                last = Some(r.key().id);
                // Listed only when the caller may know both records of the person.
                if let Record::Custody(c) = r
                    && let Some(conflict) = &c.conflict
                    && service::access::may_know_subject(s, &p, c.subject.as_str())?
                    && service::access::may_know_subject(s, &p, conflict.with.as_str())?
                {
                    items.push(c);
                    if items.len() == limit {
                        break;
                    }
                }
            }
            after = Some(end);
        }
        let more = items.len() == limit || scanned >= SCAN_MAX;
        Ok(Page { items, next: if more { last } else { None } })
    })
    .await?;
    // Each conflict shows who holds a person: a logged read of that subject's record.
    let shown = page.items.iter().map(|c| c.subject.clone()).collect();
    log_reads(&st, &principal(&ext), shown, "custody conflicts".into()).await?;
    Ok(axum::Json(page))
}

/// Record an encounter or arrest; the law decides whether the officer may make it.
#[utoipa::path(post, path = "/v1/encounters", request_body = NewEncounter, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = 403, body = Problem, description = "Denied by law or role"), (status = "4XX", body = Problem)))]
async fn record_encounter(State(st): St, w: WriteReq<NewEncounter>) -> ApiResult<impl IntoResponse> {
    let WriteReq { p, body: mut n, canonical, key } = w;
    let id = n.id.clone().map_or_else(|| service::new_id("E", &p.id, key.as_deref()), |i| i.to_string());
    n.id = Some(domain::EncounterId::parse(&id).expect("valid"));
    write(&st, p, Command::RecordEncounter(n), id, key, "POST /v1/encounters", &canonical).await
}

/// A jail reports a booking on a criminal charge; the jail becomes the custodian. The booking
/// runs an identity and status check (an `identity_checked` event in the answer: match, no
/// match or ambiguous, with a confidence in percent and the candidates).
#[utoipa::path(post, path = "/v1/bookings", request_body = NewBooking, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn book(State(st): St, w: WriteReq<NewBooking>) -> ApiResult<impl IntoResponse> {
    let WriteReq { p, body: n, canonical, key } = w;
    let id = n.subject.to_string();
    write(&st, p, Command::BookIntoJail(n), id, key, "POST /v1/bookings", &canonical).await
}

/// The custodian offers the subject to another agency.
#[utoipa::path(post, path = "/v1/handoffs", request_body = NewHandoff, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn offer_handoff(State(st): St, w: WriteReq<NewHandoff>) -> ApiResult<impl IntoResponse> {
    let WriteReq { p, body: mut n, canonical, key } = w;
    let id = n.id.clone().map_or_else(|| service::new_id("H", &p.id, key.as_deref()), |i| i.to_string());
    n.id = Some(domain::HandoffId::parse(&id).expect("valid"));
    write(&st, p, Command::OfferHandoff(n), id, key, "POST /v1/handoffs", &canonical).await
}

/// The receiving agency accepts or rejects an offer. Of concurrent accepts, one wins.
#[utoipa::path(post, path = "/v1/handoffs/{id}/answer", request_body = HandoffAnswer, params(("id" = HandoffId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = 409, body = Problem, description = "Already answered or expired"), (status = "4XX", body = Problem)))]
async fn answer_handoff(
    State(st): St,
    Path(hid): Path<String>,
    w: WriteReq<HandoffAnswer>,
) -> ApiResult<impl IntoResponse> {
    write_to(&st, hid, w, "/v1/handoffs/{id}/answer", |handoff, answer| Command::AnswerHandoff { handoff, answer })
        .await
}

/// A handoff, for its two parties and oversight (the read is logged).
#[utoipa::path(get, path = "/v1/handoffs/{id}", params(("id" = HandoffId, Path)),
    responses((status = 200, body = domain::custody::Handoff), (status = 404, body = Problem)))]
async fn get_handoff(
    State(st): St,
    ext: axum::http::Extensions,
    Path(hid): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let p = principal(&ext);
    let hid: domain::HandoffId = id(hid)?;
    let pp = p.clone();
    let h = point_read(&st, move |s| match visible(s, &pp, RecordKind::Handoff, hid.as_str())? {
        Record::Handoff(h) => Ok(h),
        _ => unreachable!("a handoff key holds a handoff"),
    })
    .await?;
    log_read(&st, &p, &h.subject, format!("handoff {}", h.id)).await?;
    Ok(axum::Json(h))
}

/// Issue a detainer (I-247A with its warrant and probable-cause basis) or a notification request.
#[utoipa::path(post, path = "/v1/detainers", request_body = NewDetainer, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = 403, body = Problem, description = "Denied by law or role"), (status = "4XX", body = Problem)))]
async fn issue_detainer(State(st): St, w: WriteReq<NewDetainer>) -> ApiResult<impl IntoResponse> {
    let WriteReq { p, body: mut n, canonical, key } = w;
    let id = n.id.clone().map_or_else(|| service::new_id("D", &p.id, key.as_deref()), |i| i.to_string());
    n.id = Some(domain::DetainerId::parse(&id).expect("valid"));
    write(&st, p, Command::IssueDetainer(n), id, key, "POST /v1/detainers", &canonical).await
}

/// A step in a detainer's life: serve, answer, release-eligible, assume custody, lift.
#[utoipa::path(post, path = "/v1/detainers/{id}/steps", request_body = DetainerUpdate, params(("id" = DetainerId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = 409, body = Problem), (status = "4XX", body = Problem)))]
async fn update_detainer(
    State(st): St,
    Path(did): Path<String>,
    w: WriteReq<DetainerUpdate>,
) -> ApiResult<impl IntoResponse> {
    let route = "/v1/detainers/{id}/steps";
    write_to(&st, did, w, route, |detainer, update| Command::UpdateDetainer { detainer, update }).await
}

/// A detainer with its hold deadline, for its two agencies and oversight (the read is logged).
#[utoipa::path(get, path = "/v1/detainers/{id}", params(("id" = DetainerId, Path)),
    responses((status = 200, body = DetainerView), (status = 404, body = Problem)))]
async fn get_detainer(
    State(st): St,
    ext: axum::http::Extensions,
    Path(did): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let p = principal(&ext);
    let did: domain::DetainerId = id(did)?;
    let pp = p.clone();
    let view = point_read(&st, move |s| {
        let Record::Detainer(d) = visible(s, &pp, RecordKind::Detainer, did.as_str())? else {
            unreachable!("a detainer key holds a detainer")
        };
        let tz = service::views::hold_time_zone(&d, &mut |k| record(s, k.kind, &k.id))?;
        Ok(DetainerView::new(d, &tz))
    })
    .await?;
    log_read(&st, &p, &view.detainer.subject, format!("detainer {}", view.detainer.id)).await?;
    Ok(axum::Json(view))
}

/// Plan an operation or deployment (city, dates, agencies, headcounts).
#[utoipa::path(post, path = "/v1/operations", request_body = NewOperation, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn plan_operation(State(st): St, w: WriteReq<NewOperation>) -> ApiResult<impl IntoResponse> {
    let WriteReq { p, body: mut n, canonical, key } = w;
    let id = n.id.clone().map_or_else(|| service::new_id("OP", &p.id, key.as_deref()), |i| i.to_string());
    n.id = Some(domain::OperationId::parse(&id).expect("valid"));
    write(&st, p, Command::PlanOperation(n), id, key, "POST /v1/operations", &canonical).await
}

/// An operation, for its participating agencies and oversight.
#[utoipa::path(get, path = "/v1/operations/{id}", params(("id" = OperationId, Path)),
    responses((status = 200, body = domain::operation::Operation), (status = 404, body = Problem)))]
async fn get_operation(
    State(st): St,
    ext: axum::http::Extensions,
    Path(oid): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let p = principal(&ext);
    let oid: domain::OperationId = id(oid)?;
    let op = point_read(&st, move |s| match visible(s, &p, RecordKind::Operation, oid.as_str())? {
        Record::Operation(o) => Ok(o),
        _ => unreachable!("an operation key holds an operation"),
    })
    .await?;
    Ok(axum::Json(op))
}

/// Activate or conclude an operation (a supervisor of a participating agency).
#[utoipa::path(post, path = "/v1/operations/{id}/status", request_body = OperationStatusChange, params(("id" = OperationId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn change_operation_status(
    State(st): St,
    Path(oid): Path<String>,
    w: WriteReq<OperationStatusChange>,
) -> ApiResult<impl IntoResponse> {
    let route = "/v1/operations/{id}/status";
    write_to(&st, oid, w, route, |operation, change| Command::ChangeOperationStatus { operation, change }).await
}

/// File a complaint against events of the log, each of which the caller may know about.
#[utoipa::path(post, path = "/v1/complaints", request_body = NewComplaint, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn file_complaint(State(st): St, w: WriteReq<NewComplaint>) -> ApiResult<impl IntoResponse> {
    let WriteReq { p, body: mut n, canonical, key } = w;
    let id = n.id.clone().map_or_else(|| service::new_id("C", &p.id, key.as_deref()), |i| i.to_string());
    n.id = Some(domain::ComplaintId::parse(&id).expect("valid"));
    let cmd = Command::Complaint(ComplaintCommand::File(n));
    write(&st, p, cmd, id, key, "POST /v1/complaints", &canonical).await
}

/// A complaint, for oversight and the agency that filed it.
#[utoipa::path(get, path = "/v1/complaints/{id}", params(("id" = ComplaintId, Path)),
    responses((status = 200, body = domain::complaint::Complaint), (status = 404, body = Problem)))]
async fn get_complaint(
    State(st): St,
    ext: axum::http::Extensions,
    Path(cid): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let p = principal(&ext);
    let cid: domain::ComplaintId = id(cid)?;
    let c = point_read(&st, move |s| match visible(s, &p, RecordKind::Complaint, cid.as_str())? {
        Record::Complaint(c) => Ok(c),
        _ => unreachable!("a complaint key holds a complaint"),
    })
    .await?;
    Ok(axum::Json(c))
}

/// Oversight assigns a complaint to an investigator.
#[utoipa::path(post, path = "/v1/complaints/{id}/assignment", request_body = ComplaintAssignment, params(("id" = ComplaintId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn assign_complaint(
    State(st): St,
    Path(cid): Path<String>,
    w: WriteReq<ComplaintAssignment>,
) -> ApiResult<impl IntoResponse> {
    let route = "/v1/complaints/{id}/assignment";
    write_to(&st, cid, w, route, |complaint, assignment| {
        Command::Complaint(ComplaintCommand::Assign { complaint, assignment })
    })
    .await
}

/// Oversight resolves an assigned complaint, with its outcome and reasons.
#[utoipa::path(post, path = "/v1/complaints/{id}/resolution", request_body = ComplaintResolution, params(("id" = ComplaintId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn resolve_complaint(
    State(st): St,
    Path(cid): Path<String>,
    w: WriteReq<ComplaintResolution>,
) -> ApiResult<impl IntoResponse> {
    let route = "/v1/complaints/{id}/resolution";
    write_to(&st, cid, w, route, |complaint, resolution| {
        Command::Complaint(ComplaintCommand::Resolve { complaint, resolution })
    })
    .await
}

/// Record an agreement in the 287(g) registry (administrators).
#[utoipa::path(post, path = "/v1/agreements", request_body = NewAgreement, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn record_agreement(State(st): St, w: WriteReq<NewAgreement>) -> ApiResult<impl IntoResponse> {
    let WriteReq { p, body: n, canonical, key } = w;
    let id = n.id.to_string();
    write(&st, p, Command::Registry(RegistryCommand::RecordAgreement(n)), id, key, "POST /v1/agreements", &canonical)
        .await
}

/// End an agreement: superseded, removed or terminated (administrators).
#[utoipa::path(post, path = "/v1/agreements/{id}/status", request_body = AgreementStatusChange, params(("id" = AgreementId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn change_agreement_status(
    State(st): St,
    Path(aid): Path<String>,
    w: WriteReq<AgreementStatusChange>,
) -> ApiResult<impl IntoResponse> {
    write_to(&st, aid, w, "/v1/agreements/{id}/status", |agreement, change| {
        Command::Registry(RegistryCommand::ChangeAgreementStatus { agreement, change })
    })
    .await
}

/// Register an officer (administrators).
#[utoipa::path(post, path = "/v1/officers", request_body = NewOfficer, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn register_officer(State(st): St, w: WriteReq<NewOfficer>) -> ApiResult<impl IntoResponse> {
    let WriteReq { p, body: n, canonical, key } = w;
    let id = n.id.to_string();
    write(&st, p, Command::Registry(RegistryCommand::RegisterOfficer(n)), id, key, "POST /v1/officers", &canonical)
        .await
}

/// An officer with their designations and training (the 287(g) registry is readable by every
/// principal, like the agreements).
#[utoipa::path(get, path = "/v1/officers/{id}", params(("id" = OfficerId, Path)),
    responses((status = 200, body = domain::officer::Officer), (status = 404, body = Problem)))]
async fn get_officer(State(st): St, Path(oid): Path<String>) -> ApiResult<impl IntoResponse> {
    let oid: domain::OfficerId = id(oid)?;
    let o = point_read(&st, move |s| match record(s, RecordKind::Officer, oid.as_str())? {
        Some(Record::Officer(o)) => Ok(o),
        _ => Err(not_found("officer", oid.as_str())),
    })
    .await?;
    Ok(axum::Json(o))
}

/// Grant an officer a designation (administrators).
#[utoipa::path(post, path = "/v1/officers/{id}/designations", request_body = NewDesignation, params(("id" = OfficerId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn grant_designation(
    State(st): St,
    Path(oid): Path<String>,
    w: WriteReq<NewDesignation>,
) -> ApiResult<impl IntoResponse> {
    write_to(&st, oid, w, "/v1/officers/{id}/designations", |officer, designation| {
        Command::Registry(RegistryCommand::GrantDesignation { officer, designation })
    })
    .await
}

/// Record an officer's completed training (administrators).
#[utoipa::path(post, path = "/v1/officers/{id}/training", request_body = NewTraining, params(("id" = OfficerId, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Written), (status = "4XX", body = Problem)))]
async fn record_training(
    State(st): St,
    Path(oid): Path<String>,
    w: WriteReq<NewTraining>,
) -> ApiResult<impl IntoResponse> {
    write_to(&st, oid, w, "/v1/officers/{id}/training", |officer, training| {
        Command::Registry(RegistryCommand::RecordTraining { officer, training })
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    /// The `next` value of the previous page.
    after: Option<String>,
    /// At most this many items (1 to 1000, default 100).
    limit: Option<usize>,
}

impl PageQuery {
    fn limit(&self) -> ApiResult<usize> {
        match self.limit {
            None => Ok(100),
            Some(n @ 1..=1000) => Ok(n),
            Some(n) => Err(ApiError::new(400, "invalid_query", format!("limit {n} must be between 1 and 1000"))),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// A logged event as the audit search shows it.
pub type LoggedEvent = ledger::Entry<domain::Event>;

/// The 287(g) registry and other agreements, a page at a time.
#[utoipa::path(get, path = "/v1/agreements", params(PageQuery), responses((status = 200, body = Page<domain::agreement::Agreement>), (status = "4XX", body = Problem)))]
async fn list_agreements(State(st): St, q: Result<Query<PageQuery>, QueryRejection>) -> ApiResult<impl IntoResponse> {
    let q = query(q)?;
    let limit = q.limit()?;
    let page = blocking(&st, move |s| {
        let recs = s.records(RecordKind::Agreement, q.after.as_deref(), limit)?;
        let next = (recs.len() == limit).then(|| recs.last().map(|r| r.key().id)).flatten();
        let items = recs
            .into_iter()
            .filter_map(|r| match r {
                Record::Agreement(a) => Some(a),
                _ => None,
            })
            .collect();
        Ok(Page { items, next })
    })
    .await?;
    Ok(axum::Json(page))
}

/// One agreement.
#[utoipa::path(get, path = "/v1/agreements/{id}", params(("id" = AgreementId, Path)),
    responses((status = 200, body = domain::agreement::Agreement), (status = 404, body = Problem)))]
async fn get_agreement(State(st): St, Path(aid): Path<String>) -> ApiResult<impl IntoResponse> {
    let aid: domain::AgreementId = id(aid)?;
    let a = point_read(&st, move |s| match record(s, RecordKind::Agreement, aid.as_str())? {
        Some(Record::Agreement(a)) => Ok(a),
        _ => Err(not_found("agreement", aid.as_str())),
    })
    .await?;
    Ok(axum::Json(a))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Only events concerning this subject.
    subject: Option<String>,
    /// Only events of this type (e.g. `subject_record_read`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    type_: Option<String>,
    /// The `next` value of the previous page (a sequence number).
    after: Option<String>,
    limit: Option<usize>,
}

/// What reads across every subject at once (event search, the whole log) is for oversight
/// and administrators: anyone else gets 403, before anything is read.
fn oversight_only(p: &Principal, what: &str) -> ApiResult<()> {
    if p.has_any(&[service::ApiRole::Oversight, service::ApiRole::Administrator]) {
        Ok(())
    } else {
        Err(ApiError::new(403, "forbidden", format!("{what} is for oversight and administrators")))
    }
}

/// Search the ledger's events (oversight and administrators).
#[utoipa::path(get, path = "/v1/audit/events", params(AuditQuery), responses((status = 200, body = Page<LoggedEvent>), (status = 403, body = Problem, description = "Only oversight and administrators search events"), (status = "4XX", body = Problem)))]
async fn audit_events(
    State(st): St,
    ext: axum::http::Extensions,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let p = principal(&ext);
    oversight_only(&p, "event search")?;
    let q = query(q)?;
    let limit = PageQuery { after: None, limit: q.limit }.limit()?;
    let subject: Option<domain::SubjectId> = q.subject.clone().map(id).transpose()?;
    let after: Option<u64> = match &q.after {
        None => None,
        Some(a) => Some(a.parse().map_err(|_| ApiError::new(400, "invalid_query", "after must be a sequence number"))?),
    };
    let pp = p.clone();
    let (page, read) = blocking(&st, move |s| {
        // Past the last possible sequence number there is nothing.
        let Some(from) = after.map_or(Some(0), |a| a.checked_add(1)) else {
            return Ok((Page { items: vec![], next: None }, vec![]));
        };
        let mut page = AuditPage::new(limit);
        if let Some(subject) = &subject {
            visible_subject(s, &pp, subject.as_str())?;
            for e in s.subject_entries(subject.as_str(), None)?.into_iter().filter(|e| e.seq >= from) {
                if page.offer(s, &pp, q.type_.as_deref(), e)? {
                    break;
                }
            }
        } else {
            let mut at = from;
            'scan: while page.scanned < SCAN_MAX {
                let chunk = s.entries(at, 1000)?;
                let Some(end) = chunk.last().map(|c| c.seq) else { break };
                for se in chunk {
                    if page.offer(s, &pp, q.type_.as_deref(), se.decode()?)? {
                        break 'scan;
                    }
                }
                at = end + 1;
            }
        }
        Ok(page.finish())
    })
    .await?;
    // What the page shows of each subject is that subject's record: a logged read, for
    // oversight too, before the page is returned.
    log_reads(&st, &p, read, "audit events".into()).await?;
    Ok(axum::Json(page))
}

/// Events or records a filtered list (the audit search, the custody-conflict queue) looks at
/// per page before it answers with what it found and a `next` cursor (a caller who may see
/// little still gets a prompt answer).
const SCAN_MAX: usize = 100_000;

/// One page of an audit search being filled: only events the caller may know about.
struct AuditPage {
    limit: usize,
    items: Vec<LoggedEvent>,
    subjects: std::collections::BTreeSet<domain::SubjectId>,
    scanned: usize,
    last_scanned: Option<u64>,
}

impl AuditPage {
    fn new(limit: usize) -> Self {
        AuditPage { limit, items: vec![], subjects: Default::default(), scanned: 0, last_scanned: None }
    }

    /// Considers one event; true when the page is full.
    fn offer(
        &mut self,
        s: &mut dyn Store,
        p: &Principal,
        type_: Option<&str>,
        e: ledger::Entry<domain::Event>,
    ) -> Result<bool, ServiceError> {
        self.scanned += 1;
        self.last_scanned = Some(e.seq);
        if type_.is_some_and(|t| e.event.type_name() != t) || !service::access::may_know_event(s, p, &e.event)? {
            return Ok(false);
        }
        if let Some(subject) = service::access::event_subject(s, &e.event)? {
            self.subjects.insert(subject);
        }
        self.items.push(e);
        Ok(self.items.len() == self.limit)
    }

    /// The page, and the subjects whose records it shows.
    fn finish(self) -> (Page<LoggedEvent>, Vec<domain::SubjectId>) {
        let more = self.items.len() == self.limit || self.scanned >= SCAN_MAX;
        let next = if more { self.last_scanned.map(|l| l.to_string()) } else { None };
        (Page { items: self.items, next }, self.subjects.into_iter().collect())
    }
}

/// The latest signed checkpoint and the log's verifier key.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatestCheckpoint {
    /// Events the checkpoint covers.
    pub size: u64,
    /// The Merkle root of those events (hex).
    pub root: String,
    /// The checkpoint as a C2SP signed note.
    pub note: String,
    /// The log's Ed25519 verifier key (hex).
    pub public_key: String,
    /// The log's signed-note verifier key (`origin+keyid+base64 key`), to check `note` with.
    pub verifier_key: String,
    /// The latest checkpoint witnesses cosigned, if any (C2SP tlog-cosignature).
    pub witnessed: Option<WitnessedCheckpoint>,
}

/// A checkpoint with its witnesses' cosignatures.
#[derive(Debug, Serialize, ToSchema)]
pub struct WitnessedCheckpoint {
    /// Events the checkpoint covers.
    pub size: u64,
    /// The signed note with a cosignature line per witness after the log's signature.
    pub note: String,
    /// The witnesses' verifier keys (`name+keyid+base64 key`).
    pub witnesses: Vec<String>,
}

/// An inclusion proof (RFC 6962 audit path, hex hashes).
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProof {
    pub seq: u64,
    pub size: u64,
    /// The event's leaf hash.
    pub leaf: Option<String>,
    pub root: String,
    pub proof: Vec<String>,
}

/// A consistency proof between two tree sizes (RFC 6962, hex hashes).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub old: u64,
    pub new: u64,
    pub old_root: String,
    pub new_root: String,
    pub proof: Vec<String>,
}

/// The latest signed checkpoint (C2SP signed note) and the log's verifier key.
#[utoipa::path(get, path = "/v1/ledger/checkpoint", responses((status = 200, body = LatestCheckpoint)))]
async fn latest_checkpoint(State(st): St) -> ApiResult<impl IntoResponse> {
    let v = blocking(&st, |s| {
        let size = s.size()?;
        let cp = s.checkpoint_at(size)?.ok_or_else(|| not_found("checkpoint", "latest"))?;
        let key = s.verifying_key()?;
        let witnessed = match s.latest_cosigned()? {
            None => None,
            Some(size) => {
                let signed = s.checkpoint_at(size)?.ok_or_else(|| not_found("checkpoint", &size.to_string()))?;
                let cosigs = s.cosignatures(size)?;
                let mut note = signed.to_note();
                for (_, line) in &cosigs {
                    note.push_str(line);
                    if !line.ends_with('\n') {
                        note.push('\n');
                    }
                }
                Some(WitnessedCheckpoint { size, note, witnesses: cosigs.into_iter().map(|c| c.0).collect() })
            }
        };
        Ok(LatestCheckpoint {
            size: cp.checkpoint.size,
            root: hex::encode(cp.checkpoint.root),
            note: cp.to_note(),
            public_key: hex::encode(key.as_bytes()),
            verifier_key: ledger::checkpoint::verifier_key(&cp.checkpoint.origin, &key),
            witnessed,
        })
    })
    .await?;
    Ok(axum::Json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    /// The first event to send: the size of the mirror asking (default 0), at most the log's size.
    from: Option<u64>,
    /// About how many events to send, 1–100,000 (default 10,000); the slice ends at a signed
    /// checkpoint.
    #[param(minimum = 1, maximum = 100000)]
    limit: Option<u64>,
}

/// A slice of the log in the export format (NDJSON: header, law versions, entries with their
/// signed checkpoints, end line), for `liaison mirror`: the whole log, every person in it, so
/// oversight and administrators only.
#[utoipa::path(get, path = "/v1/ledger/export", params(ExportQuery), responses((status = 200, content_type = "application/x-ndjson", body = String), (status = 403, body = Problem, description = "Only oversight and administrators copy the log"), (status = 422, body = Problem, description = "`limit` is not from 1 to 100,000, or `from` is beyond the log"), (status = "4XX", body = Problem)))]
async fn export_log(
    State(st): St,
    ext: axum::http::Extensions,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let p = principal(&ext);
    oversight_only(&p, "copying the log")?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(10_000);
    if !(1..=100_000).contains(&limit) {
        return Err(ApiError::new(422, "invalid_query", "limit must be from 1 to 100000"));
    }
    let from = q.from.unwrap_or(0);
    let body = blocking(&st, move |s| {
        let size = s.size()?;
        if from > size {
            return Err(service::ServiceError::new(
                422,
                "invalid_query",
                format!("from {from} is beyond the log ({size} events)"),
            ));
        }
        let mut out = Vec::new();
        store::export::export_range(s, &mut out, from, limit, &mut |_| {})?;
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    seq: u64,
    size: u64,
}

/// Proof that event `seq` is in the tree of `size` events.
#[utoipa::path(get, path = "/v1/ledger/proofs/inclusion", params(InclusionQuery), responses((status = 200, body = InclusionProof), (status = 422, body = Problem, description = "`seq` is not below `size`, or `size` is beyond the log"), (status = "4XX", body = Problem)))]
async fn inclusion_proof(
    State(st): St,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let q = query(q)?;
    let v = blocking(&st, move |s| {
        let proof = s.inclusion_proof(q.seq, q.size)?;
        let leaf = s.entries(q.seq, 1)?.into_iter().next().map(|e| hex::encode(e.leaf));
        let root = hex::encode(s.root_at(q.size)?);
        Ok(InclusionProof { seq: q.seq, size: q.size, leaf, root, proof: proof.iter().map(hex::encode).collect() })
    })
    .await?;
    Ok(axum::Json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    old: u64,
    new: u64,
}

/// Proof that the tree of `old` events is a prefix of the tree of `new` events.
#[utoipa::path(get, path = "/v1/ledger/proofs/consistency", params(ConsistencyQuery), responses((status = 200, body = ConsistencyProof), (status = 422, body = Problem, description = "`old` is above `new`, or `new` is beyond the log"), (status = "4XX", body = Problem)))]
async fn consistency_proof(
    State(st): St,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let q = query(q)?;
    let v = blocking(&st, move |s| {
        let proof = s.consistency_proof(q.old, q.new)?;
        Ok(ConsistencyProof {
            old: q.old,
            new: q.new,
            old_root: hex::encode(s.root_at(q.old)?),
            new_root: hex::encode(s.root_at(q.new)?),
            proof: proof.iter().map(hex::encode).collect(),
        })
    })
    .await?;
    Ok(axum::Json(v))
}
