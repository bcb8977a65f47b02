//! The run's output object, uploaded in parts as it is produced.
//!
//! The run's output object, written while it is produced: a multipart upload of 8 MiB parts, so
//! that no run holds its whole output in memory. Completed only when the run succeeds; aborted
//! otherwise.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::error::BatchError;
use crate::aws::{AwsError, Clients};

/// Bytes per part (S3 wants at least 5 MiB for every part but the last).
const PART: usize = 8 * 1024 * 1024;

/// An output object being written.
pub struct OutputUpload {
    clients: Clients,
    bucket: String,
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
    buffer: Vec<u8>,
}

impl OutputUpload {
    /// Starts the upload of `key` in `bucket`.
    ///
    /// # Errors
    /// `CreateMultipartUpload` failing.
    pub async fn start(clients: &Clients, bucket: &str, key: &str) -> Result<Self, BatchError> {
        let out = clients
            .s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type("text/csv")
            .send()
            .await
            .map_err(AwsError::of("s3", "CreateMultipartUpload"))?;
        Ok(Self {
            clients: clients.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: out.upload_id.unwrap_or_default(),
            parts: Vec::new(),
            buffer: Vec::with_capacity(PART),
        })
    }

    /// Appends `bytes`, uploading a part whenever one is full.
    ///
    /// # Errors
    /// `UploadPart` failing.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BatchError> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= PART {
            self.upload_part().await?;
        }
        Ok(())
    }

    /// Uploads what is left and completes the object.
    ///
    /// # Errors
    /// `UploadPart` or `CompleteMultipartUpload` failing.
    pub async fn finish(mut self) -> Result<(), BatchError> {
        if !self.buffer.is_empty() || self.parts.is_empty() {
            self.upload_part().await?;
        }
        self.clients
            .s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await
            .map_err(AwsError::of("s3", "CompleteMultipartUpload"))?;
        Ok(())
    }

    /// Drops the upload (best effort: S3 lifecycle rules clean up what this misses).
    pub async fn abort(self) {
        let aborted = self
            .clients
            .s3
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
        if let Err(e) = aborted {
            tracing::warn!(error = %AwsError::of("s3", "AbortMultipartUpload")(e), "output upload not aborted");
        }
    }

    async fn upload_part(&mut self) -> Result<(), BatchError> {
        let number = self.parts.len() as i32 + 1;
        let body = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART));
        let out = self
            .clients
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(body.into())
            .send()
            .await
            .map_err(AwsError::of("s3", "UploadPart"))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build(),
        );
        Ok(())
    }
}
