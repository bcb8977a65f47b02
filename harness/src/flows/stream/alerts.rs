//! Which price alerts a run should have written, from what its lake holds, and the alerts it
//! wrote held against them. That each alert object was announced once is judged with the other
//! notifications; this module judges that the right ones exist: each window whose
//! volume-weighted average price moved beyond the threshold against the symbol's previous
//! window, over the prices of the events the lake holds (each event once), and no other.
//!
//! The answer is exact only when the processor's watch saw every event of the lake in its
//! window before the window closed: no price came late (a restarted processor feeds its watch
//! every durable event again, in market time, so a restart does not change the answer).
//! Otherwise which windows alert depends on processing order, and the judge says so instead of
//! passing them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use tickflow_pipeline::notify::outbox;
use tickflow_pipeline::notify::price_watch::{Price, WatchConfig};

/// How far (in percentage points) a window's change may be from the threshold and still be
/// taken either way: sums added in another order differ in their last bits.
const ROUNDING_PCT: f64 = 1e-6;

/// Examples kept of each kind of difference.
const EXAMPLES: usize = 5;

/// How the judge holds a run's price alerts.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertRule {
    /// Exactly the windows the lake's prices imply under this watch.
    FromLake(WatchConfig),
    /// Which windows alert is not judged, for this reason.
    NotJudged(String),
}

impl AlertRule {
    /// The rule for a run watched with `watch` whose processor left `late` prices out because
    /// their window had closed.
    pub fn for_run(watch: WatchConfig, late: u64) -> Self {
        if late > 0 {
            Self::NotJudged(format!(
                "{late} price(s) came after their window closed, so which windows alert \
                 depends on processing order"
            ))
        } else {
            Self::FromLake(watch)
        }
    }

    /// The window length the lake's prices are summed over, when they are needed.
    pub fn window_ms(&self) -> Option<i64> {
        match self {
            Self::FromLake(watch) => Some(watch.window_ms),
            Self::NotJudged(_) => None,
        }
    }
}

/// Sums of price x weight and of weight, per symbol and window of event time.
#[derive(Debug, Default, PartialEq)]
pub struct PriceSums {
    window_ms: i64,
    sums: BTreeMap<(Arc<str>, i64), (f64, f64)>,
}

impl PriceSums {
    /// Empty sums over windows of `window_ms` (at least 1).
    pub fn new(window_ms: i64) -> Self {
        Self {
            window_ms: window_ms.max(1),
            sums: BTreeMap::new(),
        }
    }

    /// Adds one event's price.
    pub fn add(&mut self, (symbol, at_ms, price, weight): &Price) {
        let window = at_ms.div_euclid(self.window_ms) * self.window_ms;
        let sums = self.sums.entry((symbol.clone(), window)).or_default();
        sums.0 += price * weight;
        sums.1 += weight;
    }

    /// The windows these prices make alert at `threshold_pct`: each symbol's windows in order,
    /// those without weight skipped, each against the one before.
    pub fn implied(&self, threshold_pct: f64) -> Implied {
        let mut implied = Implied::default();
        let mut previous: Option<(&str, f64)> = None;
        for ((symbol, window), &(pw, w)) in &self.sums {
            if w <= 0.0 {
                continue;
            }
            let vwap = pw / w;
            if let Some((_, before)) = previous.filter(|(s, _)| *s == &**symbol) {
                let change = ((vwap / before - 1.0) * 100.0).abs();
                let key = (symbol.to_string(), *window);
                if change > threshold_pct + ROUNDING_PCT {
                    implied.certain.insert(key);
                } else if change > threshold_pct - ROUNDING_PCT {
                    implied.borderline.insert(key);
                }
            }
            previous = Some((symbol, vwap));
        }
        implied
    }
}

/// The alerts a lake implies, as (symbol, window start).
#[derive(Debug, Default, PartialEq)]
pub struct Implied {
    /// Windows that must alert.
    pub certain: BTreeSet<(String, i64)>,
    /// Windows whose change is the threshold to within rounding: they may alert or not.
    pub borderline: BTreeSet<(String, i64)>,
}

/// The alerts written against those the lake implies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AlertWindows {
    /// Alert objects written.
    pub written: u64,
    /// Why which windows alert was not judged (then the counts below are zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
    /// Windows the lake's prices make alert.
    pub implied: u64,
    /// Of those, windows with no alert written.
    pub missing: u64,
    /// Alerts written for a window the prices do not make alert (or under a key that is not
    /// an alert's).
    pub unexpected: u64,
    /// A few of each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

impl AlertWindows {
    /// The alert objects `keys` (of the outbox), not judged further, for `reason`.
    pub fn not_judged(keys: &[String], reason: &str) -> Self {
        Self {
            written: keys.len() as u64,
            not_judged: Some(reason.to_string()),
            ..Self::default()
        }
    }

    /// The alert objects `keys` against the windows `implied`.
    pub fn compare(keys: &[String], implied: &Implied) -> Self {
        let mut windows = Self {
            written: keys.len() as u64,
            implied: implied.certain.len() as u64,
            ..Self::default()
        };
        let mut missing = implied.certain.clone();
        let mut unexpected = Vec::new();
        for key in keys {
            match outbox::parse_key(key) {
                Some((window, symbol)) => {
                    let at = (symbol.to_string(), window);
                    if !missing.remove(&at) && !implied.borderline.contains(&at) {
                        unexpected.push(format!(
                            "{key}: the prices do not move beyond the threshold in that window"
                        ));
                    }
                }
                None => unexpected.push(format!("{key}: not an alert's key")),
            }
        }
        windows.missing = missing.len() as u64;
        windows.unexpected = unexpected.len() as u64;
        windows.examples = missing
            .iter()
            .take(EXAMPLES)
            .map(|(symbol, window)| {
                let from = chrono::DateTime::from_timestamp_millis(*window)
                    .map_or_else(|| window.to_string(), |t| t.to_rfc3339());
                format!("{symbol} in the window from {from}: no alert written")
            })
            .chain(unexpected.into_iter().take(EXAMPLES))
            .collect();
        windows
    }

    /// One line on what was judged: how many alerts were written against how many the lake's
    /// prices call for, or why that was not judged.
    pub fn describe(&self) -> String {
        match &self.not_judged {
            Some(why) => format!(
                "{} alerts written; which windows should alert was not judged: {why}",
                self.written
            ),
            None => format!(
                "{} alerts written; the lake's prices call for {} ({} without their alert, {} \
                 that no window calls for)",
                self.written, self.implied, self.missing, self.unexpected
            ),
        }
    }

    /// Whether the alerts written are exactly the implied ones (true when not judged).
    pub fn holds(&self) -> bool {
        self.missing == 0 && self.unexpected == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tickflow_pipeline::notify::price_watch::PriceWatch;

    fn price(symbol: &str, at: i64, p: f64, w: f64) -> Price {
        (Arc::from(symbol), at, p, w)
    }

    fn sums(prices: &[Price]) -> PriceSums {
        let mut sums = PriceSums::new(1_000);
        prices.iter().for_each(|p| sums.add(p));
        sums
    }

    #[test]
    fn a_move_beyond_the_threshold_against_the_previous_window_alerts() {
        let prices = [
            price("A", 0, 100.0, 1.0),
            price("A", 1_500, 103.0, 1.0),
            price("A", 2_100, 110.0, 1.0),
            price("B", 2_500, 50.0, 0.0), // no weight: never a window
            price("B", 3_100, 60.0, 1.0), // a symbol's first window alerts nothing
        ];
        let implied = sums(&prices).implied(5.0);
        assert_eq!(implied.certain, BTreeSet::from([("A".to_string(), 2_000)]));
        assert!(implied.borderline.is_empty());
    }

    #[test]
    fn written_alerts_are_matched_by_window_and_symbol() {
        let implied = Implied {
            certain: BTreeSet::from([("A".into(), 2_000), ("EUR/USD".into(), 0)]),
            borderline: BTreeSet::from([("A".into(), 5_000)]),
        };
        let keys = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        let exact = keys(&["alerts/2000/A.json", "alerts/0/EUR/USD.json"]);
        assert!(AlertWindows::compare(&exact, &implied).holds());
        let with_borderline = keys(&[
            "alerts/2000/A.json",
            "alerts/0/EUR/USD.json",
            "alerts/5000/A.json",
        ]);
        assert!(AlertWindows::compare(&with_borderline, &implied).holds());
        let wrong = keys(&["alerts/2000/A.json", "alerts/1000/A.json", "alerts/x.json"]);
        let w = AlertWindows::compare(&wrong, &implied);
        assert_eq!(
            (w.implied, w.written, w.missing, w.unexpected),
            (2, 3, 1, 2)
        );
        assert!(!w.holds());
        assert_eq!(
            w.examples[0],
            "EUR/USD in the window from 1970-01-01T00:00:00+00:00: no alert written"
        );
        assert!(w.examples[2].starts_with("alerts/x.json: not an alert's key"));
    }

    #[test]
    fn a_late_price_leaves_the_windows_unjudged_and_says_why() {
        let watch = WatchConfig::default();
        assert_eq!(AlertRule::for_run(watch, 0), AlertRule::FromLake(watch));
        let AlertRule::NotJudged(why) = AlertRule::for_run(watch, 3) else {
            panic!("late prices are not judged")
        };
        assert!(
            why.starts_with("3 price(s) came after their window closed"),
            "{why}"
        );
        assert!(AlertRule::for_run(watch, 3).window_ms().is_none());
    }

    proptest! {
        /// The pipeline's watch, fed in any order with a lateness no price exceeds, alerts in
        /// exactly the windows the sums imply.
        #[test]
        fn the_watch_without_late_prices_alerts_where_the_sums_say(
            observations in prop::collection::vec((0usize..3, 0i64..20_000, 90.0f64..110.0, 0.0f64..5.0), 1..200),
            seed in any::<u64>(),
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
            let config = WatchConfig { window_ms: 1_000, threshold_pct: 3.0, lateness_ms: 40_000 };
            let mut watch = PriceWatch::new(config);
            let mut alerts = Vec::new();
            for &i in &order {
                let (s, at, p, w) = &prices[i];
                alerts.extend(watch.observe(s, *at, *p, *w));
            }
            alerts.extend(watch.finish());
            prop_assert_eq!(watch.late(), 0);
            let keys: Vec<String> = alerts.iter().map(outbox::alert_key).collect();
            let judged = AlertWindows::compare(&keys, &sums(&prices).implied(3.0));
            prop_assert!(judged.holds(), "{:?}", judged);
        }
    }
}
