//! Why a batch run failed: what its log and its `_Pipeline_Failure` status say.

use crate::aws::AwsError;

/// A batch run that could not load its table.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// An S3 call failed after the SDK's retries.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A PostgreSQL statement (or the connection) failed; the transaction rolls back.
    #[error("{what}: {source}")]
    Database {
        /// What the statement was for.
        what: &'static str,
        /// The driver's error.
        source: tokio_postgres::Error,
    },
    /// The input cannot be loaded: no company list, no company in it, no readable row.
    #[error("{0}")]
    Input(String),
}

impl BatchError {
    /// A database error while doing `what`, for `map_err`.
    pub fn database(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |source| Self::Database { what, source }
    }
}
