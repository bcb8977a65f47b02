//! Market hours: when stocks trade and when the forex market is open.

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;

// Integer calendar arithmetic: Unix time has exactly 86,400,000 ms a day, and day 0
// (1970-01-01) was a Thursday. This runs for every generated event, where chrono's date
// conversions cost about 15% of the generator's time.

/// Day number (0 = 1970-01-01) and milliseconds into that day, in UTC.
fn split(t_ms: i64) -> (i64, i64) {
    (t_ms.div_euclid(DAY_MS), t_ms.rem_euclid(DAY_MS))
}

/// 0 = Monday ... 6 = Sunday.
fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

/// The first instant at or after `t_ms` inside a stock session: Monday to Friday,
/// `[open, close)` minutes after midnight UTC.
pub fn next_stock_time(t_ms: i64, (open, close): (u32, u32)) -> i64 {
    let (open_ms, close_ms) = (i64::from(open) * MINUTE_MS, i64::from(close) * MINUTE_MS);
    let (mut day, into) = split(t_ms);
    let trading = weekday(day) < 5;
    if trading && (open_ms..close_ms).contains(&into) {
        return t_ms;
    }
    if !(trading && into < open_ms) {
        day += 1;
    }
    while weekday(day) >= 5 {
        day += 1;
    }
    day.saturating_mul(DAY_MS).saturating_add(open_ms)
}

/// Whether `t_ms` lies inside a stock session.
pub fn in_stock_session(t_ms: i64, session: (u32, u32)) -> bool {
    next_stock_time(t_ms, session) == t_ms
}

/// The first instant at or after `t_ms` when the forex market is open: it closes Friday 22:00
/// UTC and reopens Sunday 22:00 UTC.
pub fn next_forex_time(t_ms: i64) -> i64 {
    let (day, into) = split(t_ms);
    let ten_pm = 22 * 60 * MINUTE_MS;
    let reopen = |days_ahead: i64| {
        (day + days_ahead)
            .saturating_mul(DAY_MS)
            .saturating_add(ten_pm)
    };
    match weekday(day) {
        4 if into >= ten_pm => reopen(2),
        5 => reopen(1),
        6 if into < ten_pm => reopen(0),
        _ => t_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: (u32, u32) = (14 * 60 + 30, 21 * 60);
    // Monday 2026-11-23 00:00 UTC.
    const MONDAY: i64 = 1_795_392_000_000;

    #[test]
    fn before_the_open_moves_to_the_open_and_after_the_close_to_the_next_day() {
        assert_eq!(next_stock_time(MONDAY, SESSION), MONDAY + 870 * MINUTE_MS);
        let in_session = MONDAY + 900 * MINUTE_MS;
        assert_eq!(next_stock_time(in_session, SESSION), in_session);
        let after_close = MONDAY + 21 * 60 * MINUTE_MS;
        assert_eq!(
            next_stock_time(after_close, SESSION),
            MONDAY + DAY_MS + 870 * MINUTE_MS
        );
    }

    #[test]
    fn integer_calendar_agrees_with_chrono() {
        use chrono::{DateTime, Datelike};
        for i in -400..4_000i64 {
            let t = MONDAY + i * 7_919_999; // steps that walk through every hour and weekday
            let dt = DateTime::from_timestamp_millis(t).unwrap();
            assert_eq!(
                weekday(split(t).0),
                i64::from(dt.weekday().num_days_from_monday()),
                "{dt}"
            );
            let next = next_stock_time(t, SESSION);
            let n = DateTime::from_timestamp_millis(next).unwrap();
            assert!(
                next >= t && n.weekday().num_days_from_monday() < 5,
                "{dt} -> {n}"
            );
        }
    }

    #[test]
    fn weekends_move_to_monday() {
        let friday_close = MONDAY + 4 * DAY_MS + 21 * 60 * MINUTE_MS;
        assert_eq!(
            next_stock_time(friday_close, SESSION),
            MONDAY + 7 * DAY_MS + 870 * MINUTE_MS
        );
        let saturday = MONDAY + 5 * DAY_MS + 12 * 60 * MINUTE_MS;
        assert_eq!(
            next_forex_time(saturday),
            MONDAY + 6 * DAY_MS + 22 * 60 * MINUTE_MS
        );
        assert_eq!(next_forex_time(MONDAY), MONDAY);
    }

    #[test]
    fn the_end_of_time_saturates_instead_of_overflowing() {
        for t in [i64::MAX, i64::MAX - DAY_MS, i64::MAX - 3 * DAY_MS] {
            assert!(next_stock_time(t, SESSION) >= t.min(i64::MAX - 4 * DAY_MS));
            assert!(next_forex_time(t) >= t.min(i64::MAX - 4 * DAY_MS));
        }
    }
}
