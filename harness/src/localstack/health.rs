//! LocalStack's `/_localstack/health` endpoint: which services are up and which version runs.
//!
//! A plain HTTP/1.0 GET over a TCP stream is all this needs, so no HTTP client crate is pulled in
//! for it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
    let unreachable = |reason: String| Error::Unreachable {
        endpoint: redact_url(endpoint),
        reason,
    };
    let authority = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| unreachable("only http:// endpoints can be health-checked".into()))?
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let request = async {
        let mut stream = TcpStream::connect(&authority).await?;
        let req = format!(
            "GET /_localstack/health HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(timeout, request)
        .await
        .map_err(|_| unreachable(format!("no answer within {timeout:?}")))?
        .map_err(|e| unreachable(e.to_string()))?;
    parse_response(&response).map_err(|reason| Error::NotLocalStack {
        endpoint: redact_url(endpoint),
        reason,
    })
}

/// Parses a raw HTTP response carrying the health JSON.
fn parse_response(response: &[u8]) -> std::result::Result<Health, String> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "not an HTTP response".to_string())?;
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200") {
        return Err(format!("health endpoint answered `{status}`"));
    }
    serde_json::from_str(body).map_err(|e| format!("not LocalStack's health JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
