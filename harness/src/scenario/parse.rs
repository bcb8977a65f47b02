//! Reading and validating scenario files.
//!
//! Reading and validating scenario files: syntax, unknown keys, wrong types and semantic
//! checks, each reported as `file:line:column: key: message`.

use std::path::{Path, PathBuf};

use globset::Glob;

use super::file::{FlowKind, ScenarioFile, SourceKind, WebExpect};
use super::locate::{key_span, line_col};
use crate::flows::stream::arrival::{LoadPlan, MAX_RATE, MIN_RATE};
use crate::flows::stream::web::settings::MAX_CALLS;

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
/// # Errors
/// As [`load`].
pub fn parse(name: &str, source: &str) -> Result<ScenarioFile, Vec<ScenarioError>> {
    let file: ScenarioFile = toml::from_str(source).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let (line, column) = line_col(source, offset);
        vec![ScenarioError {
            file: name.to_string(),
            line,
            column,
            key: key_at(source, offset, e.message()),
            message: e.message().trim().to_string(),
        }]
    })?;
    let mut problems = check(&file);
    if let Ok(table) = source.parse::<toml::Table>() {
        problems.extend(sections_of_other_flows(file.scenario.flow, &table));
        problems.extend(keys_another_section_overrides(&table));
    }
    if problems.is_empty() {
        return Ok(file);
    }
    Err(problems
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
        .collect())
}

/// The sections only some flows read, and which ones.
const FLOW_SECTIONS: [(&str, &[FlowKind]); 9] = [
    ("source", &[FlowKind::Stream]),
    ("web", &[FlowKind::Stream]),
    ("generate", &[FlowKind::Stream]),
    ("load", &[FlowKind::Stream]),
    ("pipeline", &[FlowKind::Stream]),
    ("faults", &[FlowKind::Stream]),
    ("replay", &[FlowKind::Stream, FlowKind::Batch]),
    ("batch", &[FlowKind::Batch]),
    ("price_files", &[FlowKind::PriceFiles]),
];

/// Sections and `[expect]` keys another flow reads: a scenario that gives them would have them
/// ignored and could pass on what was never checked or injected.
fn sections_of_other_flows(flow: FlowKind, table: &toml::Table) -> Vec<(String, String)> {
    let flow_name = flow.name();
    let mut problems: Vec<(String, String)> = FLOW_SECTIONS
        .iter()
        .filter(|(section, readers)| table.contains_key(*section) && !readers.contains(&flow))
        .map(|(section, readers)| {
            let message = another_flows("not read by", flow, readers[0]);
            (section.to_string(), message)
        })
        .collect();
    let expect = table.get("expect").and_then(toml::Value::as_table);
    for key in expect.into_iter().flat_map(|t| t.keys()) {
        if let Some(message) = expect_key_not_read(flow, key) {
            problems.push((format!("expect.{key}"), message));
        }
    }
    if flow == FlowKind::Stream {
        return problems; // the stream flow reads every key of `[expect.sns]`
    }
    if let Some(sns) = expect
        .and_then(|t| t.get("sns"))
        .and_then(toml::Value::as_table)
    {
        for key in sns.keys().filter(|k| *k != "run_status_subject") {
            problems.push((
                format!("expect.sns.{key}"),
                format!("not checked by the {flow_name} flow (it reads run_status_subject)"),
            ));
        }
    }
    problems
}

/// What is said of a key that `owner` reads given to a `flow` scenario: `verb` the flow, and
/// how to mean it.
fn another_flows(verb: &str, flow: FlowKind, owner: FlowKind) -> String {
    let (name, owner) = (flow.name(), owner.name());
    format!(
        "{verb} the {name} flow: it would be ignored (the {owner} flow's: set \
         `flow = \"{owner}\"` in [scenario] if it is meant)"
    )
}

/// Why `flow` does not read the `[expect]` key `key`, if it does not.
fn expect_key_not_read(flow: FlowKind, key: &str) -> Option<String> {
    let name = flow.name();
    let (reads, others): (&[&str], &[(&str, FlowKind)]) = match flow {
        // The stream flow reads every key but the other flows' own sections.
        FlowKind::Stream => (
            &[],
            &[
                ("batch", FlowKind::Batch),
                ("price_files", FlowKind::PriceFiles),
            ],
        ),
        FlowKind::Batch => (&["reconciliation", "batch", "sns"], &[]),
        FlowKind::PriceFiles => (&["reconciliation", "price_files"], &[]),
    };
    if let Some((_, owner)) = others.iter().find(|(k, _)| *k == key) {
        return Some(another_flows("not checked by", flow, *owner));
    }
    (!reads.is_empty() && !reads.contains(&key)).then(|| {
        format!(
            "not checked by the {name} flow (it reads {})",
            reads.join(", ")
        )
    })
}

/// `[generate]` keys beside `[replay]` (the replay's events are the file's: only `rate`
/// applies), and `[generate] rate` beside `[load]` (the load plan sets the rate).
fn keys_another_section_overrides(table: &toml::Table) -> Vec<(String, String)> {
    let generate = table.get("generate").and_then(toml::Value::as_table);
    let keys = generate.into_iter().flat_map(|g| g.keys());
    let mut problems = Vec::new();
    for key in keys {
        if table.contains_key("replay") && key != "rate" {
            problems.push((
                format!("generate.{key}"),
                "not read beside [replay]: the replayed file gives the events (only `rate` \
                 applies)"
                    .into(),
            ));
        }
        if table.contains_key("load") && key == "rate" {
            problems.push((
                "generate.rate".into(),
                "not read beside [load]: the load plan sets the arrival rate".into(),
            ));
        }
    }
    problems
}

/// The batch flow's input: `[batch]` to generate, or `[replay]` of a directory, not both, and
/// no stream-only key in the replay; the price-file flow's settings. (A section of another flow
/// is [`sections_of_other_flows`]'s.)
fn check_flow_inputs(file: &ScenarioFile) -> Vec<(String, String)> {
    use super::file::Speed;
    let mut problems = Vec::new();
    match (file.scenario.flow, &file.batch, &file.replay) {
        (FlowKind::Batch, Some(_), Some(_)) => problems.push((
            "replay".into(),
            "a batch scenario generates its files ([batch]) or replays a directory ([replay]), \
             not both"
                .into(),
        )),
        (FlowKind::Batch, Some(batch), None) => problems.extend(batch.check()),
        (FlowKind::Batch, None, Some(replay)) => {
            let stream_only = [
                ("speed", !matches!(replay.speed, Speed::Full)),
                ("symbol", replay.symbol.is_some()),
                ("format", replay.format.is_some()),
            ];
            for (key, given) in stream_only {
                if given {
                    problems.push((
                        format!("replay.{key}"),
                        "a batch replay is a directory of company files: only `source` applies"
                            .into(),
                    ));
                }
            }
        }
        (FlowKind::Batch, None, None) | (FlowKind::Stream | FlowKind::PriceFiles, _, _) => {}
    }
    if let (FlowKind::PriceFiles, Some(settings)) = (file.scenario.flow, &file.price_files) {
        problems.extend(settings.check());
    }
    problems
}

/// Semantic checks: (dotted key path, message).
fn check(file: &ScenarioFile) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    check_name(file, &mut problems);
    check_generate(file, &mut problems);
    check_replay(file, &mut problems);
    check_source(file, &mut problems);
    check_sinks(file, &mut problems);
    if let Some(load) = &file.load {
        problems.extend(load.check());
    }
    check_schedule(file, &mut problems);
    problems.extend(file.pipeline.check());
    problems.extend(check_flow_inputs(file));
    check_expect(file, &mut problems);
    problems
}

/// `[scenario] name`: what every resource and report is named by.
fn check_name(file: &ScenarioFile, problems: &mut Vec<(String, String)>) {
    let name = &file.scenario.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        problems.push((
            "scenario.name".into(),
            format!("must be non-empty ASCII letters, digits, `-` or `_`, got {name:?}"),
        ));
    }
}

/// `[generate]`: the generator's settings, worded for the scenario file.
fn check_generate(file: &ScenarioFile, problems: &mut Vec<(String, String)>) {
    let g = &file.generate;
    let stream = file.scenario.flow == super::file::FlowKind::Stream;
    let generated = file.source_kind() == SourceKind::Generate;
    if stream && generated && g.events.unwrap_or(0) == 0 {
        problems.push((
            "generate.events".into(),
            "must be at least 1 (or give [replay])".into(),
        ));
    }
    if let Some(mix) = &g.mix {
        let shares = [mix.forex, mix.stock_price, mix.stock_news];
        if shares.iter().any(|s| !(0.0..=1.0).contains(s)) {
            problems.push((
                "generate.mix".into(),
                format!("every share must be within [0, 1], got {shares:?}"),
            ));
        }
        let sum: f64 = shares.iter().sum();
        if (sum - 1.0).abs() > 1e-6 {
            problems.push((
                "generate.mix".into(),
                format!("shares must sum to 1, got {sum}"),
            ));
        }
    }
    if let Some(start) = &g.start {
        if chrono::DateTime::parse_from_rfc3339(start).is_err() {
            problems.push((
                "generate.start".into(),
                format!("not an RFC 3339 time: {start:?}"),
            ));
        }
    }
    if g.rate
        .is_some_and(|r| r != 0.0 && !(MIN_RATE..=MAX_RATE).contains(&r))
    {
        problems.push((
            "generate.rate".into(),
            format!("must be 0 (unlimited) or within [{MIN_RATE}, {MAX_RATE}] events/s"),
        ));
    }
    let max_gap = tickflow_pipeline::source::MAX_MEAN_GAP_MS;
    if g.mean_gap_ms.is_some_and(|m| !(m > 0.0 && m <= max_gap)) {
        problems.push((
            "generate.mean_gap_ms".into(),
            format!("must be positive and at most {max_gap} (a day of market time)"),
        ));
    }
    if file.replay.is_none() {
        if let Ok(config) = super::stream_input::generator_config(file) {
            for (key, problem) in config.check().err().unwrap_or_default() {
                if matches!(key, "mix" | "mean_gap_ms" | "events") {
                    continue; // reported above, worded for the scenario file
                }
                problems.push((format!("generate.{key}"), problem));
            }
        }
    }
}

/// The planned arrivals of a stream run: a generated feed's last event, and a web source's
/// last call, due within [`crate::flows::stream::arrival::MAX_SECS`]; a web source's calls at
/// most [`MAX_CALLS`] (a replay's items are known only as they are read: its feed refuses one
/// due beyond the cap).
fn check_schedule(file: &ScenarioFile, problems: &mut Vec<(String, String)>) {
    if file.scenario.flow != FlowKind::Stream {
        return;
    }
    let plan_key = if file.load.is_some() {
        "load"
    } else {
        "generate.rate"
    };
    if problems.iter().any(|(key, _)| key.starts_with(plan_key)) {
        return; // the plan's own values are wrong: its span says nothing more
    }
    match file.source_kind() {
        SourceKind::Generate => {
            let events = file.generate.events.unwrap_or(0);
            if let Some(problem) = super::stream_input::load_plan(file).check_span(events) {
                problems.push((plan_key.into(), problem));
            }
        }
        SourceKind::Web => check_web_schedule(file, problems),
        SourceKind::Replay => {}
    }
}

/// A web source's calls: at most [`MAX_CALLS`], at a rate within the load plan's bounds, the
/// last one due within the cap.
fn check_web_schedule(file: &ScenarioFile, problems: &mut Vec<(String, String)>) {
    let settings = file.web.clone().unwrap_or_default();
    let load = file.load.as_ref();
    let calls = settings.calls(load);
    if calls != u64::MAX && calls > MAX_CALLS {
        let key = if settings.requests.is_some() {
            "web.requests"
        } else {
            "web.every_secs"
        };
        problems.push((
            key.into(),
            format!(
                "plans {calls} calls, more than the cap of {MAX_CALLS}: give `requests` or a \
                 longer every_secs"
            ),
        ));
        return;
    }
    let schedule = settings.schedule(load);
    if load.is_none_or(|l| *l == LoadPlan::default()) {
        let rate = schedule.rate.unwrap_or(0.0);
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            problems.push((
                "web.speed".into(),
                format!(
                    "speed / every_secs is {rate:.3e} calls/s: it must be within \
                     [{MIN_RATE}, {MAX_RATE}]"
                ),
            ));
            return;
        }
    }
    let key = if load.is_some() { "load" } else { "web.speed" };
    let scheduled = calls.saturating_add(settings.refused.total());
    if let Some(problem) = schedule.check_span(scheduled) {
        problems.push((key.into(), problem));
    }
}

/// `[source]`, `[web]` and `[expect.web]`: each source with its own section, and the web
/// source's settings.
fn check_source(file: &ScenarioFile, problems: &mut Vec<(String, String)>) {
    let kind = file.source_kind();
    let mut bad = |key: &str, message: &str| problems.push((key.into(), message.into()));
    match (kind, &file.replay) {
        (SourceKind::Replay, None) => bad("source.kind", "\"replay\" needs a [replay] section"),
        (SourceKind::Generate | SourceKind::Web, Some(_)) => bad(
            "replay",
            "read only with [source] kind = \"replay\" (or without [source])",
        ),
        _ => {}
    }
    let web = kind == SourceKind::Web;
    if !web && file.web.is_some() {
        bad("web", "read only with [source] kind = \"web\"");
    }
    if !web && file.expect.web != WebExpect::default() {
        bad("expect.web", "checked only with [source] kind = \"web\"");
    }
    if web && file.generate.rate.is_some() {
        bad(
            "generate.rate",
            "a web source's calls follow [web] (every_secs, speed) or [load], not a feed rate",
        );
    }
    if web {
        let settings = file.web.clone().unwrap_or_default();
        problems.extend(settings.check());
    }
}

/// `[expect.sinks]`: only for the sinks of the consumers that run, and only with fan-out (the
/// sinks are compared when there is more than the lake).
fn check_sinks(file: &ScenarioFile, problems: &mut Vec<(String, String)>) {
    let consumers = &file.pipeline.consumers;
    for (name, expect) in file.expect.sinks.named() {
        if !expect.is_set() {
            continue;
        }
        let runs = consumers.iter().any(|c| c.name() == name);
        if !runs || consumers.len() < 2 {
            problems.push((
                format!("expect.sinks.{name}"),
                format!(
                    "checked only when pipeline.consumers names \"{name}\" and another \
                     consumer beside \"lake\""
                ),
            ));
        }
    }
    if file.scenario.flow == FlowKind::Stream {
        let calls = file.pipeline.calls();
        problems.extend(crate::flows::stream::rules::check_targets(
            &file.faults.schedule,
            &calls,
        ));
    }
    for (i, rule) in file.faults.schedule.iter().enumerate() {
        let consumer = match rule.stage {
            Some(tickflow_pipeline::chaos::Stage::Raw) => "raw",
            Some(tickflow_pipeline::chaos::Stage::Firehose) => "firehose",
            _ => continue,
        };
        if !consumers.iter().any(|c| c.name() == consumer) {
            problems.push((
                format!("faults.schedule.{i}.stage"),
                format!(
                    "a crash of stage \"{consumer}\" needs pipeline.consumers to name \
                     \"{consumer}\": that consumer would never run, nor crash"
                ),
            ));
        }
    }
}

/// `[replay]`: its pace.
fn check_replay(file: &ScenarioFile, problems: &mut Vec<(String, String)>) {
    if let Some(replay) = &file.replay {
        if let super::file::Speed::Factor(f) = replay.speed {
            if let Err(e) = crate::flows::stream::replay::Pace::scaled(f) {
                problems.push(("replay.speed".into(), e));
            }
        }
    }
}

/// `[expect]`: counts that can fail, and globs that parse.
fn check_expect(file: &ScenarioFile, problems: &mut Vec<(String, String)>) {
    problems.extend(file.faults.check());
    if !file.expect.reconciliation {
        problems.push((
            "expect.reconciliation".into(),
            "cannot be turned off: every run is judged on missing, duplicated, misplaced, \
             altered and unknown records"
                .into(),
        ));
    }
    for (key, count) in file.expect.counts() {
        if let Err(e) = count.check() {
            problems.push((key, e));
        }
    }
    for (i, p) in file.expect.partitions.iter().enumerate() {
        if let Err(e) = Glob::new(&p.glob) {
            problems.push((
                format!("expect.partitions.{i}.glob"),
                format!("not a glob: {e}"),
            ));
        }
    }
    if let Some(subject) = &file.expect.sns.run_status_subject {
        if let Err(e) = Glob::new(subject) {
            problems.push((
                "expect.sns.run_status_subject".into(),
                format!("not a glob: {e}"),
            ));
        }
    }
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
        assert_eq!(file.generate.events, Some(100));
        assert!(file.expect.reconciliation);
        assert_eq!(file.pipeline.shards, 2);
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
            "[scenario]\nname = \"p\"\nflow = \"price-files\"\n[faults]\nmalformed_ratio = 0.1\n[expect]\nfound = 3\n",
        );
        assert_eq!(e.len(), 2, "{e:#?}");
        assert!(
            e[0].contains("faults: not read by the price-files flow"),
            "{}",
            e[0]
        );
        assert!(e[1].contains("expect.found: not checked"), "{}", e[1]);
        let batch = errors(
            "[scenario]\nname = \"b\"\nflow = \"batch\"\n[expect.sns]\nprice_alert = 1\nrun_status_subject = \"x\"\n",
        );
        assert_eq!(batch.len(), 1, "{batch:#?}");
        assert!(batch[0].contains("expect.sns.price_alert"), "{}", batch[0]);
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
                e[0].contains("expect.found: this range admits every count"),
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
