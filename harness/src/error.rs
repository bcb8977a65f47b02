//! The harness's one error type: every failure says what failed, where, and what to do.

use std::time::Duration;

pub use tickflow_pipeline::aws::AwsError;

/// Everything that can go wrong while driving, observing or judging the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No Docker-compatible engine answered.
    #[error(
        "no container engine reachable ({reason}). Start Docker or Podman and set DOCKER_HOST \
         to its socket, or set AWS_ENDPOINT_URL to an existing LocalStack"
    )]
    Engine {
        /// The engine client's own error.
        reason: String,
    },
    /// The LocalStack image is neither present locally nor pullable.
    #[error(
        "LocalStack image `{image}` is not available ({reason}). Pull it with `docker pull {image}`, \
         choose another with TICKFLOW_LOCALSTACK_IMAGE=name:tag, or set AWS_ENDPOINT_URL to an \
         existing LocalStack"
    )]
    ImageUnavailable {
        /// The image as `name:tag`.
        image: String,
        /// What the engine said.
        reason: String,
    },
    /// The container started but LocalStack did not become ready.
    #[error(
        "LocalStack `{image}` did not become ready within {timeout:?}: {reason}\n\
         last container log lines:\n{last_logs}"
    )]
    NotReady {
        /// The image as `name:tag`.
        image: String,
        /// The readiness deadline (TICKFLOW_STARTUP_TIMEOUT_SECS).
        timeout: Duration,
        /// What was still missing.
        reason: String,
        /// The tail of the container's output.
        last_logs: String,
    },
    /// Any other container-engine failure.
    #[error("container engine: {0}")]
    Container(String),
    /// An endpoint that does not answer like LocalStack.
    #[error(
        "endpoint {endpoint} is unreachable: {reason}. Check AWS_ENDPOINT_URL, or unset it to let \
         tickflow start LocalStack itself"
    )]
    Unreachable {
        /// The endpoint URL.
        endpoint: String,
        /// The connection or protocol error.
        reason: String,
    },
    /// An AWS-compatible endpoint whose readiness call for a service the run needs failed.
    #[error(
        "endpoint {endpoint} cannot serve {service}: {operation} failed: {reason}. Check that it \
         runs {service} (an emulator may need it enabled), or choose another endpoint"
    )]
    ServiceNotReady {
        /// The endpoint URL, without its password.
        endpoint: String,
        /// The service's name (`kinesis`, `sqs`, ...).
        service: &'static str,
        /// The call that failed.
        operation: &'static str,
        /// What it answered, on one line.
        reason: String,
    },
    /// An endpoint that answers, but not as LocalStack does.
    #[error(
        "endpoint {endpoint} answers, but not as LocalStack ({reason}). For another AWS-compatible \
         endpoint (moto, or any emulator), run with --target endpoint"
    )]
    NotLocalStack {
        /// The endpoint URL, without its password.
        endpoint: String,
        /// What its health endpoint answered.
        reason: String,
    },
    /// A PostgreSQL server that does not answer.
    #[error(
        "PostgreSQL at {url} is unreachable: {reason}. Check TICKFLOW_POSTGRES_URL, or unset it to \
         let tickflow start PostgreSQL itself"
    )]
    DatabaseUnreachable {
        /// The URL, without its password.
        url: String,
        /// The driver's error.
        reason: String,
    },
    /// An AWS API call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A pipeline stage failed.
    #[error(transparent)]
    Pipeline(#[from] tickflow_pipeline::Error),
    /// The web source could not be set up or serve.
    #[error(transparent)]
    Web(#[from] tickflow_pipeline::web::WebError),
    /// A stage failed, ended before it was drained, or its task ended abnormally.
    #[error("{stage}: {reason}")]
    Stage {
        /// Which stage.
        stage: String,
        /// What happened.
        reason: String,
    },
    /// A PostgreSQL statement failed.
    #[error("{what}: {reason}")]
    Database {
        /// What the statement was for.
        what: String,
        /// The driver's error.
        reason: String,
    },
    /// An input file (replay data, a report directory) could not be used.
    #[error("{0}")]
    Input(String),
    /// A wait gave up.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        after: Duration,
    },
}

/// A stage that did not drain: a timeout says what it waited for, anything else which stage
/// and why.
impl From<tickflow_pipeline::stages::StageError> for Error {
    fn from(e: tickflow_pipeline::stages::StageError) -> Self {
        use tickflow_pipeline::stages::StageError;
        match e {
            StageError::Timeout { stage, after } => Self::Timeout {
                what: format!("the {stage} to drain"),
                after,
            },
            StageError::Failed { stage, error } => Self::Stage {
                stage: stage.to_string(),
                reason: error.to_string(),
            },
            StageError::EndedEarly { stage } => Self::Stage {
                stage: stage.to_string(),
                reason: "ended before it was asked to drain".into(),
            },
            StageError::Panicked { stage, reason } => Self::Stage {
                stage: stage.to_string(),
                reason,
            },
        }
    }
}

/// Shorthand for the harness's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `url` without its password (`scheme://user:***@host...`), for messages and headers.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_never_show_the_password() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("http://key:secret@127.0.0.1:5055"),
            "http://key:***@127.0.0.1:5055"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }
}
