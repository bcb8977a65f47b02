//! Faults carried out on real SDK calls, below the SDK.
//!
//! Carrying out the schedule on real SDK calls: an interceptor decides, for each attempt, which
//! fault (if any) it gets and tags the request; a wrapper around the SDK's HTTP client acts on
//! the tag (answers instead of the service, holds the call, or sends it and loses the answer).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_kinesis::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_kinesis::error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::result::ConnectorError;

use super::decide::{Chaos, Injection};
use super::reply;
use super::rule::{FaultKind, Service};

/// Decides each attempt's fault for one service's client and tags the request with it.
#[derive(Debug, Clone)]
pub struct FaultInterceptor {
    service: Service,
    chaos: Arc<Chaos>,
}

impl FaultInterceptor {
    /// The interceptor for `service`'s client.
    pub fn new(service: Service, chaos: Arc<Chaos>) -> Self {
        Self { service, chaos }
    }
}

impl Intercept for FaultInterceptor {
    fn name(&self) -> &'static str {
        "tickflow-fault-schedule"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name);
        if let Some(injection) = self.chaos.on_call(self.service, operation) {
            context.request_mut().add_extension(injection);
        }
        Ok(())
    }
}

/// The SDK's HTTP client with faults: acts on the tag [`FaultInterceptor`] put on a request,
/// passes every other request through untouched.
#[derive(Debug, Clone)]
pub struct FaultyHttpClient {
    inner: SharedHttpClient,
}

impl FaultyHttpClient {
    /// Wraps `inner`, the client the SDK would use otherwise.
    pub fn new(inner: SharedHttpClient) -> Self {
        Self { inner }
    }
}

impl HttpClient for FaultyHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(injection) = request.extension::<Injection>().copied() else {
            return self.inner.call(request);
        };
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move { carry_out(injection, inner, request).await })
    }
}

async fn carry_out(
    injection: Injection,
    inner: SharedHttpConnector,
    request: HttpRequest,
) -> Result<aws_smithy_runtime_api::client::orchestrator::HttpResponse, ConnectorError> {
    let hold = Duration::from_millis(injection.latency_ms);
    match injection.kind {
        FaultKind::Latency => {
            tokio::time::sleep(hold).await;
            inner.call(request).await
        }
        FaultKind::Timeout => {
            tokio::time::sleep(hold).await;
            Err(ConnectorError::timeout(
                "no answer: the call timed out (injected by tickflow)".into(),
            ))
        }
        FaultKind::Reset => {
            // The request arrives and takes effect; only its answer is lost.
            let _ = inner.call(request).await;
            Err(ConnectorError::io(
                "connection reset by peer after the request was sent (injected by tickflow)".into(),
            ))
        }
        kind => reply::answer(kind, injection.service).ok_or_else(|| {
            ConnectorError::other(format!("fault {kind:?} has no HTTP form").into(), None)
        }),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::error::ProvideErrorMetadata;

    use super::*;
    use crate::aws::Clients;
    use crate::chaos::FaultRule;

    fn always(kind: FaultKind, service: Service) -> FaultRule {
        FaultRule {
            service: Some(service),
            ratio: 1.0,
            ..FaultRule::new(kind)
        }
    }

    #[tokio::test]
    async fn injected_answers_parse_as_each_service_s_own_errors() {
        for (kind, expected) in [
            (
                FaultKind::Throttle,
                [
                    "ProvisionedThroughputExceededException",
                    "RequestThrottled",
                    "SlowDown",
                    "Throttling",
                    "ServiceUnavailableException",
                ],
            ),
            (FaultKind::ServerError, ["InternalError"; 5]),
        ] {
            let services = [
                Service::Kinesis,
                Service::Sqs,
                Service::S3,
                Service::Sns,
                Service::Firehose,
            ];
            let rules = services.map(|s| always(kind, s)).to_vec();
            let chaos = Arc::new(Chaos::new(1, rules));
            let clients = Clients::unreachable().await.with_chaos(chaos.clone());
            let kinesis = clients
                .kinesis
                .list_shards()
                .stream_name("s")
                .send()
                .await
                .unwrap_err();
            let sqs = clients
                .sqs
                .receive_message()
                .queue_url("http://127.0.0.1:9/0/q")
                .send()
                .await
                .unwrap_err();
            let s3 = clients
                .s3
                .put_object()
                .bucket("b")
                .key("k")
                .send()
                .await
                .unwrap_err();
            let sns = clients
                .sns
                .publish()
                .topic_arn("arn:aws:sns:us-east-1:0:t")
                .message("m")
                .send()
                .await
                .unwrap_err();
            let firehose = clients
                .firehose
                .put_record_batch()
                .delivery_stream_name("d")
                .send()
                .await
                .unwrap_err();
            let codes = [
                kinesis.code(),
                sqs.code(),
                s3.code(),
                sns.code(),
                firehose.code(),
            ];
            assert_eq!(codes, expected.map(Some), "{kind:?}");
            let fired: Vec<String> = chaos.fired().iter().map(|f| f.target()).collect();
            assert_eq!(
                fired,
                [
                    "kinesis ListShards #1",
                    "sqs ReceiveMessage #1",
                    "s3 PutObject #1",
                    "sns Publish #1",
                    "firehose PutRecordBatch #1"
                ]
            );
        }
    }

    #[tokio::test]
    async fn an_expired_iterator_is_the_kinesis_error_the_bridge_knows() {
        let chaos = Arc::new(Chaos::new(
            1,
            vec![always(FaultKind::ExpiredIterator, Service::Kinesis)],
        ));
        let clients = Clients::unreachable().await.with_chaos(chaos);
        let error = clients
            .kinesis
            .get_records()
            .shard_iterator("i")
            .send()
            .await
            .unwrap_err();
        assert!(
            error
                .as_service_error()
                .is_some_and(|e| e.is_expired_iterator_exception()),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn timeouts_hold_the_call_then_fail_it_without_sending() {
        let chaos = Arc::new(Chaos::new(
            1,
            vec![FaultRule {
                latency_ms: 200,
                ..always(FaultKind::Timeout, Service::S3)
            }],
        ));
        let clients = Clients::unreachable().await.with_chaos(chaos);
        let started = std::time::Instant::now();
        let error = clients
            .s3
            .get_object()
            .bucket("b")
            .key("k")
            .send()
            .await
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(
            format!("{:?}", error).contains("timed out (injected by tickflow)"),
            "{error:?}"
        );
        // A healthy call to the same place is refused by the network instead.
        let healthy = Clients::unreachable()
            .await
            .s3
            .get_object()
            .bucket("b")
            .key("k")
            .send()
            .await
            .unwrap_err();
        assert!(!format!("{healthy:?}").contains("tickflow"), "{healthy:?}");
    }
}
