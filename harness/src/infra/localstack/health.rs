//! LocalStack's `/_localstack/health` endpoint: which services are up and which version runs.
//!
//! Asked with [`crate::infra::aws::http_get`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{redact_url, Error, Result};

/// What `/_localstack/health` reports.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Health {
    /// Service name -> state (`available`, `running`, `disabled`, `error`, ...).
    #[serde(default)]
    pub services: BTreeMap<String, String>,
    /// LocalStack version, e.g. `4.14.0`.
    #[serde(default)]
    pub version: Option<String>,
    /// `community` or `pro`.
    #[serde(default)]
    pub edition: Option<String>,
}

impl Health {
    /// The requested services that are not (yet) usable.
    pub fn not_ready<'a>(&self, wanted: &'a [String]) -> Vec<&'a str> {
        wanted
            .iter()
            .filter(|s| {
                !matches!(
                    self.services.get(s.as_str()).map(String::as_str),
                    Some("available" | "running")
                )
            })
            .map(String::as_str)
            .collect()
    }
}

/// Fetches `/_localstack/health` from `endpoint` (an `http://host:port` URL).
///
/// # Errors
/// [`Error::Unreachable`] when nothing answers, [`Error::NotLocalStack`] when the answer is not
/// LocalStack's health JSON.
pub async fn fetch(endpoint: &str, timeout: Duration) -> Result<Health> {
    let answer = crate::infra::aws::http_get::get(endpoint, "/_localstack/health", timeout)
        .await
        .map_err(|reason| Error::Unreachable {
            endpoint: redact_url(endpoint),
            reason,
        })?;
    parse_answer(&answer).map_err(|reason| Error::NotLocalStack {
        endpoint: redact_url(endpoint),
        reason,
    })
}

/// The health JSON of a 200 answer.
fn parse_answer(
    answer: &crate::infra::aws::http_get::Answer,
) -> std::result::Result<Health, String> {
    if !answer.ok() {
        return Err(format!("health endpoint answered `{}`", answer.status_line));
    }
    serde_json::from_str(&answer.body).map_err(|e| format!("not LocalStack's health JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_response(raw: &[u8]) -> std::result::Result<Health, String> {
        parse_answer(&crate::infra::aws::http_get::parse(raw)?)
    }

    #[test]
    fn parses_services_and_version() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"services\": {\"s3\": \"running\", \"sqs\": \"available\", \"sns\": \"error\"}, \"edition\": \"community\", \"version\": \"4.14.0\"}";
        let health = parse_response(raw).unwrap();
        assert_eq!(health.version.as_deref(), Some("4.14.0"));
        let wanted = vec![
            "s3".to_string(),
            "sqs".into(),
            "sns".into(),
            "kinesis".into(),
        ];
        assert_eq!(health.not_ready(&wanted), ["sns", "kinesis"]);
    }

    #[test]
    fn rejects_non_200_and_non_json() {
        assert!(parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n{}").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n\r\n<html>").is_err());
        assert!(parse_response(b"garbage").is_err());
    }
}
