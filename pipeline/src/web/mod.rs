//! The finance-reporting design's source: a market-data web server in front of Kinesis. A
//! scheduler (or any HTTP client) calls `GET /logs`; each answer is the next batch of forex
//! rates, stock quotes and news, handed to the producer (and so into Kinesis), stored in
//! PostgreSQL (one table per kind) and returned as JSON. Every request is logged in the
//! database's `request_log`.
//!
//! - [`server`]: the routes, the bounded queue to the producer, the graceful stop;
//! - [`auth`]: the optional bearer token, compared in constant time;
//! - [`query`]: what `/logs` may be asked;
//! - [`store`]: the tables and the group-committing writer.

pub mod auth;
pub mod query;
pub mod server;
pub mod store;

pub use auth::Token;
pub use server::{Arrival, MarketData, WebConfig, WebServer, WebStats, REQUEST_ID};
pub use store::{LoggedRequest, Schema, Store, StoreStats};

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
