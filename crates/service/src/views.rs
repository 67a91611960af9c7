//! Read models returned by the API: records with what a reader needs beside them.

use domain::detainer::Detainer;
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
    /// `state` is the recipient agency's state, whose time zone the clock counts days in.
    pub fn new(detainer: Detainer, state: Option<&str>) -> Self {
        let tz = state
            .and_then(law::place::state_time_zone)
            .and_then(|z| jiff::tz::TimeZone::get(z).ok())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let hold = detainer.release_eligible_at.map(|t0| hold_clock(t0, &tz));
        DetainerView { detainer, hold }
    }
}
