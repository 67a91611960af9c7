//! The public reports, open without a token: the public-data report and the ledger report
//! (small cells suppressed; computed from the latest signed checkpoint, which the release
//! names). A ledger release reads the whole log, so one is computed at a time and a release is
//! reused for [`REUSE`] whatever was appended since: it names the checkpoint it was computed
//! from, so a reused release is still exactly what it says.

use crate::AppState;
use crate::problem::ApiError;
use crate::routes::ApiResult;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use jiff::civil::Date;
use reports::Report;
use reports::ledger::Period;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use utoipa::IntoParams;

/// How long a computed ledger release is served before it is computed again.
pub const REUSE: Duration = Duration::from_secs(60);
/// Periods kept at once.
const KEPT_MAX: usize = 16;
/// The longest period a release covers.
pub const PERIOD_DAYS_MAX: i32 = 3660;

/// A ledger release with the checkpoint note it was computed from.
pub struct Release {
    pub report: Report,
    pub checkpoint: String,
}

/// A release by its period, with when it was computed.
type Kept = HashMap<(Date, Date), (Instant, Arc<Release>)>;

/// Computed releases by period, and the lock that lets one computation run at a time.
#[derive(Default)]
pub struct Releases {
    kept: Mutex<Kept>,
    computing: tokio::sync::Mutex<()>,
}

/// The period asked for, with its defaults (the year up to today, UTC) and bounds.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// First day, by valid time in UTC (`2026-01-01`); default: 364 days before `to`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Last day, included (`2026-12-31`); default: today (UTC).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<Date>,
}

impl PeriodQuery {
    /// The period, or why it cannot be one.
    pub fn period(&self) -> Result<Period, ApiError> {
        let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
        let to = self.to.unwrap_or(today);
        let from = match self.from {
            Some(f) => f,
            None => to.checked_sub(jiff::Span::new().days(364)).unwrap_or(to),
        };
        if from > to {
            return Err(ApiError::new(
                422,
                "invalid_query",
                format!("the period starts ({from}) after it ends ({to})"),
            ));
        }
        let days = (to - from).get_days();
        if days > PERIOD_DAYS_MAX {
            return Err(ApiError::new(
                422,
                "invalid_query",
                format!("the period is {days} days; a release covers at most {PERIOD_DAYS_MAX}"),
            ));
        }
        Ok(Period { from, to })
    }
}

/// The ledger release for `period`: reused if computed within [`REUSE`], else computed from
/// the latest checkpoint (one computation at a time).
pub async fn ledger_release(st: &Arc<AppState>, period: Period) -> Result<Arc<Release>, service::ServiceError> {
    let key = (period.from, period.to);
    let fresh = |st: &AppState| {
        let kept = st.releases.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(&key).filter(|(at, _)| at.elapsed() < REUSE).map(|(_, r)| r.clone())
    };
    if let Some(r) = fresh(st) {
        return Ok(r);
    }
    let _one = st.releases.computing.lock().await;
    if let Some(r) = fresh(st) {
        return Ok(r);
    }
    let release = st
        .read(move |s| {
            let (report, cp) = service::release::ledger_report(s, period, None)?;
            Ok(Release { report, checkpoint: cp.to_note() })
        })
        .await?;
    let release = Arc::new(release);
    let mut kept = st.releases.kept.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() >= KEPT_MAX {
        kept.retain(|_, (at, _)| at.elapsed() < REUSE);
        if kept.len() >= KEPT_MAX {
            kept.clear();
        }
    }
    kept.insert(key, (Instant::now(), release.clone()));
    Ok(release)
}

/// The public-data report, built once per process from the compiled-in data.
pub fn public_report() -> Result<&'static Report, service::ServiceError> {
    static REPORT: OnceLock<Result<Report, String>> = OnceLock::new();
    REPORT
        .get_or_init(|| {
            reports::public::PublicInputs::bundled().map(|i| reports::public::report(&i)).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| service::ServiceError::internal(format!("the bundled public data: {e}")))
}

/// What ICE and CBP publish, put together: book-ins by arresting agency and the CBP share,
/// detention, book-outs, 287(g) agreements and their growth, Border Patrol encounters,
/// facilities; each table with its source, and the methodology. Open to anyone.
#[utoipa::path(get, path = "/v1/reports/public", tag = "reports", operation_id = "public_report", security(()), responses(
    (status = 200, description = "The report: sections of charts and tables, sources, methodology", body = Object)))]
pub async fn public() -> ApiResult<impl axum::response::IntoResponse> {
    let r = public_report().map_err(ApiError::from)?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], reports::render::json(r)))
}

/// What the ledger shows for a period, small cells suppressed: handoffs to ICE by channel,
/// month, area, state and city; detainers by stage and the law that applied; 287(g) activity;
/// arrests by channel; operations; citizenship claims; custody-time standards exceeded; legal
/// warnings and refusals by rule. Computed from the latest signed checkpoint (reused for up to
/// a minute), which the release names and includes: `liaison report ledger --checkpoint`
/// reproduces it byte for byte. Open to anyone.
#[utoipa::path(get, path = "/v1/reports/ledger", tag = "reports", operation_id = "ledger_report", security(()), params(PeriodQuery), responses(
    (status = 200, description = "`checkpoint`: the signed note it was computed from; `report`: the release", body = Object),
    (status = 400, description = "A malformed query (a date not YYYY-MM-DD, an unknown parameter)", body = crate::problem::Problem),
    (status = 422, description = "The period ends before it starts or is longer than 3,660 days", body = crate::problem::Problem),
    (status = 503, description = "The store does not answer now", body = crate::problem::Problem)))]
pub async fn ledger(
    State(st): State<Arc<AppState>>,
    q: Result<Query<PeriodQuery>, QueryRejection>,
) -> ApiResult<impl axum::response::IntoResponse> {
    let Query(q) = q.map_err(|e| ApiError::new(400, "invalid_query", e.body_text()))?;
    let r = ledger_release(&st, q.period()?).await?;
    Ok(axum::Json(serde_json::json!({ "checkpoint": r.checkpoint, "report": r.report })))
}
