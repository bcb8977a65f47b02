//! Who real AWS says the run is: its account and region.
//!
//! Who real AWS says the run is: the account (STS `GetCallerIdentity`) and the region, so a
//! run's header names where its resources are made. When the SDK's own settings override the
//! endpoint (`AWS_ENDPOINT_URL` with `--target aws`), the header says that instead of "AWS".

use std::fmt;

use tickflow_pipeline::aws::AwsError;

use super::readiness::CALL_LIMIT;
use super::target::{sdk_config, Target};
use crate::error::{redact_url, Error, Result};

/// The account and region the standard credential chain resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsIdentity {
    /// The account id STS answered with.
    pub account: String,
    /// The region requests go to.
    pub region: String,
    /// An endpoint the SDK's settings put in place of AWS's own, without its password.
    pub endpoint: Option<String>,
}

impl fmt::Display for AwsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (account, region) = (&self.account, &self.region);
        match &self.endpoint {
            None => write!(
                f,
                "real AWS: account {account}, region {region} (standard credential chain)"
            ),
            Some(endpoint) => write!(
                f,
                "the AWS API at {endpoint} (AWS_ENDPOINT_URL in the SDK's settings, not AWS's own \
                 endpoints): account {account}, region {region}"
            ),
        }
    }
}

/// Asks STS who the standard credential chain is.
///
/// # Errors
/// No region configured, or `GetCallerIdentity` failing (no or bad credentials) or taking longer
/// than [`CALL_LIMIT`].
pub async fn aws_identity() -> Result<AwsIdentity> {
    let config = sdk_config(&Target::Aws).await;
    let region = config.region().map(ToString::to_string).ok_or_else(|| {
        Error::Input(
            "--target aws needs a region: set AWS_REGION, or a region in the AWS profile".into(),
        )
    })?;
    let endpoint = config.endpoint_url().map(redact_url);
    let sts = aws_sdk_sts::Client::new(&config);
    let asked = tokio::time::timeout(CALL_LIMIT, sts.get_caller_identity().send())
        .await
        .map_err(|_| Error::Timeout {
            what: "STS GetCallerIdentity (who the credential chain is)".into(),
            after: CALL_LIMIT,
        })?;
    let out = asked.map_err(AwsError::of("sts", "GetCallerIdentity"))?;
    Ok(AwsIdentity {
        account: out.account().unwrap_or("(not said)").to_string(),
        region,
        endpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_says_aws_only_without_an_endpoint_override() {
        let mut id = AwsIdentity {
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            endpoint: None,
        };
        assert!(id
            .to_string()
            .starts_with("real AWS: account 123456789012, region eu-west-1"));
        id.endpoint = Some("http://127.0.0.1:5055".into());
        let text = id.to_string();
        assert!(!text.contains("real AWS"), "{text}");
        assert!(text.contains("http://127.0.0.1:5055"), "{text}");
    }
}
