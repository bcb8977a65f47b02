//! The price watch's durable outputs, each object written exactly once.
//!
//! The price watch's durable outputs, one object each in the state bucket, every one created
//! only if its key is free (`If-None-Match: *`) under a key that names what it holds, so that a
//! retry after a lost answer, a redelivered batch or a restarted processor creates nothing new:
//! - `alerts/<window start ms>/<symbol>.json`: an [`Alert`]; the bucket's S3 event notification
//!   announces it on the alert topic, exactly once, and never loses one to a crash between the
//!   write and a publish;
//! - `windows/<first window start ms>-<digest>.jsonl`: the [`ClosedWindow`] records of the
//!   windows closed together, a line each, named by a digest of what they hold (a retry writes
//!   the same key; judges and a restarted processor read every line, a window once);
//! - `late/<event uuid>.json`: each [`LatePrice`], so the late output holds an event once.
//!
//! A forex pair keeps its `/` in the key (`alerts/1763908200000/EUR/USD.json`).

use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::aws::{AwsError, Clients};
use crate::retry::Backoff;

use super::price_watch::{Alert, ClosedWindow, LatePrice};

/// Where alert objects live in their bucket (the notification's prefix filter).
pub const ALERTS: &str = "alerts/";
/// Where window records live.
pub const WINDOWS: &str = "windows/";
/// Where late prices live.
pub const LATE: &str = "late/";
/// Objects read at once.
const PARALLEL_READS: usize = 8;

/// The key of `alert`'s object.
pub fn alert_key(alert: &Alert) -> String {
    window_key(ALERTS, alert.window_start, &alert.symbol)
}

/// The key of the object that records `windows` (closed together), and its body.
pub fn records_object(windows: &[ClosedWindow]) -> (String, Vec<u8>) {
    use md5::Digest as _;
    let mut body = Vec::new();
    for window in windows {
        body.extend(serde_json::to_vec(window).expect("window records serialise"));
        body.push(b'\n');
    }
    let digest = md5::Md5::digest(&body);
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let first = windows.first().map_or(0, |w| w.window_start);
    (format!("{WINDOWS}{first}-{hex}.jsonl"), body)
}

/// The key of `late`'s object.
pub fn late_key(late: &LatePrice) -> String {
    format!("{LATE}{}.json", late.event_uuid)
}

fn window_key(prefix: &str, window_start: i64, symbol: &str) -> String {
    format!("{prefix}{window_start}/{symbol}.json")
}

/// The window start (epoch ms) and symbol an alert object's key names; `None` for a key that
/// is not an alert's.
pub fn parse_key(key: &str) -> Option<(i64, &str)> {
    parse_window_key(ALERTS, key)
}

/// The window start and symbol a key under `prefix` (alerts or window records) names.
pub fn parse_window_key<'a>(prefix: &str, key: &'a str) -> Option<(i64, &'a str)> {
    let rest = key.strip_prefix(prefix)?.strip_suffix(".json")?;
    let (window, symbol) = rest.split_once('/')?;
    let window = window.parse::<i64>().ok()?;
    (!symbol.is_empty()).then_some((window, symbol))
}

/// The event a late price's key names.
pub fn parse_late_key(key: &str) -> Option<Uuid> {
    key.strip_prefix(LATE)?.strip_suffix(".json")?.parse().ok()
}

/// The symbol an alert object's key names.
pub fn symbol_of_key(key: &str) -> Option<&str> {
    parse_key(key).map(|(_, symbol)| symbol)
}

/// Writes and reads the watch's outputs in one bucket. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PriceOutbox {
    clients: Clients,
    bucket: String,
    backoff: Backoff,
}

impl PriceOutbox {
    /// An outbox in `bucket`.
    pub fn new(clients: Clients, bucket: impl Into<String>) -> Self {
        Self {
            clients,
            bucket: bucket.into(),
            backoff: Backoff::default(),
        }
    }

    /// Creates `alert`'s object unless it exists: `true` when this call created it.
    ///
    /// # Errors
    /// S3 refusing it after the retries.
    pub async fn put_alert(&self, alert: &Alert) -> Result<bool, AwsError> {
        self.create("writing a price alert", &alert_key(alert), alert)
            .await
    }

    /// Records `windows` (closed together) in one object, unless it exists.
    ///
    /// # Errors
    /// S3 refusing it after the retries.
    pub async fn put_windows(&self, windows: &[ClosedWindow]) -> Result<bool, AwsError> {
        if windows.is_empty() {
            return Ok(false);
        }
        let (key, body) = records_object(windows);
        self.backoff
            .retry("recording closed windows", || {
                self.clients.create_object(&self.bucket, &key, body.clone())
            })
            .await
    }

    /// Creates `late`'s object unless it exists.
    ///
    /// # Errors
    /// S3 refusing it after the retries.
    pub async fn put_late(&self, late: &LatePrice) -> Result<bool, AwsError> {
        self.create("writing a late price", &late_key(late), late)
            .await
    }

    async fn create(
        &self,
        what: &str,
        key: &str,
        value: &impl Serialize,
    ) -> Result<bool, AwsError> {
        let body = serde_json::to_vec(value).expect("the watch's outputs serialise");
        self.backoff
            .retry(what, || {
                self.clients.create_object(&self.bucket, key, body.clone())
            })
            .await
    }

    /// Every window record, as written (a window recorded twice, by a retry that could not
    /// know its first write landed, is there twice).
    ///
    /// # Errors
    /// Listing or reading failing, or a line that is not a record (named by its key and line).
    pub async fn windows(&self) -> Result<Vec<ClosedWindow>, AwsError> {
        let keys = self.keys(WINDOWS).await?;
        let bodies = read_bodies(&self.clients, &self.bucket, keys.clone()).await?;
        let mut windows = Vec::new();
        for (key, body) in keys.iter().zip(bodies) {
            for (n, line) in body.split(|b| *b == b'\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                let window = serde_json::from_slice(line).map_err(|e| AwsError {
                    service: "s3",
                    operation: "GetObject",
                    message: format!(
                        "s3://{}/{key}:{}: not a window record: {e}",
                        self.bucket,
                        n + 1
                    ),
                })?;
                windows.push(window);
            }
        }
        Ok(windows)
    }

    /// Every late price, as written.
    ///
    /// # Errors
    /// As [`PriceOutbox::windows`].
    pub async fn late(&self) -> Result<Vec<LatePrice>, AwsError> {
        let keys = self.keys(LATE).await?;
        read_all(&self.clients, &self.bucket, keys).await
    }

    /// The events the late output holds, from the listing alone.
    ///
    /// # Errors
    /// Listing failing, or a key under `late/` that names no event.
    pub async fn late_ids(&self) -> Result<Vec<Uuid>, AwsError> {
        self.keys(LATE)
            .await?
            .iter()
            .map(|key| {
                parse_late_key(key).ok_or_else(|| AwsError {
                    service: "s3",
                    operation: "ListObjectsV2",
                    message: format!("s3://{}/{key} is not a late price's key", self.bucket),
                })
            })
            .collect()
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        Ok(self
            .clients
            .object_keys_under(&self.bucket, prefix)
            .await?
            .unwrap_or_default())
    }
}

/// Reads and parses every object of `keys` in `bucket`, a few at once.
///
/// # Errors
/// A read failing, or an object that does not parse as `T` (named by its key).
pub async fn read_all<T: DeserializeOwned>(
    clients: &Clients,
    bucket: &str,
    keys: Vec<String>,
) -> Result<Vec<T>, AwsError> {
    let bodies = read_bodies(clients, bucket, keys.clone()).await?;
    keys.iter()
        .zip(bodies)
        .map(|(key, body)| {
            serde_json::from_slice(&body).map_err(|e| AwsError {
                service: "s3",
                operation: "GetObject",
                message: format!("s3://{bucket}/{key} does not hold what its key says: {e}"),
            })
        })
        .collect()
}

/// The bodies of every object of `keys` in `bucket`, in order, read a few at once.
///
/// # Errors
/// A read failing.
pub async fn read_bodies(
    clients: &Clients,
    bucket: &str,
    keys: Vec<String>,
) -> Result<Vec<Vec<u8>>, AwsError> {
    futures_util::stream::iter(keys)
        .map(|key| {
            let (clients, bucket) = (clients.clone(), bucket.to_string());
            async move {
                clients
                    .get_object(&bucket, &key)
                    .await
                    .map(|(_, body)| body)
            }
        })
        .buffered(PARALLEL_READS)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_window_and_the_symbol_slashes_and_all() {
        let alert = Alert {
            symbol: "EUR/USD".into(),
            window_start: 1_763_908_200_000,
            previous_window_start: 1_763_908_140_000,
            previous_vwap: 1.0,
            vwap: 1.1,
            change_pct: 10.0,
        };
        let key = alert_key(&alert);
        assert_eq!(key, "alerts/1763908200000/EUR/USD.json");
        assert_eq!(symbol_of_key(&key), Some("EUR/USD"));
        assert_eq!(parse_key(&key), Some((1_763_908_200_000, "EUR/USD")));
        assert_eq!(symbol_of_key("alerts/x/EUR.json"), None);
        assert_eq!(symbol_of_key("checkpoints/a.json"), None);
        assert_eq!(
            parse_window_key(ALERTS, "alerts/60000/AAPL.json"),
            Some((60_000, "AAPL"))
        );
        let id = Uuid::from_u128(9);
        assert_eq!(parse_late_key(&format!("late/{id}.json")), Some(id));
        assert_eq!(parse_late_key("late/nope.json"), None);
    }
}
