//! PostgreSQL's own `COPY` speed, measured beside a batch run.
//!
//! The database's own ceiling for the batch load, measured beside the run: a plain
//! `COPY ... FROM STDIN` of the run's output CSV through `psql` inside the PostgreSQL container
//! tickflow started (the object streams from S3 into `psql`'s standard input), into a scratch
//! table of the run's schema.

use std::time::Instant;

use serde::Serialize;
use testcontainers::bollard::exec::{CreateExecOptions, StartExecResults};
use testcontainers::bollard::Docker;
use tickflow_pipeline::aws::{AwsError, Clients};
use tickflow_pipeline::batch::layout::TABLE;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::infra::postgres::{DATABASE, USER};

/// A plain `psql` `COPY` of the same rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Ceiling {
    /// Rows `psql` copied.
    pub rows: u64,
    /// Seconds from the first byte to `psql`'s answer.
    pub secs: f64,
}

impl Ceiling {
    /// Rows per second.
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.secs.max(1e-9)
    }
}

/// Copies `s3://bucket/key` into `schema.ceiling` with `psql` in `container`.
///
/// # Errors
/// The engine refusing the exec, the object unreadable, or `psql` failing (with its output).
pub async fn psql_copy(
    container: &str,
    schema: &str,
    clients: &Clients,
    bucket: &str,
    key: &str,
) -> Result<Ceiling> {
    let docker = Docker::connect_with_defaults().map_err(|e| Error::Engine {
        reason: e.to_string(),
    })?;
    let engine =
        |e: testcontainers::bollard::errors::Error| Error::Container(format!("psql ceiling: {e}"));
    let create = format!("CREATE TABLE {schema}.ceiling (LIKE {schema}.{TABLE})");
    let copy = format!("COPY {schema}.ceiling FROM STDIN WITH (FORMAT csv, HEADER true)");
    let cmd = [
        "psql",
        "-U",
        USER,
        "-d",
        DATABASE,
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        &create,
        "-c",
        &copy,
    ];
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            },
        )
        .await
        .map_err(engine)?;
    let mut object = clients.open_object(bucket, key).await?;
    let started = Instant::now();
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = docker.start_exec(&exec.id, None).await.map_err(engine)?
    else {
        return Err(Error::Container(
            "psql ceiling: the exec did not attach".into(),
        ));
    };
    let said = tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut text = String::new();
        while let Some(Ok(chunk)) = output.next().await {
            text.push_str(&chunk.to_string());
        }
        text
    });
    while let Some(chunk) = object.body.next().await {
        let chunk = chunk.map_err(AwsError::of("s3", "GetObject"))?;
        input
            .write_all(&chunk)
            .await
            .map_err(|e| Error::Container(format!("psql ceiling: {e}")))?;
    }
    input
        .shutdown()
        .await
        .map_err(|e| Error::Container(format!("psql ceiling: {e}")))?;
    let text = said.await.unwrap_or_default();
    let secs = started.elapsed().as_secs_f64();
    let rows = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("COPY "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| Error::Container(format!("psql ceiling: psql said {:?}", text.trim())))?;
    Ok(Ceiling { rows, secs })
}
