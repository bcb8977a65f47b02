//! Where the batch pipeline's objects live, and the shape of its table.
//!
//! Where the batch pipeline's objects live and what its table looks like, as the seed system
//! lays them out: `Stocks/` (one CSV per company), `CompanyNames/top_companies.txt`,
//! `Output/historical_stock_data.csv`, `Logs/`, and one PostgreSQL table of nine nullable
//! `VARCHAR(56)` columns.

/// One CSV per company: `Stocks/<COMPANY>.csv`.
pub const STOCKS: &str = "Stocks/";
/// The companies to keep, one name a line.
pub const COMPANY_LIST: &str = "CompanyNames/top_companies.txt";
/// Where the run writes every kept row.
pub const OUTPUT: &str = "Output/historical_stock_data.csv";
/// Where each run writes its log.
pub const LOGS: &str = "Logs/";
/// One marker per day a run started (written with `If-None-Match: *`): a second trigger on the
/// same day finds it and starts nothing.
pub const RUN_MARKERS: &str = "Logs/runs/";
/// Where each day's run status is announced: one object a day, created once, at
/// `Logs/status/<day>/<name>_Pipeline_Success.json` (or `_Failure`); S3's notification of it on
/// the run-status topic is the announcement.
pub const STATUS: &str = "Logs/status/";
/// The suffix of the object that triggers a run in the monitored bucket.
pub const TRIGGER_SUFFIX: &str = ".SUCCESS";
/// The header every company file starts with.
pub const CSV_HEADER: &str = "Date,Open,High,Low,Close,Adj Close,Volume";
/// The table the run loads.
pub const TABLE: &str = "historical_stocks_data";
/// Its columns, in order.
pub const COLUMNS: [&str; 9] = [
    "stock_date",
    "open_value",
    "high_value",
    "low_value",
    "close_value",
    "volume_traded",
    "daily_percent_change",
    "value_change",
    "company_name",
];

/// `CREATE TABLE IF NOT EXISTS` for [`TABLE`]: every column `VARCHAR(56)` and nullable.
pub fn create_table() -> String {
    let columns: Vec<String> = COLUMNS.iter().map(|c| format!("{c} VARCHAR(56)")).collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} ({})",
        columns.join(", ")
    )
}

/// The key of `day`'s run status announced with `subject` (`<name>_Pipeline_Success`).
pub fn status_key(day: &str, subject: &str) -> String {
    format!("{STATUS}{day}/{subject}.json")
}

/// Where `day`'s run status is announced, whatever its outcome.
pub fn status_prefix(day: &str) -> String {
    format!("{STATUS}{day}/")
}

/// The day and subject a run status's key names; `None` for any other key.
pub fn parse_status_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(STATUS)?.strip_suffix(".json")?;
    rest.split_once('/')
        .filter(|(day, subject)| !day.is_empty() && !subject.is_empty() && !subject.contains('/'))
}

/// Whether `key` is a run's log (under `Logs/`, neither a day's marker nor its status).
pub fn is_run_log(key: &str) -> bool {
    key.starts_with(LOGS) && !key.starts_with(RUN_MARKERS) && !key.starts_with(STATUS)
}

/// The company a `Stocks/<COMPANY>.csv` key is for.
pub fn company_of(key: &str) -> Option<&str> {
    key.strip_prefix(STOCKS)?
        .strip_suffix(".csv")
        .filter(|c| !c.is_empty() && !c.contains('/'))
}

/// The key of `company`'s file.
pub fn stock_key(company: &str) -> String {
    format!("{STOCKS}{company}.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_companies_round_trip() {
        assert_eq!(company_of(&stock_key("AAPL")), Some("AAPL"));
        assert_eq!(company_of("Stocks/a/b.csv"), None);
        assert_eq!(company_of("Stocks/.csv"), None);
        assert_eq!(company_of("Output/x.csv"), None);
        assert!(create_table().contains("company_name VARCHAR(56))"));
    }

    #[test]
    fn a_status_key_names_its_day_and_subject_and_is_no_run_log() {
        let key = status_key("2026-12-07", "b_Pipeline_Success");
        assert_eq!(
            parse_status_key(&key),
            Some(("2026-12-07", "b_Pipeline_Success"))
        );
        assert!(key.starts_with(&status_prefix("2026-12-07")));
        assert_eq!(parse_status_key("Logs/status/d/a/b.json"), None);
        assert_eq!(parse_status_key("Logs/x.json"), None);
        assert!(!is_run_log(&key));
        assert!(!is_run_log("Logs/runs/2026-12-07"));
        assert!(is_run_log("Logs/2026-12-07-1.json"));
    }
}
