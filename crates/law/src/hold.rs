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
//! Which one applies depends on the form that asked (see [`hold_clock`]): the stricter 48
//! clock hours unless the form itself asked for the regulation's limit; the clock records
//! which was applied and why. Weekends and holidays are counted in the custodial
//! facility's local time zone. Holding past the applied limit is a new seizure
//! (Miranda-Olivares v. Clackamas County, D. Or. 2014; Morales v. Chadbourne, 1st Cir. 2015).

use crate::holidays::is_excluded_day;
use domain::detainer::DetainerForm;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// The hold limit a decision applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldRule {
    /// 48 clock hours beyond release eligibility (Form I-247A's words).
    I247aClockHours,
    /// 8 CFR 287.7(d): 48 hours excluding Saturdays, Sundays and federal holidays.
    Cfr287_7dBusinessHours,
}

/// Both deadlines of one hold, which one applies and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldClock {
    /// The form that asked for the hold; none for a warrant served at release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<DetainerForm>,
    pub release_eligible_at: Timestamp,
    pub i247a_deadline: Timestamp,
    pub cfr_287_7d_deadline: Timestamp,
    pub applied: HoldRule,
    pub deadline: Timestamp,
    /// Why that limit applies.
    pub why: String,
}

/// Hours a hold may run (both rules say 48).
pub const HOLD_HOURS_MAX: i64 = 48;

/// Whether a form asks for a hold at all: I-247N asked only for notice of release, and I-247X
/// for a transfer (reference.md §3.3).
pub fn form_asks_hold(form: DetainerForm) -> bool {
    !matches!(form, DetainerForm::I247n | DetainerForm::I247x)
}

/// Computes the hold clock for a subject release-eligible at `t0` in a facility in `tz`, on a
/// detainer of `form`; `None` when the deadlines fall outside the calendar the clock can count
/// (years beyond 9999).
///
/// - I-247A asks for at most "48 hours beyond the time he or she would otherwise have been
///   released": clock hours (ICE's guidance for the form; reference.md §3.2). That is also the
///   stricter reading, which Liaison applies to every form whose wording it has not verified.
/// - The legacy I-247 (revision of December 2012) asked, as 8 CFR 287.7(d) reads, for 48 hours
///   "excluding Saturdays, Sundays, and holidays" (the Ninth Circuit read Gonzalez's 2012
///   detainer as asking "up to an additional five days": reference.md §3.1): the regulation's
///   limit applies.
/// - I-247D (2015-2017): its hold wording is UNVERIFIED in reference.md, so the stricter clock
///   hours apply.
pub fn hold_clock(t0: Timestamp, tz: &TimeZone, form: DetainerForm) -> Option<HoldClock> {
    let limit = SignedDuration::from_hours(HOLD_HOURS_MAX);
    let i247a = t0.checked_add(limit).ok()?;
    let cfr = business_deadline(t0, tz, limit)?;
    let (applied, deadline, why) = match form {
        DetainerForm::I247 => (
            HoldRule::Cfr287_7dBusinessHours,
            cfr,
            "Form I-247 asked for 48 hours excluding Saturdays, Sundays and holidays, as 8 CFR 287.7(d) allows",
        ),
        DetainerForm::I247d => (
            HoldRule::I247aClockHours,
            i247a,
            "Form I-247D's hold wording is UNVERIFIED; the stricter 48 clock hours apply",
        ),
        _ => (
            HoldRule::I247aClockHours,
            i247a,
            "Form I-247A asks for at most 48 hours beyond the time of release: clock hours",
        ),
    };
    Some(HoldClock {
        form: Some(form),
        release_eligible_at: t0,
        i247a_deadline: i247a,
        cfr_287_7d_deadline: cfr,
        applied,
        deadline,
        why: why.to_string(),
    })
}

/// The clock of an administrative warrant served at release under the 287(g) warrant
/// service model: 48 clock hours from `t0` for DHS to take custody (reference.md §2.2); the
/// regulation's deadline is shown beside it.
pub fn warrant_clock(t0: Timestamp, tz: &TimeZone) -> Option<HoldClock> {
    let clock = hold_clock(t0, tz, DetainerForm::I247a)?;
    Some(HoldClock {
        form: None,
        why: "An administrative warrant served at release under the warrant service model: DHS has 48 hours to take custody".into(),
        ..clock
    })
}

/// `t0` plus `limit` counting only time on days that are not Saturdays, Sundays or holidays
/// in `tz`; `None` past the end of the calendar.
fn business_deadline(t0: Timestamp, tz: &TimeZone, limit: SignedDuration) -> Option<Timestamp> {
    let mut at = t0.to_zoned(tz.clone());
    let mut remaining = limit;
    // Bounded: 48 hours never span more than a few weeks of excluded days.
    for _ in 0..366 {
        let next_day = at.date().tomorrow().ok()?.to_zoned(tz.clone()).ok()?;
        if is_excluded_day(at.date()) {
            at = next_day;
            continue;
        }
        let available = at.duration_until(&next_day);
        if remaining <= available {
            return at.timestamp().checked_add(remaining).ok();
        }
        remaining -= available;
        at = next_day;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn hold_clock_a(t0: Timestamp, tz: &TimeZone) -> HoldClock {
        hold_clock(t0, tz, DetainerForm::I247a).unwrap()
    }

    #[test]
    fn the_legacy_form_applies_the_regulations_clock_and_the_end_of_time_is_no_panic() {
        // Friday 2026-01-16 17:00 CST before Martin Luther King, Jr. Day.
        let c = hold_clock(ts("2026-01-16T23:00:00Z"), &chicago(), DetainerForm::I247).unwrap();
        assert_eq!(c.applied, HoldRule::Cfr287_7dBusinessHours);
        assert_eq!(c.deadline, ts("2026-01-21T23:00:00Z"));
        assert!(hold_clock(ts("9999-12-30T12:00:00Z"), &chicago(), DetainerForm::I247a).is_none());
    }

    fn chicago() -> TimeZone {
        TimeZone::get("America/Chicago").unwrap()
    }

    #[test]
    fn a_weekday_release_ends_48_hours_later_under_both_rules() {
        // Tuesday 2026-03-03 10:00 CST.
        let c = hold_clock_a(ts("2026-03-03T16:00:00Z"), &chicago());
        assert_eq!(c.i247a_deadline, ts("2026-03-05T16:00:00Z"));
        assert_eq!(c.cfr_287_7d_deadline, ts("2026-03-05T16:00:00Z"));
        assert_eq!(c.applied, HoldRule::I247aClockHours);
    }

    #[test]
    fn a_friday_release_before_a_holiday_monday_stretches_the_regulation_clock() {
        // Friday 2026-01-16 17:00 CST; Monday 2026-01-19 is Martin Luther King, Jr. Day.
        let c = hold_clock_a(ts("2026-01-16T23:00:00Z"), &chicago());
        assert_eq!(c.i247a_deadline, ts("2026-01-18T23:00:00Z"));
        // Friday 7 h, then Tuesday 24 h, then Wednesday 17 h: Wednesday 17:00 CST.
        assert_eq!(c.cfr_287_7d_deadline, ts("2026-01-21T23:00:00Z"));
        assert_eq!(c.deadline, c.i247a_deadline, "the stricter limit applies");
    }

    #[test]
    fn the_regulation_clock_skips_an_observed_new_year_across_the_year_boundary() {
        // Thursday 2021-12-30 12:00 CST. Friday 2021-12-31 is New Year's Day observed.
        let c = hold_clock_a(ts("2021-12-30T18:00:00Z"), &chicago());
        // Thursday 12 h, then Monday 2022-01-03 24 h, then Tuesday 12 h: Tue 12:00 CST.
        assert_eq!(c.cfr_287_7d_deadline, ts("2022-01-04T18:00:00Z"));
    }

    #[test]
    fn weekends_are_counted_in_the_facilitys_zone() {
        // Saturday 2026-03-07 05:00 UTC is still Friday 23:00 in Chicago: one hour counts.
        let c = hold_clock_a(ts("2026-03-07T05:00:00Z"), &chicago());
        // Friday 1 h, Monday 24 h, Tuesday 23 h -> Tuesday 23:00 CST (DST starts 03-08: CDT).
        assert_eq!(c.cfr_287_7d_deadline, ts("2026-03-11T04:00:00Z"));
    }
}
