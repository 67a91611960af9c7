//! The federal holiday calendar, for the detainer regulation's hold clock.
//!
//! 5 U.S.C. 6103(a) lists the legal public holidays; 6103(b) and Executive Order 11582 move a
//! holiday that falls on a Saturday to the Friday before and one on a Sunday to the Monday
//! after (so New Year's Day 2022, a Saturday, was observed on Friday 2021-12-31). Juneteenth
//! is a holiday from 2021 (Pub. L. 117-17). Inauguration Day (6103(c)) is a holiday only for
//! federal employees in the Washington, D.C. area and is not counted here.

use jiff::civil::{Date, Weekday};

/// Whether `d` is a federal holiday as observed (the date offices are closed).
pub fn is_observed_holiday(d: Date) -> bool {
    // The observed date may fall in the previous year (New Year's Day on a Saturday).
    [d.year(), d.year() + 1].into_iter().flat_map(holidays_observed).any(|h| h == d)
}

/// Whether the hold clock of 8 CFR 287.7(d) skips `d`: Saturdays, Sundays and holidays.
pub fn is_excluded_day(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) || is_observed_holiday(d)
}

/// The observed dates of the federal holidays of `year`.
pub fn holidays_observed(year: i16) -> Vec<Date> {
    holidays_actual(year).into_iter().map(observed).collect()
}

fn observed(d: Date) -> Date {
    match d.weekday() {
        Weekday::Saturday => d.yesterday().expect("in range"),
        Weekday::Sunday => d.tomorrow().expect("in range"),
        _ => d,
    }
}

/// The holidays of `year` on their statutory dates.
fn holidays_actual(year: i16) -> Vec<Date> {
    let fixed = |m, day| Date::new(year, m, day).expect("valid date");
    let mut out = vec![
        fixed(1, 1),                                 // New Year's Day
        nth_weekday(year, 1, Weekday::Monday, 3),    // Birthday of Martin Luther King, Jr.
        nth_weekday(year, 2, Weekday::Monday, 3),    // Washington's Birthday
        last_weekday(year, 5, Weekday::Monday),      // Memorial Day
        fixed(7, 4),                                 // Independence Day
        nth_weekday(year, 9, Weekday::Monday, 1),    // Labor Day
        nth_weekday(year, 10, Weekday::Monday, 2),   // Columbus Day
        fixed(11, 11),                               // Veterans Day
        nth_weekday(year, 11, Weekday::Thursday, 4), // Thanksgiving Day
        fixed(12, 25),                               // Christmas Day
    ];
    if year >= 2021 {
        out.push(fixed(6, 19)); // Juneteenth National Independence Day
    }
    out.sort();
    out
}

fn nth_weekday(year: i16, month: i8, wd: Weekday, n: i8) -> Date {
    Date::new(year, month, 1).expect("valid").nth_weekday_of_month(n, wd).expect("exists")
}

fn last_weekday(year: i16, month: i8, wd: Weekday) -> Date {
    Date::new(year, month, 1).expect("valid").nth_weekday_of_month(-1, wd).expect("exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn observed_days_move_off_weekends_and_across_year_boundaries() {
        // New Year's Day 2022 was a Saturday: observed Friday 2021-12-31.
        assert!(is_observed_holiday(d("2021-12-31")));
        assert!(!is_observed_holiday(d("2022-01-01")));
        // Christmas 2021 was a Saturday: observed Friday 2021-12-24.
        assert!(is_observed_holiday(d("2021-12-24")));
        // Independence Day 2021 was a Sunday: observed Monday 2021-07-05.
        assert!(is_observed_holiday(d("2021-07-05")));
        // Juneteenth 2022 was a Sunday: observed Monday 2022-06-20; none before 2021.
        assert!(is_observed_holiday(d("2022-06-20")));
        assert!(!is_observed_holiday(d("2020-06-19")));
        // New Year's Day 2023 was a Sunday: observed Monday 2023-01-02.
        assert!(is_observed_holiday(d("2023-01-02")));
        // Movable holidays of 2026.
        for h in ["2026-01-19", "2026-02-16", "2026-05-25", "2026-09-07", "2026-10-12", "2026-11-26"] {
            assert!(is_observed_holiday(d(h)), "{h}");
        }
        // Veterans Day 2028 is a Saturday: observed Friday 2028-11-10.
        assert!(is_observed_holiday(d("2028-11-10")));
        assert!(!is_observed_holiday(d("2026-03-02")));
    }

    #[test]
    fn every_year_has_eleven_holidays_from_2021_and_ten_before() {
        for y in 1990..2021 {
            assert_eq!(holidays_observed(y).len(), 10, "{y}");
        }
        for y in 2021..2100 {
            assert_eq!(holidays_observed(y).len(), 11, "{y}");
            assert!(holidays_observed(y).iter().all(|h| !matches!(h.weekday(), Weekday::Saturday | Weekday::Sunday)));
        }
    }
}
