//! What a web-sourced run reports about its front end.
//!
//! What a web-sourced run reports about its front end: requests and their statuses, HTTP
//! latency and how well the schedule was kept, the rows in each table and in `request_log`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use serde::Serialize;
use tickflow_pipeline::web::WebStats;

use super::client::{Ask, Calls};
use super::source::Served;
use super::tables::ReadBack;
use crate::verdict::latency::{Latency, LatencyHistogram};

/// The web source's part of a run's report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WebReport {
    /// Where the server listened.
    pub addr: String,
    /// Requests the scheduler made (refusals included).
    pub requests: u64,
    /// Requests the server answered, as it counted them.
    pub answered_by_server: u64,
    /// Answers by status (`"200"`, `"429"`, ...; `"none"` for no answer).
    pub statuses: BTreeMap<String, u64>,
    /// Requests by what they asked (`scheduled`, `missing_token`, `wrong_token`, `bad_batch`).
    pub asks: BTreeMap<String, u64>,
    /// Requests that got no answer, or a 200 whose body could not be read.
    pub errors: u64,
    /// Events in 200s: as the scheduler read them, or (without one, under `tickflow serve`)
    /// as the server counted them.
    pub events_served: u64,
    /// Send to answer, every request, microseconds.
    pub latency_us: Latency,
    /// Send to answer, 200s only, microseconds.
    pub ok_latency_us: Latency,
    /// How late requests went out against their due time, microseconds.
    pub lag_us: Latency,
    /// Answers by kind, as the server counted them (whoever called).
    pub server: ServerCounts,
    /// Requests answered per second of the scheduler's wall time.
    pub requests_per_sec: f64,
    /// Rows per market-data table.
    pub rows: BTreeMap<String, u64>,
    /// Rows in `request_log`.
    pub request_log_rows: u64,
    /// Transactions the database writer committed (many requests share one).
    pub commits: u64,
    /// Group commits that did not land (their requests answered 503, their log rows kept).
    pub commits_failed: u64,
    /// Times the writer connected again after losing its connection.
    pub reconnects: u64,
    /// Events the relay sent from the outbox on to the producer (again after a restart
    /// included).
    pub relayed: u64,
    /// Times the web source's process died at its crash point and started again.
    pub restarts: u64,
}

impl WebReport {
    /// The report of what the front end `served`, the server counted and the tables hold.
    pub fn new(addr: String, served: &Served, stats: &WebStats, back: &ReadBack) -> Self {
        let calls: &Calls = &served.calls;
        let mut report = WebReport {
            addr,
            requests: calls.answers.len() as u64,
            answered_by_server: stats.requests.load(Relaxed),
            server: ServerCounts::of(stats),
            lag_us: calls.lag_us.summary(),
            rows: back.per_table.clone(),
            request_log_rows: back.log.len() as u64,
            commits: served.process.store.commits,
            commits_failed: served.process.store.not_committed,
            reconnects: served.process.store.reconnects,
            relayed: served.process.relay.relayed,
            restarts: served.process.restarts,
            ..WebReport::default()
        };
        let (mut all, mut ok) = (LatencyHistogram::default(), LatencyHistogram::default());
        for answer in &calls.answers {
            let status = answer.status.map_or("none".to_string(), |s| s.to_string());
            *report.statuses.entry(status).or_default() += 1;
            *report.asks.entry(ask_name(answer.ask).into()).or_default() += 1;
            report.errors += u64::from(answer.error.is_some());
            report.events_served += answer.events.len() as u64;
            all.record(answer.latency_us);
            if answer.status == Some(200) {
                ok.record(answer.latency_us);
            }
        }
        if calls.answers.is_empty() {
            // No scheduler (tickflow serve): what the server served, whoever asked.
            report.events_served = report.server.events_served;
        }
        report.latency_us = all.summary();
        report.ok_latency_us = ok.summary();
        report.requests_per_sec = report.requests as f64 / calls.elapsed.as_secs_f64().max(1e-9);
        report
    }

    /// Answers with `status`.
    pub fn status(&self, status: &str) -> u64 {
        self.statuses.get(status).copied().unwrap_or(0)
    }

    /// The report's lines for the text report.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "web source ({}):", self.addr);
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        let server = &self.server;
        let _ = writeln!(
            out,
            "  server: {} requests arrived, {} answered: 200 {}, 400/404/405 {}, 401 {}, 429 {}, 503 {}; {} events served",
            server.arrived,
            self.answered_by_server,
            server.ok,
            server.bad_request,
            server.unauthorized,
            server.too_many,
            server.unavailable,
            server.events_served
        );
        if self.requests == 0 {
            let _ = writeln!(
                out,
                "  no scheduler (tickflow serve): every request came from others"
            );
        } else {
            let _ = writeln!(
                out,
                "  scheduler: requests {} ({:.0}/s); statuses {}; errors {}",
                self.requests,
                self.requests_per_sec,
                statuses.join(", "),
                self.errors
            );
        }
        let ms = |l: &Latency| {
            format!(
                "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                l.p50 as f64 / 1e3,
                l.p99 as f64 / 1e3,
                l.max as f64 / 1e3
            )
        };
        if self.latency_us.count > 0 {
            let (all, ok) = (ms(&self.latency_us), ms(&self.ok_latency_us));
            let _ = writeln!(out, "  latency (all) {all}; 200s {ok}");
            let _ = writeln!(out, "  schedule lag {}", ms(&self.lag_us));
        }
        let rows: Vec<String> = self.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        let _ = writeln!(
            out,
            "  events served {}; rows {}; request_log {} ({} commits, {} failed, {} reconnects); {} relayed from the outbox; {} restarts",
            self.events_served,
            rows.join(", "),
            self.request_log_rows,
            self.commits,
            self.commits_failed,
            self.reconnects,
            self.relayed,
            self.restarts
        );
        out
    }

    /// The report as an HTML section: requests, statuses, latency, tables.
    pub fn render_html(&self) -> String {
        let ms = |us: u64| format!("{:.2}", us as f64 / 1e3);
        let (l, ok) = (&self.latency_us, &self.ok_latency_us);
        let mut html = String::from("<h3>Web source</h3>\n");
        html.push_str(&crate::render::html::table(
            &[
                "requests",
                "server answered",
                "requests/s",
                "errors",
                "events served",
                "request_log rows",
                "commits",
                "failed commits",
                "reconnects",
                "relayed",
                "restarts",
            ],
            [[
                self.requests.to_string(),
                self.answered_by_server.to_string(),
                format!("{:.0}", self.requests_per_sec),
                self.errors.to_string(),
                self.events_served.to_string(),
                self.request_log_rows.to_string(),
                self.commits.to_string(),
                self.commits_failed.to_string(),
                self.reconnects.to_string(),
                self.relayed.to_string(),
                self.restarts.to_string(),
            ]],
        ));
        html.push_str(&crate::render::html::table(
            &["answers", "p50 ms", "p90 ms", "p99 ms", "max ms"],
            [
                ("every request", l),
                ("200s", ok),
                ("schedule lag", &self.lag_us),
            ]
            .map(|(name, l)| [name.to_string(), ms(l.p50), ms(l.p90), ms(l.p99), ms(l.max)]),
        ));
        html.push_str(&crate::render::html::table(
            &["status", "answers"],
            self.statuses
                .iter()
                .map(|(s, n)| [s.clone(), n.to_string()]),
        ));
        html.push_str(&crate::render::html::table(
            &["table", "rows"],
            self.rows.iter().map(|(t, n)| [t.clone(), n.to_string()]),
        ));
        html
    }
}

/// The server's own counts of its answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServerCounts {
    /// Requests that reached the server (each has a `request_log` row).
    pub arrived: u64,
    /// 200s.
    pub ok: u64,
    /// 400s, 404s, 405s.
    pub bad_request: u64,
    /// 401s.
    pub unauthorized: u64,
    /// 429s.
    pub too_many: u64,
    /// 503s.
    pub unavailable: u64,
    /// Events in 200s.
    pub events_served: u64,
}

impl ServerCounts {
    fn of(stats: &WebStats) -> Self {
        Self {
            arrived: stats.arrived.load(Relaxed),
            ok: stats.ok.load(Relaxed),
            bad_request: stats.bad_request.load(Relaxed),
            unauthorized: stats.unauthorized.load(Relaxed),
            too_many: stats.too_many.load(Relaxed),
            unavailable: stats.unavailable.load(Relaxed),
            events_served: stats.events_served.load(Relaxed),
        }
    }
}

/// The name of an ask, as the report keys it.
pub fn ask_name(ask: Ask) -> &'static str {
    match ask {
        Ask::Scheduled => "scheduled",
        Ask::MissingToken => "missing_token",
        Ask::WrongToken => "wrong_token",
        Ask::BadBatch => "bad_batch",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_says_who_called_and_what_the_server_answered() {
        let served = WebReport {
            answered_by_server: 7,
            server: ServerCounts {
                arrived: 7,
                ok: 5,
                too_many: 2,
                events_served: 50,
                ..ServerCounts::default()
            },
            ..WebReport::default()
        };
        let text = served.render_text();
        assert!(
            text.contains(
                "server: 7 requests arrived, 7 answered: 200 5, 400/404/405 0, 401 0, 429 2, \
                 503 0; 50 events"
            ),
            "{text}"
        );
        assert!(text.contains("no scheduler"), "{text}");
        assert!(!text.contains("latency"), "no answers, no latency: {text}");
        let scheduled = WebReport {
            requests: 3,
            statuses: [("200".to_string(), 3)].into(),
            latency_us: Latency {
                count: 3,
                p50: 1_500,
                ..Latency::default()
            },
            ..served
        };
        let text = scheduled.render_text();
        assert!(
            text.contains("scheduler: requests 3") && text.contains("200: 3"),
            "{text}"
        );
        assert!(text.contains("p50 1.50 ms"), "{text}");
    }
}
