//! Reading and validating scenario files.
//!
//! Reading and validating scenario files: syntax, unknown keys, wrong types and semantic
//! checks, each reported as `file:line:column: key: message`.

use std::path::{Path, PathBuf};

use super::file::{Meta, ScenarioFile};
use super::locate::{key_span, line_col};
use super::{counts, keys};
use crate::flows;
use crate::flows::flow::Written;

/// A problem in a scenario file, with its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {key}: {message}")]
pub struct ScenarioError {
    /// The file, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The key concerned, dotted (`generate.mix`), or `(file)` for the file as a whole.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// A parsed, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its content.
    pub file: ScenarioFile,
}

/// Reads and validates a scenario file.
///
/// # Errors
/// Every problem found (all semantic ones at once; a syntax or type error stops at the first).
pub fn load(path: &Path) -> Result<Scenario, Vec<ScenarioError>> {
    let name = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| {
        vec![ScenarioError {
            file: name.clone(),
            line: 1,
            column: 1,
            key: "(file)".into(),
            message: format!("cannot read: {e}"),
        }]
    })?;
    parse(&name, &source).map(|file| Scenario {
        path: path.to_path_buf(),
        file,
    })
}

/// Parses and validates scenario text; `name` labels the errors.
///
/// `[scenario]` is read first, and names the flow; a key only another flow reads is refused
/// naming that flow; the flow then reads the rest strictly and checks it.
///
/// # Errors
/// As [`load`].
pub fn parse(name: &str, source: &str) -> Result<ScenarioFile, Vec<ScenarioError>> {
    let at_span = |e: toml::de::Error| {
        let offset = e.span().map_or(0, |s| s.start);
        let (line, column) = line_col(source, offset);
        vec![ScenarioError {
            file: name.to_string(),
            line,
            column,
            key: key_at(source, offset, e.message()),
            message: e.message().trim().to_string(),
        }]
    };
    let head: Head = toml::from_str(source).map_err(at_span)?;
    let table: Written = toml::from_str(source).map_err(at_span)?;
    let located = |problems: Vec<(String, String)>| locate(name, source, problems);
    let mut problems = check_name(&head.scenario);
    let Some(flow) = flows::named(&head.scenario.flow) else {
        let names: Vec<&str> = flows::FLOWS.iter().map(|f| f.name()).collect();
        problems.push((
            "scenario.flow".into(),
            format!(
                "no flow is named {:?}: one of {}",
                head.scenario.flow,
                names.join(", ")
            ),
        ));
        return Err(located(problems));
    };
    problems.extend(keys::of_other_flows(flow, &table));
    if !head.scenario.history && !flow.keeps_history() {
        let keeping: Vec<&str> = flows::FLOWS
            .iter()
            .filter(|f| f.keeps_history())
            .map(|f| f.name())
            .collect();
        problems.push((
            "scenario.history".into(),
            format!(
                "the {} flow keeps no history to turn off: `history` applies to the {} flow",
                flow.name(),
                keeping.join(", ")
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(located(problems));
    }
    let sections = flow.parse(source).map_err(at_span)?;
    let mut problems = sections.check(&table);
    problems.extend(counts::that_cannot_fail(flow, &table));
    if !problems.is_empty() {
        return Err(located(problems));
    }
    Ok(ScenarioFile {
        scenario: head.scenario,
        sections,
    })
}

/// What is read of a file before its flow is known: `[scenario]` (every other key is the
/// flow's).
#[derive(serde::Deserialize)]
struct Head {
    scenario: Meta,
}

/// Each problem (dotted key, message) at the place of its key in `source`.
fn locate(name: &str, source: &str, problems: Vec<(String, String)>) -> Vec<ScenarioError> {
    problems
        .into_iter()
        .map(|(path, message)| {
            let parts: Vec<&str> = path.split('.').collect();
            let offset = key_span(source, &parts).map_or(0, |s| s.start);
            let (line, column) = line_col(source, offset);
            ScenarioError {
                file: name.to_string(),
                line,
                column,
                key: path,
                message,
            }
        })
        .collect()
}

/// `[scenario] name`: what every resource and report is named by.
fn check_name(meta: &Meta) -> Vec<(String, String)> {
    let name = &meta.name;
    let fine = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        return Vec::new();
    }
    vec![(
        "scenario.name".into(),
        format!("must be non-empty ASCII letters, digits, `-` or `_`, got {name:?}"),
    )]
}

/// The key an error at `offset` concerns: named in the message (unknown fields), else the
/// key on that line, else the nearest table header above.
fn key_at(source: &str, offset: usize, message: &str) -> String {
    if let Some(rest) = message.split("unknown field `").nth(1) {
        if let Some(field) = rest.split('`').next() {
            return field.to_string();
        }
    }
    let before = &source[..offset.min(source.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = source[line_start..].lines().next().unwrap_or_default();
    if let Some((key, _)) = line.split_once('=') {
        return key.trim().to_string();
    }
    before
        .lines()
        .rev()
        .find_map(|l| {
            l.trim()
                .strip_prefix('[')
                .map(|h| h.trim_matches(|c| c == '[' || c == ']').to_string())
        })
        .unwrap_or_else(|| "(file)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::stream::scenario::StreamFile;

    const GOOD: &str = r#"
[scenario]
name = "ok"

[generate]
events = 100
"#;

    fn errors(text: &str) -> Vec<String> {
        parse("s.toml", text)
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_minimal_file_parses_with_defaults() {
        let file = parse("s.toml", GOOD).unwrap();
        let stream: &StreamFile = file.get().unwrap();
        assert_eq!(stream.generate.events, Some(100));
        assert_eq!(stream.pipeline.shards, 2);
        assert_eq!(file.scenario.flow, "stream");
    }

    #[test]
    fn unknown_keys_name_file_line_column_and_key() {
        let e = errors("[scenario]\nname = \"x\"\n\n[generate]\nevents = 5\nevnets = 6\n");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("s.toml:6:1: evnets: unknown field `evnets`"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn wrong_types_point_at_the_value() {
        let e = errors("[scenario]\nname = \"x\"\n[generate]\nevents = \"many\"\n");
        assert!(
            e[0].starts_with("s.toml:4:10: events: invalid type: string"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = errors("[scenario\nname = 1\n");
        assert!(e[0].starts_with("s.toml:1:"), "{}", e[0]);
    }

    #[test]
    fn instrument_problems_point_at_their_list() {
        let text = "[scenario]\nname = \"x\"\n\n[generate]\nevents = 5\nstocks = [{ name = \"AAPL\", price = -1.0 }]\n";
        let e = errors(text);
        assert_eq!(
            e,
            ["s.toml:6:1: generate.stocks: AAPL: price must be positive, got -1"]
        );
    }

    #[test]
    fn semantic_errors_point_at_their_key() {
        let text = "[scenario]\nname = \"x\"\n\n[generate]\nevents = 0\nmix = { forex = 0.5, stock_price = 0.2, stock_news = 0.2 }\n\n[faults]\nmalformed_ratio = 1.5\n\n[[expect.partitions]]\nglob = \"a/[\"\n";
        let e = errors(text);
        let expected = [
            "s.toml:5:1: generate.events: must be at least 1",
            "s.toml:6:1: generate.mix: shares must sum to 1",
            "s.toml:9:1: faults.malformed_ratio: faults.malformed_ratio must be within [0, 1]",
            "s.toml:12:1: expect.partitions.0.glob: not a glob",
        ];
        assert_eq!(e.len(), expected.len(), "{e:#?}");
        for (got, want) in e.iter().zip(expected) {
            assert!(got.starts_with(want), "{got}\n  should start with\n{want}");
        }
    }

    #[test]
    fn a_batch_replay_takes_a_source_only_and_not_beside_batch() {
        let head = "[scenario]\nname = \"b\"\nflow = \"batch\"\n";
        assert!(errors(&format!("{head}[replay]\nsource = \"d\"\n")).is_empty());
        let both = errors(&format!(
            "{head}[batch]\ncompanies = 2\n[replay]\nsource = \"d\"\n"
        ));
        assert!(
            both.len() == 1 && both[0].contains("replay: a batch scenario generates"),
            "{both:?}"
        );
        let stream_keys = errors(&format!(
            "{head}[replay]\nsource = \"d\"\nspeed = 2.0\nsymbol = \"X\"\n"
        ));
        assert_eq!(stream_keys.len(), 2, "{stream_keys:?}");
        assert!(stream_keys[0].contains("replay.speed"), "{stream_keys:?}");
    }

    #[test]
    fn sections_another_flow_reads_are_refused_not_ignored() {
        let e = errors(
            "[scenario]\nname = \"p\"\nflow = \"price-files\"\n[pipeline]\nshards = 2\n[faults]\nmalformed_ratio = 0.1\n[expect]\nfound = 3\n",
        );
        assert_eq!(e.len(), 3, "{e:#?}");
        for key in ["pipeline", "faults.malformed_ratio"] {
            let said = format!("{key}: not read by the price-files flow");
            assert!(e.iter().any(|e| e.contains(&said)), "{e:?}");
        }
        assert!(
            e.iter().any(|e| e.contains("expect.found: not checked")),
            "{e:?}"
        );
        let batch = errors(
            "[scenario]\nname = \"b\"\nflow = \"batch\"\n[expect.sns]\nprice_alert = 1\nrun_status_subject = \"x\"\n",
        );
        assert_eq!(batch.len(), 1, "{batch:#?}");
        assert!(batch[0].contains("expect.sns.price_alert"), "{}", batch[0]);
    }

    #[test]
    fn history_can_be_turned_off_only_where_a_flow_keeps_one() {
        let e = errors("[scenario]\nname = \"b\"\nflow = \"batch\"\nhistory = false\n");
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(
            e[0].contains(":4:1: scenario.history: the batch flow keeps no history"),
            "{}",
            e[0]
        );
        let stream = parse(
            "s.toml",
            "[scenario]\nname = \"s\"\nhistory = false\n[generate]\nevents = 5\n",
        )
        .unwrap();
        assert!(!stream.scenario.history);
        let kept = parse(
            "s.toml",
            "[scenario]\nname = \"s\"\n[generate]\nevents = 5\n",
        )
        .unwrap();
        assert!(kept.scenario.history, "kept by default");
        let unjudged = errors(
            "[scenario]\nname = \"s\"\nhistory = false\n[generate]\nevents = 5\n[expect]\nordered = true\n",
        );
        assert_eq!(unjudged.len(), 1, "{unjudged:#?}");
        let said = ":7:1: expect.ordered: judged on the run's history, and [scenario] history = false keeps none";
        assert!(unjudged[0].contains(said), "{}", unjudged[0]);
    }

    #[test]
    fn another_flows_expectations_are_refused_in_a_stream_scenario() {
        for (section, key) in [
            ("batch", "table_rows = 999"),
            ("price_files", "alerts = 42"),
        ] {
            let e = errors(&format!("{GOOD}[expect.{section}]\n{key}\n"));
            assert_eq!(e.len(), 1, "{e:#?}");
            assert!(
                e[0].starts_with(&format!(
                    "s.toml:7:9: expect.{section}: not checked by the stream flow"
                )),
                "{}",
                e[0]
            );
        }
    }

    #[test]
    fn a_count_that_cannot_fail_is_refused() {
        for count in [
            "{ min = 0 }",
            "{ max = 9223372036854775807 }",
            "{ min = 0, max = 9223372036854775807 }",
        ] {
            let e = errors(&format!("{GOOD}[expect]\nfound = {count}\n"));
            assert_eq!(e.len(), 1, "{count}: {e:#?}");
            assert!(
                e[0].starts_with("s.toml:8:1: expect.found: this range admits every count"),
                "{}",
                e[0]
            );
        }
        for count in ["{ min = 1 }", "{ max = 5 }", "0", "{ min = 0, max = 5 }"] {
            assert!(
                errors(&format!("{GOOD}[expect]\nfound = {count}\n")).is_empty(),
                "{count}"
            );
        }
    }

    #[test]
    fn a_schedule_that_would_run_for_ages_is_refused_at_its_key() {
        let rate = errors(&format!("{GOOD}rate = 1e-300\n"));
        assert_eq!(rate.len(), 1, "{rate:#?}");
        assert!(
            rate[0].starts_with("s.toml:7:1: generate.rate: must be 0 (unlimited) or within"),
            "{}",
            rate[0]
        );
        let slow = errors("[scenario]\nname = \"s\"\n[generate]\nevents = 100000\nrate = 0.001\n");
        assert!(
            slow[0].starts_with("s.toml:5:1: generate.rate: 100000 arrivals on this schedule take"),
            "{slow:?}"
        );
        assert!(errors(&format!("{GOOD}rate = 0.001\n")).is_empty());
        let web = "[scenario]\nname = \"w\"\n[source]\nkind = \"web\"\n[web]\n";
        let calls = errors(&format!("{web}every_secs = 1e-9\n"));
        assert!(
            calls[0].starts_with("s.toml:6:1: web.every_secs: plans 23400000000000 calls"),
            "{calls:?}"
        );
        let speed = errors(&format!("{web}speed = 1e-18\n"));
        assert!(
            speed[0].starts_with("s.toml:6:1: web.speed: speed / every_secs is"),
            "{speed:?}"
        );
    }

    #[test]
    fn a_fault_rule_naming_a_call_no_stage_makes_is_refused() {
        let rule = |service: &str, op: &str| {
            format!(
                "{GOOD}[[faults.schedule]]\nkind = \"throttle\"\nservice = \"{service}\"\noperation = \"{op}\"\ncalls = [1]\n"
            )
        };
        let misspelt = errors(&rule("s3", "PutObjects"));
        assert_eq!(misspelt.len(), 1, "{misspelt:#?}");
        assert!(
            misspelt[0].starts_with("s.toml:10:1: faults.schedule.0.operation: no stage of this run calls PutObjects on s3"),
            "{}",
            misspelt[0]
        );
        let sns = errors(&rule("sns", "Publish"));
        assert!(
            sns[0].starts_with(
                "s.toml:9:1: faults.schedule.0.service: no stage of this run calls sns"
            ),
            "{sns:?}"
        );
        let firehose = errors(&rule("firehose", "PutRecordBatch"));
        assert!(
            firehose[0].contains("does not name \"firehose\""),
            "{firehose:?}"
        );
        assert!(errors(&rule("s3", "PutObject")).is_empty());
        assert!(errors(&rule("kinesis", "GetRecords")).is_empty());
    }

    #[test]
    fn a_batch_schedule_takes_call_faults_on_its_stages_calls_only() {
        let head = "[scenario]\nname = \"b\"\nflow = \"batch\"\n";
        let rule = |body: &str| format!("{head}[[faults.schedule]]\n{body}");
        assert!(errors(&rule(
            "kind = \"reset\"\nservice = \"s3\"\noperation = \"PutObject\"\ncalls = [1]\n"
        ))
        .is_empty());
        let split = errors(&rule("kind = \"split_shard\"\nafter_secs = 1.0\n"));
        assert!(
            split[0].starts_with(
                "s.toml:5:1: faults.schedule.0.kind: the batch flow has no place for a split_shard fault"
            ),
            "{split:?}"
        );
        let kinesis = errors(&rule(
            "kind = \"throttle\"\nservice = \"kinesis\"\ncalls = [1]\n",
        ));
        assert!(
            kinesis[0].contains("faults.schedule.0.service: no stage of this run calls kinesis"),
            "{kinesis:?}"
        );
        let prices = "[scenario]\nname = \"p\"\nflow = \"price-files\"\n[[faults.schedule]]\n";
        assert!(errors(&format!(
            "{prices}kind = \"throttle\"\nservice = \"s3\"\noperation = \"GetObject\"\ncalls = [1]\n"
        ))
        .is_empty());
        let crash = errors(&format!(
            "{prices}kind = \"crash\"\nstage = \"processor\"\nat = [1]\n"
        ));
        assert!(
            crash[0].starts_with(
                "s.toml:6:1: faults.schedule.0.stage: the price-files flow has no stage \"processor\""
            ),
            "{crash:?}"
        );
        assert!(errors(&format!(
            "{prices}kind = \"crash\"\nstage = \"etl\"\nat = [1]\n"
        ))
        .is_empty());
        let loader = errors(&rule("kind = \"crash\"\nstage = \"etl\"\nat = [2]\n"));
        assert!(
            loader[0].contains("the batch flow has no stage \"etl\" (its stages: trigger, loader)"),
            "{loader:?}"
        );
        assert!(errors(&rule("kind = \"crash\"\nstage = \"loader\"\nat = [2]\n")).is_empty());
        let database = errors(&format!("{prices}kind = \"db_terminate\"\nat = [1]\n"));
        assert!(
            database[0].contains("the price-files flow has no place for a db_terminate fault"),
            "{database:?}"
        );
        let in_stream = errors(&format!(
            "{GOOD}[[faults.schedule]]\nkind = \"crash\"\nstage = \"loader\"\nat = [1]\n"
        ));
        assert!(
            in_stream[0].contains("the stream flow has no stage \"loader\""),
            "{in_stream:?}"
        );
        let ratios = errors(&format!("{head}[faults]\nmalformed_ratio = 0.1\n"));
        assert!(
            ratios[0].contains("faults.malformed_ratio: not read by the batch flow"),
            "{ratios:?}"
        );
    }

    #[test]
    fn keys_another_section_overrides_are_refused() {
        let replay = errors("[scenario]\nname = \"r\"\n[generate]\nevents = 5\nrate = 10.0\n[replay]\nsource = \"f.csv\"\n");
        assert_eq!(replay.len(), 1, "{replay:#?}");
        assert!(
            replay[0].contains("generate.events: not read beside [replay]"),
            "{}",
            replay[0]
        );
        let load = errors(&format!("{GOOD}rate = 10.0\n[load]\nrate = 20.0\n"));
        assert_eq!(load.len(), 1, "{load:#?}");
        assert!(
            load[0].contains("generate.rate: not read beside [load]"),
            "{}",
            load[0]
        );
    }

    #[test]
    fn another_flows_input_section_is_refused_once_naming_its_flow() {
        let stream =
            errors("[scenario]\nname = \"s\"\n[generate]\nevents = 5\n[batch]\ncompanies = 2\n");
        assert_eq!(stream.len(), 1, "{stream:#?}");
        assert!(
            stream[0].contains("batch: not read by the stream flow"),
            "{}",
            stream[0]
        );
        assert!(stream[0].contains("flow = \"batch\""), "{}", stream[0]);
        let prices =
            errors("[scenario]\nname = \"p\"\nflow = \"price-files\"\n[batch]\ncompanies = 2\n");
        assert_eq!(prices.len(), 1, "{prices:#?}");
    }
}
