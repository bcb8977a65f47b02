//! Per-shard sequence checkpoints: where a restarted bridge resumes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Shard id -> the sequence number of the last Kinesis record whose events are all in SQS.
///
/// Shared between bridge instances, so a bridge stopped and started again resumes after the
/// last checkpoint: events after it may be sent twice (at-least-once), never lost.
#[derive(Debug, Clone, Default)]
pub struct Checkpoints(Arc<Mutex<BTreeMap<String, String>>>);

impl Checkpoints {
    /// The checkpoint of `shard`, if any.
    pub fn get(&self, shard: &str) -> Option<String> {
        self.lock().get(shard).cloned()
    }

    /// Records that everything up to `sequence` on `shard` is in SQS.
    pub fn set(&self, shard: &str, sequence: &str) {
        self.lock().insert(shard.to_string(), sequence.to_string());
    }

    /// A copy of every checkpoint, for reports.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
