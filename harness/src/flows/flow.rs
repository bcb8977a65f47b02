//! What a flow is to the rest of tickflow: its part of a scenario file, checked, planned, run.
//!
//! A flow owns every section of a scenario file but `[scenario]`, and its `[expect]`, as types in
//! its own folder ([`Sections`]); the registry in `flows/mod.rs` lists each flow once ([`Of`]),
//! and `scenario` reads `[scenario]`, picks the flow named there and hands it the file. What a
//! parsed file then says about its run (services, PostgreSQL, planned size, the run itself) is
//! asked of it as a [`FlowFile`], whichever the flow.

use std::any::Any;
use std::marker::PhantomData;
use std::path::Path;

use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::chaos::{FaultRule, Service};

use crate::verdict::FlowReport;

/// A scenario file as written: its keys and values, nothing defaulted (JSON's numbers hold every
/// integer a flow's types read, past TOML's own).
pub type Written = serde_json::Map<String, serde_json::Value>;

/// What a scenario runs on besides the AWS endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct Infra<'a> {
    /// The id of the LocalStack container tickflow started (an outage fault pauses it).
    pub localstack_container: Option<&'a str>,
    /// The PostgreSQL URL the run stores into (the batch table, the web source's tables).
    pub postgres: Option<&'a str>,
    /// The PostgreSQL container tickflow started: the batch flow measures a plain `psql` `COPY`
    /// in it as the database's ceiling.
    pub postgres_container: Option<&'a str>,
}

/// What a flow's run takes from `[scenario]`, and where the file is (relative paths in it are
/// read from there).
#[derive(Debug, Clone, Copy)]
pub struct RunOf<'a> {
    /// The scenario's name: its resources, reports and run-status subject are named by it.
    pub name: &'a str,
    /// Seeds the generator and the fault injection.
    pub seed: u64,
    /// Too slow for the default `cargo test` (a heavy run also measures its ceiling).
    pub heavy: bool,
    /// The scenario file's directory.
    pub dir: &'a Path,
    /// Keep every event's history (`[scenario] history`).
    pub history: bool,
}

/// The size of a run a file plans, each figure beside its cap: validation promises that every
/// file it accepts plans a bounded run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Planned {
    /// What was planned, by name (`arrivals_secs`, `calls`, `upload_secs`).
    pub figures: Vec<PlannedFigure>,
}

/// One planned figure and its cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedFigure {
    /// What it counts.
    pub what: &'static str,
    /// Its planned value.
    pub value: f64,
    /// The most a run may plan.
    pub cap: f64,
}

impl Planned {
    /// Whether every figure is within its cap.
    pub fn bounded(&self) -> bool {
        self.figures.iter().all(|f| f.value <= f.cap)
    }

    /// The planned value of `what`, when planned.
    pub fn get(&self, what: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| f.what == what)
            .map(|f| f.value)
    }
}

/// A flow as the registry lists it: its name and how its part of a scenario file is read.
pub trait Flow: Sync {
    /// The name a scenario gives it (`flow = "..."`).
    fn name(&self) -> &'static str;
    /// The JSON Schema of the file it reads (`[scenario]` left to `scenario`).
    fn schema(&self) -> schemars::Schema;
    /// Reads its part of the scenario text, strictly: unknown keys and wrong types are errors
    /// with their span.
    ///
    /// # Errors
    /// The first key that does not read.
    fn parse(&self, source: &str) -> Result<Box<dyn FlowFile>, toml::de::Error>;
    /// Whether its runs keep every event's history (`[scenario] history` turns it off).
    fn keeps_history(&self) -> bool;
}

/// A flow's part of a scenario file, as the type that reads it.
pub trait Sections: FlowFile + DeserializeOwned + schemars::JsonSchema + Clone {
    /// Its flow's name.
    const FLOW: &'static str;
    /// Whether its runs keep every event's history.
    const KEEPS_HISTORY: bool = false;
}

/// The registry entry of the flow whose file `S` reads.
pub struct Of<S>(PhantomData<fn() -> S>);

impl<S> Of<S> {
    /// The entry.
    pub const FLOW: Self = Self(PhantomData);
}

impl<S: Sections> Flow for Of<S> {
    fn name(&self) -> &'static str {
        S::FLOW
    }

    fn schema(&self) -> schemars::Schema {
        schemars::schema_for!(S)
    }

    fn parse(&self, source: &str) -> Result<Box<dyn FlowFile>, toml::de::Error> {
        Ok(Box::new(toml::from_str::<S>(source)?))
    }

    fn keeps_history(&self) -> bool {
        S::KEEPS_HISTORY
    }
}

/// What a parsed flow part says about its run, whichever the flow.
pub trait FlowFile: FlowFileObject + std::fmt::Debug + Send + Sync + 'static {
    /// Semantic problems, as (dotted key, message); `written` is the file as written, for
    /// checks on what was given rather than defaulted.
    fn check(&self, written: &Written) -> Vec<(String, String)>;
    /// The AWS services a run calls, for a target's readiness check.
    fn services(&self) -> Vec<Service>;
    /// Whether the run needs PostgreSQL.
    fn needs_postgres(&self) -> bool {
        false
    }
    /// Whether the run pauses LocalStack (an outage fault): it then needs a container of its
    /// own.
    fn pauses_localstack(&self) -> bool {
        false
    }
    /// Whether the run pauses PostgreSQL (a `db_pause` fault): it then needs a server of its
    /// own.
    fn pauses_postgres(&self) -> bool {
        false
    }
    /// Its fault schedule (empty without `[faults]`).
    fn fault_schedule(&self) -> &[FaultRule];
    /// Replaces its fault schedule with `schedule` (a past run's fired faults, for
    /// `--faults-from`, or a part of its own, for `shrink`); when a rule could not fire in this
    /// flow's run, nothing is replaced and the problems are returned as (dotted key, message).
    fn replay_faults(&mut self, schedule: Vec<FaultRule>) -> Vec<(String, String)>;
    /// The size of the run it plans.
    fn planned(&self) -> Planned {
        Planned::default()
    }
    /// Runs it against `clients`' endpoint (and `infra`) and judges it, its `[expect]` included.
    /// The future is boxed: it holds a whole run, and would otherwise sit inline in every
    /// caller's future.
    fn run<'a>(
        &'a self,
        of: RunOf<'a>,
        clients: &'a Clients,
        infra: Infra<'a>,
    ) -> LocalBoxFuture<'a, Result<FlowReport, String>>;
}

/// What every [`FlowFile`] is as a value: named, copied, looked at as its own type.
pub trait FlowFileObject {
    /// Its flow's name.
    fn flow(&self) -> &'static str;
    /// A boxed copy.
    fn boxed(&self) -> Box<dyn FlowFile>;
    /// Itself, to be looked at as its own type.
    fn as_any(&self) -> &dyn Any;
    /// Itself, to be changed as its own type (the shrinker changes a stream file).
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Sections> FlowFileObject for T {
    fn flow(&self) -> &'static str {
        T::FLOW
    }

    fn boxed(&self) -> Box<dyn FlowFile> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
