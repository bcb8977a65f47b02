//! Scenario files as users meet them: a wrong expectation fails with expected vs actual, and a
//! broken file fails `tickflow validate` with file, line, column and key.

use std::time::Duration;

use tickflow_harness::scenario::{self, Scenario};

use crate::support::{clients, within};

#[tokio::test]
async fn a_wrong_expectation_fails_with_expected_and_actual() {
    let text = r#"
[scenario]
name = "wrong-count"
seed = 3

[generate]
events = 500

[expect]
found = 499

[[expect.partitions]]
glob = "event_type=forex/**"
required_fields = ["pair", "no_such_field"]
"#;
    let file = scenario::parse("wrong-count.toml", text).unwrap();
    let s = Scenario {
        path: "wrong-count.toml".into(),
        file,
    };
    let clients = clients().await;
    let outcome = within(
        Duration::from_secs(180),
        "scenario",
        scenario::execute(&s, &clients, scenario::Infra::default()),
    )
    .await;
    assert!(!outcome.passed());
    let failures: Vec<String> = outcome.failures().iter().map(ToString::to_string).collect();
    assert_eq!(failures[0], "found: expected 499, got 500");
    assert!(
        failures[1].starts_with("partitions[event_type=forex/**].required_fields: expected `no_such_field` in every row, got rows without it in event_type=forex/"),
        "{failures:?}"
    );
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(outcome
        .summary_line()
        .starts_with("FAIL wrong-count events=500 found=500 missing=0"));
}

#[test]
fn validate_names_file_line_column_and_key() {
    let dir = std::env::temp_dir().join(format!("tickflow-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[scenario]\nname = \"b\"\n\n[generate]\nevents = 10\nmix = { forex = 0.7, stock_price = 0.7, stock_news = 0.0 }\n\n[faults]\nduplicate_ratio = 2\n").unwrap();
    let typo = dir.join("typo.toml");
    std::fs::write(&typo, "[scenario]\nname = \"t\"\n[pipeline]\nshardz = 3\n").unwrap();
    let good = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .arg("validate")
        .args([&good, &broken, &typo])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    let b = broken.display();
    let t = typo.display();
    for expected in [
        "ok    ".to_string(),
        format!("error {b}:6:1: generate.mix: shares must sum to 1, got 1.4"),
        format!("error {b}:9:1: faults.duplicate_ratio: faults.duplicate_ratio must be within [0, 1], got 2"),
        format!("error {t}:4:1: shardz: unknown field `shardz`"),
    ] {
        assert!(stdout.contains(&expected), "missing {expected:?} in:\n{stdout}");
    }
}

#[test]
fn target_aws_uses_the_standard_chain_without_an_endpoint_override() {
    // The real-AWS code path (standard credential chain, region and endpoint resolution) is
    // pointed at LocalStack only through the SDK's own environment variables.
    let (ok, stdout) = tickflow_against_localstack(
        &["--target", "aws", "doctor"],
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    assert!(ok, "{stdout}");
    assert!(
        stdout.starts_with("real AWS (standard credential chain"),
        "{stdout}"
    );
    assert!(stdout.contains("all 6 checks passed"), "{stdout}");
}

#[test]
fn a_load_run_follows_its_ramp_and_stops_at_its_duration() {
    let (ok, stdout) =
        tickflow_against_localstack(&["load", "--ramp", "200:1000:2", "--duration", "3"], &[]);
    assert!(ok, "{stdout}");
    // The ramp's area (1,200 events in 2 s) plus 1 s at 1,000/s: about 2,200 events.
    let last = stdout.lines().last().unwrap_or_default();
    let events: u64 = last
        .split_whitespace()
        .find_map(|w| w.strip_prefix("events="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no events= in {last:?}"));
    assert!((2_000..=2_250).contains(&events), "{last}");
    assert!(last.starts_with("PASS load "), "{last}");
    assert!(stdout.contains("peak RSS"), "{stdout}");
}

/// Runs the `tickflow` binary against the shared LocalStack (given by `AWS_ENDPOINT_URL`, as a
/// user would); returns whether it succeeded and its stdout (with stderr appended on failure).
pub fn tickflow_against_localstack(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .env("AWS_ENDPOINT_URL", &crate::support::localstack().endpoint)
        .env_remove("AWS_PROFILE")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        text.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    (out.status.success(), text)
}
