//! Market hours: when stocks trade and when the forex market is open.

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;

/// The first instant at or after `t_ms` inside a stock session: Monday to Friday,
/// `[open, close)` minutes after midnight UTC.
pub fn next_stock_time(t_ms: i64, (open, close): (u32, u32)) -> i64 {
    let mut t = t_ms;
    loop {
        let dt = utc(t);
        let day_start = t - ms_into_day(&dt);
        let minute = (ms_into_day(&dt) / MINUTE_MS) as u32;
        let weekday = !matches!(dt.weekday(), Weekday::Sat | Weekday::Sun);
        if weekday && minute >= open && minute < close {
            return t;
        }
        t = if weekday && minute < open {
            day_start + i64::from(open) * MINUTE_MS
        } else {
            day_start + DAY_MS + i64::from(open) * MINUTE_MS
        };
    }
}

/// Whether `t_ms` lies inside a stock session.
pub fn in_stock_session(t_ms: i64, session: (u32, u32)) -> bool {
    next_stock_time(t_ms, session) == t_ms
}

/// The first instant at or after `t_ms` when the forex market is open: it closes Friday 22:00
/// UTC and reopens Sunday 22:00 UTC.
pub fn next_forex_time(t_ms: i64) -> i64 {
    let dt = utc(t_ms);
    let day_start = t_ms - ms_into_day(&dt);
    let reopen = |days_ahead: i64| day_start + days_ahead * DAY_MS + 22 * 60 * MINUTE_MS;
    match dt.weekday() {
        Weekday::Fri if dt.hour() >= 22 => reopen(2),
        Weekday::Sat => reopen(1),
        Weekday::Sun if dt.hour() < 22 => reopen(0),
        _ => t_ms,
    }
}

fn utc(t_ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(t_ms).unwrap_or_default()
}

fn ms_into_day(dt: &DateTime<Utc>) -> i64 {
    dt.timestamp_millis().rem_euclid(DAY_MS)
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
}
