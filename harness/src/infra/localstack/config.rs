//! Which LocalStack image and settings, from the environment.
//!
//! Where LocalStack comes from: the image, its settings and the environment variables that
//! choose them.

use std::time::Duration;

/// The image tickflow starts by default: the last LocalStack release that runs without an auth
/// token (`latest` refuses to start without `LOCALSTACK_AUTH_TOKEN` since March 2026).
pub const DEFAULT_IMAGE: &str = "localstack/localstack:4.14.0";

/// The services the pipeline and `tickflow doctor` use (`sts` and `iam` because LocalStack's
/// Firehose needs them to write to S3; `cloudwatch` for the stages' metrics and the
/// scenarios' alarms).
pub const DEFAULT_SERVICES: &[&str] = &[
    "s3",
    "sqs",
    "sns",
    "kinesis",
    "firehose",
    "sts",
    "iam",
    "cloudwatch",
];

/// Environment variable naming another image (`name:tag`).
pub const ENV_IMAGE: &str = "TICKFLOW_LOCALSTACK_IMAGE";
/// The standard AWS SDK variable; when set, tickflow uses that endpoint and starts no container.
pub const ENV_ENDPOINT: &str = "AWS_ENDPOINT_URL";
/// Passed into the container when set, so a Pro or 2026.x image starts.
pub const ENV_AUTH_TOKEN: &str = "LOCALSTACK_AUTH_TOKEN";
/// Milliseconds LocalStack adds to Kinesis stream operations (LocalStack's own default is 500).
pub const ENV_KINESIS_LATENCY: &str = "TICKFLOW_KINESIS_LATENCY_MS";
/// Seconds to wait for a started container to become ready.
pub const ENV_STARTUP_TIMEOUT: &str = "TICKFLOW_STARTUP_TIMEOUT_SECS";

/// How to get a LocalStack: start one (and with what) or use an existing endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStackConfig {
    /// An existing LocalStack (or other AWS-compatible endpoint); `None` starts a container.
    pub endpoint: Option<String>,
    /// Image repository, e.g. `localstack/localstack`.
    pub image_name: String,
    /// Image tag, e.g. `4.14.0`.
    pub image_tag: String,
    /// Auth token for Pro or post-March-2026 images; never logged.
    pub auth_token: Option<String>,
    /// LocalStack `SERVICES` to enable and wait for.
    pub services: Vec<String>,
    /// `KINESIS_LATENCY` in milliseconds: 0 unless latency is simulated on purpose.
    pub kinesis_latency_ms: u64,
    /// How long a start may take before it is reported as failed.
    pub startup_timeout: Duration,
}

impl Default for LocalStackConfig {
    fn default() -> Self {
        let (image_name, image_tag) = split_image(DEFAULT_IMAGE);
        Self {
            endpoint: None,
            image_name,
            image_tag,
            auth_token: None,
            services: DEFAULT_SERVICES.iter().map(|s| s.to_string()).collect(),
            kinesis_latency_ms: 0,
            startup_timeout: Duration::from_secs(120),
        }
    }
}

impl LocalStackConfig {
    /// Reads the configuration from the process environment (see the `ENV_*` constants).
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup`, so that it can be tested without touching the
    /// process environment. Unparsable numbers fall back to the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut config = Self {
            endpoint: non_empty(ENV_ENDPOINT).map(|e| e.trim().trim_end_matches('/').to_string()),
            auth_token: non_empty(ENV_AUTH_TOKEN),
            ..Self::default()
        };
        if let Some(image) = non_empty(ENV_IMAGE) {
            (config.image_name, config.image_tag) = split_image(image.trim());
        }
        if let Some(ms) = non_empty(ENV_KINESIS_LATENCY).and_then(|v| v.trim().parse().ok()) {
            config.kinesis_latency_ms = ms;
        }
        if let Some(secs) = non_empty(ENV_STARTUP_TIMEOUT).and_then(|v| v.trim().parse().ok()) {
            config.startup_timeout = Duration::from_secs(secs);
        }
        config
    }

    /// The image as `name:tag`, as users write it.
    pub fn image(&self) -> String {
        format!("{}:{}", self.image_name, self.image_tag)
    }
}

/// Splits `name[:tag]` into name and tag (`latest` when absent); a registry port such as
/// `localhost:5000/localstack` is not mistaken for a tag.
pub fn split_image(image: &str) -> (String, String) {
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (
            image[..last_slash + i].to_string(),
            image[last_slash + i + 1..].to_string(),
        ),
        None => (image.to_string(), "latest".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_from(pairs: &[(&str, &str)]) -> LocalStackConfig {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LocalStackConfig::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn defaults_pin_the_last_free_release_with_no_kinesis_latency() {
        let config = config_from(&[]);
        assert_eq!(config.image(), "localstack/localstack:4.14.0");
        assert_eq!(config.kinesis_latency_ms, 0);
        assert_eq!(config.endpoint, None);
        assert_eq!(
            config.services,
            [
                "s3",
                "sqs",
                "sns",
                "kinesis",
                "firehose",
                "sts",
                "iam",
                "cloudwatch"
            ]
        );
    }

    #[test]
    fn environment_overrides_image_token_endpoint_and_latency() {
        let config = config_from(&[
            (ENV_IMAGE, "localstack/localstack-pro:2026.3"),
            (ENV_AUTH_TOKEN, "tok"),
            (ENV_ENDPOINT, "http://localhost:4566/"),
            (ENV_KINESIS_LATENCY, "500"),
        ]);
        assert_eq!(config.image_name, "localstack/localstack-pro");
        assert_eq!(config.image_tag, "2026.3");
        assert_eq!(config.auth_token.as_deref(), Some("tok"));
        assert_eq!(config.endpoint.as_deref(), Some("http://localhost:4566"));
        assert_eq!(config.kinesis_latency_ms, 500);
    }

    #[test]
    fn empty_endpoint_means_start_a_container() {
        assert_eq!(config_from(&[(ENV_ENDPOINT, " ")]).endpoint, None);
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        assert_eq!(
            split_image("localhost:5000/localstack/localstack"),
            (
                "localhost:5000/localstack/localstack".into(),
                "latest".into()
            )
        );
        assert_eq!(
            split_image("localhost:5000/ls:4.14.0"),
            ("localhost:5000/ls".into(), "4.14.0".into())
        );
    }
}
