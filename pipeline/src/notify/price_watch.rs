//! Price-move alerts over event-time windows.
//!
//! Price-move alerts over event-time windows: per symbol, a volume-weighted average price per
//! tumbling window of market time; when a window closes, its average against the symbol's
//! previous window with a price beyond a threshold is an alert (the price-notification seed).
//!
//! Windows close as stream processors close them (Flink's and Beam's watermarks with allowed
//! lateness): once the symbol's newest price made durable passes a window's end by `lateness`,
//! and only when no price the processor has taken for it is still being written (a price is
//! *admitted* before its event is written and *confirmed* once it is durable: a window never
//! closes under a write in flight). A durable price moves the watermark only once every
//! invocation that took its messages before it (its *intake*: [`PriceWatch::hold`]) has
//! admitted its own prices, which may be older. A price that comes after its window closed is
//! *late*: it counts in no window and goes to the late output instead, exactly once (Beam's
//! side output for late data), so that every window's record is the lake's prices minus the
//! late output.
//!
//! Every closed window is a [`ClosedWindow`] record: what it held, its average, the previous
//! window it was compared with and the decision. A restarted processor rebuilds the watch from
//! those records, the late output and the lake ([`PriceWatch::restore`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::MarketEvent;

/// A price the watch observes: (instrument, market time in epoch ms, price, weight).
pub type Price = (Arc<str>, i64, f64, f64);

/// The price `event` carries for the watch, if any: a stock's trade price weighted by its
/// volume, a pair's mid rate weighted one; news carries none. Public so that a judge asks the
/// same question of what the lake holds.
pub fn price_of(event: &MarketEvent) -> Option<Price> {
    match event {
        MarketEvent::StockPrice(e) => {
            Some((e.symbol.clone(), e.created_at, e.price, e.volume as f64))
        }
        MarketEvent::Forex(e) => Some((e.pair.clone(), e.created_at, e.mid, 1.0)),
        MarketEvent::StockNews(_) => None,
    }
}

/// Watch settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatchConfig {
    /// Window length in milliseconds of event time.
    pub window_ms: i64,
    /// Alert when |change| exceeds this many percent.
    pub threshold_pct: f64,
    /// How far past a window's end the symbol's newest durable price must be before the window
    /// closes.
    pub lateness_ms: i64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            window_ms: 60_000,
            threshold_pct: 2.0,
            lateness_ms: 300_000,
        }
    }
}

impl WatchConfig {
    /// The start of the window holding market time `at_ms`.
    pub fn window_of(&self, at_ms: i64) -> i64 {
        let len = self.window_ms.max(1);
        at_ms.div_euclid(len) * len
    }
}

/// A price move beyond the threshold: the body of an alert object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// Ticker or pair.
    pub symbol: String,
    /// Start of the window that moved (epoch ms).
    pub window_start: i64,
    /// Start of the window it was compared with.
    pub previous_window_start: i64,
    /// The previous window's weighted average price.
    pub previous_vwap: f64,
    /// This window's.
    pub vwap: f64,
    /// Percentage change.
    pub change_pct: f64,
}

/// The window a closed one was compared with: the symbol's last earlier window with weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousWindow {
    /// Its start (epoch ms).
    pub window_start: i64,
    /// Its weighted average price.
    pub vwap: f64,
}

/// One window of one symbol as it closed: the durable record a judge recomputes from the lake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosedWindow {
    /// Ticker or pair.
    pub symbol: String,
    /// Start of the window (epoch ms).
    pub window_start: i64,
    /// Its length (ms).
    pub window_ms: i64,
    /// Prices it holds.
    pub prices: u64,
    /// Their summed weight.
    pub weight: f64,
    /// Their weighted average (`None` without weight: such a window is compared with nothing).
    pub vwap: Option<f64>,
    /// The window it was compared with (`None` for the symbol's first window with weight).
    pub previous: Option<PreviousWindow>,
    /// The change against it, percent.
    pub change_pct: Option<f64>,
    /// Whether the change is beyond the threshold: the window alerts.
    pub alert: bool,
}

impl ClosedWindow {
    /// The alert this window makes, if it alerts.
    pub fn alert(&self) -> Option<Alert> {
        match (self.alert, self.vwap, self.previous, self.change_pct) {
            (true, Some(vwap), Some(previous), Some(change_pct)) => Some(Alert {
                symbol: self.symbol.clone(),
                window_start: self.window_start,
                previous_window_start: previous.window_start,
                previous_vwap: previous.vwap,
                vwap,
                change_pct,
            }),
            _ => None,
        }
    }
}

/// A price that came after its window had closed: counted in no window, and written to the
/// late output once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatePrice {
    /// The event that carried it.
    pub event_uuid: Uuid,
    /// Ticker or pair.
    pub symbol: String,
    /// Its market time (epoch ms).
    pub at_ms: i64,
    /// The start of its window.
    pub window_start: i64,
    /// The price.
    pub price: f64,
    /// Its weight.
    pub weight: f64,
    /// The symbol's newest closed window when it came (at or after its own).
    pub closed_through: i64,
}

/// What the watch made of a price the processor took.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Its window is open: it counts once its event is durable ([`PriceWatch::confirm`]), or
    /// not at all if the write fails ([`PriceWatch::release`]).
    Pending,
    /// Its window has closed: it must go to the late output (before its event is written).
    Late(LatePrice),
    /// Its window has closed and the late output holds it already (a redelivery).
    LateAlready,
}

/// An open window's sums.
#[derive(Debug, Default, Clone, Copy)]
struct Open {
    /// Sum of price x weight.
    priced: f64,
    weight: f64,
    prices: u64,
    /// Prices admitted and not yet confirmed or released.
    pending: u64,
}

#[derive(Debug, Default)]
struct Symbol {
    open: BTreeMap<i64, Open>,
    /// The newest market time of a durable price.
    newest_ms: Option<i64>,
    /// The newest closed window's start.
    closed_through: Option<i64>,
    /// The last closed window with weight: what the next one is compared with.
    last_priced: Option<PreviousWindow>,
}

/// Per-symbol windows, the late prices written, and the windows they close.
#[derive(Debug, Default)]
pub struct PriceWatch {
    config: WatchConfig,
    symbols: HashMap<Arc<str>, Symbol>,
    /// Events whose late price the late output holds.
    late_written: HashSet<Uuid>,
    /// The next intake's ticket.
    next_intake: u64,
    /// Intakes that have not admitted their prices yet.
    open_intakes: BTreeSet<u64>,
    /// Newest durable market time per symbol, by the first ticket not yet issued when it was
    /// confirmed: it moves the watermark once every intake before that ticket has admitted.
    deferred: BTreeMap<u64, HashMap<Arc<str>, i64>>,
}

impl PriceWatch {
    /// An empty watch with `config`.
    pub fn new(config: WatchConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// An invocation has taken messages whose prices it will admit: until it does
    /// ([`PriceWatch::unhold`] with the ticket returned), no price confirmed after now moves
    /// the watermark.
    pub fn hold(&mut self) -> u64 {
        let ticket = self.next_intake;
        self.next_intake += 1;
        self.open_intakes.insert(ticket);
        ticket
    }

    /// The intake `ticket` has admitted its prices (or has none).
    pub fn unhold(&mut self, ticket: u64) {
        self.open_intakes.remove(&ticket);
        let oldest_open = self.open_intakes.first().copied().unwrap_or(u64::MAX);
        while let Some(entry) = self.deferred.first_entry() {
            if *entry.key() > oldest_open {
                break;
            }
            for (symbol, at_ms) in entry.remove() {
                self.advance(&symbol, at_ms);
            }
        }
    }

    /// Moves `symbol`'s watermark to `at_ms` if that is newer.
    fn advance(&mut self, symbol: &Arc<str>, at_ms: i64) {
        if let Some(state) = self.symbols.get_mut(symbol) {
            state.newest_ms = Some(state.newest_ms.map_or(at_ms, |n| n.max(at_ms)));
        }
    }

    /// The settings.
    pub fn config(&self) -> WatchConfig {
        self.config
    }

    /// Takes the price of event `id`, before the event is written.
    pub fn admit(&mut self, id: Uuid, price: &Price) -> Admission {
        let (symbol, at_ms, value, weight) = price;
        let window = self.config.window_of(*at_ms);
        let state = self.symbols.entry(symbol.clone()).or_default();
        match state.closed_through {
            Some(closed) if window <= closed => {
                if self.late_written.contains(&id) {
                    Admission::LateAlready
                } else {
                    Admission::Late(LatePrice {
                        event_uuid: id,
                        symbol: symbol.to_string(),
                        at_ms: *at_ms,
                        window_start: window,
                        price: *value,
                        weight: *weight,
                        closed_through: closed,
                    })
                }
            }
            _ => {
                state.open.entry(window).or_default().pending += 1;
                Admission::Pending
            }
        }
    }

    /// The late output holds these events' prices now.
    pub fn late_written(&mut self, ids: impl IntoIterator<Item = Uuid>) {
        self.late_written.extend(ids);
    }

    /// An admitted price's event is durable: it counts in its window.
    pub fn confirm(&mut self, price: &Price) {
        let (symbol, at_ms, value, weight) = price;
        let window = self.config.window_of(*at_ms);
        let Some(state) = self.symbols.get_mut(symbol) else {
            return;
        };
        let Some(open) = state.open.get_mut(&window) else {
            return;
        };
        open.pending = open.pending.saturating_sub(1);
        open.priced += value * weight;
        open.weight += weight;
        open.prices += 1;
        // Intakes opened before now may hold older prices, not yet admitted.
        if self
            .open_intakes
            .first()
            .is_some_and(|t| *t < self.next_intake)
        {
            let newest = self.deferred.entry(self.next_intake).or_default();
            let at = newest.entry(symbol.clone()).or_insert(*at_ms);
            *at = (*at).max(*at_ms);
        } else {
            self.advance(symbol, *at_ms);
        }
    }

    /// An admitted price's event was not written: it does not count (its redelivery is
    /// admitted again).
    pub fn release(&mut self, price: &Price) {
        let (symbol, at_ms, _, _) = price;
        let window = self.config.window_of(*at_ms);
        let state = self.symbols.get_mut(symbol);
        if let Some(open) = state.and_then(|s| s.open.get_mut(&window)) {
            open.pending = open.pending.saturating_sub(1);
        }
    }

    /// Closes every window the watermark has passed and no write holds open, each symbol's in
    /// order (one held open holds the later ones too); returns them as closed.
    pub fn close_ready(&mut self) -> Vec<ClosedWindow> {
        let config = self.config;
        let mut closed = Vec::new();
        for (symbol, state) in sorted(&mut self.symbols) {
            let horizon = state
                .newest_ms
                .map(|n| n - config.lateness_ms - config.window_ms);
            closed.extend(close(&config, symbol, state, |start, open| {
                horizon.is_some_and(|h| start <= h) && open.pending == 0
            }));
        }
        closed
    }

    /// Closes every open window (the run has drained) and returns them.
    pub fn finish(&mut self) -> Vec<ClosedWindow> {
        self.open_intakes.clear();
        let config = self.config;
        let mut closed = Vec::new();
        for (symbol, state) in sorted(&mut self.symbols) {
            closed.extend(close(&config, symbol, state, |_, _| true));
        }
        closed
    }

    /// Late prices written so far (by this watch, or before it by the ones it was restored
    /// from).
    pub fn late(&self) -> u64 {
        self.late_written.len() as u64
    }

    /// The watch a processor had, rebuilt from what is durable: the window `records`, the late
    /// output's events `late`, and the prices of every event the lake holds (`lake`, each
    /// event once). Windows at or before a symbol's newest record are closed; one among them
    /// without a record (its processor died before writing it) is closed again from the lake
    /// and returned, to be recorded. The others are open again with the lake's prices minus
    /// the late ones.
    pub fn restore(
        config: WatchConfig,
        records: Vec<ClosedWindow>,
        late: HashSet<Uuid>,
        lake: &[(Uuid, Price)],
    ) -> (Self, Vec<ClosedWindow>) {
        let mut recorded: HashMap<Arc<str>, BTreeMap<i64, ClosedWindow>> = HashMap::new();
        for record in records {
            let symbol: Arc<str> = Arc::from(record.symbol.as_str());
            recorded
                .entry(symbol)
                .or_default()
                .insert(record.window_start, record);
        }
        let mut sums: HashMap<Arc<str>, BTreeMap<i64, Open>> = HashMap::new();
        let mut newest: HashMap<Arc<str>, i64> = HashMap::new();
        for (id, (symbol, at_ms, value, weight)) in lake {
            if late.contains(id) {
                continue;
            }
            let window = config.window_of(*at_ms);
            let open = sums.entry(symbol.clone()).or_default().entry(window);
            let open = open.or_default();
            open.priced += value * weight;
            open.weight += weight;
            open.prices += 1;
            let n = newest.entry(symbol.clone()).or_insert(*at_ms);
            *n = (*n).max(*at_ms);
        }
        let mut watch = Self::new(config);
        watch.late_written = late;
        let mut to_write = Vec::new();
        let names: HashSet<Arc<str>> = recorded.keys().chain(sums.keys()).cloned().collect();
        for symbol in names {
            let records = recorded.remove(&symbol).unwrap_or_default();
            let mut windows = sums.remove(&symbol).unwrap_or_default();
            let state = watch.symbols.entry(symbol.clone()).or_default();
            state.newest_ms = newest.get(&symbol).copied();
            state.closed_through = records.keys().next_back().copied();
            let through = state.closed_through;
            let closed_again: BTreeMap<i64, Open> = match through {
                Some(through) => {
                    let open = windows.split_off(&(through + 1));
                    std::mem::replace(&mut windows, open)
                }
                None => BTreeMap::new(),
            };
            state.open = windows;
            // The closed windows in order, recorded or closed again from the lake.
            let starts: std::collections::BTreeSet<i64> =
                records.keys().chain(closed_again.keys()).copied().collect();
            for start in starts {
                let window = match records.get(&start) {
                    Some(record) => record.clone(),
                    None => {
                        let again = decide(&config, &symbol, start, closed_again[&start], state);
                        to_write.push(again.clone());
                        again
                    }
                };
                if let Some(vwap) = window.vwap {
                    state.last_priced = Some(PreviousWindow {
                        window_start: start,
                        vwap,
                    });
                }
            }
        }
        to_write.sort_by(|a, b| (&a.symbol, a.window_start).cmp(&(&b.symbol, b.window_start)));
        (watch, to_write)
    }
}

/// The symbols in name order, so that closing is deterministic.
fn sorted(symbols: &mut HashMap<Arc<str>, Symbol>) -> Vec<(&str, &mut Symbol)> {
    let mut all: Vec<(&str, &mut Symbol)> = symbols.iter_mut().map(|(k, v)| (&**k, v)).collect();
    all.sort_by(|a, b| a.0.cmp(b.0));
    all
}

/// Closes `state`'s open windows oldest first while `ready` says so.
fn close(
    config: &WatchConfig,
    symbol: &str,
    state: &mut Symbol,
    ready: impl Fn(i64, &Open) -> bool,
) -> Vec<ClosedWindow> {
    let mut closed = Vec::new();
    while let Some((&start, &open)) = state.open.first_key_value() {
        if !ready(start, &open) {
            break;
        }
        state.open.pop_first();
        if open.prices == 0 {
            // Every price taken for it was released: nothing to record, and a price for it
            // that comes back is not late (it reopens the window, unless a later one closed).
            continue;
        }
        let window = decide(config, symbol, start, open, state);
        state.closed_through = Some(start);
        if let Some(vwap) = window.vwap {
            state.last_priced = Some(PreviousWindow {
                window_start: start,
                vwap,
            });
        }
        closed.push(window);
    }
    closed
}

/// The record of window `start` holding `open`, compared with `state`'s last priced window.
fn decide(
    config: &WatchConfig,
    symbol: &str,
    start: i64,
    open: Open,
    state: &Symbol,
) -> ClosedWindow {
    let vwap = (open.weight > 0.0).then(|| open.priced / open.weight);
    let previous = vwap.and(state.last_priced);
    let change_pct = vwap
        .zip(previous)
        .map(|(vwap, previous)| (vwap / previous.vwap - 1.0) * 100.0);
    ClosedWindow {
        symbol: symbol.to_string(),
        window_start: start,
        window_ms: config.window_ms,
        prices: open.prices,
        weight: open.weight,
        vwap,
        previous,
        change_pct,
        alert: change_pct.is_some_and(|c| c.abs() > config.threshold_pct),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(lateness_ms: i64) -> WatchConfig {
        WatchConfig {
            window_ms: 1_000,
            threshold_pct: 5.0,
            lateness_ms,
        }
    }

    fn price(symbol: &str, at: i64, p: f64, w: f64) -> Price {
        (Arc::from(symbol), at, p, w)
    }

    /// Admits and confirms each price at once, as a processor that writes one event at a time.
    fn feed(watch: &mut PriceWatch, prices: &[Price]) -> (Vec<ClosedWindow>, Vec<LatePrice>) {
        let (mut closed, mut late) = (Vec::new(), Vec::new());
        for (i, p) in prices.iter().enumerate() {
            match watch.admit(Uuid::from_u128(i as u128), p) {
                Admission::Pending => watch.confirm(p),
                Admission::Late(l) => late.push(l),
                Admission::LateAlready => {}
            }
            closed.extend(watch.close_ready());
        }
        closed.extend(watch.finish());
        (closed, late)
    }

    #[test]
    fn a_jump_between_windows_alerts_once_and_small_moves_do_not() {
        let mut w = PriceWatch::new(config(0));
        let prices = [
            price("AAPL", 0, 100.0, 1.0),
            price("AAPL", 500, 101.0, 1.0),
            price("AAPL", 1_200, 103.0, 1.0),
            price("AAPL", 2_100, 110.0, 1.0),
            price("AAPL", 3_500, 111.0, 1.0),
        ];
        let (closed, late) = feed(&mut w, &prices);
        assert!(late.is_empty());
        let alerts: Vec<Alert> = closed.iter().filter_map(ClosedWindow::alert).collect();
        assert_eq!(alerts.len(), 1, "{closed:?}");
        assert_eq!(alerts[0].window_start, 2_000);
        assert_eq!(alerts[0].previous_window_start, 1_000);
        assert!((alerts[0].change_pct - (110.0 / 103.0 - 1.0) * 100.0).abs() < 1e-9);
        assert_eq!(
            closed[0].previous, None,
            "a symbol's first window compares with none"
        );
        assert_eq!(closed[1].prices, 1);
    }

    #[test]
    fn a_window_with_a_write_in_flight_stays_open_and_its_late_neighbour_is_not_late() {
        let mut w = PriceWatch::new(config(0));
        let early = price("X", 100, 10.0, 1.0);
        // Taken, not yet durable.
        assert_eq!(w.admit(Uuid::from_u128(1), &early), Admission::Pending);
        // A later write pushes the watermark far beyond window 0...
        let later = price("X", 9_000, 10.0, 1.0);
        assert_eq!(w.admit(Uuid::from_u128(2), &later), Admission::Pending);
        w.confirm(&later);
        assert!(w.close_ready().is_empty(), "window 0 waits for its write");
        // ...and a price of window 0 processed now is still on time.
        let third = price("X", 200, 20.0, 1.0);
        assert_eq!(w.admit(Uuid::from_u128(3), &third), Admission::Pending);
        w.confirm(&third);
        w.confirm(&early);
        let closed = w.close_ready();
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].prices, closed[0].vwap), (2, Some(15.0)));
        // Now window 0 is closed: one more price for it is late, with what it missed.
        let Admission::Late(late) = w.admit(Uuid::from_u128(4), &price("X", 300, 99.0, 1.0)) else {
            panic!("late")
        };
        assert_eq!((late.window_start, late.closed_through), (0, 0));
        w.late_written([late.event_uuid]);
        assert_eq!(
            w.admit(late.event_uuid, &price("X", 300, 99.0, 1.0)),
            Admission::LateAlready,
            "a redelivered late price is written once"
        );
        assert_eq!(w.late(), 1);
    }

    #[test]
    fn a_price_confirmed_while_an_earlier_intake_is_unadmitted_waits_to_move_the_watermark() {
        let mut w = PriceWatch::new(config(0));
        let old = price("X", 100, 10.0, 1.0);
        // Invocation A takes older messages; B takes newer ones, admits and confirms first.
        let a = w.hold();
        let b = w.hold();
        let new = price("X", 9_000, 12.0, 1.0);
        assert_eq!(w.admit(Uuid::from_u128(2), &new), Admission::Pending);
        w.unhold(b);
        w.confirm(&new);
        assert!(w.close_ready().is_empty(), "A may hold window 0");
        assert_eq!(
            w.admit(Uuid::from_u128(1), &old),
            Admission::Pending,
            "A's older price is on time"
        );
        w.unhold(a);
        w.confirm(&old);
        let closed = w.close_ready();
        assert_eq!(
            closed.len(),
            1,
            "now B's price moves the watermark: {closed:?}"
        );
        assert_eq!(closed[0].window_start, 0);
        // An intake opened after a confirm does not hold it back.
        let c = w.hold();
        let newer = price("X", 20_000, 12.0, 1.0);
        w.admit(Uuid::from_u128(3), &newer);
        w.confirm(&newer);
        let _ = c;
        assert!(
            w.close_ready().is_empty(),
            "confirmed while C (opened before it) is unadmitted"
        );
        w.unhold(c);
        assert_eq!(w.close_ready().len(), 1, "window 9000 closes");
    }

    #[test]
    fn a_released_price_does_not_count_and_frees_its_window() {
        let mut w = PriceWatch::new(config(0));
        let p = price("X", 100, 10.0, 1.0);
        w.admit(Uuid::from_u128(1), &p);
        let q = price("X", 5_000, 10.0, 1.0);
        w.admit(Uuid::from_u128(2), &q);
        w.confirm(&q);
        w.release(&p);
        let closed = w.close_ready();
        assert!(
            closed.is_empty(),
            "window 0 had nothing durable: {closed:?}"
        );
        assert_eq!(
            w.admit(Uuid::from_u128(1), &p),
            Admission::Pending,
            "nothing closed it: its redelivery is on time"
        );
        w.confirm(&p);
        let closed = w.finish();
        assert_eq!(closed.len(), 2, "{closed:?}");
        assert_eq!((closed[0].window_start, closed[0].prices), (0, 1));
        assert_eq!(closed[0].vwap, Some(10.0));
    }

    #[test]
    fn the_average_is_volume_weighted_and_order_does_not_matter() {
        let obs = [
            price("X", 0, 100.0, 1.0),
            price("X", 100, 200.0, 3.0),
            price("X", 1_500, 100.0, 1.0),
        ];
        let (forward, _) = feed(&mut PriceWatch::new(config(10_000)), &obs);
        let reversed: Vec<Price> = obs.iter().rev().cloned().collect();
        let (backward, _) = feed(&mut PriceWatch::new(config(10_000)), &reversed);
        assert_eq!(forward, backward);
        assert_eq!(forward[1].previous.unwrap().vwap, 175.0);
    }

    #[test]
    fn a_restored_watch_is_the_one_that_died() {
        let prices: Vec<Price> = (0..40)
            .map(|i| {
                price(
                    if i % 2 == 0 { "A" } else { "B" },
                    i * 150,
                    100.0 + (i % 7) as f64 * 3.0,
                    1.0,
                )
            })
            .collect();
        let lake: Vec<(Uuid, Price)> = prices
            .iter()
            .enumerate()
            .map(|(i, p)| (Uuid::from_u128(i as u128), p.clone()))
            .collect();
        let (all, _) = feed(&mut PriceWatch::new(config(0)), &prices);
        // The first processor wrote every event and recorded half of its windows (one record,
        // of A, lost in the middle), then died.
        let mut before = PriceWatch::new(config(0));
        let mut closed = Vec::new();
        for (i, p) in prices.iter().enumerate() {
            before.admit(Uuid::from_u128(i as u128), p);
            before.confirm(p);
            closed.extend(before.close_ready());
        }
        let mut records: Vec<ClosedWindow> =
            closed.iter().take(closed.len() / 2).cloned().collect();
        let lost = records
            .iter()
            .position(|r| r.symbol == "A" && r.window_start > 0)
            .unwrap();
        records.remove(lost);
        let (mut restored, to_write) =
            PriceWatch::restore(config(0), records.clone(), HashSet::new(), &lake);
        assert!(
            to_write
                .iter()
                .any(|w| w.symbol == "A" && w.window_start > 0),
            "the lost record is closed again: {to_write:?}"
        );
        let mut rebuilt = records;
        rebuilt.extend(to_write);
        rebuilt.extend(restored.close_ready());
        rebuilt.extend(restored.finish());
        rebuilt.sort_by(|a, b| (&a.symbol, a.window_start).cmp(&(&b.symbol, b.window_start)));
        let mut expected = all.clone();
        expected.sort_by(|a, b| (&a.symbol, a.window_start).cmp(&(&b.symbol, b.window_start)));
        assert_eq!(rebuilt, expected);
    }

    #[test]
    fn a_restored_watch_leaves_late_prices_out_and_knows_them() {
        let lake = vec![
            (Uuid::from_u128(1), price("X", 100, 10.0, 1.0)),
            (Uuid::from_u128(2), price("X", 200, 30.0, 1.0)),
        ];
        let late = HashSet::from([Uuid::from_u128(2)]);
        let (mut w, to_write) = PriceWatch::restore(config(0), Vec::new(), late, &lake);
        assert!(to_write.is_empty());
        assert_eq!(w.late(), 1);
        let closed = w.finish();
        assert_eq!((closed[0].prices, closed[0].vwap), (1, Some(10.0)));
    }
}
