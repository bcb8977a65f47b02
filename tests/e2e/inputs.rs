//! Bad input, as a user meets it on the command line.
//!
//! Bad input, as a user meets it on the command line: a clear error that says what and where,
//! a non-zero exit, and no container started for nothing; and real-world files replayed whatever
//! their name.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::scenarios::tickflow_against_localstack;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tickflow-inputs-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `tickflow` without any endpoint or container engine: these inputs must be refused
/// before either is needed.
fn tickflow_offline(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/data")
        .join(name)
        .display()
        .to_string()
}

/// Flags that describe a run of flags are refused beside scenario files (which describe their
/// own), naming the flags given: a `--json` that would write nothing is not silently ignored.
#[test]
fn flags_of_a_flag_run_beside_scenario_files_are_refused_by_name() {
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml");
    let smoke = smoke.to_str().unwrap();
    let (ok, out) = tickflow_offline(&["run", smoke, "--json", "x.json", "--keep"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("the argument '[FILES]...' cannot be used with:")
            && out.contains("--json <JSON>")
            && out.contains("--keep")
            && !out.contains("--events"),
        "{out}"
    );
    assert!(!Path::new("x.json").exists());
}

#[test]
fn replaying_a_directory_is_refused_at_once() {
    let dir = temp_dir();
    let (ok, out) = tickflow_offline(&["replay", dir.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "{} is a directory: replay takes one JSONL or CSV file",
            dir.display()
        )),
        "{out}"
    );
}

#[test]
fn a_file_without_a_single_event_is_refused() {
    let junk = temp_dir().join("junk.us.txt");
    std::fs::write(
        &junk,
        "Date,Open,High,Low,Close,Volume,OpenInt\n".to_string() + &"garbage,,,,,,\n".repeat(501),
    )
    .unwrap();
    let (ok, out) = tickflow_offline(&["replay", junk.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("no row is an event (501 rows, none of them an event): nothing to replay"),
        "{out}"
    );
}

#[test]
fn an_absurd_replay_speed_is_refused() {
    let (ok, out) = tickflow_offline(&["replay", &data("aapl.us.txt"), "--speed", "1e-300"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("--speed takes full, original or a factor: a speed factor must be within [0.001, 1000000000], got 1e-300"),
        "{out}"
    );
}

#[test]
fn values_a_run_cannot_handle_fail_validation_with_their_place() {
    let file = temp_dir().join("huge.toml");
    std::fs::write(
        &file,
        "[scenario]\nname = \"huge\"\n\n[generate]\nevents = 10\nmean_gap_ms = 1e300\n\n[pipeline]\nalert_window_secs = 2305843009213693952\nflush_age_ms = 18446744073709551615\n\n[expect]\nfound = {}\n",
    )
    .unwrap();
    let (ok, out) = tickflow_offline(&["validate", file.to_str().unwrap()]);
    assert!(!ok, "{out}");
    let f = file.display();
    for expected in [
        format!("{f}:6:1: generate.mean_gap_ms: must be positive"),
        format!("{f}:9:1: pipeline.alert_window_secs: pipeline.alert_window_secs must be within [1, 2592000]"),
        format!("{f}:10:1: pipeline.flush_age_ms: pipeline.flush_age_ms must be at most 900000"),
        format!("{f}:13:1: expect.found: a range needs min, max or both"),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn a_kaggle_stock_file_named_txt_replays_every_row() {
    let (ok, out) = tickflow_against_localstack(&["replay", &data("aapl.us.txt")], &[]);
    assert!(ok, "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("PASS replay events=30 found=30 missing=0 duplicated=0 quarantined=0"),
        "{last}"
    );
    assert!(
        out.contains("event_type=stock_price/dt=2017-10-02/hour=21"),
        "{out}"
    );
}
