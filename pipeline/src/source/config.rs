//! What the generator makes: how many events, which instruments, which price model.

use serde::{Deserialize, Serialize};

use crate::event::EventKind;

/// Generator settings. Every field has a default, so a scenario names only what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorConfig {
    /// Seeds every random choice: the same seed and settings give a byte-identical stream.
    pub seed: u64,
    /// How many events to generate.
    pub events: u64,
    /// Market time of the first event, milliseconds since the Unix epoch (UTC).
    pub start_ms: i64,
    /// Mean market time between consecutive events, in milliseconds (exponential gaps, at
    /// least 1 ms, so timestamps strictly increase).
    pub mean_gap_ms: f64,
    /// Share of each event kind.
    pub mix: Mix,
    /// Stocks: tickers with their price model.
    pub stocks: Vec<InstrumentSpec>,
    /// Currency pairs with their price model.
    pub pairs: Vec<InstrumentSpec>,
    /// Random price jumps on top of the diffusion.
    pub jumps: JumpModel,
    /// Jumps at fixed points of the stream, to make price alerts predictable.
    pub forced_jumps: Vec<ForcedJump>,
    /// Log-return, in percent per unit of sentiment, that a news item adds to its symbol's next
    /// price tick: positive news moves the price up.
    pub news_impact_pct: f64,
    /// Stock trading session, UTC minutes after midnight, Monday to Friday: [open, close).
    pub session_utc_minutes: (u32, u32),
}

/// Share of each event kind; the shares sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    /// Share of forex rates.
    pub forex: f64,
    /// Share of stock price quotes.
    pub stock_price: f64,
    /// Share of stock news.
    pub stock_news: f64,
}

/// One instrument and its geometric Brownian motion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstrumentSpec {
    /// Ticker (`AAPL`) or pair (`EUR/USD`).
    pub name: String,
    /// Starting mid price.
    pub price: f64,
    /// Annual drift (0.05 = 5 % a year).
    #[serde(default)]
    pub drift: f64,
    /// Annual volatility (0.3 = 30 % a year).
    #[serde(default = "default_volatility")]
    pub volatility: f64,
    /// Bid/ask spread in basis points of the mid price.
    #[serde(default = "default_spread_bps")]
    pub spread_bps: f64,
}

/// Poisson jumps: log-return N(mean, std) percent, at a rate per day of market time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JumpModel {
    /// Expected jumps per instrument per day; 0 disables random jumps.
    pub rate_per_day: f64,
    /// Mean jump, percent.
    pub mean_pct: f64,
    /// Standard deviation of a jump, percent.
    pub std_pct: f64,
}

/// A jump of `pct` percent applied to `instrument` just before the event with index `at_event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForcedJump {
    /// Zero-based index in the generated stream.
    pub at_event: u64,
    /// Ticker or pair.
    pub instrument: String,
    /// Percentage move, e.g. `8.0` or `-5.0`.
    pub pct: f64,
}

/// Most events one generator makes (ids are unique below 2^62; nobody waits for more).
pub const MAX_EVENTS: u64 = 1_000_000_000_000;
/// Longest mean gap between events: a day of market time.
pub const MAX_MEAN_GAP_MS: f64 = 86_400_000.0;
/// Highest starting price (far beyond any real instrument; keeps quotes finite).
pub const MAX_PRICE: f64 = 1e9;

const fn default_volatility() -> f64 {
    0.25
}

const fn default_spread_bps() -> f64 {
    2.0
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        let spec = |name: &str, price: f64, volatility: f64, spread_bps: f64| InstrumentSpec {
            name: name.to_string(),
            price,
            drift: 0.05,
            volatility,
            spread_bps,
        };
        Self {
            seed: 7,
            events: 10_000,
            // Monday 2026-11-23 14:30 UTC: the NYSE opening bell in winter.
            start_ms: 1_795_444_200_000,
            mean_gap_ms: 10.0,
            mix: Mix::default(),
            stocks: vec![
                spec("AAPL", 190.0, 0.25, 2.0),
                spec("MSFT", 410.0, 0.22, 2.0),
                spec("AMZN", 180.0, 0.30, 3.0),
                spec("NVDA", 120.0, 0.45, 3.0),
                spec("JPM", 200.0, 0.20, 2.0),
            ],
            pairs: vec![
                spec("EUR/USD", 1.08, 0.08, 0.5),
                spec("GBP/USD", 1.27, 0.09, 0.7),
                spec("USD/JPY", 150.0, 0.10, 0.6),
                spec("AUD/USD", 0.66, 0.11, 0.9),
            ],
            jumps: JumpModel::default(),
            forced_jumps: Vec::new(),
            news_impact_pct: 1.0,
            session_utc_minutes: (14 * 60 + 30, 21 * 60),
        }
    }
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            forex: 0.45,
            stock_price: 0.5,
            stock_news: 0.05,
        }
    }
}

impl Default for JumpModel {
    fn default() -> Self {
        Self {
            rate_per_day: 0.5,
            mean_pct: 0.0,
            std_pct: 2.0,
        }
    }
}

impl Mix {
    /// The share of `kind`.
    pub fn share(&self, kind: EventKind) -> f64 {
        match kind {
            EventKind::Forex => self.forex,
            EventKind::StockPrice => self.stock_price,
            EventKind::StockNews => self.stock_news,
        }
    }
}

impl GeneratorConfig {
    /// Checks what deserialisation cannot: the mix sums to 1, every kind in the mix has
    /// instruments, prices and model parameters are in range, forced jumps name instruments.
    ///
    /// # Errors
    /// Every problem found, as (setting, message).
    pub fn check(&self) -> Result<(), Vec<(&'static str, String)>> {
        let mut problems: Problems = Vec::new();
        self.check_sizes(&mut problems);
        self.check_mix(&mut problems);
        self.check_instruments(&mut problems);
        self.check_forced_jumps(&mut problems);
        self.check_time(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// How many events, and how hard news and jumps move prices.
    fn check_sizes(&self, problems: &mut Problems) {
        if self.events == 0 {
            problems.push(("events", "events must be at least 1".into()));
        }
        if self.events > MAX_EVENTS {
            problems.push((
                "events",
                format!("events must be at most {MAX_EVENTS}, got {}", self.events),
            ));
        }
        if !(0.0..=100.0).contains(&self.news_impact_pct.abs()) {
            problems.push((
                "news_impact_pct",
                format!(
                    "news_impact_pct must be within [-100, 100], got {}",
                    self.news_impact_pct
                ),
            ));
        }
        let j = &self.jumps;
        if !((0.0..=1e6).contains(&j.rate_per_day)
            && (0.0..=100.0).contains(&j.std_pct)
            && (-100.0..=100.0).contains(&j.mean_pct))
        {
            problems.push((
                "jumps",
                format!(
                    "jumps: rate_per_day must be within [0, 1e6], std_pct within [0, 100], \
                     mean_pct within [-100, 100], got {j:?}"
                ),
            ));
        }
    }

    /// The mix of kinds, and the instruments each kind needs.
    fn check_mix(&self, problems: &mut Problems) {
        let shares = [self.mix.forex, self.mix.stock_price, self.mix.stock_news];
        if shares.iter().any(|s| !(0.0..=1.0).contains(s)) {
            problems.push((
                "mix",
                format!("mix: every share must be within [0, 1], got {shares:?}"),
            ));
        }
        let sum: f64 = shares.iter().sum();
        if (sum - 1.0).abs() > 1e-6 {
            problems.push(("mix", format!("mix: shares must sum to 1, got {sum}")));
        }
        if self.mix.forex > 0.0 && self.pairs.is_empty() {
            problems.push((
                "pairs",
                "pairs: the mix has forex events but no currency pairs".into(),
            ));
        }
        if (self.mix.stock_price > 0.0 || self.mix.stock_news > 0.0) && self.stocks.is_empty() {
            problems.push((
                "stocks",
                "stocks: the mix has stock events but no stocks".into(),
            ));
        }
    }

    /// Each stock's and pair's price model.
    fn check_instruments(&self, problems: &mut Problems) {
        for (key, specs) in [("stocks", &self.stocks), ("pairs", &self.pairs)] {
            for spec in specs {
                if !(spec.price > 0.0 && spec.price <= MAX_PRICE) {
                    problems.push((
                        key,
                        format!("{}: price must be positive, got {}", spec.name, spec.price),
                    ));
                }
                if !(0.0..=10.0).contains(&spec.volatility) {
                    problems.push((
                        key,
                        format!("{}: volatility must be within [0, 10]", spec.name),
                    ));
                }
                if !(spec.spread_bps > 0.0 && spec.spread_bps <= 10_000.0) {
                    problems.push((
                        key,
                        format!("{}: spread_bps must be within (0, 10000]", spec.name),
                    ));
                }
                if !(-10.0..=10.0).contains(&spec.drift) {
                    problems.push((
                        key,
                        format!("{}: drift must be within [-10, 10]", spec.name),
                    ));
                }
            }
        }
    }

    /// Forced jumps name an instrument and keep its price positive.
    fn check_forced_jumps(&self, problems: &mut Problems) {
        for jump in &self.forced_jumps {
            if !self
                .stocks
                .iter()
                .chain(&self.pairs)
                .any(|s| s.name == jump.instrument)
            {
                problems.push((
                    "forced_jumps",
                    format!("forced_jumps: unknown instrument {:?}", jump.instrument),
                ));
            }
            if !(jump.pct > -100.0 && jump.pct <= 1_000.0) {
                problems.push((
                    "forced_jumps",
                    format!(
                        "forced_jumps: {}% must be above -100 (prices stay positive) and at most 1000",
                        jump.pct
                    ),
                ));
            }
        }
    }

    /// Market time: the gap between events and the trading session.
    fn check_time(&self, problems: &mut Problems) {
        if !(self.mean_gap_ms > 0.0 && self.mean_gap_ms <= MAX_MEAN_GAP_MS) {
            problems.push((
                "mean_gap_ms",
                format!(
                    "mean_gap_ms must be positive and at most {MAX_MEAN_GAP_MS} (a day), got {}",
                    self.mean_gap_ms
                ),
            ));
        }
        let (open, close) = self.session_utc_minutes;
        if open >= close || close > 24 * 60 {
            problems.push((
                "session_utc_minutes",
                format!("session_utc_minutes: need open < close <= 1440, got {open}..{close}"),
            ));
        }
    }
}

/// (key, message) pairs a check finds.
type Problems = Vec<(&'static str, String)>;
