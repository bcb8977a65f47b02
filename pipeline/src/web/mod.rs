//! The market-data web server in front of Kinesis.
//!
//! The finance-reporting design's source: a market-data web server in front of Kinesis. A
//! scheduler (or any HTTP client) calls `GET /logs`; each answer is the next batch of forex
//! rates, stock quotes and news, stored in PostgreSQL (one table per kind, and the outbox the
//! relay sends on to the producer, and so into Kinesis) and returned as JSON. Every request is
//! logged in the database's `request_log`.
//!
//! - [`server`]: the routes, the bound on what waits for the relay, the graceful stop;
//! - [`serve`]: the accept loop that owns every connection (a dying server closes them);
//! - [`auth`]: the optional bearer token, compared in constant time;
//! - [`query`]: what `/logs` may be asked;
//! - [`tables`]: the tables, the request log's rows, the commit markers;
//! - [`store`]: the handle requests store through;
//! - [`writer`]: the group-committing writer, which survives a lost connection;
//! - [`connection`]: the writer's named connection, opened again after a loss;
//! - [`insert`]: the SQL of one group commit;
//! - [`outbox`]: each stored event's record, in commit order, for the relay;
//! - [`relay`]: what was stored, sent on to the producer from the outbox.

pub mod auth;
pub mod connection;
mod error;
mod insert;
pub mod outbox;
pub mod query;
pub mod relay;
mod serve;
pub mod server;
pub mod store;
pub mod tables;
mod writer;

pub use auth::Token;
pub use connection::Connector;
pub use error::WebError;
pub use relay::{Backlog, Relay, RelayStats};
pub use server::{Arrival, MarketData, WebConfig, WebServer, WebStats, REQUEST_ID};
pub use store::{NotStored, Store};
pub use tables::{LoggedRequest, Schema};
pub use writer::StoreStats;
