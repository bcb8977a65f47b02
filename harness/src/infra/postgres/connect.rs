//! Connecting to PostgreSQL, and the one message a run without one gets.

use super::config::{DEFAULT_IMAGE, ENV_URL};
use crate::error::{redact_url, Error, Result};

/// The PostgreSQL `url` a run was given, or the error saying that `who` needs one (`the batch
/// flow loads into PostgreSQL`) and how to give it.
///
/// # Errors
/// [`Error::Input`] when there is none.
pub fn required<'a>(url: Option<&'a str>, who: &str) -> Result<&'a str> {
    url.ok_or_else(|| {
        Error::Input(format!(
            "{who}: let tickflow start `{DEFAULT_IMAGE}` or set {ENV_URL}"
        ))
    })
}

/// A connection to `url`, its driver task spawned.
///
/// # Errors
/// The server refusing or unreachable, with the URL's host (never its password).
pub async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| Error::DatabaseUnreachable {
            url: redact_url(url),
            reason: e.to_string(),
        })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::postgres::ENV_URL;

    #[test]
    fn a_run_without_postgres_is_told_how_to_get_one() {
        assert_eq!(required(Some("postgres://x"), "w").unwrap(), "postgres://x");
        let e = required(None, "the web source stores its rows in PostgreSQL").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the web source stores its rows in PostgreSQL: let tickflow start \
                 `{DEFAULT_IMAGE}` or set {ENV_URL}"
            )
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_names_its_setting_and_hides_the_password() {
        let e = connect("postgres://u:s3cret@127.0.0.1:1/db")
            .await
            .unwrap_err();
        let message = e.to_string();
        assert!(matches!(e, Error::DatabaseUnreachable { .. }), "{e:?}");
        assert!(
            message.contains(ENV_URL) && message.contains("u:***@127.0.0.1:1"),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }
}
