//! Where the price-file pipeline's objects live.
//!
//! Where the price-file pipeline's objects live: the seed's two prefixes, plus a quarantine
//! for files that are not price records and one object per alert (its announcement). Keys below the
//! analysis prefix are `<asset>/<market time>.csv`, so a record's predecessor is found by key.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Where price files land (one record per object).
pub const INGESTION: &str = "crypto/01-data-ingestion/";
/// Where the ETL step writes each record as CSV.
pub const ANALYSIS: &str = "crypto/02-data-analysis/";
/// Where files that are not price records go, with the reason.
pub const QUARANTINE: &str = "crypto/quarantine/";
/// One object per alert, created once (`If-None-Match: *`): S3's notification of it on the
/// alert topic is the alert, so a redelivered record finds it and announces nothing twice.
pub const ALERTS: &str = "crypto/alerts/";
/// The CSV header the ETL step writes.
pub const CSV_HEADER: &str = "asset,date,open,high,low,close,volume,weighted_average,source_key";

const STAMP: &str = "%Y%m%dT%H%M%SZ";

/// A market time as it appears in keys (`20261123T000500Z`: sorts as time does).
pub fn stamp(time: DateTime<Utc>) -> String {
    time.format(STAMP).to_string()
}

/// The CSV object of `asset`'s record at `time`.
pub fn csv_key(asset: &str, time: DateTime<Utc>) -> String {
    format!("{ANALYSIS}{asset}/{}.csv", stamp(time))
}

/// The asset and market time of a CSV object's key.
pub fn parse_csv_key(key: &str) -> Option<(&str, DateTime<Utc>)> {
    let rest = key.strip_prefix(ANALYSIS)?.strip_suffix(".csv")?;
    let (asset, stamp) = rest.split_once('/')?;
    let time = NaiveDateTime::parse_from_str(stamp, STAMP).ok()?.and_utc();
    (!asset.is_empty()).then_some((asset, time))
}

/// Where a price file that is not a record is quarantined.
pub fn quarantine_key(source_key: &str) -> String {
    let rest = source_key.strip_prefix(INGESTION).unwrap_or(source_key);
    format!("{QUARANTINE}{rest}.json")
}

/// The object of the alert for `asset`'s record at `time`.
pub fn alert_key(asset: &str, time: DateTime<Utc>) -> String {
    format!("{ALERTS}{asset}/{}.json", stamp(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sort_by_time() {
        let t = DateTime::parse_from_rfc3339("2026-11-23T00:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let key = csv_key("ETH", t);
        assert_eq!(key, "crypto/02-data-analysis/ETH/20261123T000500Z.csv");
        assert_eq!(parse_csv_key(&key), Some(("ETH", t)));
        assert_eq!(parse_csv_key("crypto/02-data-analysis/ETH/x.csv"), None);
        assert!(csv_key("ETH", t) < csv_key("ETH", t + chrono::Duration::minutes(5)));
        assert_eq!(
            quarantine_key("crypto/01-data-ingestion/ETH/a.xml"),
            "crypto/quarantine/ETH/a.xml.json"
        );
    }
}
