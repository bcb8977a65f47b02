//! The pipeline's one error type.

pub use crate::aws::AwsError;

/// What can stop a pipeline stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A stage failed for a reason other than one AWS call.
    #[error("{0}")]
    Stage(String),
    /// The stage died at its crash point, as a fault schedule asked: it is restarted from
    /// durable state.
    #[error("the {} crashed (injected by the fault schedule)", .0.name())]
    Crashed(crate::chaos::Stage),
    /// An AWS call failed after its retries.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Shorthand for the pipeline's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
