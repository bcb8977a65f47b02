//! The price watch judged from what is durable.
//!
//! The price watch judged from what is durable: every window the lake's prices make (each event
//! once, minus the late output) recomputed on its own and held against the processor's record
//! of it (prices, weight, average, the window it was compared with, the change and the
//! decision); the alerts written held against the records that alert, body and all; and the
//! late output held against the lake. Nothing the processor counted about itself is believed.
//!
//! Sums added in another order differ in their last bits: numbers are compared within
//! [`RELATIVE`] of each other, a change within [`ROUNDING_PCT`] percentage points, and a change
//! that close to the threshold may be decided either way.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use tickflow_pipeline::notify::outbox;
use tickflow_pipeline::notify::price_watch::{
    Alert, ClosedWindow, LatePrice, PreviousWindow, Price, WatchConfig,
};
use uuid::Uuid;

/// How far (in percentage points) a recorded change may be from the recomputed one, and from
/// the threshold and still be decided either way.
pub const ROUNDING_PCT: f64 = 1e-6;
/// How far, relatively, a recorded weight or average may be from the recomputed one.
pub const RELATIVE: f64 = 1e-9;

/// Examples kept of each kind of difference.
const EXAMPLES: usize = 5;

/// One window's sums over the lake's prices.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Sums {
    /// Sum of price x weight.
    pub priced: f64,
    /// Sum of weight.
    pub weight: f64,
    /// Prices.
    pub prices: u64,
}

/// The lake's prices summed per symbol and window of event time, each event once, the late
/// output's events left out (and kept aside, to be held against the late output).
#[derive(Debug, Default, PartialEq)]
pub struct PriceSums {
    config: WatchConfig,
    late: HashSet<Uuid>,
    sums: BTreeMap<(Arc<str>, i64), Sums>,
    /// The late output's events as the lake holds them.
    late_found: HashMap<Uuid, Price>,
}

impl PriceSums {
    /// Empty sums over `config`'s windows, leaving out the events of `late`.
    pub fn new(config: WatchConfig, late: HashSet<Uuid>) -> Self {
        Self {
            config,
            late,
            ..Self::default()
        }
    }

    /// Adds event `id`'s price (once per event: the caller sees to that).
    pub fn add(&mut self, id: Uuid, price: Price) {
        if self.late.contains(&id) {
            self.late_found.insert(id, price);
            return;
        }
        let (symbol, at_ms, value, weight) = price;
        let window = self.config.window_of(at_ms);
        let sums = self.sums.entry((symbol, window)).or_default();
        sums.priced += value * weight;
        sums.weight += weight;
        sums.prices += 1;
    }

    /// Each window the prices make, in order per symbol, with the record a correct watch
    /// writes for it (the decision as computed, [`Expected::borderline`] saying whether it may
    /// go either way).
    pub fn expected(&self) -> Vec<Expected> {
        let mut out = Vec::new();
        let mut previous: Option<(&str, PreviousWindow)> = None;
        for ((symbol, window), sums) in &self.sums {
            let vwap = (sums.weight > 0.0).then(|| sums.priced / sums.weight);
            let before = previous
                .filter(|(s, _)| *s == &**symbol)
                .map(|(_, p)| p)
                .filter(|_| vwap.is_some());
            let change_pct = vwap.zip(before).map(|(v, p)| (v / p.vwap - 1.0) * 100.0);
            let threshold = self.config.threshold_pct;
            out.push(Expected {
                record: ClosedWindow {
                    symbol: symbol.to_string(),
                    window_start: *window,
                    window_ms: self.config.window_ms,
                    prices: sums.prices,
                    weight: sums.weight,
                    vwap,
                    previous: before,
                    change_pct,
                    alert: change_pct.is_some_and(|c| c.abs() > threshold),
                },
                borderline: change_pct.is_some_and(|c| (c.abs() - threshold).abs() <= ROUNDING_PCT),
            });
            if let Some(vwap) = vwap {
                previous = Some((
                    symbol,
                    PreviousWindow {
                        window_start: *window,
                        vwap,
                    },
                ));
            }
        }
        out
    }
}

/// A window as the lake's prices make it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// What its record must say.
    pub record: ClosedWindow,
    /// Its change is the threshold within rounding: it may alert or not.
    pub borderline: bool,
}

/// What the watch left in the state bucket.
#[derive(Debug, Clone, Default)]
pub struct WatchOutputs {
    /// Window records.
    pub records: Vec<ClosedWindow>,
    /// Late prices.
    pub late: Vec<LatePrice>,
    /// Alert objects: each key with its body (`None`: the body is not an alert).
    pub alerts: Vec<(String, Option<Alert>)>,
}

/// The watch's outputs against the lake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AlertWindows {
    /// Alert objects written.
    pub written: u64,
    /// Windows recorded.
    pub recorded: u64,
    /// Windows the lake's prices make.
    pub windows: u64,
    /// Of those, windows whose prices move beyond the threshold: the alerts due.
    pub implied: u64,
    /// Windows the lake's prices make with no record.
    pub missing: u64,
    /// Records of a window no price of the lake makes.
    pub unexpected: u64,
    /// Records that say another count, weight, average, previous window, change or decision
    /// than the lake's prices.
    pub wrong: u64,
    /// Alerts that differ from their window's record: missing, not due, or saying other
    /// numbers.
    pub alerts_wrong: u64,
    /// Prices in the late output.
    pub late: u64,
    /// Late prices the lake does not hold as written, or that did not come after their window
    /// closed.
    pub late_wrong: u64,
    /// A few of each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// A few late-output problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub late_examples: Vec<String>,
}

impl AlertWindows {
    /// Holds `outputs` against the lake's `sums`.
    pub fn judge(sums: &PriceSums, outputs: &WatchOutputs) -> Self {
        let expected = sums.expected();
        let mut records: BTreeMap<(String, i64), &ClosedWindow> = BTreeMap::new();
        let mut examples = Examples::default();
        let mut twice = 0;
        for record in &outputs.records {
            let at = (record.symbol.clone(), record.window_start);
            // A retry that could not know its first write landed records a window twice, the
            // same way; two records that differ are two answers for one window.
            match records.entry(at) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(record);
                }
                std::collections::btree_map::Entry::Occupied(first) if *first.get() != record => {
                    twice += 1;
                    examples.add(format!(
                        "{}: recorded twice, differently",
                        window_name(record)
                    ));
                }
                std::collections::btree_map::Entry::Occupied(_) => {}
            }
        }
        let mut judged = Self {
            written: outputs.alerts.len() as u64,
            recorded: records.len() as u64,
            wrong: twice,
            windows: expected.len() as u64,
            implied: expected
                .iter()
                .filter(|e| e.record.alert && !e.borderline)
                .count() as u64,
            ..Self::default()
        };
        for e in &expected {
            let at = (e.record.symbol.clone(), e.record.window_start);
            match records.remove(&at) {
                None => {
                    judged.missing += 1;
                    examples.add(format!(
                        "{}: {} prices in the lake, no record of the window",
                        window_name(&e.record),
                        e.record.prices
                    ));
                }
                Some(record) => {
                    if let Some(why) = differs(record, e) {
                        judged.wrong += 1;
                        examples.add(format!("{}: {why}", window_name(record)));
                    }
                }
            }
        }
        for record in records.values() {
            judged.unexpected += 1;
            examples.add(format!(
                "{}: recorded, but no price of the lake is in that window",
                window_name(record)
            ));
        }
        judged.judge_alerts(outputs, &mut examples);
        judged.examples = examples.0;
        let late = LateCheck::of(sums, outputs);
        (judged.late, judged.late_wrong, judged.late_examples) =
            (outputs.late.len() as u64, late.wrong, late.examples);
        judged
    }

    /// Each alert object against the records that alert: one each, saying their numbers.
    fn judge_alerts(&mut self, outputs: &WatchOutputs, examples: &mut Examples) {
        let mut due: BTreeMap<(String, i64), Alert> = outputs
            .records
            .iter()
            .filter_map(ClosedWindow::alert)
            .map(|a| ((a.symbol.clone(), a.window_start), a))
            .collect();
        for (key, body) in &outputs.alerts {
            let named = outbox::parse_key(key).map(|(w, s)| (s.to_string(), w));
            let problem = match (named.and_then(|at| due.remove(&at)), body) {
                (None, _) => Some("written, but its window's record does not alert".into()),
                (Some(_), None) => Some("its body is not an alert".into()),
                (Some(record), Some(body)) => alert_differs(body, &record),
            };
            if let Some(problem) = problem {
                self.alerts_wrong += 1;
                examples.add(format!("{key}: {problem}"));
            }
        }
        for alert in due.values() {
            self.alerts_wrong += 1;
            examples.add(format!(
                "{}: its window alerts, and no alert was written",
                outbox::alert_key(alert)
            ));
        }
    }

    /// Whether the records are exactly the lake's windows and the alerts exactly theirs.
    pub fn holds(&self) -> bool {
        self.missing == 0 && self.unexpected == 0 && self.wrong == 0 && self.alerts_wrong == 0
    }

    /// One line on what was judged.
    pub fn describe(&self) -> String {
        format!(
            "{} windows recorded against {} the lake's prices make ({} without a record, {} \
             no price makes, {} that differ); {} alerts written, {} due, {} that differ; {} \
             late prices",
            self.recorded,
            self.windows,
            self.missing,
            self.unexpected,
            self.wrong,
            self.written,
            self.implied,
            self.alerts_wrong,
            self.late
        )
    }
}

/// The late output against the lake.
struct LateCheck {
    wrong: u64,
    examples: Vec<String>,
}

impl LateCheck {
    /// Each late price must be its event's price as the lake holds it, in its own window, and
    /// that window closed when it came (the symbol's record it names exists).
    fn of(sums: &PriceSums, outputs: &WatchOutputs) -> Self {
        let recorded: HashSet<(&str, i64)> = outputs
            .records
            .iter()
            .map(|r| (r.symbol.as_str(), r.window_start))
            .collect();
        let mut check = Self {
            wrong: 0,
            examples: Vec::new(),
        };
        let mut seen = HashSet::new();
        for late in &outputs.late {
            let id = late.event_uuid;
            let problem = if !seen.insert(id) {
                Some("in the late output twice".to_string())
            } else {
                match sums.late_found.get(&id) {
                    None => Some("the lake holds no such event with a price".into()),
                    Some((symbol, at, price, weight)) => {
                        let same = **symbol == *late.symbol
                            && *at == late.at_ms
                            && *price == late.price
                            && *weight == late.weight;
                        if !same {
                            Some(format!(
                                "the lake holds {symbol} {price} x {weight} at {at}, the late \
                                 output {} {} x {} at {}",
                                late.symbol, late.price, late.weight, late.at_ms
                            ))
                        } else if late.window_start != sums.config.window_of(late.at_ms)
                            || late.window_start > late.closed_through
                        {
                            Some(format!(
                                "window {} is not its own or was not closed by {}",
                                late.window_start, late.closed_through
                            ))
                        } else if !recorded.contains(&(late.symbol.as_str(), late.closed_through)) {
                            Some(format!(
                                "came after window {} closed, which has no record",
                                late.closed_through
                            ))
                        } else {
                            None
                        }
                    }
                }
            };
            if let Some(problem) = problem {
                check.wrong += 1;
                if check.examples.len() < EXAMPLES {
                    check
                        .examples
                        .push(format!("{}: {problem}", outbox::late_key(late)));
                }
            }
        }
        check
    }
}

/// Examples, at most a few per judgement.
#[derive(Default)]
struct Examples(Vec<String>);

impl Examples {
    fn add(&mut self, text: String) {
        if self.0.len() < EXAMPLES * 3 {
            self.0.push(text);
        }
    }
}

/// `AAPL in the window from 2026-11-23T14:31:00+00:00`.
fn window_name(record: &ClosedWindow) -> String {
    let from = chrono::DateTime::from_timestamp_millis(record.window_start)
        .map_or_else(|| record.window_start.to_string(), |t| t.to_rfc3339());
    format!("{} in the window from {from}", record.symbol)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= RELATIVE * a.abs().max(b.abs()).max(1e-300)
}

fn close_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => close(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// How `record` differs from what the lake's prices make of its window, if it does.
fn differs(record: &ClosedWindow, e: &Expected) -> Option<String> {
    let want = &e.record;
    let show = |v: Option<f64>| v.map_or("none".to_string(), |v| v.to_string());
    if record.prices != want.prices {
        return Some(format!(
            "{} prices recorded, {} in the lake (less the late output)",
            record.prices, want.prices
        ));
    }
    if !close(record.weight, want.weight) || !close_opt(record.vwap, want.vwap) {
        return Some(format!(
            "average {} over weight {} recorded, the lake's prices give {} over {}",
            show(record.vwap),
            record.weight,
            show(want.vwap),
            want.weight
        ));
    }
    if record.window_ms != want.window_ms {
        return Some(format!(
            "{} ms long, windows are {} ms",
            record.window_ms, want.window_ms
        ));
    }
    let previous = |p: Option<PreviousWindow>| p.map(|p| (p.window_start, p.vwap));
    let (got, due) = (previous(record.previous), previous(want.previous));
    if got.map(|p| p.0) != due.map(|p| p.0) || !close_opt(got.map(|p| p.1), due.map(|p| p.1)) {
        return Some(format!(
            "compared with {got:?}, the lake's previous window is {due:?} (start, average)"
        ));
    }
    let change_ok = match (record.change_pct, want.change_pct) {
        (Some(a), Some(b)) => (a - b).abs() <= ROUNDING_PCT,
        (None, None) => true,
        _ => false,
    };
    if !change_ok {
        return Some(format!(
            "change {} % recorded, the lake's prices give {} %",
            show(record.change_pct),
            show(want.change_pct)
        ));
    }
    if record.alert != want.alert && !e.borderline {
        let said = if record.alert {
            "alerts"
        } else {
            "does not alert"
        };
        return Some(format!(
            "{said} at a change of {} % against a threshold it {} beyond",
            show(want.change_pct),
            if want.alert { "is" } else { "is not" }
        ));
    }
    None
}

/// How an alert's body differs from the alert its window's record makes, if it does.
fn alert_differs(body: &Alert, record: &Alert) -> Option<String> {
    let same = body.symbol == record.symbol
        && body.window_start == record.window_start
        && body.previous_window_start == record.previous_window_start
        && close(body.previous_vwap, record.previous_vwap)
        && close(body.vwap, record.vwap)
        && (body.change_pct - record.change_pct).abs() <= ROUNDING_PCT;
    (!same).then(|| {
        format!(
            "says {} -> {} ({} %) against window {}, its window's record {} -> {} ({} %) \
             against {}",
            body.previous_vwap,
            body.vwap,
            body.change_pct,
            body.previous_window_start,
            record.previous_vwap,
            record.vwap,
            record.change_pct,
            record.previous_window_start
        )
    })
}

/// The alert keys of `windows` that alert (for tests and reports).
pub fn alerting(windows: &[ClosedWindow]) -> BTreeSet<String> {
    windows
        .iter()
        .filter_map(ClosedWindow::alert)
        .map(|a| outbox::alert_key(&a))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tickflow_pipeline::notify::price_watch::{Admission, PriceWatch};

    fn config() -> WatchConfig {
        WatchConfig {
            window_ms: 1_000,
            threshold_pct: 5.0,
            lateness_ms: 0,
        }
    }

    fn price(symbol: &str, at: i64, p: f64, w: f64) -> Price {
        (Arc::from(symbol), at, p, w)
    }

    /// A processor's watch fed `prices` in `order`, each confirmed at once: its outputs.
    fn processed(prices: &[Price], order: &[usize], config: WatchConfig) -> WatchOutputs {
        let mut watch = PriceWatch::new(config);
        let mut out = WatchOutputs::default();
        for &i in order {
            let id = Uuid::from_u128(i as u128);
            match watch.admit(id, &prices[i]) {
                Admission::Pending => watch.confirm(&prices[i]),
                Admission::Late(late) => {
                    watch.late_written([id]);
                    out.late.push(late);
                }
                Admission::LateAlready => {}
            }
            out.records.extend(watch.close_ready());
        }
        out.records.extend(watch.finish());
        out.alerts = out
            .records
            .iter()
            .filter_map(ClosedWindow::alert)
            .map(|a| (outbox::alert_key(&a), Some(a)))
            .collect();
        out
    }

    fn sums_of(prices: &[Price], late: &[LatePrice], config: WatchConfig) -> PriceSums {
        let late_ids = late.iter().map(|l| l.event_uuid).collect();
        let mut sums = PriceSums::new(config, late_ids);
        for (i, p) in prices.iter().enumerate() {
            sums.add(Uuid::from_u128(i as u128), p.clone());
        }
        sums
    }

    fn jumpy() -> Vec<Price> {
        vec![
            price("A", 0, 100.0, 1.0),
            price("A", 1_500, 103.0, 1.0),
            price("A", 2_100, 110.0, 1.0),
            price("B", 2_500, 50.0, 2.0),
            price("B", 3_100, 60.0, 1.0),
            price("A", 5_000, 111.0, 1.0),
        ]
    }

    fn judged(outputs: &WatchOutputs) -> AlertWindows {
        AlertWindows::judge(&sums_of(&jumpy(), &outputs.late, config()), outputs)
    }

    #[test]
    fn an_exact_watch_holds_and_each_alteration_fails_saying_where() {
        let order: Vec<usize> = (0..6).collect();
        let outputs = processed(&jumpy(), &order, config());
        let j = judged(&outputs);
        assert!(j.holds(), "{j:?}");
        assert_eq!((j.windows, j.implied, j.written), (6, 2, 2), "{j:?}");

        // A zeroed average in an alert's body.
        let mut zeroed = outputs.clone();
        zeroed.alerts[0].1.as_mut().unwrap().vwap = 0.0;
        let j = judged(&zeroed);
        assert_eq!(j.alerts_wrong, 1);
        assert!(j.examples[0].contains("says 103 -> 0"), "{:?}", j.examples);

        // A record whose average is off, one whose decision is flipped, one lost.
        let mut records = outputs.clone();
        records.records[1].vwap = Some(0.0);
        let j = judged(&records);
        assert_eq!(j.wrong, 1);
        assert!(
            j.examples[0].starts_with("A in the window from 1970-01-01T00:00:01"),
            "{:?}",
            j.examples
        );
        let mut flipped = outputs.clone();
        let alerting = flipped.records.iter().position(|r| r.alert).unwrap();
        flipped.records[alerting].alert = false;
        let j = judged(&flipped);
        assert_eq!((j.wrong, j.alerts_wrong), (1, 1), "{j:?}");
        let mut lost = outputs.clone();
        lost.records.remove(0);
        assert_eq!(judged(&lost).missing, 1);
        // A window recorded twice the same way (a retry) is one record; differently, wrong.
        let mut again = outputs.clone();
        again.records.push(outputs.records[0].clone());
        assert!(judged(&again).holds(), "{:?}", judged(&again));
        again.records.last_mut().unwrap().prices += 1;
        let j = judged(&again);
        assert_eq!(j.wrong, 1, "{j:?}");
        assert!(
            j.examples[0].ends_with("recorded twice, differently"),
            "{:?}",
            j.examples
        );

        // An alert no window calls for, and a body that is not an alert.
        let mut forged = outputs.clone();
        forged.alerts.push(("alerts/0/A.json".into(), None));
        assert_eq!(judged(&forged).alerts_wrong, 1);
    }

    #[test]
    fn a_late_price_must_be_in_the_late_output_as_the_lake_holds_it() {
        // A's window 0 closes on the price at 2,100; the price at 10 comes after.
        let mut prices = jumpy();
        prices.push(price("A", 10, 500.0, 1.0));
        let order = [0, 1, 2, 6, 3, 4, 5];
        let outputs = processed(&prices, &order, config());
        assert_eq!(outputs.late.len(), 1, "{outputs:?}");
        let judge = |o: &WatchOutputs| AlertWindows::judge(&sums_of(&prices, &o.late, config()), o);
        let j = judge(&outputs);
        assert!(j.holds() && j.late_wrong == 0, "{j:?}");
        assert_eq!(j.late, 1);

        // Dropped from the late output: the lake's window 0 holds it, its record does not.
        let mut dropped = outputs.clone();
        dropped.late.clear();
        let j = judge(&dropped);
        assert_eq!(
            j.wrong, 2,
            "its window and the next one's comparison: {j:?}"
        );
        assert!(
            j.examples[0].contains("1 prices recorded, 2 in the lake"),
            "{:?}",
            j.examples
        );

        // Altered in the late output, or late for a window that never closed.
        let mut altered = outputs.clone();
        altered.late[0].price = 1.0;
        assert_eq!(judge(&altered).late_wrong, 1);
        let mut never = outputs.clone();
        never.late[0].closed_through = 9_000;
        let j = judge(&never);
        assert_eq!(j.late_wrong, 1);
        assert!(
            j.late_examples[0].contains("which has no record"),
            "{:?}",
            j.late_examples
        );
    }

    proptest! {
        /// The pipeline's watch, fed in any order with any lateness, is exactly what the judge
        /// recomputes from the lake and its late output.
        #[test]
        fn the_watch_in_any_order_is_what_the_judge_recomputes(
            observations in prop::collection::vec((0usize..3, 0i64..20_000, 90.0f64..110.0, 0.0f64..5.0), 1..200),
            seed in any::<u64>(),
            lateness in prop::sample::select(vec![0i64, 500, 40_000]),
        ) {
            let symbols = ["A", "B", "EUR/USD"];
            let prices: Vec<Price> = observations
                .iter()
                .map(|&(s, at, p, w)| price(symbols[s], at, p, w.floor()))
                .collect();
            let mut order: Vec<usize> = (0..prices.len()).collect();
            let mut state = seed;
            for i in (1..order.len()).rev() {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                order.swap(i, (state >> 33) as usize % (i + 1));
            }
            let config = WatchConfig { window_ms: 1_000, threshold_pct: 3.0, lateness_ms: lateness };
            let outputs = processed(&prices, &order, config);
            let judged = AlertWindows::judge(&sums_of(&prices, &outputs.late, config), &outputs);
            prop_assert!(judged.holds() && judged.late_wrong == 0, "{:?}", judged);
            if lateness == 40_000 {
                prop_assert_eq!(judged.late, 0);
            }
        }
    }
}
