//! The stream's handler: validate, enrich and write each batch to the lake.
//!
//! The processor's handler: validates, de-duplicates and enriches events, writes them to the
//! lake (bad records to the quarantine, with the reason), and watches prices.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use tokio::sync::Notify;
use uuid::Uuid;

use super::claims::Claims;
use super::faults::{Failure, HandlerFaults};
use super::recovery::{self, quarantine_key};
use crate::aws::Clients;
use crate::envelope;
use crate::esm::{BatchResponse, Handler, HandlerError, SqsMessage};
use crate::event::{enrich, parse_record, MarketEvent};
use crate::history::{Point, Tap};
use crate::lake::{partition, Lake, Rows};
use crate::notify::price_watch::{price_of, Price};
use crate::notify::{Admission, ClosedWindow, LatePrice, PriceOutbox, PriceWatch, WatchConfig};

/// Live counters.
#[derive(Debug, Default)]
pub struct HandlerStats {
    /// Events written to the lake.
    pub events: AtomicU64,
    /// Records skipped because they were already written: events by id, records for the
    /// quarantine by their bytes (producer duplicates, redelivery).
    pub duplicates: AtomicU64,
    /// Messages that met another invocation still writing some of their records, and waited
    /// for that write to end before being sorted again.
    pub busy: AtomicU64,
    /// Busy messages left for redelivery because the other write outlasted
    /// [`BUSY_WAIT`].
    pub busy_redelivered: AtomicU64,
    /// Records quarantined.
    pub quarantined: AtomicU64,
    /// Messages failed because they carry a poison event.
    pub poison_failures: AtomicU64,
    /// Messages failed transiently.
    pub transient_failures: AtomicU64,
    /// Price alerts written (each announced once by the bucket's notification).
    pub alerts: AtomicU64,
    /// Closed windows recorded.
    pub windows: AtomicU64,
    /// Prices that came after their window had closed, written to the late output (each
    /// once, over every processor that shares these counters).
    pub late_prices: AtomicU64,
}

/// The enriching handler.
pub struct EnrichHandler {
    lake: Lake,
    /// Where the price watch's window records, late prices and alerts go (`None`: prices are
    /// watched, and nothing of it is written).
    outbox: Option<PriceOutbox>,
    /// Closed windows whose record or alert could not be written yet, with the first error:
    /// written again with the next ones; at [`EnrichHandler::finish`], the run's error.
    unwritten: Mutex<(Vec<ClosedWindow>, Option<String>)>,
    faults: HandlerFaults,
    watch: Mutex<PriceWatch>,
    /// Ids written and being written: makes producer duplicates and redeliveries harmless,
    /// and never takes an id for done before its write is durable. Held in memory for a run (a
    /// production deployment keeps it in a table).
    claims: Mutex<Claims>,
    /// Woken whenever an invocation's claims become durable or free: what a busy message waits
    /// for.
    settled: Notify,
    stats: Arc<HandlerStats>,
    /// Where the events received are reported, for the run's history.
    tap: Option<Arc<dyn Tap>>,
}

/// How long a busy message waits for the other invocation's write before it is left for
/// redelivery. Sent back at once, as it was, each meeting spent one of the message's
/// `maxReceiveCount` receives: a duplicate that met a slow write three times went, with every
/// record written, to the DLQ (a CI run of `fault-reset` under load).
pub const BUSY_WAIT: Duration = Duration::from_secs(30);

impl EnrichHandler {
    /// A handler writing to `lake`, and the price watch's outputs to `outbox` (whose bucket
    /// announces the alerts).
    pub fn new(
        lake: Lake,
        outbox: Option<PriceOutbox>,
        watch: WatchConfig,
        faults: HandlerFaults,
    ) -> Self {
        Self {
            lake,
            outbox,
            unwritten: Mutex::new((Vec::new(), None)),
            faults,
            watch: Mutex::new(PriceWatch::new(watch)),
            claims: Mutex::new(Claims::default()),
            settled: Notify::new(),
            stats: Arc::default(),
            tap: None,
        }
    }

    /// Counts into `stats` (a restarted handler keeps counting where the last one stopped).
    pub fn with_stats(mut self, stats: Arc<HandlerStats>) -> Self {
        self.stats = stats;
        self
    }

    /// Reports every event it receives to `tap` (the run's history).
    pub fn with_tap(mut self, tap: Arc<dyn Tap>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Counters.
    pub fn stats(&self) -> Arc<HandlerStats> {
        self.stats.clone()
    }

    /// Takes every record the lake in `bucket` already holds as written, before the first
    /// batch: how a restarted processor knows what its predecessor wrote; and rebuilds the
    /// price watch it had from the lake, the window records and the late output, recording
    /// what it closed and died before recording. Returns the number of records.
    ///
    /// # Errors
    /// The lake or the outbox could not be read, or the lake holds a row without its key.
    pub async fn recover(&self, clients: &Clients, bucket: &str) -> Result<usize, HandlerError> {
        let written = recovery::written(clients, bucket)
            .await
            .map_err(|e| HandlerError(format!("recovering from the lake: {e}")))?;
        let count = written.keys.len();
        lock(&self.claims).confirm(&written.keys.into_iter().collect());
        let Some(outbox) = &self.outbox else {
            return Ok(count);
        };
        let reading = |e: crate::aws::AwsError| {
            HandlerError(format!("recovering the price watch from its outputs: {e}"))
        };
        let records = outbox.windows().await.map_err(reading)?;
        let late = outbox.late_ids().await.map_err(reading)?;
        let recorded_alerts: Vec<ClosedWindow> =
            records.iter().filter(|w| w.alert).cloned().collect();
        let config = lock(&self.watch).config();
        let (watch, again) =
            PriceWatch::restore(config, records, late.into_iter().collect(), &written.prices);
        *lock(&self.watch) = watch;
        // An alert lost between its window's record and its own object is written now.
        if let Err(e) = self.write_alerts(&recorded_alerts).await {
            let mut unwritten = lock(&self.unwritten);
            unwritten.1.get_or_insert(e);
            unwritten.0.extend(recorded_alerts);
        }
        self.write_windows(again).await;
        let closed = lock(&self.watch).close_ready();
        self.write_windows(closed).await;
        Ok(count)
    }

    /// Closes every price window (the run has drained) and records them, alerts included.
    ///
    /// # Errors
    /// A window's record or alert could not be written (after retries): the first error.
    pub async fn finish(&self) -> Result<Vec<ClosedWindow>, HandlerError> {
        let closed = lock(&self.watch).finish();
        self.write_windows(closed.clone()).await;
        let (left, error) = std::mem::take(&mut *lock(&self.unwritten));
        match (left.first(), error) {
            (Some(window), Some(e)) => Err(HandlerError(format!(
                "{} closed window(s) not recorded, the first {} from {}: {e}",
                left.len(),
                window.symbol,
                window.window_start
            ))),
            _ => Ok(closed),
        }
    }

    /// Records `closed` windows (and those not written before) in one object, then writes the
    /// alerts of those that alert; what fails is kept to be written with the next ones.
    async fn write_windows(&self, closed: Vec<ClosedWindow>) {
        let Some(outbox) = &self.outbox else { return };
        let mut windows = std::mem::take(&mut lock(&self.unwritten).0);
        windows.extend(closed);
        if windows.is_empty() {
            return;
        }
        let written = match outbox.put_windows(&windows).await {
            Ok(_) => self.write_alerts(&windows).await,
            Err(e) => Err(e.to_string()),
        };
        match written {
            Ok(()) => {
                self.stats
                    .windows
                    .fetch_add(windows.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(error = %e, windows = windows.len(), "windows not recorded");
                let mut unwritten = lock(&self.unwritten);
                unwritten.1.get_or_insert(e);
                unwritten.0.extend(windows);
            }
        }
    }

    /// Writes the alerts of `windows` that alert.
    async fn write_alerts(&self, windows: &[ClosedWindow]) -> Result<(), String> {
        let Some(outbox) = &self.outbox else {
            return Ok(());
        };
        for alert in windows.iter().filter_map(ClosedWindow::alert) {
            if outbox.put_alert(&alert).await.map_err(|e| e.to_string())? {
                self.stats.alerts.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
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
/// records they hold (an event's id, a quarantined record's digest) and the prices to watch,
/// by event. A partition is done or not on its own: if its upload fails, only its keys are
/// freed.
#[derive(Default)]
struct Partition {
    rows: Rows,
    keys: HashSet<Uuid>,
    prices: Vec<(Uuid, Price)>,
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
        // Until this batch's prices are admitted, none confirmed elsewhere closes a window.
        let intake = Intake::start(&self.watch);
        let mut sorted = Sorted::new(Utc::now());
        let mut failures = Vec::new();
        let mut busy = Vec::new();
        for message in batch {
            match self.sort(message, &mut sorted) {
                Ok(()) => {}
                Err(Redeliver::Fault) => failures.push(message.message_id.clone()),
                Err(Redeliver::Busy) => busy.push(message),
            }
        }
        self.write(sorted.into_parts(), intake).await?;
        // This invocation holds no claim now, so waiting for another's cannot close a cycle.
        for message in busy {
            if !self.after_the_other_write(message).await? {
                failures.push(message.message_id.clone());
            }
        }
        Ok(BatchResponse::failing(failures))
    }
}

/// An invocation's hold on the watermark from taking its messages until its prices are
/// admitted ([`PriceWatch::hold`]); let go when dropped, whatever became of the invocation.
struct Intake<'a> {
    watch: &'a Mutex<PriceWatch>,
    ticket: u64,
}

impl<'a> Intake<'a> {
    fn start(watch: &'a Mutex<PriceWatch>) -> Self {
        let ticket = lock(watch).hold();
        Self { watch, ticket }
    }
}

impl Drop for Intake<'_> {
    fn drop(&mut self) {
        lock(self.watch).unhold(self.ticket);
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

/// Why a message is not sorted now.
enum Redeliver {
    /// A fault failed it: it must come back.
    Fault,
    /// Another invocation is still writing some of its records: it waits for that write.
    Busy,
}

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
        if let Some(tap) = &self.tap {
            tap.saw(Point::Received, &ids);
        }
        // Decide before writing anything, so a failed message leaves no trace to duplicate.
        if let Some(failure) = self.faults.failure(message, &ids) {
            let counter = match failure {
                Failure::Poison => &self.stats.poison_failures,
                Failure::Transient => &self.stats.transient_failures,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return Err(Redeliver::Fault);
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
            // only once that write is durable (or written again if it fails).
            return Err(Redeliver::Busy);
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
    fn new(now: chrono::DateTime<Utc>) -> Self {
        Self {
            now,
            data: BTreeMap::new(),
            quarantine: Partition::new(partition::quarantine_prefix(now)),
            accepted: HashSet::new(),
        }
    }

    /// Every partition to write, the quarantine's last.
    fn into_parts(self) -> Vec<Partition> {
        let mut parts: Vec<Partition> = self.data.into_values().collect();
        parts.push(self.quarantine);
        parts
    }

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
        part.prices.extend(price_of(event).map(|p| (event.id(), p)));
    }
}

impl EnrichHandler {
    /// Writes the partitions, each done or not on its own: a durable one's records are
    /// confirmed (and its prices counted), a failed one's are freed for the redelivery to write
    /// them. Prices whose window has closed go to the late output first, before their events
    /// are written. Any failure fails the invocation, so that every message comes back; what
    /// is durable is then skipped as a duplicate, never written twice.
    async fn write(
        &self,
        mut parts: Vec<Partition>,
        intake: Intake<'_>,
    ) -> Result<(), HandlerError> {
        let late = self.admit(&mut parts);
        drop(intake);
        if let Err(e) = self.write_late(&late).await {
            let mut watch = lock(&self.watch);
            for part in &parts {
                self.settle(&part.keys, false);
                part.prices.iter().for_each(|(_, p)| watch.release(p));
            }
            return Err(HandlerError(format!("a late price was not written: {e}")));
        }
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
        let closed = {
            let mut watch = lock(&self.watch);
            for ((keys, prices, count, counter), result) in rest.into_iter().zip(results) {
                match result {
                    Ok(()) => {
                        self.settle(&keys, true);
                        counter.fetch_add(count, Ordering::Relaxed);
                        prices.iter().for_each(|(_, p)| watch.confirm(p));
                    }
                    Err(e) => {
                        self.settle(&keys, false);
                        prices.iter().for_each(|(_, p)| watch.release(p));
                        failed.get_or_insert(e);
                    }
                }
            }
            watch.close_ready()
        };
        self.write_windows(closed).await;
        match failed {
            Some(e) => Err(HandlerError(format!("lake write failed: {e}"))),
            None => Ok(()),
        }
    }

    /// Ends an invocation's hold on `keys`, durable or freed for a redelivery, and wakes the
    /// busy messages waiting for them.
    fn settle(&self, keys: &HashSet<Uuid>, durable: bool) {
        let mut claims = lock(&self.claims);
        if durable {
            claims.confirm(keys);
        } else {
            claims.release(keys);
        }
        drop(claims);
        self.settled.notify_waiters();
    }

    /// Sorts and writes a busy `message` once the write it met has ended: its records are then
    /// durable (skipped as duplicates) or free (written now). False when that write outlasted
    /// [`BUSY_WAIT`] or a fault failed the message: it is left for redelivery.
    ///
    /// # Errors
    /// The message's own write failed.
    async fn after_the_other_write(&self, message: &SqsMessage) -> Result<bool, HandlerError> {
        self.stats.busy.fetch_add(1, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + BUSY_WAIT;
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            // Registered before the claims are read, so a settle in between is not missed.
            settled.as_mut().enable();
            let intake = Intake::start(&self.watch);
            let mut sorted = Sorted::new(Utc::now());
            match self.sort(message, &mut sorted) {
                Ok(()) => {
                    self.write(sorted.into_parts(), intake).await?;
                    return Ok(true);
                }
                Err(Redeliver::Fault) => return Ok(false),
                Err(Redeliver::Busy) => {
                    drop(intake);
                    if tokio::time::timeout_at(deadline, settled).await.is_err() {
                        self.stats.busy_redelivered.fetch_add(1, Ordering::Relaxed);
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// Admits every price of `parts` to the watch: those of open windows stay, to be confirmed
    /// or released with their partition; the late ones are taken out and returned (those the
    /// late output holds already are dropped).
    fn admit(&self, parts: &mut [Partition]) -> Vec<LatePrice> {
        let mut watch = lock(&self.watch);
        let mut late = Vec::new();
        for part in parts {
            part.prices
                .retain(|(id, price)| match watch.admit(*id, price) {
                    Admission::Pending => true,
                    Admission::Late(l) => {
                        late.push(l);
                        false
                    }
                    Admission::LateAlready => false,
                });
        }
        late
    }

    /// Writes `late` prices to the late output (a few at once), and tells the watch they are
    /// there.
    async fn write_late(&self, late: &[LatePrice]) -> Result<(), String> {
        use futures_util::{StreamExt as _, TryStreamExt as _};
        if late.is_empty() {
            return Ok(());
        }
        if let Some(outbox) = &self.outbox {
            futures_util::stream::iter(late.iter().cloned())
                .map(|l| {
                    let outbox = outbox.clone();
                    async move { outbox.put_late(&l).await }
                })
                .buffer_unordered(8)
                .try_collect::<Vec<bool>>()
                .await
                .map_err(|e| e.to_string())?;
        }
        lock(&self.watch).late_written(late.iter().map(|l| l.event_uuid));
        self.stats
            .late_prices
            .fetch_add(late.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
