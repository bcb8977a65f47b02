//! The web source against real PostgreSQL.
//!
//! The web source against a real PostgreSQL: clients that go away while their requests wait on
//! a locked table (`LOCK TABLE`) leave nothing half done: every request that reached the server
//! is logged as it arrived, with the events stored for it, and the run stays exact; a lock held
//! past the writer's statement timeout is a 503 with `Retry-After`, and a row stored for a
//! refused request fails the run.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use tickflow_harness::flows::stream::driver::{self, Source};
use tickflow_harness::flows::stream::input::web::Callers;
use tickflow_harness::flows::stream::report::StreamReport;
use tickflow_harness::infra::postgres;
use tickflow_harness::scenario::{self, Scenario};
use tickflow_harness::verdict::Report as _;

use crate::support::{clients, within};

/// Requests sent whose clients go away before the answer.
const GONE: usize = 6;
/// Requests sent and answered normally, after the lock is let go.
const ANSWERED: usize = 3;

/// Sends `GET path` with `request_id` on a new connection; reads the answer unless `leave`
/// (then the connection is dropped after `leave`). Returns the status line; `None` when
/// nothing listens yet.
fn get(addr: &str, path: &str, request_id: uuid::Uuid, leave: Option<Duration>) -> Option<String> {
    let answer = exchange(addr, path, request_id, leave)?;
    Some(answer.lines().next().unwrap_or_default().to_string())
}

/// [`get`], returning the whole answer: status line, headers and body.
fn exchange(
    addr: &str,
    path: &str,
    request_id: uuid::Uuid,
    leave: Option<Duration>,
) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nx-request-id: {request_id}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    if let Some(wait) = leave {
        std::thread::sleep(wait);
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return Some(String::new());
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    Some(answer)
}

/// The run's schema: the one whose `request_log` holds `marker`.
async fn schema_logging(db: &tokio_postgres::Client, marker: uuid::Uuid) -> String {
    loop {
        let schemas = db
            .query(
                "SELECT schema_name FROM information_schema.schemata \
                 WHERE schema_name LIKE 'tickflow_web_%'",
                &[],
            )
            .await
            .unwrap();
        for row in schemas {
            let schema: String = row.get(0);
            let sql =
                format!("SELECT count(*) FROM {schema}.request_log WHERE request_id::text = $1");
            if let Ok(found) = db.query_one(&sql, &[&marker.to_string()]).await {
                if found.get::<_, i64>(0) > 0 {
                    return schema;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Locks `schema`'s market-data tables until the transaction returned ends.
async fn lock_market_tables<'a>(
    db: &'a mut tokio_postgres::Client,
    schema: &str,
) -> tokio_postgres::Transaction<'a> {
    let lock = db.transaction().await.unwrap();
    lock.batch_execute(&format!(
        "LOCK TABLE {schema}.forex_rates, {schema}.stock_prices, {schema}.stock_news \
         IN ACCESS EXCLUSIVE MODE"
    ))
    .await
    .unwrap();
    lock
}

/// A web-sourced run being served to anyone for `secs`, found by a request of the test's own.
struct Serving {
    /// Where its server listens.
    addr: String,
    /// The run.
    run: tokio::task::JoinHandle<tickflow_harness::Result<StreamReport>>,
    /// Its tables' schema.
    schema: String,
    /// A connection of the test's own.
    db: tokio_postgres::Client,
}

/// Starts scenario `name`'s run on a web source of its own, served for `secs`; returns once the
/// server answers and the run's schema is known.
async fn serving(name: &str, secs: f64) -> Serving {
    let clients = clients().await;
    let url = postgres::shared::shared().unwrap().url.clone();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let text = format!(
        "[scenario]\nname = \"{name}\"\nseed = 3\n[source]\nkind = \"web\"\n[web]\naddr = \"{addr}\"\n"
    );
    let s = Scenario {
        path: format!("{name}.toml").into(),
        file: scenario::parse(&format!("{name}.toml"), &text).unwrap(),
    };
    let mut config = s.run_config().unwrap();
    let Source::Web(web) = &mut config.source else {
        panic!("a web scenario")
    };
    web.postgres = Some(url.clone());
    web.callers = Callers::Anyone { secs: Some(secs) };
    let run = tokio::spawn(async move { driver::run(&clients, &config).await });

    let marker = uuid::Uuid::new_v4();
    let health = within(Duration::from_secs(60), "the server", async {
        loop {
            let addr = addr.clone();
            let answer = tokio::task::spawn_blocking(move || get(&addr, "/health", marker, None))
                .await
                .unwrap();
            if let Some(status) = answer {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(health.contains("200"), "{health}");
    let db = postgres::connect(&url).await.unwrap();
    let schema = within(Duration::from_secs(30), "the run's schema", async {
        schema_logging(&db, marker).await
    })
    .await;
    Serving {
        addr,
        run,
        schema,
        db,
    }
}

#[tokio::test]
async fn clients_that_go_away_mid_request_leave_every_request_logged_and_the_run_exact() {
    // Find the run's tables by a request of the test's own, then lock the market-data tables:
    // the next requests wait in the database writer.
    let Serving {
        addr,
        run,
        schema,
        mut db,
        ..
    } = serving("e2e-web-gone", 12.0).await;
    let lock = lock_market_tables(&mut db, &schema).await;
    let gone: Vec<uuid::Uuid> = (0..GONE).map(|_| uuid::Uuid::new_v4()).collect();
    let senders: Vec<_> = gone
        .iter()
        .map(|id| {
            let (addr, id) = (addr.clone(), *id);
            std::thread::spawn(move || {
                get(&addr, "/logs?batch=5", id, Some(Duration::from_millis(500)));
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    // Every client has gone; the rows wait behind the lock. Let it go.
    lock.commit().await.unwrap();
    for _ in 0..ANSWERED {
        let addr = addr.clone();
        let status = tokio::task::spawn_blocking(move || {
            get(&addr, "/logs?batch=5", uuid::Uuid::new_v4(), None).unwrap_or_default()
        })
        .await
        .unwrap();
        assert!(status.contains("200"), "{status}");
    }

    let report = within(Duration::from_secs(300), "the run", run)
        .await
        .unwrap()
        .unwrap();
    assert!(report.judged.verdict.passed(), "{}", report.render_text());
    let web = report.web.as_ref().unwrap();
    assert_eq!(
        web.server.arrived,
        (1 + GONE + ANSWERED) as u64,
        "every request that reached the server"
    );
    assert_eq!(web.request_log_rows, web.server.arrived);
    // What the gone clients asked for was served all the same: stored, queued, logged.
    assert_eq!(web.events_served, ((GONE + ANSWERED) * 5) as u64);
    assert_eq!(
        report.judged.reconciliation.found,
        web.events_served,
        "{}",
        report.render_text()
    );
    assert!(
        report
            .render_text()
            .contains(&format!("{} events served", (GONE + ANSWERED) * 5)),
        "{}",
        report.render_text()
    );
}

#[tokio::test]
async fn a_lock_past_the_statement_timeout_is_a_503_and_rows_stored_for_it_fail_the_run() {
    let Serving {
        addr,
        run,
        schema,
        mut db,
    } = serving("e2e-web-timeout", 12.0).await;
    // The market-data tables held past the writer's statement timeout: the server ends the
    // writer's statement, and the request is refused, told when to come back.
    let lock = lock_market_tables(&mut db, &schema).await;
    let refused = uuid::Uuid::new_v4();
    let answer = {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || {
            exchange(&addr, "/logs?batch=5", refused, None).unwrap_or_default()
        })
        .await
        .unwrap()
    };
    lock.commit().await.unwrap();
    let head = answer.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 503"), "{answer}");
    assert!(head.contains("retry-after: 1"), "{answer}");

    // What a writer that took a lost or failed commit for a success would leave: a row stored
    // for a request the server refused. The judge must see it.
    db.execute(
        &format!(
            "INSERT INTO {schema}.stock_prices \
             (event_uuid, created_at, symbol, price, bid, ask, volume, request_id) \
             VALUES ($1::text::uuid, now(), 'AMZN', 1, 1, 1, 1, $2::text::uuid)"
        ),
        &[&uuid::Uuid::new_v4().to_string(), &refused.to_string()],
    )
    .await
    .unwrap();
    let report = within(Duration::from_secs(300), "the run", run)
        .await
        .unwrap()
        .unwrap();
    let failures = report.judged.verdict.failures();
    let log = failures.iter().find(|f| f.check == "web.request_log");
    let orphan = format!("{refused} logged 503 with 0 events, 1 stored");
    assert!(
        log.is_some_and(|f| f.actual.contains(&orphan)),
        "{failures:?}"
    );
}

#[tokio::test]
async fn a_run_that_fails_early_leaves_no_web_task_and_no_tables() {
    let Serving {
        addr,
        run,
        schema,
        db,
        ..
    } = serving("e2e-web-early", 600.0).await;
    // The run's stream goes away under it: its stages fail long before the source's ten
    // minutes are up.
    let run_id = schema.strip_prefix("tickflow_web_").unwrap();
    let clients = clients().await;
    clients
        .kinesis
        .delete_stream()
        .stream_name(format!("tickflow-{run_id}-events"))
        .enforce_consumer_deletion(true)
        .send()
        .await
        .unwrap();
    let status = {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || {
            get(&addr, "/logs?batch=5", uuid::Uuid::new_v4(), None).unwrap_or_default()
        })
        .await
        .unwrap()
    };
    assert!(status.contains("200"), "{status}");
    let error = within(Duration::from_secs(300), "the run failing", run)
        .await
        .unwrap()
        .unwrap_err();
    tracing::info!(%error, "the run failed, as it should");

    // Nothing of the web source is left: no server, no writer's connection, no schema.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = what_is_left(&db, &addr, &schema).await;
        if left == [false, false, false] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after the run failed ({error}), [server listening, writer connected, schema] = {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether the server at `addr` still listens, a session other than `db` still has `schema` in
/// its last query (the database writer's), and `schema` still exists.
async fn what_is_left(db: &tokio_postgres::Client, addr: &str, schema: &str) -> [bool; 3] {
    let listening = {
        let addr = addr.to_string();
        tokio::task::spawn_blocking(move || TcpStream::connect(addr).is_ok())
            .await
            .unwrap()
    };
    let count = |sql: &'static str| async move {
        db.query_one(sql, &[&schema])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let sessions = count(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE pid <> pg_backend_pid() AND query LIKE '%' || $1 || '.%'",
    )
    .await;
    let schemas =
        count("SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1").await;
    [listening, sessions > 0, schemas > 0]
}

/// The relay is the only way a stored event reaches Kinesis, and its saved position is what a
/// successor starts from: a relay killed in the middle of a batch (its position not yet saved)
/// leaves its successor to send that batch again, whole and in commit order, and a successor of
/// one that finished sends nothing again.
#[tokio::test]
async fn a_relay_killed_mid_batch_is_followed_by_one_that_sends_it_again_and_skips_nothing() {
    use std::sync::Arc;
    use tickflow_pipeline::event::MarketEvent;
    use tickflow_pipeline::source::{Generator, GeneratorConfig};
    use tickflow_pipeline::web::{Backlog, Connector, Relay, Schema, Store};
    use tokio::sync::{mpsc, watch};

    let url = postgres::shared::shared().unwrap().url.clone();
    let db = postgres::connect(&url).await.unwrap();
    let schema = Schema::new(&format!(
        "tickflow_web_relay{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ))
    .unwrap();
    schema.create(&db).await.unwrap();
    let connector = Connector::new(&url, "tickflow-web-relay-test").unwrap();
    let (store, writer) = Store::connect(connector.clone(), schema.clone(), 64)
        .await
        .unwrap();
    let (writer_done, writer_ended) = watch::channel(false);
    let writer = tokio::spawn(async move {
        let stats = writer.await;
        let _ = writer_done.send(true);
        stats
    });
    let events: Vec<MarketEvent> = Generator::new(GeneratorConfig {
        events: 300,
        ..GeneratorConfig::default()
    })
    .collect();
    for chunk in events.chunks(100) {
        let rows: Arc<[MarketEvent]> = chunk.to_vec().into();
        store.rows(uuid::Uuid::new_v4(), rows).await.unwrap();
    }
    let ids: Vec<uuid::Uuid> = events.iter().map(MarketEvent::id).collect();
    let relay = |to| {
        Relay::new(
            connector.clone(),
            schema.clone(),
            to,
            Arc::new(Backlog::new(1_000)),
        )
    };

    // The first relay takes 50 of its first batch of 300, and dies.
    let (to, mut first) = mpsc::channel(10);
    let killed = tokio::spawn(relay(to).run(writer_ended.clone()));
    let mut taken = Vec::new();
    while taken.len() < 50 {
        taken.push(first.recv().await.unwrap().id());
    }
    killed.abort();
    let _ = killed.await;
    assert_eq!(taken, ids[..50]);

    // The writer ends; the next relay sends everything, from the start, in order, and ends.
    drop(store);
    writer.await.unwrap();
    let (to, mut second) = mpsc::channel(1_000);
    let successor = relay(to);
    let figures = successor.figures();
    let ran = tokio::spawn(successor.run(writer_ended.clone()));
    let mut sent = Vec::new();
    while let Some(event) = within(Duration::from_secs(30), "the relay", second.recv()).await {
        sent.push(event.id());
    }
    let stats = ran.await.unwrap();
    assert_eq!(sent, ids, "every stored event, in commit order");
    assert_eq!((stats.relayed, stats.gave_up), (300, false));
    assert_eq!(figures.lock().unwrap().relayed, 300);

    // Its position was saved: a third relay has nothing to send again.
    let (to, mut third) = mpsc::channel(10);
    let stats = within(
        Duration::from_secs(30),
        "the relay",
        relay(to).run(writer_ended),
    )
    .await;
    assert_eq!(stats.relayed, 0);
    assert!(third.recv().await.is_none());
    schema.drop(&db).await.unwrap();
}
