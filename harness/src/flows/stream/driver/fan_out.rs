//! The sinks beside the lake, read back once for the history and their own reconciliation.
//!
//! The raw consumer and the Firehose consumer read the stream beside the bridge: what their
//! sinks hold tells every event's history first, then is reconciled with the ledger.

use std::collections::HashMap;

use tickflow_pipeline::aws::Clients;

use crate::error::Result;
use crate::flows::stream::judge::history::{self, Recorder};
use crate::flows::stream::judge::reconcile::Ledger;
use crate::flows::stream::judge::sinks::{self, Forwarded, SinkRead};
use crate::flows::stream::report::{StageStats, StreamReport};
use crate::flows::stream::resources::topology::Provisioned;
use crate::flows::stream::settings::{Consumer, PipelineSettings};
use crate::verdict::Digest;

/// What the sinks beside the lake held once the stages stopped.
#[derive(Debug, Default)]
pub struct SinkReads {
    raw: Option<SinkRead>,
    firehose: Option<(SinkRead, Forwarded)>,
}

impl SinkReads {
    /// Reads back the sinks `pipeline` has: the raw consumer's objects, and Firehose's (waiting
    /// for its last ones, from the `figures` of its calls and the records it left
    /// unacknowledged when it crashed, `redelivered`).
    ///
    /// # Errors
    /// A failing S3 call.
    pub async fn read(
        clients: &Clients,
        pipeline: &PipelineSettings,
        provisioned: &Provisioned,
        figures: &StageStats,
        redelivered: HashMap<Digest, u32>,
    ) -> Result<Self> {
        let bucket = &provisioned.resources.state_bucket;
        let mut reads = Self::default();
        if pipeline.has(Consumer::Raw) {
            reads.raw = Some(sinks::read_raw(clients, bucket).await?);
        }
        if pipeline.has(Consumer::Firehose) {
            let forwarded = Forwarded {
                calls: figures.fan_out.firehose_calls,
                redelivered,
                buffer_secs: pipeline.firehose_buffer_secs.max(0) as u64,
            };
            let read = sinks::read_firehose(clients, bucket, &forwarded).await?;
            reads.firehose = Some((read, forwarded));
        }
        Ok(reads)
    }

    /// Tells `history` what each sink stored of what the `ledger` sent.
    pub fn tell(&self, history: &Recorder, ledger: &Ledger) {
        if let Some(read) = &self.raw {
            history.stored(history::RAW, read.lines(), ledger);
        }
        if let Some((read, _)) = &self.firehose {
            history.stored(history::FIREHOSE, read.lines(), ledger);
        }
    }

    /// With more sinks than the lake: each compared in `report` (the lake's figures from its
    /// listing), the raw and Firehose ones reconciled with the `ledger`.
    ///
    /// # Errors
    /// A failing S3 call.
    pub async fn judge(
        self,
        clients: &Clients,
        provisioned: &Provisioned,
        report: &mut StreamReport,
        ledger: &Ledger,
    ) -> Result<()> {
        if self.raw.is_none() && self.firehose.is_none() {
            return Ok(());
        }
        let res = &provisioned.resources;
        let reconciled = &report.judged.reconciliation;
        let mut reports =
            vec![sinks::lake(clients, &res.bucket, reconciled, report.stats.objects).await?];
        let mut failures = Vec::new();
        if let Some(read) = &self.raw {
            let (raw, failed) = sinks::raw(read, ledger, report.stats.fan_out.raw_objects);
            reports.push(raw);
            failures.extend(failed);
        }
        if let Some((read, forwarded)) = &self.firehose {
            let (firehose, failed) =
                sinks::firehose(clients, &res.state_bucket, ledger, forwarded, read).await?;
            reports.push(firehose);
            failures.extend(failed);
        }
        report.judged.verdict.add_failures(failures);
        report.sinks = reports;
        Ok(())
    }
}
