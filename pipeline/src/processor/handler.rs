//! The processor's handler: validates, de-duplicates and enriches events, writes them to the
//! lake (bad records to the quarantine, with the reason), and watches prices.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chrono::Utc;
use uuid::Uuid;

use super::claims::Claims;
use super::esm::{Handler, HandlerError, SqsMessage};
use super::faults::{Failure, HandlerFaults};
use super::recovery::{self, quarantine_key};
use super::response::BatchResponse;
use crate::aws::Clients;
use crate::envelope;
use crate::event::{enrich, parse_record, MarketEvent};
use crate::lake::{partition, Lake, Rows};
use crate::notify::price_watch::{price_of, Price};
use crate::notify::{Alert, AlertOutbox, PriceWatch, WatchConfig};

/// Live counters.
#[derive(Debug, Default)]
pub struct HandlerStats {
    /// Events written to the lake.
    pub events: AtomicU64,
    /// Records skipped because they were already written: events by id, records for the
    /// quarantine by their bytes (producer duplicates, redelivery).
    pub duplicates: AtomicU64,
    /// Messages left for redelivery because another invocation was still writing some of
    /// their events.
    pub busy: AtomicU64,
    /// Records quarantined.
    pub quarantined: AtomicU64,
    /// Messages failed because they carry a poison event.
    pub poison_failures: AtomicU64,
    /// Messages failed transiently.
    pub transient_failures: AtomicU64,
    /// Price alerts written (each announced once by the bucket's notification).
    pub alerts: AtomicU64,
    /// Prices the watch ignored because their window had closed, counted as they come over
    /// every processor that shares these counters: alerts are exact, and independent of
    /// processing order, only when this is 0.
    pub late_prices: AtomicU64,
}

/// The enriching handler.
pub struct EnrichHandler {
    lake: Lake,
    alerts: Option<AlertOutbox>,
    /// The first alert that could not be written: the run cannot be trusted to have said every
    /// price move, and [`EnrichHandler::finish`] says so.
    lost_alert: Mutex<Option<String>>,
    faults: HandlerFaults,
    watch: Mutex<PriceWatch>,
    /// Ids written and being written: makes producer duplicates and redeliveries harmless,
    /// and never takes an id for done before its write is durable. Held in memory for a run (a
    /// production deployment keeps it in a table).
    claims: Mutex<Claims>,
    stats: Arc<HandlerStats>,
}

impl EnrichHandler {
    /// A handler writing to `lake`, writing alerts to `alerts` (whose bucket announces them).
    pub fn new(
        lake: Lake,
        alerts: Option<AlertOutbox>,
        watch: WatchConfig,
        faults: HandlerFaults,
    ) -> Self {
        Self {
            lake,
            alerts,
            lost_alert: Mutex::new(None),
            faults,
            watch: Mutex::new(PriceWatch::new(watch)),
            claims: Mutex::new(Claims::default()),
            stats: Arc::default(),
        }
    }

    /// Counts into `stats` (a restarted handler keeps counting where the last one stopped).
    pub fn with_stats(mut self, stats: Arc<HandlerStats>) -> Self {
        self.stats = stats;
        self
    }

    /// Counters.
    pub fn stats(&self) -> Arc<HandlerStats> {
        self.stats.clone()
    }

    /// Takes every record the lake in `bucket` already holds as written, before the first
    /// batch: how a restarted processor knows what its predecessor wrote. Returns their number.
    ///
    /// # Errors
    /// The lake could not be read, or holds a row without its key.
    pub async fn recover(&self, clients: &Clients, bucket: &str) -> Result<usize, HandlerError> {
        let written = recovery::written(clients, bucket)
            .await
            .map_err(|e| HandlerError(format!("recovering from the lake: {e}")))?;
        let count = written.keys.len();
        lock(&self.claims).confirm(&written.keys.into_iter().collect());
        let alerts = self.watch_again(written.prices);
        // Those a predecessor wrote exist and are not written again; one it closed and died
        // before writing is written now.
        self.publish(&alerts).await;
        Ok(count)
    }

    /// Feeds the watch the prices of every durable event, in market time (so that none comes
    /// after its window closed): the watch a predecessor had, and the alerts it closed.
    fn watch_again(&self, mut prices: Vec<Price>) -> Vec<Alert> {
        prices.sort_by_key(|(_, at, _, _)| *at);
        self.observe(&prices)
    }

    /// Observes `prices`, counting those that came after their window closed; returns the
    /// alerts of the windows they close.
    fn observe(&self, prices: &[Price]) -> Vec<Alert> {
        let mut watch = lock(&self.watch);
        let late = watch.late();
        let alerts = prices
            .iter()
            .flat_map(|(s, t, p, w)| watch.observe(s, *t, *p, *w))
            .collect();
        let added = watch.late() - late;
        self.stats.late_prices.fetch_add(added, Ordering::Relaxed);
        alerts
    }

    /// Closes every price window (the run has drained) and writes the remaining alerts.
    ///
    /// # Errors
    /// An alert of the run could not be written (after retries): the first one's error.
    pub async fn finish(&self) -> Result<Vec<Alert>, HandlerError> {
        let alerts = lock(&self.watch).finish();
        self.publish(&alerts).await;
        match lock(&self.lost_alert).take() {
            Some(e) => Err(HandlerError(format!("a price alert was not written: {e}"))),
            None => Ok(alerts),
        }
    }

    async fn publish(&self, alerts: &[Alert]) {
        let Some(outbox) = &self.alerts else { return };
        for alert in alerts {
            match outbox.put(alert).await {
                Ok(true) => {
                    self.stats.alerts.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, symbol = %alert.symbol, "price alert not written");
                    lock(&self.lost_alert).get_or_insert(e.to_string());
                }
            }
        }
    }

    fn quarantine(rows: &mut Rows, raw: &[u8], reason: &str, message_id: &str) {
        let event_uuid = serde_json::from_slice::<serde_json::Value>(raw)
            .ok()
            .and_then(|v| {
                v.get("event_uuid")
                    .and_then(|u| u.as_str())
                    .map(str::to_string)
            });
        let raw_text = match std::str::from_utf8(raw) {
            Ok(text) => serde_json::Value::String(text.to_string()),
            Err(_) => {
                serde_json::json!({ "b64": base64::engine::general_purpose::STANDARD.encode(raw) })
            }
        };
        let row = serde_json::json!({
            "reason": reason,
            "event_uuid": event_uuid,
            "message_id": message_id,
            "raw": raw_text,
        });
        rows.lines.extend_from_slice(row.to_string().as_bytes());
        rows.lines.push(b'\n');
        rows.identity.extend_from_slice(raw);
        rows.identity.extend_from_slice(message_id.as_bytes());
        rows.count += 1;
    }
}

/// What one invocation writes to one partition (or the quarantine): the rows, the keys of the
/// records they hold (an event's id, a quarantined record's digest) and the prices to watch.
/// A partition is done or not on its own: if its upload fails, only its keys are freed.
#[derive(Default)]
struct Partition {
    rows: Rows,
    keys: HashSet<Uuid>,
    prices: Vec<Price>,
}

impl Partition {
    fn new(prefix: String) -> Self {
        Self {
            rows: Rows {
                prefix,
                ..Rows::default()
            },
            ..Self::default()
        }
    }
}

impl Handler for EnrichHandler {
    async fn handle(&self, batch: &[SqsMessage]) -> Result<BatchResponse, HandlerError> {
        let now = Utc::now();
        let mut sorted = Sorted {
            now,
            data: BTreeMap::new(),
            quarantine: Partition::new(partition::quarantine_prefix(now)),
            accepted: HashSet::new(),
        };
        let mut failures = Vec::new();
        for message in batch {
            if self.sort(message, &mut sorted).is_err() {
                failures.push(message.message_id.clone());
            }
        }
        let mut parts: Vec<Partition> = sorted.data.into_values().collect();
        parts.push(sorted.quarantine);
        self.write(parts).await?;
        Ok(BatchResponse::failing(failures))
    }
}

/// One invocation's records, sorted into the partitions they are written to.
struct Sorted {
    /// The invocation's time: the quarantine's partition and every row's `processed_at`.
    now: chrono::DateTime<Utc>,
    /// Enriched events, by partition prefix.
    data: BTreeMap<String, Partition>,
    /// Records that are not events, with their reasons.
    quarantine: Partition,
    /// Event ids claimed by this invocation (a duplicate within it is written once).
    accepted: HashSet<Uuid>,
}

/// A message that must come back: a fault failed it, or another invocation is still writing
/// some of its records.
struct Redeliver;

impl EnrichHandler {
    /// Sorts one message's records into `sorted`, each claimed first so that a redelivered
    /// message writes nothing twice. Nothing of a message that must come back is kept.
    fn sort(&self, message: &SqsMessage, sorted: &mut Sorted) -> Result<(), Redeliver> {
        let records = match envelope::decode(&message.body) {
            Ok(records) => records,
            Err(reason) => {
                let (body, id) = (message.body.as_bytes(), &message.message_id);
                Self::quarantine(&mut sorted.quarantine.rows, body, &reason, id);
                return Ok(());
            }
        };
        let parsed: Vec<(Vec<u8>, Result<MarketEvent, String>)> = records
            .into_iter()
            .map(|raw| {
                let e = parse_record(&raw);
                (raw, e)
            })
            .collect();
        let ids: Vec<Uuid> = parsed
            .iter()
            .filter_map(|(_, e)| e.as_ref().ok().map(MarketEvent::id))
            .collect();
        // Decide before writing anything, so a failed message leaves no trace to duplicate.
        if let Some(failure) = self.faults.failure(message, &ids) {
            let counter = match failure {
                Failure::Poison => &self.stats.poison_failures,
                Failure::Transient => &self.stats.transient_failures,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return Err(Redeliver);
        }
        // Every record is claimed before it is written: an event by its id, a record for the
        // quarantine by a digest of its bytes, so a redelivered message writes neither again.
        let keys: Vec<Uuid> = parsed
            .iter()
            .map(|(raw, e)| {
                e.as_ref()
                    .map_or_else(|_| quarantine_key(raw), MarketEvent::id)
            })
            .collect();
        let Ok(takes) = lock(&self.claims).claim(&keys, &mut sorted.accepted) else {
            // Another invocation is still writing some of these records: this message is done
            // only once that write is durable, so it comes back later.
            self.stats.busy.fetch_add(1, Ordering::Relaxed);
            return Err(Redeliver);
        };
        for (((raw, event), take), key) in parsed.into_iter().zip(takes).zip(keys) {
            if !take {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            match event {
                Err(reason) => {
                    let id = &message.message_id;
                    Self::quarantine(&mut sorted.quarantine.rows, &raw, &reason, id);
                    sorted.quarantine.keys.insert(key);
                }
                Ok(event) => sorted.add(&event, key),
            }
        }
        Ok(())
    }
}

impl Sorted {
    /// Adds `event`, enriched, to its partition.
    fn add(&mut self, event: &MarketEvent, key: Uuid) {
        let prefix = partition::data_prefix(event.kind().event_type(), event.created_at());
        let part = self
            .data
            .entry(prefix.clone())
            .or_insert_with(|| Partition::new(prefix));
        part.rows.lines.extend_from_slice(&enrich(event, self.now));
        part.rows.lines.push(b'\n');
        part.rows.identity.extend_from_slice(event.id().as_bytes());
        part.rows.count += 1;
        part.keys.insert(key);
        part.prices.extend(price_of(event));
    }
}

impl EnrichHandler {
    /// Writes the partitions, each done or not on its own: a durable one's records are
    /// confirmed (and its prices watched), a failed one's are freed for the redelivery to write
    /// them. Any failure fails the invocation, so that every message comes back; what is
    /// durable is then skipped as a duplicate, never written twice.
    async fn write(&self, parts: Vec<Partition>) -> Result<(), HandlerError> {
        let mut rows = Vec::with_capacity(parts.len());
        let mut rest = Vec::with_capacity(parts.len());
        for p in parts {
            let counter = if p.rows.prefix.starts_with(partition::QUARANTINE) {
                &self.stats.quarantined
            } else {
                &self.stats.events
            };
            rest.push((p.keys, p.prices, p.rows.count as u64, counter));
            rows.push(p.rows);
        }
        let results = self.lake.append(rows).await;
        let mut failed = None;
        let mut prices = Vec::new();
        for ((keys, part_prices, count, counter), result) in rest.into_iter().zip(results) {
            match result {
                Ok(()) => {
                    lock(&self.claims).confirm(&keys);
                    counter.fetch_add(count, Ordering::Relaxed);
                    prices.extend(part_prices);
                }
                Err(e) => {
                    lock(&self.claims).release(&keys);
                    failed.get_or_insert(e);
                }
            }
        }
        let alerts = self.observe(&prices);
        self.publish(&alerts).await;
        match failed {
            Some(e) => Err(HandlerError(format!("lake write failed: {e}"))),
            None => Ok(()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
