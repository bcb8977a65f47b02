//! Reconciliation: every event sent, accounted for in the lake, the quarantine or the DLQ.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde::Serialize;
use uuid::Uuid;

use crate::faults::Fate;

/// What was sent: each event's fate and when it was handed to the producer.
#[derive(Debug)]
pub struct Ledger {
    started: Instant,
    /// Wall clock (epoch ms) at `started`, to compare with S3 write times.
    started_epoch_ms: i64,
    entries: HashMap<Uuid, (Fate, u32)>,
}

impl Ledger {
    /// An empty ledger starting now.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            started_epoch_ms: chrono::Utc::now().timestamp_millis(),
            entries: HashMap::new(),
        }
    }

    /// Records an event handed to the producer now.
    pub fn record(&mut self, id: Uuid, fate: Fate) {
        let offset = self.started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
        self.entries.insert(id, (fate, offset));
    }

    /// Events recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many events had `fate`.
    pub fn count(&self, fate: Fate) -> usize {
        self.entries.values().filter(|(f, _)| *f == fate).count()
    }

    /// Wall-clock time (epoch ms) at which `id` was handed to the producer.
    pub fn sent_at_ms(&self, id: &Uuid) -> Option<i64> {
        self.entries
            .get(id)
            .map(|(_, offset)| self.started_epoch_ms + i64::from(*offset))
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new()
    }
}

/// Where events were found after the run.
#[derive(Debug, Default)]
pub struct Found {
    /// Event id -> rows in the lake's data partitions.
    pub lake: HashMap<Uuid, u32>,
    /// Ids named by quarantine rows.
    pub quarantined_ids: HashSet<Uuid>,
    /// Quarantine rows (with or without an id).
    pub quarantine_rows: u64,
    /// Event id -> copies in dead-lettered messages.
    pub dead_lettered: HashMap<Uuid, u32>,
    /// Records in dead-lettered messages (with or without an id).
    pub dead_lettered_records: u64,
}

/// The reconciliation's verdict. Every event sent counts once, in the first place it is found:
/// the lake, then the quarantine, then the DLQ; so `found + quarantined + dead_lettered +
/// missing = events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// Events sent.
    pub events: u64,
    /// Sent events found in the lake.
    pub found: u64,
    /// Sent events found nowhere (lake, quarantine, DLQ).
    pub missing: u64,
    /// Extra lake rows of events already in the lake.
    pub duplicated: u64,
    /// Sent events in the quarantine (and not in the lake).
    pub quarantined: u64,
    /// Sent events only in dead-lettered messages. A DLQ takes whole messages, so clean or
    /// malformed neighbours of a poison event are dead-lettered with it.
    pub dead_lettered: u64,
    /// Events found somewhere their fate rules out (a clean event quarantined, a malformed or
    /// poison one in the lake), or lake rows of events never sent.
    pub misplaced: u64,
}

impl Reconciliation {
    /// Compares the ledger with what was found.
    pub fn of(ledger: &Ledger, found: &Found) -> Self {
        let mut r = Reconciliation {
            events: ledger.len() as u64,
            ..Default::default()
        };
        for (id, (fate, _)) in &ledger.entries {
            let in_lake = found.lake.get(id).copied().unwrap_or(0);
            let in_quarantine = found.quarantined_ids.contains(id);
            let in_dlq = found.dead_lettered.contains_key(id);
            if in_lake > 0 {
                r.found += 1;
                r.duplicated += u64::from(in_lake - 1);
            } else if in_quarantine {
                r.quarantined += 1;
            } else if in_dlq {
                r.dead_lettered += 1;
            } else {
                r.missing += 1;
            }
            let misplaced = match fate {
                Fate::Clean => in_quarantine,
                Fate::Malformed | Fate::Poison => in_lake > 0,
            };
            r.misplaced += u64::from(misplaced);
        }
        r.misplaced += found
            .lake
            .keys()
            .filter(|id| !ledger.entries.contains_key(id))
            .count() as u64;
        r
    }

    /// The invariant of every run: nothing missing, nothing duplicated.
    pub fn holds(&self) -> bool {
        self.missing == 0 && self.duplicated == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn counts_found_missing_duplicated_and_misplaced() {
        let mut ledger = Ledger::new();
        let id = ids(6);
        for (i, fate) in [
            Fate::Clean,
            Fate::Clean,
            Fate::Clean,
            Fate::Malformed,
            Fate::Poison,
            Fate::Clean,
        ]
        .into_iter()
        .enumerate()
        {
            ledger.record(id[i], fate);
        }
        let mut found = Found::default();
        found.lake.insert(id[0], 1);
        found.lake.insert(id[1], 3); // two extra copies
        found.quarantined_ids.insert(id[3]);
        found.quarantine_rows = 1;
        found.dead_lettered.insert(id[4], 1);
        found.dead_lettered.insert(id[0], 1); // also in the lake: counts as found
        found.dead_lettered_records = 2;
        found.quarantined_ids.insert(id[5]); // a clean event quarantined
                                             // id[2] is nowhere
        let r = Reconciliation::of(&ledger, &found);
        assert_eq!(
            r,
            Reconciliation {
                events: 6,
                found: 2,
                missing: 1,
                duplicated: 2,
                quarantined: 2,
                dead_lettered: 1,
                misplaced: 1,
            }
        );
        assert!(!r.holds());
        assert_eq!(
            r.found + r.quarantined + r.dead_lettered + r.missing,
            r.events
        );
    }

    #[test]
    fn a_clean_run_holds() {
        let mut ledger = Ledger::new();
        let mut found = Found::default();
        for id in ids(100) {
            ledger.record(id, Fate::Clean);
            found.lake.insert(id, 1);
        }
        let r = Reconciliation::of(&ledger, &found);
        assert!(r.holds() && r.found == 100 && r.misplaced == 0, "{r:?}");
    }
}
