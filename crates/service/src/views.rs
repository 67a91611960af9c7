//! Read models returned by the API: records with what a reader needs beside them.

use domain::detainer::Detainer;
use domain::{Record, RecordKey, RecordKind};
use law::hold::{HoldClock, hold_clock};
use serde::Serialize;
use utoipa::ToSchema;

/// A detainer with its hold clock: once the subject is release-eligible, the deadline by which
/// the hold must end (48 hours; both the I-247A clock-hour reading and the 8 CFR 287.7(d)
/// reading that excludes weekends and holidays are shown, and which one is applied).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DetainerView {
    pub detainer: Detainer,
    pub hold: Option<HoldClock>,
}

impl DetainerView {
    /// `time_zone` is the IANA zone the clock counts days in ([`hold_time_zone`]).
    pub fn new(detainer: Detainer, time_zone: &str) -> Self {
        let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let hold = detainer.release_eligible_at.and_then(|t0| hold_clock(t0, &tz, detainer.form));
        DetainerView { detainer, hold }
    }
}

/// The IANA zone a detainer's hold clock counts days in: the zone at the facility where the
/// recipient holds the subject, when the facility has a location; else the main zone of the
/// recipient agency's state; else UTC. `read` reads one record of current state.
pub fn hold_time_zone<E>(
    d: &Detainer,
    read: &mut dyn FnMut(&RecordKey) -> Result<Option<Record>, E>,
) -> Result<String, E> {
    if let Some(Record::Custody(c)) = read(&RecordKey::new(RecordKind::Custody, d.subject.as_str()))?
        && let Some(held) = c.custodian.filter(|h| h.agency == d.recipient_agency)
        && let Some(f) = held.facility
        && let Some(Record::Facility(f)) = read(&RecordKey::new(RecordKind::Facility, f.as_str()))?
        && let Some(at) = f.location
    {
        return Ok(law::place::Places::bundled().time_zone(at.lat(), at.lon()).to_string());
    }
    let state = match read(&RecordKey::new(RecordKind::Agency, d.recipient_agency.as_str()))? {
        Some(Record::Agency(a)) => a.state,
        _ => None,
    };
    Ok(state.as_ref().and_then(|s| law::place::state_time_zone(s.as_str())).unwrap_or("UTC").to_string())
}
