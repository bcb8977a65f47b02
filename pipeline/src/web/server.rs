//! The web server: its routes, what it may take, its crash point, its stop.
//!
//! The HTTP server: `GET /logs` stores the next batch of market data and returns it; `GET
//! /health` says the server is up. An answer is 200 only once its events are committed, with
//! their records in the outbox the relay sends on to Kinesis ([`super::relay`]): nothing the
//! server holds in memory is owed to the producer. Every request that reaches the server,
//! refused or not, is logged in `request_log`: each is handled to its end in a task of its
//! own, so a client that goes away mid-request (or a stop that ends the connection) leaves
//! nothing half done: rows stored always come with their log row. The relay's backlog decides
//! what the server can take: load beyond it is refused (429, and 503 while the database is
//! behind or away) instead of buffered.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tokio::sync::{oneshot, watch};

use super::auth::Token;
use super::error::WebError;
use super::query;
use super::relay::Backlog;
use super::serve::serve;
use super::store::{NotStored, Store};
use super::tables::{LoggedRequest, MAX_URL};
use crate::chaos::{Chaos, Stage};
use crate::event::MarketEvent;
use crate::metrics::{catalogue, Metrics};

/// Longest a graceful stop waits for open requests before it ends them.
const STOP_WAIT: Duration = Duration::from_secs(10);
/// The header a request's id travels in, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The market data the server hands out, in order, shared by every request (and by a server
/// started after a crash: the market goes on whatever becomes of the server).
pub type MarketData = Arc<Mutex<Box<dyn Iterator<Item = MarketEvent> + Send>>>;

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// Most events one `/logs` answer carries.
    pub max_batch: usize,
    /// The bearer token every route but `/health` requires; `None` leaves them open.
    pub token: Option<Token>,
    /// The fault schedule: the server dies at its crash point (a request's rows committed,
    /// its answer not yet given) when it says so.
    pub chaos: Option<Arc<Chaos>>,
    /// Where each answer is counted as a load balancer counts it (off unless the run asks), and
    /// the server's name there (`LoadBalancer`).
    pub metrics: (Metrics, String),
}

/// A request as it reached the server, before anything was done with it: what `request_log`
/// must hold a row for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// Its id (the client's `x-request-id` when it sent a UUID, else the server's).
    pub request_id: uuid::Uuid,
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, as `request_log` keeps them (cut at [`MAX_URL`] bytes).
    pub url: String,
    /// The client's address.
    pub client: String,
}

/// Answers by kind, as the server counted them, and every request as it arrived.
#[derive(Debug, Default)]
pub struct WebStats {
    /// Every request that reached the server, in arrival order.
    pub arrivals: Mutex<Vec<Arrival>>,
    /// How many did.
    pub arrived: AtomicU64,
    /// Requests answered.
    pub requests: AtomicU64,
    /// 200s.
    pub ok: AtomicU64,
    /// 400s and 404s, 405s: requests the server could not serve as asked.
    pub bad_request: AtomicU64,
    /// 401s.
    pub unauthorized: AtomicU64,
    /// 429s: the relay's backlog was full.
    pub too_many: AtomicU64,
    /// 503s: the database was behind or failing, or the server was stopping.
    pub unavailable: AtomicU64,
    /// Events in 200 answers.
    pub events_served: AtomicU64,
    /// Requests a crash of the server cut off: arrived, and not logged when it died (in flight,
    /// or answered with the log row still to commit).
    pub cut: Mutex<Vec<uuid::Uuid>>,
}

impl WebStats {
    fn count(&self, status: StatusCode, events: u32) {
        self.requests.fetch_add(1, Relaxed);
        self.events_served.fetch_add(u64::from(events), Relaxed);
        let counter = match status.as_u16() {
            200 => &self.ok,
            401 => &self.unauthorized,
            429 => &self.too_many,
            503 => &self.unavailable,
            _ => &self.bad_request,
        };
        counter.fetch_add(1, Relaxed);
    }
}

/// What every request shares.
struct Shared {
    data: MarketData,
    backlog: Arc<Backlog>,
    store: Store,
    token: Option<Token>,
    max_batch: usize,
    stats: Arc<WebStats>,
    chaos: Option<Arc<Chaos>>,
    /// Where its answers are counted, and its name there.
    metrics: (Metrics, String),
    /// Set when the server reached its crash point: from then on it answers nothing.
    dead: watch::Sender<bool>,
}

/// A request's id, as its handler sees it.
#[derive(Debug, Clone, Copy)]
struct RequestId(uuid::Uuid);

/// Events an answer carried, for the log.
#[derive(Debug, Clone, Copy)]
struct Served(u32);

/// A running server; [`WebServer::stop`] ends it gracefully, dropping it ends it at once (an
/// early end of its run must leave no server behind).
#[derive(Debug)]
pub struct WebServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    dead: watch::Receiver<bool>,
}

impl WebServer {
    /// Binds `config.addr` and serves `data` through `store`, refusing requests while the
    /// relay's `backlog` is full.
    ///
    /// # Errors
    /// [`WebError::Bind`] when the address cannot be bound.
    pub async fn start(
        config: &WebConfig,
        data: MarketData,
        backlog: Arc<Backlog>,
        store: Store,
        stats: Arc<WebStats>,
    ) -> Result<Self, WebError> {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| WebError::Bind(config.addr, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| WebError::Bind(config.addr, e))?;
        let (dead, dead_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            data,
            backlog,
            store,
            token: config.token.clone(),
            max_batch: config.max_batch.clamp(1, query::MAX_BATCH),
            stats,
            chaos: config.chaos.clone(),
            metrics: config.metrics.clone(),
            dead,
        });
        let app = Router::new()
            .route("/logs", get(logs))
            .route("/health", get(health))
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(shared.clone(), gate))
            .with_state(shared);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app, stopped));
        tracing::info!(%addr, "web server listening");
        Ok(WebServer {
            addr,
            stop: Some(stop),
            task,
            dead: dead_rx,
        })
    }

    /// Waits until the server reaches its crash point (pending while it lives).
    pub async fn crashed(&self) {
        let mut dead = self.dead.clone();
        if dead.wait_for(|d| *d).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Ends the server as its process dying would: every connection closed at once, no answer
    /// more, nothing finished.
    pub async fn kill(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops taking connections, and lets open requests finish (for at most ten seconds).
    ///
    /// # Errors
    /// [`WebError::Serve`] if serving failed.
    pub async fn stop(mut self) -> Result<(), WebError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(STOP_WAIT, &mut self.task).await {
            Ok(Ok(result)) => result.map_err(WebError::Serve),
            Ok(Err(e)) => Err(WebError::Serve(std::io::Error::other(e.to_string()))),
            Err(_) => {
                tracing::warn!("requests still open after {STOP_WAIT:?}: ending them");
                Ok(()) // dropped below: the task is aborted
            }
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Around every route: records the request's arrival, then handles it to its end in a task of
/// its own ([`handle`]): if the client goes away, the task still finishes, logs and counts it.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let at_ms = chrono::Utc::now().timestamp_millis();
    let arrival = Arrival {
        request_id: request
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| uuid::Uuid::parse_str(v).ok())
            .unwrap_or_else(uuid::Uuid::new_v4),
        method: request.method().to_string(),
        url: cut(
            request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string(),
            MAX_URL,
        ),
        client: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_string(), |c| c.0.to_string()),
    };
    shared
        .stats
        .arrivals
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(arrival.clone());
    shared.stats.arrived.fetch_add(1, Relaxed);
    shared.store.arrived(arrival.request_id);
    let mut dead = shared.dead.subscribe();
    let handled = tokio::spawn(async move {
        tokio::select! {
            response = handle(shared, request, next, arrival, (started, at_ms)) => Some(response),
            _ = dead.wait_for(|d| *d) => None,
        }
    });
    match handled.await {
        Ok(Some(response)) => response,
        // The server died: no answer, ever (its connections are closed with it).
        Ok(None) => std::future::pending().await,
        Err(e) => {
            tracing::warn!(error = %e, "a request's task ended without an answer");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the request failed")
        }
    }
}

/// The request's id, the token check (all but `/health`), the route, the count and the
/// `request_log` entry: everything a request does, run to its end whoever waits for it.
async fn handle(
    shared: Arc<Shared>,
    mut request: Request,
    next: Next,
    arrival: Arrival,
    (started, at_ms): (Instant, i64),
) -> Response {
    let Arrival {
        request_id: id,
        method,
        url,
        client,
    } = arrival;
    let refused = match (&shared.token, request.uri().path()) {
        (Some(token), path) if path != "/health" => {
            let header = request.headers().get(header::AUTHORIZATION);
            token.check(header.map(HeaderValue::as_bytes)).err()
        }
        _ => None,
    };
    request.extensions_mut().insert(RequestId(id));
    let mut response = match refused {
        Some(refusal) => {
            let mut r = error(StatusCode::UNAUTHORIZED, refusal.reason());
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
        None => next.run(request).await,
    };
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let events = response.extensions().get::<Served>().map_or(0, |s| s.0);
    let status = response.status();
    shared.stats.count(status, events);
    record_answer(&shared.metrics, status, started.elapsed());
    shared
        .store
        .log(LoggedRequest {
            request_id: id,
            at_ms,
            client,
            method,
            url,
            status: status.as_u16(),
            events,
            micros: started.elapsed().as_micros() as u64,
        })
        .await;
    response
}

/// Counts one answer as a load balancer does: the request, its class (4xx, 5xx) and how long
/// it took.
fn record_answer((metrics, name): &(Metrics, String), status: StatusCode, took: Duration) {
    if !metrics.is_on() {
        return;
    }
    metrics.record(&catalogue::REQUEST_COUNT, name, 1.0);
    let class = |yes: bool| if yes { 1.0 } else { 0.0 };
    metrics.record(
        &catalogue::TARGET_4XX,
        name,
        class(status.is_client_error()),
    );
    metrics.record(
        &catalogue::TARGET_5XX,
        name,
        class(status.is_server_error()),
    );
    metrics.record(&catalogue::TARGET_RESPONSE_TIME, name, took.as_secs_f64());
}

/// `GET /logs?batch=N`: the next `N` events, stored (and so bound for Kinesis), as JSON.
async fn logs(
    State(shared): State<Arc<Shared>>,
    Extension(RequestId(id)): Extension<RequestId>,
    RawQuery(raw): RawQuery,
) -> Response {
    let batch = match query::batch(raw.as_deref(), shared.max_batch) {
        Ok(batch) => batch,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    if !shared.backlog.admits(batch as u64) {
        return retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "the relay to Kinesis is behind: try again later",
        );
    }
    let events: Arc<[MarketEvent]> = {
        let mut data = shared.data.lock().unwrap_or_else(|e| e.into_inner());
        data.by_ref().take(batch).collect()
    };
    if let Err(not_stored) = shared.store.rows(id, events.clone()).await {
        let reason = match not_stored {
            NotStored::Behind => "the database is behind: try again later",
            NotStored::Closed => "the server is stopping",
            NotStored::Down => "the database is unavailable: try again later",
            NotStored::Failed(_) => "the database failed to store the batch: try again later",
        };
        return retry_later(StatusCode::SERVICE_UNAVAILABLE, reason);
    }
    shared.backlog.stored(events.len() as u64);
    if Chaos::crash_point_of(shared.chaos.as_deref(), Stage::Web).await {
        // Rows committed, the answer not given: the process dies here.
        tracing::warn!(request_id = %id, "the web server crashes (fault schedule)");
        shared.dead.send_replace(true);
        return std::future::pending().await;
    }
    let mut body = Vec::with_capacity(64 + events.len() * 256);
    body.extend_from_slice(format!("{{\"request_id\":\"{id}\",\"events\":[").as_bytes());
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        event.write_json(&mut body);
    }
    body.extend_from_slice(b"]}");
    let mut response = json(StatusCode::OK, body);
    response
        .extensions_mut()
        .insert(Served(events.len() as u32));
    response
}

/// `GET /health`: up, and how much room the relay's backlog has.
async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let body = format!(
        "{{\"status\":\"ok\",\"queue_free\":{},\"queue_capacity\":{}}}",
        shared.backlog.room(),
        shared.backlog.capacity()
    );
    json(StatusCode::OK, body.into_bytes())
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such route (GET /logs, GET /health)",
    )
}

/// A refusal for now (429, 503): the error answer, and `Retry-After: 1`.
fn retry_later(status: StatusCode, reason: &str) -> Response {
    let mut r = error(status, reason);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// A JSON error answer: `{"error": reason}`.
fn error(status: StatusCode, reason: &str) -> Response {
    let body = serde_json::json!({ "error": reason }).to_string();
    json(status, body.into_bytes())
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_url_is_cut_on_a_character_boundary() {
        assert_eq!(cut("abc".into(), 10), "abc");
        assert_eq!(cut("aéb".into(), 2), "a");
        assert_eq!(cut("x".repeat(3000), MAX_URL).len(), MAX_URL);
    }
}
