//! Every `scenarios/*.toml` is a test named `scenario::<name>`: `cargo test smoke` runs one,
//! and a new file is a new test without code. Scenarios marked `heavy` are ignored by default
//! (`cargo test -- --ignored` runs them). Each runs against the binary's shared LocalStack (one
//! that pauses LocalStack gets a container of its own, and is ignored when AWS_ENDPOINT_URL names
//! an endpoint tickflow must not touch), must pass its own `[expect]`, and snapshots the
//! deterministic part of its report.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use tickflow_harness::aws::{self, Target};
use tickflow_harness::localstack::shared::shared;
use tickflow_harness::localstack::{LocalStack, LocalStackConfig, Origin};
use tickflow_harness::postgres;
use tickflow_harness::scenario::{self, Outcome, Scenario};

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let trials = files
        .into_iter()
        .map(|file| match scenario::load(&file) {
            Ok(s) => {
                let external = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|e| !e.is_empty());
                let heavy = s.heavy() || (s.pauses_localstack() && external);
                Trial::test(format!("scenario::{}", s.name()), move || run(s))
                    .with_ignored_flag(heavy)
            }
            Err(errors) => {
                let name = file
                    .file_stem()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let message = errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n");
                Trial::test(format!("scenario::{name}"), move || {
                    Err(Failed::from(message))
                })
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn run(scenario: Scenario) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(e.to_string()))?;
    let outcome = if scenario.pauses_localstack() {
        runtime.block_on(on_own_localstack(&scenario))?
    } else {
        let localstack =
            shared().map_err(|e| Failed::from(format!("scenarios need LocalStack: {e}")))?;
        let postgres = if scenario.needs_postgres() {
            let shared = postgres::shared::shared()
                .map_err(|e| Failed::from(format!("{} needs PostgreSQL: {e}", scenario.name())))?;
            Some(shared.url.as_str())
        } else {
            None
        };
        runtime.block_on(async {
            let clients = aws::clients(&Target::Endpoint(localstack.endpoint.clone())).await;
            let infra = scenario::Infra {
                localstack_container: None,
                postgres,
                postgres_container: None,
            };
            scenario::execute(&scenario, &clients, infra).await
        })
    };
    if !outcome.passed() {
        let mut message = outcome.summary_line();
        for failure in outcome.failures() {
            message.push_str(&format!("\n  {failure}"));
        }
        if let Some(e) = &outcome.error {
            message.push_str(&format!("\n  run error: {e}"));
        }
        if let Some(report) = outcome.report() {
            message.push_str(&format!("\n\n{}", report.render_text()));
        }
        return Err(message.into());
    }
    check_snapshot(&outcome.name, &deterministic_view(&outcome))
}

/// Compares `view` with `tests/snapshots/scenario-<name>.snap` (insta's file format: a header
/// between `---` lines, then the JSON), as values; `INSTA_UPDATE=always` writes it instead.
/// (insta's own assertion let a changed snapshot pass under libtest-mimic: this one cannot.)
fn check_snapshot(name: &str, view: &serde_json::Value) -> Result<(), Failed> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("scenario-{name}.snap"));
    let rendered = serde_json::to_string_pretty(view).map_err(|e| Failed::from(e.to_string()))?;
    let stored: Option<serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.splitn(3, "---\n").nth(2).map(str::to_string))
        .and_then(|json| serde_json::from_str(&json).ok());
    if stored.as_ref() == Some(view) {
        return Ok(());
    }
    if std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always") {
        let text = format!(
            "---\nsource: tests/scenarios.rs\nexpression: deterministic_view(&outcome)\n---\n{rendered}\n"
        );
        return std::fs::write(&path, text).map_err(|e| Failed::from(e.to_string()));
    }
    Err(match stored {
        Some(stored) => format!(
            "{} differs from this run (INSTA_UPDATE=always accepts the change):\nstored: {}\nnow:    {}",
            path.display(),
            serde_json::to_string(&stored).unwrap_or_default(),
            serde_json::to_string(view).unwrap_or_default()
        ),
        None => format!(
            "no snapshot at {} (INSTA_UPDATE=always writes it):\n{rendered}",
            path.display()
        ),
    }
    .into())
}

/// Runs `scenario` on a LocalStack started for it alone (it pauses the container), then
/// removes the container.
async fn on_own_localstack(scenario: &Scenario) -> Result<Outcome, Failed> {
    let localstack = LocalStack::start(&LocalStackConfig::from_env())
        .await
        .map_err(|e| Failed::from(format!("{} needs its own LocalStack: {e}", scenario.name())))?;
    let container = match localstack.origin() {
        Origin::Started { container_id, .. } => Some(container_id.clone()),
        Origin::External => None,
    };
    let clients = aws::clients(&Target::Endpoint(localstack.endpoint().to_string())).await;
    let infra = scenario::Infra {
        localstack_container: container.as_deref(),
        postgres: None,
        postgres_container: None,
    };
    let outcome = scenario::execute(scenario, &clients, infra).await;
    localstack
        .shutdown()
        .await
        .map_err(|e| Failed::from(e.to_string()))?;
    Ok(outcome)
}

/// The part of a report that a seed fixes: no run ids, timings, object counts (flush timing)
/// or wall-clock quarantine partitions; where poison is injected, which neighbours share a
/// poisoned message depends on packing, so per-partition counts are left out too.
fn deterministic_view(outcome: &Outcome) -> serde_json::Value {
    if let Some(b) = outcome.batch() {
        return serde_json::json!({
            "scenario": outcome.name,
            "flow": "batch",
            "companies": b.companies,
            "kept": b.kept,
            "table_rows": b.table_rows,
            "output_rows": b.output_rows,
            "bad_rows": b.bad_rows,
            "bad_files": b.bad_files,
            "rows_checked": b.rows_checked,
            "runs_started": b.runs_started,
            "run_status_subjects": b.status_subjects,
        });
    }
    if let Some(p) = outcome.price_files() {
        return serde_json::json!({
            "scenario": outcome.name,
            "flow": "price-files",
            "files": p.files,
            "csv_objects": p.csv_objects,
            "quarantined": p.quarantine_kinds,
            "values_checked": p.values_checked,
            "alerts": p.alerts,
            "first_records": p.first_records,
        });
    }
    let r = outcome.stream().expect("a passed outcome has a report");
    let c = &r.judged.reconciliation;
    // A web source refusing load (429, 503) serves as many events as the pipeline took: how
    // many depends on the machine, and the snapshot says so instead.
    let overloaded = r
        .web
        .as_ref()
        .is_some_and(|w| w.status("429") + w.status("503") > 0);
    let exact = r.expected_poison == 0 && !overloaded;
    let counted = |n: u64| {
        if overloaded {
            serde_json::Value::Null
        } else {
            n.into()
        }
    };
    let partitions: serde_json::Map<String, serde_json::Value> = r
        .judged
        .partitions
        .iter()
        .filter(|(k, _)| !k.starts_with("quarantine"))
        .map(|(k, p)| {
            (
                k.clone(),
                if exact {
                    p.events.into()
                } else {
                    serde_json::Value::Null
                },
            )
        })
        .collect();
    // Alerts are independent of processing order only when no price came after its window
    // closed; otherwise they differ from run to run, and the snapshot says so instead.
    let alerts = if r.web.is_some() {
        // A web source's market time runs thousands of times faster than wall time: a request
        // a few milliseconds late moves its prices by market minutes.
        serde_json::json!(
            "depend on when the requests arrived: market time runs faster than wall time"
        )
    } else if r.stats.late_prices == 0 {
        let mut alerts = r.judged.sns.alert_symbols.clone();
        alerts.sort();
        serde_json::json!(alerts)
    } else {
        serde_json::json!("depend on processing order: prices arrived after their window closed")
    };
    let web = r.web.as_ref().map(|w| {
        // Under a load that is refused, how many requests went out in its duration depends on
        // the machine too.
        let asks = if overloaded {
            serde_json::Value::Null
        } else {
            serde_json::json!(w.asks)
        };
        serde_json::json!({
            "asks": asks,
            "statuses": if overloaded {
                serde_json::json!("depend on how fast the pipeline took events: load was refused")
            } else {
                serde_json::json!(w.statuses)
            },
            "rows": if overloaded { serde_json::Value::Null } else { serde_json::json!(w.rows) },
            "request_log_rows": counted(w.request_log_rows),
        })
    });
    let mut view = serde_json::json!({
        "scenario": outcome.name,
        "events": counted(c.events),
        "injected": {
            "malformed": r.expected_quarantine,
            "poison": r.expected_poison,
            "duplicate_copies": r.duplicates_sent,
            "replayed_non_events": r.unparsed_records,
        },
        "missing": c.missing,
        "duplicated": c.duplicated,
        "misplaced": c.misplaced,
        "found": if exact { c.found.into() } else { serde_json::Value::Null },
        "quarantined": if exact { c.quarantined.into() } else { serde_json::Value::Null },
        "quarantine_rows": if exact { r.judged.quarantine_rows.into() } else { serde_json::Value::Null },
        "partitions": if overloaded { serde_json::Value::Null } else { partitions.into() },
        "price_alerts": if overloaded { serde_json::Value::Null } else { alerts },
        "run_status_subjects": r.judged.sns.run_status_subjects,
    });
    if let Some(web) = web {
        view["web"] = web;
    }
    if !r.sinks.is_empty() {
        // Object counts depend on timing (batch and buffer boundaries); what each sink holds
        // does not, but for the copies a crashed consumer forwarded again (how many it had
        // read past its checkpoint is timing too): those are within their bound or not.
        let sinks: serde_json::Map<String, serde_json::Value> = r
            .sinks
            .iter()
            .map(|s| {
                let held = match s.redelivered {
                    0 => serde_json::json!({ "events": s.events, "missing": s.missing, "extra": s.duplicated }),
                    _ => serde_json::json!({
                        "missing": s.missing,
                        "extra_within_redelivered": s.duplicated <= s.redelivered,
                    }),
                };
                (s.sink.clone(), held)
            })
            .collect();
        view["sinks"] = sinks.into();
    }
    view
}
