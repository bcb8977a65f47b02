//! What every end-to-end test needs: the shared LocalStack and clients for it.

use std::future::Future;
use std::time::Duration;

use tickflow_harness::flows::stream::report::StreamReport;
use tickflow_harness::flows::stream::scenario::{Expect, StreamFile};
use tickflow_harness::infra::aws::{self, Target};
use tickflow_harness::infra::localstack::shared::{shared, SharedLocalStack};
use tickflow_pipeline::aws::Clients;

/// The test binary's LocalStack; panics with the start-up error, which says how to provide one.
pub fn localstack() -> &'static SharedLocalStack {
    match shared() {
        Ok(ls) => ls,
        Err(e) => panic!("end-to-end tests need LocalStack: {e}"),
    }
}

/// SDK clients for the shared LocalStack, bound to the calling test's runtime.
pub async fn clients() -> Clients {
    aws::clients(&Target::Endpoint(localstack().endpoint.clone())).await
}

/// Every wait in a test is bounded.
pub async fn within<T>(limit: Duration, what: &str, work: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?}: {what}"))
}

/// Writes `body` at `key` (a test setting up or breaking what a run left).
pub async fn put(clients: &Clients, bucket: &str, key: &str, body: Vec<u8>) {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

/// Deletes the object at `key`.
pub async fn delete(clients: &Clients, bucket: &str, key: &str) {
    clients
        .s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
}

/// Runs `config` end to end (within five minutes) and returns its report.
pub async fn run(
    clients: &Clients,
    config: &tickflow_harness::flows::stream::driver::StreamRunConfig,
) -> StreamReport {
    within(
        Duration::from_secs(300),
        &config.name,
        tickflow_harness::flows::stream::driver::run(clients, config),
    )
    .await
    .unwrap()
}

/// The checks a run failed, by name, in the verdict's order.
pub fn failed_checks(report: &StreamReport) -> Vec<&str> {
    report
        .judged
        .verdict
        .failures()
        .iter()
        .map(|f| f.check.as_str())
        .collect()
}

/// One receive of up to ten of `queue`'s messages, waiting a second, each hidden for `hide`
/// seconds (the queue's own visibility timeout when `None`).
pub async fn receive(
    clients: &Clients,
    queue: &str,
    hide: Option<i32>,
) -> Vec<aws_sdk_sqs::types::Message> {
    let out = clients
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .set_visibility_timeout(hide)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    out.messages.unwrap_or_default()
}

/// Deletes every message of `queue`.
pub async fn empty_queue(clients: &Clients, queue: &str) {
    loop {
        let messages = receive(clients, queue, None).await;
        if messages.is_empty() {
            return;
        }
        for m in messages {
            clients
                .sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Leaves a message on `queue`, as a stage that did not drain it would.
pub async fn leave_message(clients: &Clients, queue: &str) {
    clients
        .sqs
        .send_message()
        .queue_url(queue)
        .message_body("left behind")
        .send()
        .await
        .unwrap();
}

/// Purges `queue`.
pub async fn purge(clients: &Clients, queue: &str) {
    clients
        .sqs
        .purge_queue()
        .queue_url(queue)
        .send()
        .await
        .unwrap();
}

/// `http://127.0.0.1:<port>` for a port nothing listens on (bound, then let go).
pub fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// A stream scenario's `[expect]`, read from its text.
pub fn stream_expect(name: &str, text: &str) -> Expect {
    let file = tickflow_harness::scenario::parse(name, text).unwrap();
    let stream: &StreamFile = file.get().expect("a stream scenario");
    stream.expect.clone()
}
