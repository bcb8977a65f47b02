//! A scenario's `[web]` section.
//!
//! A scenario's `[web]` section: how the web source serves (`/logs` batches, the queue to the
//! producer, the token) and how its scheduler calls it (a market-time schedule, or `[load]`).

use serde::{Deserialize, Serialize};
use tickflow_pipeline::web::query::MAX_BATCH;

use crate::flows::stream::input::arrival::LoadPlan;

/// Most calls a web source's schedule may plan (a trading day at `every_secs = 1e-9` would
/// otherwise be 2e13 of them).
pub const MAX_CALLS: u64 = 100_000_000;

/// Where the token comes from when `[web] auth = true`.
pub const ENV_TOKEN: &str = "TICKFLOW_WEB_TOKEN";

/// `[web]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    /// Events per scheduled `/logs` call (`?batch=`).
    pub batch: usize,
    /// Scheduled calls; `None` for a day's worth (390 minutes of market time divided by
    /// `every_secs`) or, with `[load]`, until its `duration_secs`.
    pub requests: Option<u64>,
    /// Market time between scheduled calls, seconds (a minute, as the design's cron has it).
    pub every_secs: f64,
    /// Market time per wall time: 6000 makes a market minute last 10 ms, a trading day 3.9 s.
    pub speed: f64,
    /// Events stored and not yet relayed to the producer that the server lets wait: a request
    /// that would add to a longer backlog gets 429.
    pub queue: usize,
    /// Requests the database writer may have queued before requests get 503.
    pub db_queue: usize,
    /// Largest `batch` the server serves (a larger ask is a 400).
    pub max_batch: usize,
    /// Require a bearer token on every route but `/health`: `TICKFLOW_WEB_TOKEN`, or a random
    /// one for the run.
    pub auth: bool,
    /// Where the server listens.
    pub addr: String,
    /// Most requests the scheduler has open at once (an open model issues each when it is due;
    /// past this it waits, and the wait shows as schedule lag).
    pub in_flight: usize,
    /// Requests sent on purpose to be refused, spread over the run.
    pub refused: Refusals,
}

/// `[web.refused]`: requests that must be turned away, and carry no data anywhere.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, default)]
pub struct Refusals {
    /// `/logs` without a token (401; needs `auth`).
    pub missing_token: u64,
    /// `/logs` with a wrong token (401; needs `auth`).
    pub wrong_token: u64,
    /// `/logs?batch=0` (400).
    pub bad_batch: u64,
}

impl Refusals {
    /// All of them (saturating: each is bounded by `check`, but a refused file still sums).
    pub fn total(&self) -> u64 {
        self.missing_token
            .saturating_add(self.wrong_token)
            .saturating_add(self.bad_batch)
    }
}

/// Most requests of one refused kind a run sends (each is a real HTTP call).
const MAX_REFUSED: u64 = 1_000_000;

/// Minutes in a trading day (09:30 to 16:00).
const TRADING_DAY_MINUTES: f64 = 390.0;

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            batch: 10,
            requests: None,
            every_secs: 60.0,
            speed: 6_000.0,
            queue: 4_096,
            db_queue: 1_024,
            max_batch: MAX_BATCH,
            auth: false,
            addr: "127.0.0.1:0".into(),
            in_flight: 256,
            refused: Refusals::default(),
        }
    }
}

impl WebSettings {
    /// Problems, as (key, message).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push((format!("web.{key}"), message));
        if !(1..=MAX_BATCH).contains(&self.max_batch) {
            bad("max_batch", format!("must be within [1, {MAX_BATCH}]"));
        }
        if !(1..=self.max_batch.max(1)).contains(&self.batch) {
            bad(
                "batch",
                format!("must be within [1, max_batch = {}]", self.max_batch),
            );
        }
        if !(self.every_secs > 0.0 && self.every_secs <= 86_400.0) {
            bad("every_secs", "must be within (0, 86400]".into());
        }
        if !(self.speed > 0.0 && self.speed <= 1e9) {
            bad("speed", "must be within (0, 1e9]".into());
        }
        if !(self.batch.max(1)..=10_000_000).contains(&self.queue) {
            bad(
                "queue",
                "must hold at least one batch and at most 10000000 events".into(),
            );
        }
        if !(1..=1_000_000).contains(&self.db_queue) {
            bad("db_queue", "must be within [1, 1000000]".into());
        }
        if !(1..=65_536).contains(&self.in_flight) {
            bad("in_flight", "must be within [1, 65536]".into());
        }
        if self.requests == Some(0) {
            bad("requests", "must be at least 1".into());
        }
        if self.addr.parse::<std::net::SocketAddr>().is_err() {
            bad(
                "addr",
                format!("{:?} is not an address like 127.0.0.1:8080", self.addr),
            );
        }
        let r = self.refused;
        for (key, n) in [
            ("missing_token", r.missing_token),
            ("wrong_token", r.wrong_token),
            ("bad_batch", r.bad_batch),
        ] {
            if n > MAX_REFUSED {
                bad(
                    &format!("refused.{key}"),
                    format!("must be at most {MAX_REFUSED}"),
                );
            }
        }
        if !self.auth && (r.missing_token != 0 || r.wrong_token != 0) {
            bad(
                "refused",
                "missing_token and wrong_token need auth = true (an open server lets them in)"
                    .into(),
            );
        }
        problems
    }

    /// When each scheduled call is due: `[load]` when given, else one call every
    /// `every_secs` of market time at `speed`.
    pub fn schedule(&self, load: Option<&LoadPlan>) -> LoadPlan {
        match load {
            Some(plan) if *plan != LoadPlan::default() => plan.clone(),
            _ => LoadPlan {
                rate: Some(self.speed / self.every_secs),
                ..LoadPlan::default()
            },
        }
    }

    /// Scheduled calls: `requests`, else a trading day's worth, else (with a `[load]` that
    /// ends) as many as its duration allows.
    pub fn calls(&self, load: Option<&LoadPlan>) -> u64 {
        match (self.requests, load.and_then(|l| l.duration_secs)) {
            (Some(n), _) => n,
            (None, Some(_)) => u64::MAX,
            (None, None) => (TRADING_DAY_MINUTES * 60.0 / self.every_secs)
                .ceil()
                .max(1.0) as u64,
        }
    }

    /// Mean market time between generated events: a call's batch spans its interval.
    pub fn mean_gap_ms(&self) -> f64 {
        self.every_secs * 1_000.0 / self.batch.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_a_trading_day_of_minutes_in_four_seconds() {
        let web = WebSettings::default();
        assert!(web.check().is_empty(), "{:?}", web.check());
        assert_eq!(web.calls(None), 390);
        let plan = web.schedule(None);
        assert_eq!(plan.rate, Some(100.0));
        let last = plan.due(389).unwrap();
        assert!((last.as_secs_f64() - 3.89).abs() < 1e-9, "{last:?}");
        assert!((web.mean_gap_ms() - 6_000.0).abs() < 1e-9);
    }

    #[test]
    fn a_load_plan_replaces_the_schedule_and_its_duration_ends_it() {
        let load = LoadPlan {
            rate: Some(500.0),
            duration_secs: Some(2.0),
            ..LoadPlan::default()
        };
        let web = WebSettings::default();
        assert_eq!(web.schedule(Some(&load)).rate, Some(500.0));
        assert_eq!(web.calls(Some(&load)), u64::MAX);
    }

    #[test]
    fn every_bad_value_is_named() {
        let web = WebSettings {
            batch: 0,
            every_secs: 0.0,
            speed: -1.0,
            queue: 0,
            in_flight: 0,
            requests: Some(0),
            addr: "localhost".into(),
            refused: Refusals {
                wrong_token: 1,
                ..Refusals::default()
            },
            ..WebSettings::default()
        };
        let keys: Vec<String> = web.check().into_iter().map(|(k, _)| k).collect();
        for key in [
            "batch",
            "every_secs",
            "speed",
            "queue",
            "in_flight",
            "requests",
            "addr",
            "refused",
        ] {
            assert!(
                keys.contains(&format!("web.{key}")),
                "{key} missing from {keys:?}"
            );
        }
    }

    #[test]
    fn refusals_past_the_bound_are_named_and_never_overflow() {
        let web = WebSettings {
            auth: true,
            refused: Refusals {
                missing_token: 10,
                wrong_token: u64::MAX,
                bad_batch: 3,
            },
            ..WebSettings::default()
        };
        let keys: Vec<String> = web.check().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["web.refused.wrong_token"]);
        assert_eq!(web.refused.total(), u64::MAX);
    }
}
