//! The detainer hold clock.
//!
//! A hold starts when the subject would otherwise be released (`release_eligible_at`). Two
//! limits exist and both are computed:
//! - Form I-247A asks the agency to "maintain custody ... for a period not to exceed 48 hours
//!   beyond the time he or she would otherwise have been released": 48 clock hours
//!   (reference.md §3.2, ICE guidance for Form I-247A);
//! - 8 CFR 287.7(d) says "not to exceed 48 hours, excluding Saturdays, Sundays, and holidays",
//!   which can stretch to about five days over a holiday weekend (reference.md §3.1).
//!
//! Liaison applies the stricter (earlier) one, the form's 48 clock hours, as reference.md
//! advises, and records which was applied. Weekends and holidays are counted in the custodial
//! facility's local time zone. Holding past the applied limit is a new seizure
//! (Miranda-Olivares v. Clackamas County, D. Or. 2014; Morales v. Chadbourne, 1st Cir. 2015).

use crate::holidays::is_excluded_day;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// The hold limit a decision applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldRule {
    /// Form I-247A: 48 clock hours beyond release eligibility.
    I247aClockHours,
    /// 8 CFR 287.7(d): 48 hours excluding Saturdays, Sundays and federal holidays.
    Cfr287_7dBusinessHours,
}

/// Both deadlines of one hold, and which one applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldClock {
    pub release_eligible_at: Timestamp,
    pub i247a_deadline: Timestamp,
    pub cfr_287_7d_deadline: Timestamp,
    pub applied: HoldRule,
    pub deadline: Timestamp,
}

/// Hours a hold may run (both rules say 48).
pub const HOLD_HOURS_MAX: i64 = 48;

/// Computes the hold clock for a subject release-eligible at `t0` in a facility in `tz`.
pub fn hold_clock(t0: Timestamp, tz: &TimeZone) -> HoldClock {
    let limit = SignedDuration::from_hours(HOLD_HOURS_MAX);
    let i247a = t0 + limit;
    let cfr = business_deadline(t0, tz, limit);
    debug_assert!(i247a <= cfr, "excluding days can only extend the clock");
    HoldClock {
        release_eligible_at: t0,
        i247a_deadline: i247a,
        cfr_287_7d_deadline: cfr,
        applied: HoldRule::I247aClockHours,
        deadline: i247a,
    }
}

/// `t0` plus `limit` counting only time on days that are not Saturdays, Sundays or holidays
/// in `tz`.
fn business_deadline(t0: Timestamp, tz: &TimeZone, limit: SignedDuration) -> Timestamp {
    let mut at = t0.to_zoned(tz.clone());
    let mut remaining = limit;
    // Bounded: 48 hours never span more than a few weeks of excluded days.
    for _ in 0..366 {
        let next_day = at.date().tomorrow().expect("in range").to_zoned(tz.clone()).expect("valid midnight");
        if is_excluded_day(at.date()) {
            at = next_day;
            continue;
        }
        let available = at.duration_until(&next_day);
        if remaining <= available {
            return at.timestamp() + remaining;
        }
        remaining -= available;
        at = next_day;
    }
    unreachable!("a year without 48 business hours")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn chicago() -> TimeZone {
        TimeZone::get("America/Chicago").unwrap()
    }

    #[test]
    fn a_weekday_release_ends_48_hours_later_under_both_rules() {
        // Tuesday 2026-03-03 10:00 CST.
        let c = hold_clock(ts("2026-03-03T16:00:00Z"), &chicago());
        assert_eq!(c.i247a_deadline, ts("2026-03-05T16:00:00Z"));
        assert_eq!(c.cfr_287_7d_deadline, ts("2026-03-05T16:00:00Z"));
        assert_eq!(c.applied, HoldRule::I247aClockHours);
    }

    #[test]
    fn a_friday_release_before_a_holiday_monday_stretches_the_regulation_clock() {
        // Friday 2026-01-16 17:00 CST; Monday 2026-01-19 is Martin Luther King, Jr. Day.
        let c = hold_clock(ts("2026-01-16T23:00:00Z"), &chicago());
        assert_eq!(c.i247a_deadline, ts("2026-01-18T23:00:00Z"));
        // Friday 7 h, then Tuesday 24 h, then Wednesday 17 h: Wednesday 17:00 CST.
        assert_eq!(c.cfr_287_7d_deadline, ts("2026-01-21T23:00:00Z"));
        assert_eq!(c.deadline, c.i247a_deadline, "the stricter limit applies");
    }

    #[test]
    fn the_regulation_clock_skips_an_observed_new_year_across_the_year_boundary() {
        // Thursday 2021-12-30 12:00 CST. Friday 2021-12-31 is New Year's Day observed.
        let c = hold_clock(ts("2021-12-30T18:00:00Z"), &chicago());
        // Thursday 12 h, then Monday 2022-01-03 24 h, then Tuesday 12 h: Tue 12:00 CST.
        assert_eq!(c.cfr_287_7d_deadline, ts("2022-01-04T18:00:00Z"));
    }

    #[test]
    fn weekends_are_counted_in_the_facilitys_zone() {
        // Saturday 2026-03-07 05:00 UTC is still Friday 23:00 in Chicago: one hour counts.
        let c = hold_clock(ts("2026-03-07T05:00:00Z"), &chicago());
        // Friday 1 h, Monday 24 h, Tuesday 23 h -> Tuesday 23:00 CST (DST starts 03-08: CDT).
        assert_eq!(c.cfr_287_7d_deadline, ts("2026-03-11T04:00:00Z"));
    }
}
