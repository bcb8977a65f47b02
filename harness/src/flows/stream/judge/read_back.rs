//! The stream read back on the judge's own iterators, for every event's history.
//!
//! The producer's tap says what Kinesis accepted and the bridge's what it sent on. When some
//! event was accepted and never sent on, the judge reads every shard from its start
//! (`TRIM_HORIZON`, parents and children of a split alike) on iterators of its own, and each
//! user record it finds is seen "in the stream" at the time Kinesis says it arrived: the
//! history then tells a record Kinesis lost from one the bridge left behind. Reading back
//! costs what the stream holds (about 1 MB/s on LocalStack), so it is done only then, within
//! [`BUDGET`]; a read that did not reach every shard's end is not judged.

use std::time::{Duration, Instant};

use serde::Serialize;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::bridge::user_records;
use tickflow_pipeline::history::record_id;

use uuid::Uuid;

use crate::error::Result;

/// Longest the judge reads the stream back.
pub const BUDGET: Duration = Duration::from_secs(120);
/// Records a `GetRecords` call asks for.
const LIMIT: i32 = 10_000;
/// Pause after a throttled or failed `GetRecords`, and how many in a row end the read.
const PAUSE: Duration = Duration::from_millis(250);
const FAILURES: u32 = 8;

/// How the stream was read back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReadBack {
    /// Shards read (every shard the stream has, closed ones too).
    pub shards: usize,
    /// Kinesis records read, and the user records they held.
    pub records: u64,
    /// User records (an aggregate holds several).
    pub user_records: u64,
    /// Seconds it took.
    pub secs: f64,
    /// Whether every shard was read to its end within the budget: only then is it judged.
    pub complete: bool,
}

impl ReadBack {
    /// One line for the report.
    pub fn describe(&self) -> String {
        let how = match self.complete {
            true => "judged",
            false => "not to its end within the budget: not judged",
        };
        format!(
            "the stream read back on tickflow's own iterators: {} shards, {} records ({} user \
             records) in {:.1} s, {how}",
            self.shards, self.records, self.user_records, self.secs
        )
    }
}

/// Reads `stream` back within `budget`, telling `seen` the ids of each Kinesis record's user
/// records with when the record arrived (epoch ms); how it went.
///
/// # Errors
/// Listing the shards or opening an iterator failing.
pub async fn read_back(
    clients: &Clients,
    stream: &str,
    budget: Duration,
    mut seen: impl FnMut(Vec<(Uuid, i64)>),
) -> Result<ReadBack> {
    let started = Instant::now();
    let shards = clients.shards(stream).await?;
    let mut read = ReadBack {
        shards: shards.len(),
        complete: true,
        ..ReadBack::default()
    };
    for shard in &shards {
        let iterator = clients.trim_horizon(stream, shard.shard_id()).await?;
        let until = started + budget;
        if !read_shard(clients, iterator, &mut seen, &mut read, until).await {
            read.complete = false;
            break;
        }
    }
    read.secs = started.elapsed().as_secs_f64();
    Ok(read)
}

/// Reads one shard from `iterator` to its end (a closed shard's last iterator, or an open
/// one's empty answer at the tip), telling `seen` each record's user records; `false` when
/// `until` came first, or `GetRecords` kept failing.
async fn read_shard(
    clients: &Clients,
    mut iterator: Option<String>,
    seen: &mut impl FnMut(Vec<(Uuid, i64)>),
    read: &mut ReadBack,
    until: Instant,
) -> bool {
    let mut failures = 0;
    while let Some(current) = iterator.take() {
        if Instant::now() >= until {
            return false;
        }
        let out = match clients
            .kinesis
            .get_records()
            .shard_iterator(&current)
            .limit(LIMIT)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                failures += 1;
                tracing::debug!(error = %e, "reading the stream back: GetRecords failed");
                if failures >= FAILURES {
                    return false;
                }
                tokio::time::sleep(PAUSE).await;
                iterator = Some(current);
                continue;
            }
        };
        failures = 0;
        for record in out.records() {
            let arrived = record
                .approximate_arrival_timestamp()
                .and_then(|t| t.to_millis().ok())
                .unwrap_or(0);
            let users = user_records(std::slice::from_ref(record));
            read.records += 1;
            read.user_records += users.len() as u64;
            seen(
                users
                    .iter()
                    .filter_map(|u| record_id(u))
                    .map(|id| (id, arrived))
                    .collect(),
            );
        }
        let at_the_tip = out.records().is_empty() && out.millis_behind_latest().unwrap_or(0) == 0;
        if !at_the_tip {
            iterator = out.next_shard_iterator().map(str::to_string);
        }
    }
    true
}
