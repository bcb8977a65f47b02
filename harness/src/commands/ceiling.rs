//! The target's raw capacity, measured with tight loops of calls.
//!
//! LocalStack's own ceiling on this machine: tight loops of `PutRecords`, `SendMessageBatch`
//! and `PutObject` from the same SDK the pipeline uses, and `PutObject` with its S3
//! notification received (the price-file flow's unit of work), to compare the pipelines against.

use std::fmt::Write as _;
use std::time::Duration;

use tickflow_pipeline::aws::Clients;

use crate::error::Result;
use crate::flows::stream::resources::topology::{Provisioned, Topology};
use crate::flows::{price_files, stream};
use crate::verdict::Measurement;

/// A rough rate of PutObject-plus-notification on LocalStack, to size that row to the budget.
const NOTIFIED_PUTS_PER_SEC: f64 = 200.0;

/// Runs each loop for about `budget`, against a throwaway topology.
///
/// # Errors
/// A failing AWS call.
pub async fn measure(clients: &Clients, budget: Duration) -> Result<Vec<Measurement>> {
    let topology = Topology::new();
    let p = topology.provision(clients).await?;
    let result = measure_all(clients, &p, budget).await;
    topology.teardown(clients, &p).await?;
    result
}

async fn measure_all(
    clients: &Clients,
    p: &Provisioned,
    budget: Duration,
) -> Result<Vec<Measurement>> {
    let mut out = stream::ceiling::measure(clients, p, budget).await?;
    // What the price-file flow is compared with; counted in objects (each waits for its
    // notification), about as many as the other loops' budget allows.
    let objects = (budget.as_secs_f64() * NOTIFIED_PUTS_PER_SEC).clamp(100.0, 10_000.0) as u64;
    out.push(price_files::ceiling::notified_puts(clients, objects, 16).await?);
    Ok(out)
}

/// The measurements as a table.
pub fn render(measurements: &[Measurement]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<40} {:>7} {:>10} {:>10} {:>9}",
        "OPERATION", "CALLS", "ITEMS/S", "MB/S", "MS/CALL"
    );
    for m in measurements {
        let _ = writeln!(
            out,
            "{:<40} {:>7} {:>10.0} {:>10.2} {:>9.1}",
            m.operation,
            m.calls,
            m.items_per_sec(),
            m.bytes as f64 / 1e6 / m.seconds.max(1e-9),
            m.ms_per_call()
        );
    }
    out
}
