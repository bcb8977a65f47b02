//! The Firehose delivery stream the `firehose` consumer forwards to.
//!
//! The Firehose delivery stream the `firehose` consumer forwards to: DirectPut, an S3
//! destination under `firehose/` in the state bucket, created with the run and deleted with it.

use std::time::Duration;

use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamStatus, DeliveryStreamType,
    ExtendedS3DestinationConfiguration,
};
use tickflow_pipeline::aws::{AwsError, Clients};

use crate::error::{Error, Result};
use crate::runtime::wait;

/// Where Firehose writes the consumer's objects, in the state bucket.
pub const FIREHOSE_PREFIX: &str = "firehose/";
/// Where Firehose writes records it could not deliver.
pub const FIREHOSE_ERROR_PREFIX: &str = "firehose-errors/";
/// The role Firehose assumes to write to S3 (AWS needs a real one; emulators take any ARN).
pub const ENV_ROLE_ARN: &str = "TICKFLOW_FIREHOSE_ROLE_ARN";
/// The role ARN when [`ENV_ROLE_ARN`] is not set: an emulator's default account.
const DEFAULT_ROLE_ARN: &str = "arn:aws:iam::000000000000:role/tickflow-firehose";

/// Firehose's buffering hints: it writes an object when either is reached (AWS does; LocalStack
/// and moto write one object per call and ignore them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Buffering {
    /// Megabytes, 1 to 128.
    pub size_mb: i32,
    /// Seconds, 0 to 900.
    pub interval_secs: i32,
}

/// Creates delivery stream `name` writing to `bucket`, or finds it there; waits until it is
/// ACTIVE.
///
/// # Errors
/// A Firehose call that fails, or a stream that does not become ACTIVE within a minute.
pub async fn ensure(
    clients: &Clients,
    name: &str,
    bucket: &str,
    buffering: Buffering,
) -> Result<()> {
    let role = std::env::var(ENV_ROLE_ARN).unwrap_or_else(|_| DEFAULT_ROLE_ARN.into());
    let destination = ExtendedS3DestinationConfiguration::builder()
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .role_arn(role)
        .prefix(FIREHOSE_PREFIX)
        .error_output_prefix(FIREHOSE_ERROR_PREFIX)
        // Said although it is the default: LocalStack describes the stream with what it was
        // given, and the SDK cannot read a description without it.
        .compression_format(CompressionFormat::Uncompressed)
        .buffering_hints(
            BufferingHints::builder()
                .size_in_mbs(buffering.size_mb)
                .interval_in_seconds(buffering.interval_secs)
                .build(),
        )
        .build()
        .map_err(|e| Error::Input(format!("firehose destination: {e}")))?;
    let created = clients
        .firehose
        .create_delivery_stream()
        .delivery_stream_name(name)
        .delivery_stream_type(DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(destination)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(AwsError::of("firehose", "CreateDeliveryStream")(e).into()),
    }
    wait_active(clients, name).await
}

async fn wait_active(clients: &Clients, name: &str) -> Result<()> {
    let what = || format!("Firehose delivery stream {name} to become ACTIVE");
    let every = Duration::from_millis(200);
    wait::until(what, Duration::from_secs(60), every, || async {
        let out = clients
            .firehose
            .describe_delivery_stream()
            .delivery_stream_name(name)
            .send()
            .await
            .map_err(AwsError::of("firehose", "DescribeDeliveryStream"))?;
        Ok(out
            .delivery_stream_description()
            .is_some_and(|d| d.delivery_stream_status() == &DeliveryStreamStatus::Active))
    })
    .await
}

/// Deletes delivery stream `name`; one already gone is fine.
///
/// # Errors
/// The deletion failing for another reason, as the line teardown reports.
pub async fn delete(clients: &Clients, name: &str) -> std::result::Result<(), String> {
    match clients
        .firehose
        .delete_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::of("firehose", "DeleteDeliveryStream")(e).to_string()),
    }
}
