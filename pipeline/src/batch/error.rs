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
    /// The load died at its crash point (a fault schedule's `crash` of stage `loader`): nothing
    /// is committed, logged or announced, as when the process dies.
    #[error("the load crashed")]
    Crashed,
}

impl BatchError {
    /// Whether the database connection was lost (ended by the server, as
    /// `pg_terminate_backend` or a restart ends it, or broken): the run may load again on a new
    /// one; its transaction never committed.
    pub fn is_connection_lost(&self) -> bool {
        use tokio_postgres::error::SqlState;
        let Self::Database { source, .. } = self else {
            return false;
        };
        let lost_codes = [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CONNECTION_EXCEPTION,
            SqlState::CONNECTION_FAILURE,
            SqlState::CONNECTION_DOES_NOT_EXIST,
        ];
        source.is_closed()
            || source.code().is_some_and(|code| lost_codes.contains(code))
            || std::error::Error::source(source).is_some_and(|e| e.is::<std::io::Error>())
    }

    /// A database error while doing `what`, for `map_err`.
    pub fn database(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |source| Self::Database { what, source }
    }
}
