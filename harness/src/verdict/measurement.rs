//! One measured loop of raw calls: the ceiling a run's rate is compared against.

use serde::Serialize;

/// One measured loop.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// What was called, e.g. `kinesis PutRecords 500 x 200 B`.
    pub operation: String,
    /// Calls made.
    pub calls: u64,
    /// Items (records, messages, objects) accepted.
    pub items: u64,
    /// Payload bytes accepted.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

impl Measurement {
    /// Items per second.
    pub fn items_per_sec(&self) -> f64 {
        self.items as f64 / self.seconds.max(1e-9)
    }

    /// Mean milliseconds per call.
    pub fn ms_per_call(&self) -> f64 {
        self.seconds * 1e3 / self.calls.max(1) as f64
    }
}
