//! Geometric Brownian motion with Poisson jumps, one state per instrument.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::config::{InstrumentSpec, JumpModel};

/// Milliseconds in a year of market time, for scaling annual drift and volatility.
const YEAR_MS: f64 = 365.25 * 86_400_000.0;
const DAY_MS: f64 = 86_400_000.0;

/// An instrument's price path.
#[derive(Debug, Clone)]
pub struct PricePath {
    /// Current mid price.
    pub mid: f64,
    drift: f64,
    volatility: f64,
    /// Half the spread as a fraction of the mid price.
    pub half_spread: f64,
    /// Log-return waiting to be applied at the next step (news impact).
    pending: f64,
    /// Market time of the last step.
    pub last_ms: Option<i64>,
}

impl PricePath {
    /// Starts a path at the instrument's price.
    pub fn new(spec: &InstrumentSpec) -> Self {
        Self {
            mid: spec.price,
            drift: spec.drift,
            volatility: spec.volatility,
            half_spread: spec.spread_bps / 20_000.0,
            pending: 0.0,
            last_ms: None,
        }
    }

    /// Moves the price to market time `t_ms`: the exact GBM step for the elapsed time, a Poisson
    /// jump with the model's rate, and any pending shift.
    pub fn step(&mut self, t_ms: i64, jumps: &JumpModel, rng: &mut impl Rng) {
        let elapsed = self.last_ms.map_or(0, |last| (t_ms - last).max(0)) as f64;
        self.last_ms = Some(t_ms);
        let dt = elapsed / YEAR_MS;
        let z: f64 = StandardNormal.sample(rng);
        let mut log_return =
            (self.drift - 0.5 * self.volatility.powi(2)) * dt + self.volatility * dt.sqrt() * z;
        let jump_probability = jumps.rate_per_day * elapsed / DAY_MS;
        if jump_probability > 0.0 && rng.random::<f64>() < jump_probability.min(1.0) {
            let j: f64 = StandardNormal.sample(rng);
            log_return += (jumps.mean_pct + jumps.std_pct * j) / 100.0;
        }
        log_return += std::mem::take(&mut self.pending);
        self.mid *= log_return.exp();
    }

    /// Queues a log-return for the next step (a news item's impact).
    pub fn nudge(&mut self, log_return: f64) {
        self.pending += log_return;
    }

    /// Moves the price by `pct` percent now (a forced jump).
    pub fn jump(&mut self, pct: f64) {
        self.mid *= 1.0 + pct / 100.0;
    }

    /// Bid and ask around the mid, rounded outwards to `decimals`, at least one tick apart and
    /// positive.
    pub fn quote(&self, decimals: i32) -> (f64, f64) {
        let scale = 10f64.powi(decimals);
        let tick = 1.0 / scale;
        let bid = ((self.mid * (1.0 - self.half_spread)) * scale).floor() / scale;
        let bid = bid.max(tick);
        let ask = ((self.mid * (1.0 + self.half_spread)) * scale).ceil() / scale;
        let ask = if ask > bid {
            ask
        } else {
            ((bid + tick) * scale).round() / scale
        };
        (bid, ask)
    }
}

/// Rounds to `decimals` places (shortest JSON form).
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}
