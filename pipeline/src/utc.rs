//! UTC calendar fields from epoch milliseconds.
//!
//! UTC calendar fields from epoch milliseconds by integer arithmetic: the ISO 8601 times and
//! `dt=`/`hour=` partition values written (and checked back) for every event, without the cost of
//! a general date library on that path. Outside years 0 to 9999 it defers to chrono.

use chrono::{DateTime, SecondsFormat, Utc};

const DAY_MS: i64 = 86_400_000;

/// Year, month, day, hour, minute, second and millisecond of `epoch_ms`, for years 0 to 9999.
fn fields(epoch_ms: i64) -> Option<(i64, u32, u32, u32, u32, u32, u32)> {
    let (days, ms) = (
        epoch_ms.div_euclid(DAY_MS),
        epoch_ms.rem_euclid(DAY_MS) as u32,
    );
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (0..=9_999).contains(&year).then_some((
        year,
        month,
        day,
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000,
    ))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, exactly as chrono's RFC 3339 with milliseconds writes it (the
/// epoch for times chrono cannot represent).
pub fn iso8601(epoch_ms: i64) -> String {
    match fields(epoch_ms) {
        Some((y, mo, d, h, mi, s, ms)) => {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
        }
        None => DateTime::<Utc>::from_timestamp_millis(epoch_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true),
    }
}

/// `(YYYY-MM-DD, HH)` of `epoch_ms`, as chrono's `%Y-%m-%d` and `%H` write them (the epoch's for
/// times chrono cannot represent).
pub fn date_and_hour(epoch_ms: i64) -> (String, String) {
    match fields(epoch_ms) {
        Some((y, mo, d, h, ..)) => (format!("{y:04}-{mo:02}-{d:02}"), format!("{h:02}")),
        None => {
            let t = DateTime::<Utc>::from_timestamp_millis(epoch_ms).unwrap_or_default();
            (t.format("%Y-%m-%d").to_string(), t.format("%H").to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_iso(ms: i64) -> String {
        DateTime::<Utc>::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    #[test]
    fn edges_of_the_calendar_agree_with_chrono() {
        for ms in [
            0,
            -1,
            951_782_400_000,     // 2000-02-29
            1_795_444_200_000,   // 2026-11-23T14:30Z
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
            253_402_300_800_000, // year 10000: chrono's form
            -62_167_219_200_000, // 0000-01-01
            -62_167_219_200_001, // year -1
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(iso8601(ms), chrono_iso(ms), "{ms}");
        }
    }

    proptest! {
        #[test]
        fn iso_times_and_partitions_agree_with_chrono(ms in -70_000_000_000_000i64..260_000_000_000_000) {
            prop_assert_eq!(iso8601(ms), chrono_iso(ms));
            let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap();
            let (date, hour) = date_and_hour(ms);
            prop_assert_eq!(date, t.format("%Y-%m-%d").to_string());
            prop_assert_eq!(hour, t.format("%H").to_string());
        }
    }
}
