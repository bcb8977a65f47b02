//! What can go wrong setting up or running the web source.

/// What can go wrong setting up or running the server.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A setting that cannot work.
    #[error("web source: {0}")]
    Config(String),
    /// The address could not be bound.
    #[error("web source: cannot listen on {0}: {1}")]
    Bind(std::net::SocketAddr, #[source] std::io::Error),
    /// Serving failed.
    #[error("web source: serving failed: {0}")]
    Serve(#[source] std::io::Error),
    /// A database call failed.
    #[error("web source: PostgreSQL, {what}: {source}")]
    Database {
        /// What the call was doing.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
}

impl WebError {
    /// Maps a driver error to [`WebError::Database`], saying what was being done.
    pub fn database(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> WebError {
        move |source| WebError::Database { what, source }
    }
}
