//! The error answers a faulty call gets, in its service's own protocol.
//!
//! The error answers a faulty call gets, each in its service's own protocol so that the SDK
//! parses and classifies it as it would the real one (throttling, server error, expired
//! iterator).

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::rule::{FaultKind, Service};

/// The HTTP answer for a fault that the service itself would have given; `None` for kinds that
/// are not answers (timeouts, resets, latency).
pub(super) fn answer(kind: FaultKind, service: Service) -> Option<HttpResponse> {
    let (status, code, message) = match (kind, service) {
        (FaultKind::Throttle, Service::Kinesis) => (
            400,
            "ProvisionedThroughputExceededException",
            "Rate exceeded for shard (injected by tickflow)",
        ),
        (FaultKind::Throttle, Service::Sqs) => (
            400,
            "RequestThrottled",
            "Request is throttled (injected by tickflow)",
        ),
        (FaultKind::Throttle, Service::S3) => (
            503,
            "SlowDown",
            "Please reduce your request rate (injected by tickflow)",
        ),
        (FaultKind::Throttle, Service::Sns) => {
            (400, "Throttling", "Rate exceeded (injected by tickflow)")
        }
        (FaultKind::Throttle, Service::Firehose) => (
            503,
            "ServiceUnavailableException",
            "Slow down (injected by tickflow)",
        ),
        (FaultKind::ServerError, _) => (
            500,
            "InternalError",
            "We encountered an internal error (injected by tickflow)",
        ),
        (FaultKind::ExpiredIterator, _) => (
            400,
            "ExpiredIteratorException",
            "Iterator expired (injected by tickflow)",
        ),
        _ => return None,
    };
    let (content_type, body) = match service {
        Service::Kinesis | Service::Sqs => (
            "application/x-amz-json-1.0",
            format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
        ),
        Service::Firehose => (
            "application/x-amz-json-1.1",
            format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
        ),
        Service::S3 => (
            "application/xml",
            format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>tickflow</RequestId></Error>"),
        ),
        Service::Sns => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>tickflow</RequestId></ErrorResponse>",
                if status >= 500 { "Receiver" } else { "Sender" }
            ),
        ),
    };
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid status"),
        SdkBody::from(body),
    );
    response.headers_mut().insert("content-type", content_type);
    if matches!(service, Service::Kinesis | Service::Sqs | Service::Firehose) {
        response.headers_mut().insert("x-amzn-errortype", code);
        if service == Service::Sqs {
            // SQS speaks JSON but keeps its query-protocol error codes in this header.
            response
                .headers_mut()
                .insert("x-amzn-query-error", format!("{code};Sender"));
        }
    }
    Some(response)
}
