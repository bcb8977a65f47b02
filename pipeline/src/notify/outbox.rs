//! Price alerts as objects: each alert is created at `alerts/<window start ms>/<symbol>.json`
//! (`If-None-Match: *`), and the bucket's S3 event notification announces it on the alert
//! topic. A retry after a lost answer, a redelivered batch or a restarted processor creates
//! nothing new, so each alert is announced exactly once; and an alert written is never lost
//! to a crash between the write and a publish, since S3 publishes it.

use crate::aws::{AwsError, Clients};
use crate::retry::Backoff;

use super::Alert;

/// Where alert objects live in their bucket (the notification's prefix filter).
pub const ALERTS: &str = "alerts/";

/// The key of `alert`'s object.
pub fn alert_key(alert: &Alert) -> String {
    format!("{ALERTS}{}/{}.json", alert.window_start, alert.symbol)
}

/// The window start (epoch ms) and symbol an alert object's key names (a forex pair keeps its
/// `/`); `None` for a key that is not an alert's.
pub fn parse_key(key: &str) -> Option<(i64, &str)> {
    let rest = key.strip_prefix(ALERTS)?.strip_suffix(".json")?;
    let (window, symbol) = rest.split_once('/')?;
    let window = window.parse::<i64>().ok()?;
    (!symbol.is_empty()).then_some((window, symbol))
}

/// The symbol an alert object's key names.
pub fn symbol_of_key(key: &str) -> Option<&str> {
    parse_key(key).map(|(_, symbol)| symbol)
}

/// Writes alerts into the bucket whose notification announces them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AlertOutbox {
    clients: Clients,
    bucket: String,
    backoff: Backoff,
}

impl AlertOutbox {
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
    pub async fn put(&self, alert: &Alert) -> Result<bool, AwsError> {
        let key = alert_key(alert);
        let body = serde_json::to_vec(alert).expect("an alert serialises");
        self.backoff
            .retry("writing a price alert", || {
                self.clients.create_object(&self.bucket, &key, body.clone())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_window_and_the_symbol_slashes_and_all() {
        let alert = Alert {
            symbol: "EUR/USD".into(),
            window_start: 1_763_908_200_000,
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
    }
}
