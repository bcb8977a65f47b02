//! The scheduler that calls `/logs` on an open-model schedule.
//!
//! The scheduler: calls `/logs` on an open-model schedule (each request when it is due, however
//! long earlier ones take), with the requests meant to be refused mixed in, and keeps what every
//! answer said: status, latency, and the events a 200 carried (by id and digest).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tickflow_pipeline::event::MarketEvent;
use tickflow_pipeline::web::REQUEST_ID;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::settings::Refusals;
use crate::flows::stream::input::arrival::LoadPlan;
use crate::verdict::latency::LatencyHistogram;
use crate::verdict::{digest, Digest};

/// Longest the scheduler waits for one answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Every this many requests, one of the refusals (while any are left).
const REFUSAL_EVERY: u64 = 3;

/// What a request asks, and so what it must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ask {
    /// A scheduled `/logs?batch=N`: 200, or 429/503 when the server cannot take it.
    Scheduled,
    /// `/logs` without a token: 401.
    MissingToken,
    /// `/logs` with a wrong token: 401.
    WrongToken,
    /// `/logs?batch=0`: 400.
    BadBatch,
}

impl Ask {
    /// The status it must get, when only one will do.
    pub fn required_status(self) -> Option<u16> {
        match self {
            Ask::Scheduled => None,
            Ask::MissingToken | Ask::WrongToken => Some(401),
            Ask::BadBatch => Some(400),
        }
    }
}

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The id sent in `x-request-id`.
    pub id: uuid::Uuid,
    /// What it asked.
    pub ask: Ask,
    /// Path and query.
    pub url: String,
    /// Status answered; `None` when no answer came (then `error` says why).
    pub status: Option<u16>,
    /// Why there was no answer, or why a 200's body could not be read.
    pub error: Option<String>,
    /// Send to answer, microseconds.
    pub latency_us: u64,
    /// Events of a 200, by id, with the digest of their JSON.
    pub events: Vec<(uuid::Uuid, Digest)>,
    /// The `Retry-After` header, when the answer had one.
    pub retry_after: Option<String>,
}

/// Every answer of a run, and how the schedule was kept.
#[derive(Debug, Default)]
pub struct Calls {
    /// In the order they were answered.
    pub answers: Vec<Answer>,
    /// How late each request went out, microseconds.
    pub lag_us: LatencyHistogram,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
}

/// Who to call and how.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// `http://host:port`.
    pub base: String,
    /// Events per scheduled call.
    pub batch: usize,
    /// The token scheduled calls carry.
    pub token: Option<String>,
    /// Requests that must be refused, mixed in.
    pub refused: Refusals,
    /// Most open requests.
    pub in_flight: usize,
}

impl Scheduler {
    /// Makes `calls` scheduled calls (and the refusals) when `plan` says they are due, until
    /// they are made or the plan's duration is over; returns once every answer is in.
    pub async fn run(&self, plan: &LoadPlan, calls: u64) -> Calls {
        let http: Client<HttpConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(self.in_flight)
            .build_http();
        let open = Arc::new(Semaphore::new(self.in_flight.max(1)));
        let mut refusals = RefusalOrder::new(self.refused);
        let mut running = JoinSet::new();
        let mut out = Calls::default();
        let start = Instant::now();
        let total = calls.saturating_add(self.refused.total());
        for i in 0..total {
            if plan.over(start.elapsed()) {
                break;
            }
            let due = plan.due(i).unwrap_or(Duration::ZERO);
            if !plan.wait_until(start, due).await {
                break; // the plan's duration ended first
            }
            let Ok(permit) = open.clone().acquire_owned().await else {
                break;
            };
            out.lag_us
                .record(start.elapsed().saturating_sub(due).as_micros() as u64);
            let ask = refusals.at(i);
            let request = self.request(ask);
            let http = http.clone();
            running.spawn(async move {
                let answer = request.send(&http).await;
                drop(permit);
                answer
            });
            while let Some(done) = running.try_join_next() {
                out.answers.extend(done.ok());
            }
        }
        while let Some(done) = running.join_next().await {
            out.answers.extend(done.ok());
        }
        out.elapsed = start.elapsed();
        out
    }

    /// The request `ask` makes.
    fn request(&self, ask: Ask) -> Request {
        let batch = match ask {
            Ask::BadBatch => 0,
            _ => self.batch,
        };
        let token = match ask {
            Ask::MissingToken => None,
            Ask::WrongToken => Some(format!("not-{}", self.token.as_deref().unwrap_or("it"))),
            Ask::Scheduled | Ask::BadBatch => self.token.clone(),
        };
        let path = format!("/logs?batch={batch}");
        Request {
            id: uuid::Uuid::new_v4(),
            ask,
            uri: format!("{}{path}", self.base),
            path,
            token,
        }
    }
}

/// Where the refusals go among the requests: one every [`REFUSAL_EVERY`], cycling through the
/// kinds, until each kind's count is used.
struct RefusalOrder {
    left: [(Ask, u64); 3],
    next: usize,
}

impl RefusalOrder {
    fn new(r: Refusals) -> Self {
        Self {
            left: [
                (Ask::MissingToken, r.missing_token),
                (Ask::WrongToken, r.wrong_token),
                (Ask::BadBatch, r.bad_batch),
            ],
            next: 0,
        }
    }

    /// What request `i` asks.
    fn at(&mut self, i: u64) -> Ask {
        if i % REFUSAL_EVERY != 1 {
            return Ask::Scheduled;
        }
        for _ in 0..self.left.len() {
            let slot = self.next % self.left.len();
            self.next += 1;
            if self.left[slot].1 > 0 {
                self.left[slot].1 -= 1;
                return self.left[slot].0;
            }
        }
        Ask::Scheduled
    }
}

/// One request, ready to send.
struct Request {
    id: uuid::Uuid,
    ask: Ask,
    uri: String,
    path: String,
    token: Option<String>,
}

/// A 200's body.
#[derive(Deserialize)]
struct Body {
    request_id: uuid::Uuid,
    events: Vec<MarketEvent>,
}

impl Request {
    async fn send(self, http: &Client<HttpConnector, Empty<Bytes>>) -> Answer {
        let started = Instant::now();
        let mut answer = Answer {
            id: self.id,
            ask: self.ask,
            url: self.path.clone(),
            status: None,
            error: None,
            latency_us: 0,
            events: Vec::new(),
            retry_after: None,
        };
        match tokio::time::timeout(ANSWER_TIMEOUT, self.exchange(http)).await {
            Ok(Ok(Exchanged {
                status,
                retry_after,
                body,
            })) => {
                answer.status = Some(status);
                answer.retry_after = retry_after;
                if status == 200 {
                    match read_events(&body, self.id) {
                        Ok(events) => answer.events = events,
                        Err(e) => answer.error = Some(e),
                    }
                }
            }
            Ok(Err(e)) => answer.error = Some(e),
            Err(_) => answer.error = Some(format!("no answer within {ANSWER_TIMEOUT:?}")),
        }
        answer.latency_us = started.elapsed().as_micros() as u64;
        answer
    }

    async fn exchange(
        &self,
        http: &Client<HttpConnector, Empty<Bytes>>,
    ) -> Result<Exchanged, String> {
        let mut request = hyper::Request::get(&self.uri).header(REQUEST_ID, self.id.to_string());
        if let Some(token) = &self.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
        let response = http.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Exchanged {
            status,
            retry_after,
            body,
        })
    }
}

/// What an exchange brought back.
struct Exchanged {
    status: u16,
    retry_after: Option<String>,
    body: Bytes,
}

/// The events of a 200's body, each with the digest of its JSON.
///
/// # Errors
/// A body that is not the server's JSON, or that answers another request.
fn read_events(body: &[u8], id: uuid::Uuid) -> Result<Vec<(uuid::Uuid, Digest)>, String> {
    let body: Body =
        serde_json::from_slice(body).map_err(|e| format!("a 200 whose body is not events: {e}"))?;
    if body.request_id != id {
        return Err(format!(
            "a 200 for request {} answered {id}",
            body.request_id
        ));
    }
    Ok(body
        .events
        .iter()
        .map(|e| (e.id(), digest(&e.to_json())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_spread_and_each_kind_used_exactly() {
        let mut order = RefusalOrder::new(Refusals {
            missing_token: 2,
            wrong_token: 1,
            bad_batch: 3,
        });
        let asks: Vec<Ask> = (0..30).map(|i| order.at(i)).collect();
        let count = |a: Ask| asks.iter().filter(|x| **x == a).count();
        assert_eq!(
            (
                count(Ask::MissingToken),
                count(Ask::WrongToken),
                count(Ask::BadBatch)
            ),
            (2, 1, 3)
        );
        assert_eq!(asks[0], Ask::Scheduled);
        assert_eq!(asks[1], Ask::MissingToken);
        assert_eq!(asks[4], Ask::WrongToken);
        assert_eq!(asks[7], Ask::BadBatch);
    }

    #[test]
    fn a_body_must_be_events_for_this_request() {
        let event = tickflow_pipeline::source::Generator::new(Default::default())
            .next()
            .unwrap();
        let id = uuid::Uuid::new_v4();
        let body = format!(
            "{{\"request_id\":\"{id}\",\"events\":[{}]}}",
            String::from_utf8(event.to_json()).unwrap()
        );
        let events = read_events(body.as_bytes(), id).unwrap();
        assert_eq!(events, vec![(event.id(), digest(&event.to_json()))]);
        assert!(read_events(body.as_bytes(), uuid::Uuid::new_v4())
            .unwrap_err()
            .contains("answered"));
        assert!(read_events(b"{}", id).unwrap_err().contains("not events"));
    }
}
