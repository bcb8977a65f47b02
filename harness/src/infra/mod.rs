//! Layer 1, infrastructure: where a run's AWS and PostgreSQL come from, and what runs build on.
//!
//! - [`aws`]: where endpoint, region and credentials are decided, and readiness;
//! - [`localstack`]: LocalStack started with testcontainers (or `AWS_ENDPOINT_URL`), shared per
//!   test binary, paused for outages, stale containers swept;
//! - [`postgres`]: PostgreSQL started the same way (or `TICKFLOW_POSTGRES_URL`);
//! - [`topology`]: queues, buckets, topics and S3 notifications every flow's topology is built
//!   from, and deletion that names what it left;
//! - [`alarms`]: a run's CloudWatch alarms, their topic and its queue, their state history.

pub mod alarms;
pub mod aws;
pub mod localstack;
pub mod postgres;
pub mod topology;
