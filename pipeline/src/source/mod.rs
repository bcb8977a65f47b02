//! Deterministic market data: forex rates, stock quotes and news.
//!
//! The market-data source: forex rates, stock quotes and stock news, generated deterministically
//! from a seed and streamed one event at a time.

pub mod config;
mod generator;
mod news;
pub mod price;
pub mod session;

pub use config::{
    ForcedJump, GeneratorConfig, InstrumentSpec, JumpModel, Mix, MAX_EVENTS, MAX_MEAN_GAP_MS,
    MAX_PRICE,
};
pub use generator::{event_id, id_tag, position_of, Generator};
