//! Every AWS call attempt counted per service, with its errors and throttles.
//!
//! Counting every AWS call attempt per service, with errors and throttles: an SDK interceptor
//! on each client, so the pipeline's calls, the SDK's own retries and the harness's calls are
//! all seen, without touching any call site.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_kinesis::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_kinesis::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_kinesis::error::BoxError;
use serde::Serialize;

/// The services counted, in report order.
pub const SERVICES: [&str; 5] = ["kinesis", "sqs", "s3", "sns", "firehose"];

/// Attempts, failures and throttles of one service.
#[derive(Debug, Default)]
pub struct ServiceCalls {
    calls: AtomicU64,
    errors: AtomicU64,
    throttles: AtomicU64,
}

/// Counters for every service; shared by the clients that feed them.
#[derive(Debug, Default)]
pub struct CallStats {
    services: [ServiceCalls; SERVICES.len()],
}

/// A copy of one service's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    /// Attempts made (retries included).
    pub calls: u64,
    /// Attempts that failed: an HTTP status of 400 or more, or no response at all.
    pub errors: u64,
    /// Of those, throttled ones (HTTP 429, or a throttling error code).
    pub throttles: u64,
}

impl CallStats {
    /// Service name -> counts.
    pub fn snapshot(&self) -> Vec<(&'static str, CallCounts)> {
        SERVICES
            .iter()
            .zip(&self.services)
            .map(|(name, s)| {
                let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
                (
                    *name,
                    CallCounts {
                        calls: get(&s.calls),
                        errors: get(&s.errors),
                        throttles: get(&s.throttles),
                    },
                )
            })
            .collect()
    }
}

/// The interceptor counting one service's attempts.
#[derive(Debug, Clone)]
pub struct CallCounter {
    index: usize,
    stats: Arc<CallStats>,
}

impl CallCounter {
    /// A counter for `service` (one of [`SERVICES`]) feeding `stats`.
    pub fn new(service: &str, stats: Arc<CallStats>) -> Self {
        let index = SERVICES
            .iter()
            .position(|s| *s == service)
            .expect("a known service");
        Self { index, stats }
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "tickflow-call-counter"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let counters = &self.stats.services[self.index];
        counters.calls.fetch_add(1, Ordering::Relaxed);
        let (failed, throttled) = match context.response() {
            None => (true, false),
            Some(response) => {
                let status = response.status().as_u16();
                let body = response.body().bytes().unwrap_or_default();
                let throttled = status == 429
                    || (status >= 400 && contains(body, b"Throttl"))
                    || (status >= 400 && contains(body, b"ProvisionedThroughputExceeded"))
                    || (status == 503 && contains(body, b"SlowDown"))
                    || (status == 503 && contains(body, b"ServiceUnavailableException"));
                (status >= 400, throttled)
            }
        };
        if failed {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        if throttled {
            counters.throttles.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
