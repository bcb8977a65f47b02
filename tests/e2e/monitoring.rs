//! The stream's alarms judged on LocalStack's CloudWatch.
//!
//! The stream's alarms judged on real LocalStack CloudWatch: an alarm that pages nobody, or
//! whose metric nobody publishes, FAILs naming it.

use std::path::Path;

use tickflow_harness::flows::flow::RunOf;
use tickflow_harness::flows::stream::driver::StreamRunConfig;
use tickflow_harness::flows::stream::scenario::StreamFile;
use tickflow_harness::verdict::Report as _;

use crate::support::clients;

/// The run a shipped scenario asks for, after `edit` changed its text.
fn shipped(name: &str, edit: impl FnOnce(String) -> String) -> StreamRunConfig {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let text = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
    let file = tickflow_harness::scenario::parse(name, &edit(text)).unwrap();
    let stream: &StreamFile = file.get().expect("a stream scenario");
    let of = RunOf {
        name,
        seed: file.scenario.seed,
        heavy: false,
        dir: &dir,
        history: true,
    };
    stream.run_config(of).unwrap()
}

/// The stall's alarm fires, but without its action nobody is told: the run FAILs naming the
/// alarm, and says it reached ALARM with no notification.
#[tokio::test]
async fn an_alarm_without_its_action_fails_naming_it() {
    let clients = clients().await;
    let config = shipped("monitoring-stall", |text| {
        text.replacen(
            "name = \"consumer-lag\"\n",
            "name = \"consumer-lag\"\nnotify = false\n",
            1,
        )
    });
    assert!(!config.alarms.specs[0].notify);
    let report = crate::support::run(&clients, &config).await;
    let text = report.render_text();
    let failures = report.judged.verdict.failures();
    let lag = failures.iter().find(|f| f.check == "alarms.consumer-lag");
    let lag = lag.unwrap_or_else(|| panic!("{text}"));
    assert!(lag.actual.contains("no notification"), "{lag}");
    let alarms = report.alarms.as_ref().expect("the alarms' report");
    let fired = alarms.alarms[0]
        .transitions
        .iter()
        .any(|t| t.to == tickflow_harness::verdict::alarms::State::ALARM);
    assert!(fired, "{text}");
}

/// Nothing publishes the metrics: every alarm FAILs, named, for its metric's missing
/// datapoints; none passes as quiet.
#[tokio::test]
async fn alarms_whose_metric_nobody_publishes_fail_naming_each() {
    let clients = clients().await;
    let mut config = shipped("monitoring-clean", |text| text);
    config.alarms.publish = false;
    let report = crate::support::run(&clients, &config).await;
    let text = report.render_text();
    let failures = report.judged.verdict.failures();
    for name in ["consumer-lag", "dead-letters", "processor-errors"] {
        let check = format!("alarms.{name}");
        let failed = failures.iter().find(|f| f.check == check);
        let failed = failed.unwrap_or_else(|| panic!("{check}: {text}"));
        assert!(failed.actual.contains("no datapoint"), "{failed}");
    }
    assert_eq!(report.judged.reconciliation.missing, 0, "{text}");
}

/// A batch run that loads: the alarm on failed runs, expected to fire, never does, and the run
/// FAILs naming it; the quiet alarm on the trigger's errors holds.
#[tokio::test]
async fn a_batch_alarm_that_never_fires_fails_naming_it() {
    use tickflow_harness::flows::batch::driver::{run, BatchInput, BatchRunConfig};
    use tickflow_harness::flows::batch::generate::BatchSettings;
    use tickflow_harness::verdict::alarms::Alarms;
    let clients = clients().await;
    let url = &tickflow_harness::infra::postgres::shared::shared()
        .unwrap()
        .url;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let text = std::fs::read_to_string(dir.join("monitoring-batch.toml")).unwrap();
    let file = tickflow_harness::scenario::parse("monitoring-batch", &text).unwrap();
    let batch: &tickflow_harness::flows::batch::scenario::BatchFile = file.get().unwrap();
    let config = BatchRunConfig {
        name: "e2e-batch-alarm".into(),
        seed: 75,
        input: BatchInput::Generate(BatchSettings {
            companies: 4,
            days: 60,
            ..BatchSettings::default()
        }),
        postgres_container: None,
        faults: Vec::new(),
        load_attempts: tickflow_pipeline::batch::LOAD_ATTEMPTS,
        trigger_resumes: true,
        liveness_secs: None,
        alarms: Alarms::new(&batch.alarms, &batch.expect.alarms),
    };
    let report = run(&clients, url, &config).await.unwrap();
    let text = report.render_text();
    let failures = report.failures();
    let failed = failures.iter().find(|f| f.check == "alarms.failed-runs");
    let failed = failed.unwrap_or_else(|| panic!("{text}"));
    assert!(failed.actual.starts_with("never reached ALARM"), "{failed}");
    assert!(
        report
            .held()
            .iter()
            .any(|h| h.check == "alarms.trigger-errors"),
        "{text}"
    );
    assert_eq!(report.table_rows, report.expected_rows, "{text}");
}
