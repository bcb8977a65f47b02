//! PostgreSQL for the batch table and the web source's tables.
//!
//! PostgreSQL, for the batch flow's table and the web source's rows and request log: where it
//! comes from ([`config`]), a container tickflow starts or an existing server ([`container`]),
//! shared per test binary ([`shared`]), the one way to connect ([`connect`]), and its faults
//! carried out for real ([`faults`]).

pub mod config;
pub mod connect;
pub mod container;
pub mod faults;
pub mod shared;

pub use config::{PostgresConfig, DEFAULT_IMAGE, ENV_IMAGE, ENV_URL};
pub(crate) use config::{DATABASE, USER};
pub use connect::{connect, required};
pub use container::Postgres;
