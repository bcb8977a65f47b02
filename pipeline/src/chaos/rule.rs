//! One line of a fault schedule: what goes wrong, where, and when.
//!
//! One line of a fault schedule, as a scenario's `[[faults.schedule]]` declares it: what goes
//! wrong (the kind), where (a service and operation, or a stage), and when (call indices, a
//! seeded share of calls, a pass through a crash point, or a moment of the run).

use serde::{Deserialize, Serialize};

/// What goes wrong.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The service refuses the call as throttled (Kinesis `ProvisionedThroughputExceeded`, SQS
    /// `RequestThrottled`, S3 `SlowDown` 503, SNS `Throttling`); the request never arrives.
    Throttle,
    /// HTTP 500 (`InternalError`); the request never arrives.
    ServerError,
    /// No answer: the call times out after `latency_ms`; the request never arrives.
    Timeout,
    /// The connection drops after the request arrived: the call took effect, its answer is
    /// lost, so the caller retries something already done.
    Reset,
    /// The call is held `latency_ms` before it is sent.
    Latency,
    /// Kinesis `GetRecords` answers `ExpiredIteratorException`.
    ExpiredIterator,
    /// A stage dies at its crash point (the processor after its lake write and before the
    /// delete, the bridge after `SendMessageBatch` and before its checkpoint, the producer
    /// after `PutRecords` and before it takes the answer) and is restarted from durable state.
    Crash,
    /// The LocalStack container is paused `for_secs`, `after_secs` into the run (only a
    /// container tickflow started).
    Outage,
    /// The stream's first open shard is split in two, `after_secs` into the run.
    SplitShard,
    /// PostgreSQL ends a connection (`pg_terminate_backend`): the batch loader's running `COPY`
    /// on the `COPY`s listed in `at` (1-based, counted over the run), or, `after_secs` into the
    /// run, every connection of the flow's database writer (the batch loader, the web source's
    /// writer).
    DbTerminate,
    /// The PostgreSQL container is paused `for_secs` (only a container tickflow started):
    /// while the loader's `COPY`s listed in `at` run, or from `after_secs` into the run.
    DbPause,
    /// A lock on the flow's tables (`LOCK TABLE ... IN ACCESS EXCLUSIVE MODE`) is held
    /// `for_secs`, from `after_secs` into the run: the batch table, or the web source's tables.
    DbLock,
    /// A message the stage received from its queue for the first time is delivered again: a
    /// copy of it is sent back to the queue (the at-least-once delivery SQS and S3
    /// notifications document). On the stage's first deliveries listed in `at` (1-based,
    /// counted over the run) or a seeded `ratio` of them.
    Duplicate,
    /// A message the stage received for the first time is hidden `for_secs` and handled only
    /// when it comes back (a late delivery): on the first deliveries listed in `at` or a seeded
    /// `ratio` of them.
    Delay,
    /// A message the stage received for the first time is deleted without being handled: the
    /// loss a faulty handler makes, so that a run can be seen to FAIL and to say where the
    /// message's events were last seen. On the first deliveries listed in `at` or a seeded
    /// `ratio` of them.
    Lose,
    /// A stage wedges at its crash point on the passes in `at` (1-based): it stops for good
    /// without failing (a deadlock, a consumer stuck on a call that never returns), holding
    /// what it has. No retry or restart lifts it: it is what the liveness phase exists to
    /// catch, and a run with one FAILs `liveness`, naming the stage.
    Stall,
}

impl FaultKind {
    /// Whether this kind is decided per AWS call (and so needs a `service`).
    pub fn is_call_fault(self) -> bool {
        matches!(
            self,
            Self::Throttle
                | Self::ServerError
                | Self::Timeout
                | Self::Reset
                | Self::Latency
                | Self::ExpiredIterator
        )
    }

    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Throttle => "throttle",
            Self::ServerError => "server_error",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::Latency => "latency",
            Self::ExpiredIterator => "expired_iterator",
            Self::Crash => "crash",
            Self::Outage => "outage",
            Self::SplitShard => "split_shard",
            Self::DbTerminate => "db_terminate",
            Self::DbPause => "db_pause",
            Self::DbLock => "db_lock",
            Self::Duplicate => "duplicate",
            Self::Delay => "delay",
            Self::Lose => "lose",
            Self::Stall => "stall",
        }
    }

    /// Whether this kind acts on the messages a stage receives from its queue.
    pub fn is_delivery_fault(self) -> bool {
        matches!(self, Self::Duplicate | Self::Delay | Self::Lose)
    }

    /// Whether this kind faults PostgreSQL (the batch table, the web source's tables) rather
    /// than AWS.
    pub fn is_database_fault(self) -> bool {
        matches!(self, Self::DbTerminate | Self::DbPause | Self::DbLock)
    }

    /// Whether this kind fires at a stage's crash point: the stage dies there, or wedges.
    pub fn at_crash_point(self) -> bool {
        matches!(self, Self::Crash | Self::Stall)
    }

    /// Whether this kind fires at passes (`at`): a stage's crash point, the loader's `COPY`s.
    pub fn fires_at_passes(self) -> bool {
        matches!(
            self,
            Self::Crash
                | Self::Stall
                | Self::DbTerminate
                | Self::DbPause
                | Self::Duplicate
                | Self::Delay
                | Self::Lose
        )
    }

    /// Whether this kind always fires at a moment (`after_secs`).
    pub fn fires_at_a_moment(self) -> bool {
        matches!(self, Self::Outage | Self::SplitShard | Self::DbLock)
    }

    /// Whether this kind fires either at passes (`at`) or at a moment (`after_secs`).
    pub fn fires_at_passes_or_a_moment(self) -> bool {
        matches!(self, Self::DbTerminate | Self::DbPause)
    }

    /// Whether this kind lasts `for_secs`.
    pub fn lasts(self) -> bool {
        matches!(
            self,
            Self::Outage | Self::DbPause | Self::DbLock | Self::Delay
        )
    }
}

/// The AWS services a call fault can target.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Kinesis Data Streams.
    Kinesis,
    /// SQS.
    Sqs,
    /// S3.
    S3,
    /// SNS.
    Sns,
    /// Firehose (the fan-out consumer's delivery stream).
    Firehose,
}

impl Service {
    /// The name scenario files and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kinesis => "kinesis",
            Self::Sqs => "sqs",
            Self::S3 => "s3",
            Self::Sns => "sns",
            Self::Firehose => "firehose",
        }
    }
}

/// An AWS call a stage makes, as a fault rule names it: (service, operation). Every stage
/// declares the calls it makes (`CALLS` beside its code), so that a rule naming a call no stage
/// makes is refused before a run instead of never firing.
pub type Call = (Service, &'static str);

/// The stages a crash can target.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Puts events into Kinesis.
    Producer,
    /// Kinesis -> SQS.
    Bridge,
    /// SQS -> lake (handler, event source mapping and lake writer: one process).
    Processor,
    /// The fan-out consumer that stores each Kinesis batch as one S3 object (`consumers`
    /// including `raw`).
    Raw,
    /// The fan-out consumer that forwards records to a Firehose delivery stream (`consumers`
    /// including `firehose`).
    Firehose,
    /// The batch flow's trigger (its event source mapping): dies after a run, before its
    /// message is deleted.
    Trigger,
    /// The batch job's load: dies after a company file went into `COPY`, mid-load.
    Loader,
    /// The price-file ETL step: dies after its CSV or quarantine writes, before its delete.
    Etl,
    /// The price-file analysis step: dies after its alerts, before its delete.
    Analysis,
    /// The stream's web source (server, database writer and relay: one process): dies after
    /// a request's rows are committed, before its answer.
    Web,
}

impl Stage {
    /// Whether the stage receives messages from an SQS queue (through an event source
    /// mapping): a delivery fault's place.
    pub fn receives_messages(self) -> bool {
        matches!(
            self,
            Stage::Processor | Stage::Trigger | Stage::Etl | Stage::Analysis
        )
    }

    /// The stream flow's stages, in pipeline order.
    pub const STREAM: [Stage; 5] = [
        Stage::Producer,
        Stage::Bridge,
        Stage::Processor,
        Stage::Raw,
        Stage::Firehose,
    ];
    /// The batch flow's.
    pub const BATCH: [Stage; 2] = [Stage::Trigger, Stage::Loader];
    /// The price-file flow's.
    pub const PRICE_FILES: [Stage; 2] = [Stage::Etl, Stage::Analysis];

    /// The name scenario files and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Producer => "producer",
            Self::Bridge => "bridge",
            Self::Processor => "processor",
            Self::Raw => "raw",
            Self::Firehose => "firehose",
            Self::Trigger => "trigger",
            Self::Loader => "loader",
            Self::Etl => "etl",
            Self::Analysis => "analysis",
            Self::Web => "web",
        }
    }
}

/// Operation names LocalStack and AWS use are CamelCase words, at most this long.
const MAX_OPERATION: usize = 64;
/// Longest injected latency or timeout, milliseconds (10 minutes).
pub const MAX_LATENCY_MS: u64 = 600_000;
/// Latest moment of an outage or split, and longest outage, seconds (1 hour).
pub const MAX_MOMENT_SECS: f64 = 3_600.0;

/// One fault rule. Which keys apply depends on `kind`; [`FaultRule::check`] says what is
/// missing or out of place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// What goes wrong.
    pub kind: FaultKind,
    /// Call faults: the service whose calls fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// Call faults: the API operation (`PutObject`); every operation of the service when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Call faults: the calls that fail, by index (1-based, counted per service and operation
    /// over every attempt, the SDK's retries included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<u64>,
    /// Call faults: the share of calls that fail, each decided by the seed, the operation and
    /// the call's index; `duplicate`, `delay`: the share of the stage's first deliveries hit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ratio: f64,
    /// Call faults: `ratio` applies from this call index on (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_call: Option<u64>,
    /// Call faults: ...up to this one (default: no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_call: Option<u64>,
    /// Most faults this rule fires (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// `latency`: the delay; `timeout`: how long the call hangs before it fails (default 0).
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub latency_ms: u64,
    /// `crash`: the stage that dies; `duplicate`, `delay`: the stage whose messages are hit (one
    /// that receives from a queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// `crash`: on which passes through the stage's crash point it dies (1-based, counted
    /// over the run, across restarts); `db_terminate`, `db_pause`: the loader's `COPY`s hit;
    /// `duplicate`, `delay`: the stage's first deliveries hit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at: Vec<u64>,
    /// `outage`, `split_shard`, `db_lock` (and `db_terminate`, `db_pause` without `at`):
    /// seconds into the run (from the start of the feed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub after_secs: f64,
    /// `outage`, `db_pause`: how long the container stays paused; `db_lock`: how long the lock
    /// is held; `delay`: how long the message is hidden; seconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub for_secs: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn is_zero_u64(x: &u64) -> bool {
    *x == 0
}

impl FaultRule {
    /// A rule of `kind` with every other key unset.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            service: None,
            operation: None,
            calls: Vec::new(),
            ratio: 0.0,
            from_call: None,
            to_call: None,
            limit: None,
            latency_ms: 0,
            stage: None,
            at: Vec::new(),
            after_secs: 0.0,
            for_secs: 0.0,
        }
    }

    /// Whether the rule fires at a moment (`after_secs`): its kind always does, or it may and
    /// lists no passes.
    pub fn fires_at_a_moment(&self) -> bool {
        self.kind.fires_at_a_moment()
            || (self.kind.fires_at_passes_or_a_moment() && self.at.is_empty())
    }

    /// Problems with the rule, as (key, message) with keys relative to the rule.
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let kind = self.kind.name();
        let mut refuse = |key: &'static str, set: bool| {
            if set {
                problems.push((key, format!("`{key}` does not apply to kind = \"{kind}\"")));
            }
        };
        let call = self.kind.is_call_fault();
        refuse("service", !call && self.service.is_some());
        refuse("operation", !call && self.operation.is_some());
        refuse("calls", !call && !self.calls.is_empty());
        let delivery = self.kind.is_delivery_fault();
        refuse("ratio", !call && !delivery && self.ratio != 0.0);
        refuse("from_call", !call && self.from_call.is_some());
        refuse("to_call", !call && self.to_call.is_some());
        let timed = matches!(self.kind, FaultKind::Latency | FaultKind::Timeout);
        refuse("latency_ms", !timed && self.latency_ms != 0);
        let crash = self.kind.at_crash_point();
        refuse("stage", !crash && !delivery && self.stage.is_some());
        let passes = self.kind.fires_at_passes();
        refuse("at", !passes && !self.at.is_empty());
        let either = self.kind.fires_at_passes_or_a_moment();
        let moment = self.fires_at_a_moment();
        refuse(
            "after_secs",
            !self.kind.fires_at_a_moment() && !either && self.after_secs != 0.0,
        );
        refuse("for_secs", !self.kind.lasts() && self.for_secs != 0.0);
        if call {
            self.check_call(&mut problems);
        }
        if crash && self.stage.is_none() {
            problems.push((
                "stage",
                format!("a {kind} needs `stage`: one of the flow's stages"),
            ));
        }
        if delivery {
            self.check_delivery(&mut problems);
        }
        if either && !self.at.is_empty() && self.after_secs != 0.0 {
            problems.push((
                "after_secs",
                format!("a {kind} fires at the loader's COPYs (`at`) or at a moment (`after_secs`), not both"),
            ));
        } else if either && self.at.is_empty() && self.after_secs == 0.0 {
            problems.push((
                "at",
                format!(
                    "a {kind} needs `at` (the batch loader's COPYs it hits, from 1) or \
                     `after_secs` (a moment of the run)"
                ),
            ));
        } else if passes && !moment && !delivery && (self.at.is_empty() || self.at.contains(&0)) {
            let what = match crash {
                true => "passes through the crash point",
                false => "the loader's COPYs it hits",
            };
            problems.push(("at", format!("a {kind} needs `at`: {what}, from 1")));
        }
        if moment && !(0.0..=MAX_MOMENT_SECS).contains(&self.after_secs) {
            problems.push((
                "after_secs",
                format!("after_secs must be within [0, {MAX_MOMENT_SECS}]"),
            ));
        }
        if self.kind.lasts() && !(self.for_secs > 0.0 && self.for_secs <= MAX_MOMENT_SECS) {
            problems.push((
                "for_secs",
                format!("a {kind} needs for_secs within (0, {MAX_MOMENT_SECS}]"),
            ));
        }
        problems
    }

    /// A delivery fault: a stage that receives messages, and `at` or a `ratio` (not both).
    fn check_delivery(&self, problems: &mut Vec<(&'static str, String)>) {
        let kind = self.kind.name();
        match self.stage {
            None => problems.push((
                "stage",
                format!("a {kind} needs `stage`: a stage that receives messages from a queue"),
            )),
            Some(stage) if !stage.receives_messages() => problems.push((
                "stage",
                format!(
                    "{} receives no messages from a queue for a {kind} (processor, trigger, \
                     etl and analysis do)",
                    stage.name()
                ),
            )),
            Some(_) => {}
        }
        let (listed, drawn) = (!self.at.is_empty(), self.ratio != 0.0);
        if listed == drawn || self.at.contains(&0) {
            problems.push((
                "at",
                format!(
                    "a {kind} needs `at` (the stage's messages it hits, from 1) or a `ratio` \
                     of them, not both"
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.ratio) {
            problems.push((
                "ratio",
                format!("ratio must be within [0, 1], got {}", self.ratio),
            ));
        }
    }

    fn check_call(&self, problems: &mut Vec<(&'static str, String)>) {
        if self.service.is_none() {
            problems.push((
                "service",
                "a call fault needs `service` (kinesis, sqs, s3 or sns)".into(),
            ));
        }
        if let Some(op) = &self.operation {
            if op.is_empty()
                || op.len() > MAX_OPERATION
                || !op.chars().all(|c| c.is_ascii_alphanumeric())
            {
                problems.push((
                    "operation",
                    format!("`{op}` is not an API operation name (like PutObject)"),
                ));
            }
        }
        if self.kind == FaultKind::ExpiredIterator && self.service != Some(Service::Kinesis) {
            problems.push((
                "service",
                "expired_iterator applies to service = \"kinesis\" only".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.ratio) {
            problems.push((
                "ratio",
                format!("ratio must be within [0, 1], got {}", self.ratio),
            ));
        }
        if self.calls.is_empty() && self.ratio == 0.0 {
            problems.push((
                "calls",
                "a call fault needs `calls` or a `ratio` above 0: it would never fire".into(),
            ));
        }
        if self.calls.contains(&0) {
            problems.push(("calls", "call indices start at 1".into()));
        }
        if let (Some(from), Some(to)) = (self.from_call, self.to_call) {
            if from > to {
                problems.push((
                    "to_call",
                    format!("to_call ({to}) is before from_call ({from})"),
                ));
            }
        }
        if self.limit == Some(0) {
            problems.push(("limit", "limit = 0 would never fire".into()));
        }
        if self.latency_ms > MAX_LATENCY_MS {
            problems.push((
                "latency_ms",
                format!("latency_ms must be at most {MAX_LATENCY_MS}"),
            ));
        }
        if self.kind == FaultKind::Latency && self.latency_ms == 0 {
            problems.push((
                "latency_ms",
                "a latency fault needs latency_ms above 0".into(),
            ));
        }
    }

    /// Whether this call rule covers `operation` of `service`.
    pub(super) fn targets(&self, service: Service, operation: &str) -> bool {
        self.service == Some(service) && self.operation.as_deref().is_none_or(|op| op == operation)
    }

    /// Whether this call rule picks call `index` (before its `limit`): listed, or drawn; a
    /// delivery rule's `ratio` draws its messages the same way (it lists them in `at`).
    pub(super) fn picks(&self, index: u64, draw: impl FnOnce() -> f64) -> bool {
        if self.calls.contains(&index) {
            return true;
        }
        let within =
            self.from_call.unwrap_or(1) <= index && index <= self.to_call.unwrap_or(u64::MAX);
        self.ratio > 0.0 && within && draw() < self.ratio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_fault_needs_the_copies_or_the_moment_and_length_it_takes() {
        let keys =
            |rule: &FaultRule| -> Vec<&str> { rule.check().into_iter().map(|(k, _)| k).collect() };
        let mut terminate = FaultRule::new(FaultKind::DbTerminate);
        assert_eq!(keys(&terminate), ["at"]);
        terminate.at = vec![1];
        assert!(keys(&terminate).is_empty());
        terminate.for_secs = 1.0;
        assert_eq!(keys(&terminate), ["for_secs"]);
        let mut pause = FaultRule::new(FaultKind::DbPause);
        pause.at = vec![2];
        assert_eq!(keys(&pause), ["for_secs"]);
        pause.for_secs = 3.0;
        pause.after_secs = 1.0;
        assert_eq!(keys(&pause), ["after_secs"]);
        pause.at.clear();
        assert!(keys(&pause).is_empty(), "a pause at a moment");
        assert!(pause.fires_at_a_moment());
        pause.after_secs = 0.0;
        assert_eq!(keys(&pause), ["at"]);
        let mut lock = FaultRule::new(FaultKind::DbLock);
        lock.for_secs = 2.0;
        assert!(keys(&lock).is_empty());
        lock.at = vec![1];
        assert_eq!(keys(&lock), ["at"]);
        assert!(FaultKind::DbLock.is_database_fault() && !FaultKind::Outage.is_database_fault());
    }

    #[test]
    fn a_delivery_fault_needs_a_receiving_stage_and_its_messages_or_a_ratio() {
        let keys =
            |rule: &FaultRule| -> Vec<&str> { rule.check().into_iter().map(|(k, _)| k).collect() };
        let mut duplicate = FaultRule::new(FaultKind::Duplicate);
        assert_eq!(keys(&duplicate), ["stage", "at"]);
        duplicate.stage = Some(Stage::Etl);
        duplicate.ratio = 0.2;
        assert!(keys(&duplicate).is_empty());
        duplicate.at = vec![3];
        assert_eq!(keys(&duplicate), ["at"]);
        duplicate.ratio = 0.0;
        assert!(keys(&duplicate).is_empty());
        duplicate.stage = Some(Stage::Producer);
        assert_eq!(keys(&duplicate), ["stage"]);
        let mut delay = FaultRule::new(FaultKind::Delay);
        delay.stage = Some(Stage::Analysis);
        delay.at = vec![1];
        assert_eq!(keys(&delay), ["for_secs"]);
        delay.for_secs = 2.0;
        assert!(keys(&delay).is_empty());
        delay.service = Some(Service::Sqs);
        assert_eq!(keys(&delay), ["service"]);
    }

    #[test]
    fn each_kind_takes_only_its_own_keys() {
        let mut rule = FaultRule::new(FaultKind::Crash);
        rule.service = Some(Service::S3);
        let keys: Vec<_> = rule.check().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["service", "stage", "at"]);

        let mut rule = FaultRule::new(FaultKind::Throttle);
        rule.service = Some(Service::Sqs);
        rule.ratio = 0.1;
        assert!(rule.check().is_empty());
        rule.for_secs = 3.0;
        assert_eq!(rule.check()[0].0, "for_secs");
    }

    #[test]
    fn a_rule_that_could_never_fire_is_refused() {
        let mut rule = FaultRule::new(FaultKind::ServerError);
        rule.service = Some(Service::S3);
        assert_eq!(rule.check()[0].0, "calls");
        rule.calls = vec![0];
        assert_eq!(rule.check()[0].0, "calls");
        rule.calls = vec![3];
        rule.limit = Some(0);
        assert_eq!(rule.check()[0].0, "limit");
        let mut outage = FaultRule::new(FaultKind::Outage);
        outage.after_secs = 1.0;
        assert_eq!(outage.check()[0].0, "for_secs");
    }

    #[test]
    fn listed_calls_fire_and_ratios_stay_in_their_window() {
        let mut rule = FaultRule::new(FaultKind::Timeout);
        rule.service = Some(Service::Kinesis);
        rule.calls = vec![2];
        rule.ratio = 1.0;
        rule.from_call = Some(5);
        rule.to_call = Some(6);
        let picked: Vec<u64> = (1..=8).filter(|&i| rule.picks(i, || 0.5)).collect();
        assert_eq!(picked, [2, 5, 6]);
        assert!(rule.targets(Service::Kinesis, "GetRecords"));
        rule.operation = Some("PutRecords".into());
        assert!(!rule.targets(Service::Kinesis, "GetRecords"));
        assert!(!rule.targets(Service::Sqs, "PutRecords"));
    }
}
