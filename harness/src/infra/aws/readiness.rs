//! Whether an endpoint that is not LocalStack can serve a run.
//!
//! Whether an AWS-compatible endpoint that is not LocalStack can serve a run: one cheap call per
//! service the run needs (a list call, which needs no resource), each bounded in time and each
//! failure naming its service and operation. LocalStack says so in its health endpoint; moto and
//! the other emulators do not, so a call is the only check every one of them answers.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tickflow_pipeline::aws::{AwsError, Clients};
pub use tickflow_pipeline::chaos::Service;

use crate::error::{Error, Result};

/// How long one readiness call may take, retries included.
pub const CALL_LIMIT: Duration = Duration::from_secs(20);

/// One service that answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    /// The service.
    pub service: Service,
    /// The call it answered.
    pub operation: &'static str,
    /// How long the answer took.
    pub latency: Duration,
}

/// The call that proves `service` answers.
pub fn operation(service: Service) -> &'static str {
    match service {
        Service::Kinesis => "ListStreams",
        Service::Sqs => "ListQueues",
        Service::S3 => "ListBuckets",
        Service::Sns => "ListTopics",
        Service::Firehose => "ListDeliveryStreams",
    }
}

/// Calls each of `services` once at `endpoint` (named in errors), in order.
///
/// # Errors
/// [`Error::ServiceNotReady`] for the first service whose call fails or takes longer than
/// `limit`.
pub async fn check(
    clients: &Clients,
    endpoint: &str,
    services: &[Service],
    limit: Duration,
) -> Result<Vec<Ready>> {
    let mut ready = Vec::with_capacity(services.len());
    for &service in services {
        let started = Instant::now();
        let not_ready = |reason: String| Error::ServiceNotReady {
            endpoint: endpoint.to_string(),
            service: service.name(),
            operation: operation(service),
            reason,
        };
        match tokio::time::timeout(limit, call(clients, service)).await {
            Ok(Ok(())) => ready.push(Ready {
                service,
                operation: operation(service),
                latency: started.elapsed(),
            }),
            Ok(Err(e)) => return Err(not_ready(e.message)),
            Err(_) => return Err(not_ready(format!("no answer within {limit:?}"))),
        }
    }
    Ok(ready)
}

/// `kinesis 3 ms, sqs 2 ms, ...`: what answered, for a header.
pub fn summary(ready: &[Ready]) -> String {
    ready
        .iter()
        .map(|r| {
            format!(
                "{} {:.0} ms",
                r.service.name(),
                r.latency.as_secs_f64() * 1e3
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

type Call<'a> = Pin<Box<dyn Future<Output = std::result::Result<(), AwsError>> + Send + 'a>>;

/// The readiness call of `service` (boxed: the SDK's futures are large, and differ).
fn call(clients: &Clients, service: Service) -> Call<'_> {
    let op = operation(service);
    let name = service.name();
    match service {
        Service::Kinesis => Box::pin(async move {
            let sent = clients.kinesis.list_streams().limit(1).send().await;
            sent.map(drop).map_err(AwsError::of(name, op))
        }),
        Service::Sqs => Box::pin(async move {
            let sent = clients.sqs.list_queues().max_results(1).send().await;
            sent.map(drop).map_err(AwsError::of(name, op))
        }),
        Service::S3 => Box::pin(async move {
            let sent = clients.s3.list_buckets().send().await;
            sent.map(drop).map_err(AwsError::of(name, op))
        }),
        Service::Sns => Box::pin(async move {
            let sent = clients.sns.list_topics().send().await;
            sent.map(drop).map_err(AwsError::of(name, op))
        }),
        Service::Firehose => Box::pin(async move {
            let sent = clients
                .firehose
                .list_delivery_streams()
                .limit(1)
                .send()
                .await;
            sent.map(drop).map_err(AwsError::of(name, op))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_service_and_its_time() {
        let ready = [
            Ready {
                service: Service::Kinesis,
                operation: "ListStreams",
                latency: Duration::from_millis(3),
            },
            Ready {
                service: Service::S3,
                operation: "ListBuckets",
                latency: Duration::from_micros(1_600),
            },
        ];
        assert_eq!(summary(&ready), "kinesis 3 ms, s3 2 ms");
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_naming_the_service_and_call_within_the_limit() {
        // A port nothing listens on: bind one, then drop the listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let clients =
            super::super::clients(&super::super::Target::Endpoint(endpoint.clone())).await;
        let started = Instant::now();
        let error = check(
            &clients,
            &endpoint,
            &[Service::Sqs, Service::S3],
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        let text = error.to_string();
        assert!(
            text.contains("sqs") && text.contains("ListQueues") && text.contains(&endpoint),
            "{text}"
        );
    }
}
