//! Scenario files as users meet them.
//!
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
fn target_aws_uses_the_standard_chain_and_says_when_the_sdk_settings_override_the_endpoint() {
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
    // The header is honest: the SDK's settings point it at an endpoint, so it does not say AWS.
    let endpoint = &crate::support::localstack().endpoint;
    let header = stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with(&format!("the AWS API at {endpoint} (AWS_ENDPOINT_URL"))
            && header.ends_with("account 000000000000, region us-east-1"),
        "{stdout}"
    );
    assert!(stdout.contains("all 7 checks passed"), "{stdout}");
}

#[test]
fn target_endpoint_proves_each_service_and_says_which_endpoint_it_is() {
    let (ok, stdout) = tickflow_against_localstack(&["--target", "endpoint", "doctor"], &[]);
    assert!(ok, "{stdout}");
    let endpoint = &crate::support::localstack().endpoint;
    let header = stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with(&format!(
            "AWS-compatible endpoint {endpoint} (answered kinesis "
        )),
        "{stdout}"
    );
    for service in ["sqs", "s3", "sns"] {
        assert!(
            header.contains(&format!(", {service} ")),
            "{service}: {header}"
        );
    }
    assert!(stdout.contains("all 7 checks passed"), "{stdout}");
}

#[test]
fn target_endpoint_names_the_service_and_call_of_an_endpoint_that_does_not_answer() {
    let url = crate::support::closed_port_url();
    let stderr = failing(&["--target", "endpoint", "doctor"], &url);
    assert!(
        stderr.contains(&format!(
            "endpoint {url} cannot serve kinesis: ListStreams failed"
        )),
        "{stderr}"
    );
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

#[test]
fn target_localstack_tells_an_endpoint_that_is_not_localstack_to_use_target_endpoint() {
    // An HTTP server that answers 404 to everything, as moto does for LocalStack's health path.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        for mut stream in listener.incoming().flatten() {
            let _ = stream.read(&mut [0u8; 4096]);
            let _ = stream.write_all(b"HTTP/1.1 404 NOT FOUND\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let stderr = failing(&["doctor"], &url);
    assert!(
        stderr.contains(&format!("endpoint {url} answers, but not as LocalStack"))
            && stderr.contains("--target endpoint"),
        "{stderr}"
    );
}

/// Runs the `tickflow` binary with `AWS_ENDPOINT_URL=url`, which must fail; returns its stderr.
fn failing(args: &[&str], url: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .env("AWS_ENDPOINT_URL", url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    stderr
}
