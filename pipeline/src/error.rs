//! The pipeline's one error type.

pub use crate::aws::AwsError;

/// What can stop a pipeline stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A stage failed for a reason other than one AWS call.
    #[error("{0}")]
    Stage(String),
    /// An AWS call failed after its retries.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Shorthand for the pipeline's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
