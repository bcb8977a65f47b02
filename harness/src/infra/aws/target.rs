//! Where the SDK sends requests, and its configuration and clients for that target.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;

use tickflow_pipeline::aws::Clients;

/// Region used against LocalStack (and against AWS when none is configured).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where the SDK sends requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// LocalStack (or another emulator) at this endpoint, with static test credentials.
    Endpoint(String),
    /// Real AWS: the standard credential chain and region, no endpoint override.
    Aws,
}

/// Builds the SDK configuration for `target`.
///
/// For an endpoint, credentials are LocalStack's conventional `test`/`test` and the region is
/// `AWS_REGION` or `us-east-1`; nothing from the developer's own AWS profile leaks in.
pub async fn sdk_config(target: &Target) -> aws_config::SdkConfig {
    let region = std::env::var("AWS_REGION")
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| DEFAULT_REGION.to_string());
    match target {
        Target::Endpoint(endpoint) => {
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new(region))
                .endpoint_url(endpoint)
                .credentials_provider(Credentials::new("test", "test", None, None, "tickflow"))
                .load()
                .await
        }
        Target::Aws => aws_config::defaults(BehaviorVersion::latest()).load().await,
    }
}

/// SDK clients for `target`, ready for the pipeline and the harness.
pub async fn clients(target: &Target) -> Clients {
    Clients::new(&sdk_config(target).await)
}
