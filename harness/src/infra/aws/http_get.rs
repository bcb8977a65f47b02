//! A plain HTTP GET, enough to ask an emulator who it is.
//!
//! A plain HTTP/1.0 GET over a TCP stream: all that asking an emulator who it is needs
//! (LocalStack's health, moto's API), so no HTTP client crate is pulled in for it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What an endpoint answered to a GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status line, such as `HTTP/1.1 200 OK`.
    pub status_line: String,
    /// The body, as text.
    pub body: String,
}

impl Answer {
    /// Whether the status is 200.
    pub fn ok(&self) -> bool {
        self.status_line.split_whitespace().nth(1) == Some("200")
    }
}

/// GETs `path` from `endpoint` (an `http://host:port` URL), within `timeout`.
///
/// # Errors
/// Why nothing usable answered: not an `http://` URL, no connection, no answer in time, or not
/// an HTTP response.
pub async fn get(endpoint: &str, path: &str, timeout: Duration) -> Result<Answer, String> {
    let authority = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| "only http:// endpoints can be asked".to_string())?
        .split('/')
        .next()
        .unwrap_or_default()
        // Credentials in the URL are not part of the address.
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_string();
    let request = async {
        let mut stream = TcpStream::connect(&authority).await?;
        let req =
            format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n\r\n");
        stream.write_all(req.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(timeout, request)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
        .map_err(|e| e.to_string())?;
    parse(&response)
}

/// Splits a raw HTTP response into its status line and body.
pub(crate) fn parse(response: &[u8]) -> Result<Answer, String> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "not an HTTP response".to_string())?;
    let status_line = head.lines().next().unwrap_or_default().to_string();
    if !status_line.starts_with("HTTP/") {
        return Err("not an HTTP response".into());
    }
    Ok(Answer {
        status_line,
        body: body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_status_and_body() {
        let a = parse(b"HTTP/1.1 200 OK\r\nContent-Type: x\r\n\r\n{\"a\": 1}").unwrap();
        assert!(a.ok());
        assert_eq!(a.body, "{\"a\": 1}");
        let b = parse(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap();
        assert!(!b.ok());
        assert_eq!(b.status_line, "HTTP/1.1 404 Not Found");
        assert!(parse(b"garbage").is_err());
        assert!(parse(b"SSH-2.0\r\n\r\nx").is_err());
    }
}
