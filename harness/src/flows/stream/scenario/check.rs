//! Checking a stream scenario's file: what its types cannot say.
//!
//! The semantic checks of a stream scenario, each a (dotted key, message): the generator's
//! settings, the schedule within its caps, each source with its own section, the sinks and
//! fault rules only where their consumers and calls run, and `[expect]` counts that can fail.

use super::file::StreamFile;
use super::sections::{SourceKind, Speed};
use crate::flows::flow::Written;
use crate::flows::stream::driver::alarms::ROLES;
use crate::flows::stream::input::arrival::{LoadPlan, MAX_RATE, MIN_RATE};
use crate::flows::stream::input::web::settings::MAX_CALLS;
use crate::verdict::alarms::Alarms;
use crate::verdict::expect::glob_problem;
use tickflow_pipeline::chaos::Service;

use super::expect::WebExpect;

/// Every semantic problem of `file`; `written` is the file as written.
pub fn check(file: &StreamFile, written: &Written) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    check_generate(file, &mut problems);
    check_replay(file, &mut problems);
    check_source(file, &mut problems);
    check_sinks(file, &mut problems);
    if let Some(load) = &file.load {
        problems.extend(load.check());
    }
    check_schedule(file, &mut problems);
    problems.extend(file.pipeline.check());
    let longest_delay = file.faults.longest_delay_secs();
    problems.extend(file.pipeline.check_liveness(longest_delay));
    check_expect(file, &mut problems);
    check_alarms(file, &mut problems);
    problems.extend(keys_another_section_overrides(written));
    problems.extend(ordered_without_history(file, written));
    problems
}

/// `[[alarms]]` and `[expect.alarms]`: each alarm on a metric the stream's stages publish
/// (the web source's only with one), named once, and each expectation on a declared alarm.
fn check_alarms(file: &StreamFile, problems: &mut Vec<(String, String)>) {
    let alarms = Alarms::new(&file.alarms, &file.expect.alarms);
    problems.extend(alarms.check(ROLES, file.faults.schedule.len()));
    let web = file.source_kind() == SourceKind::Web;
    for (i, alarm) in file.alarms.iter().enumerate() {
        if alarm
            .metric()
            .is_some_and(|m| m.dimension == "LoadBalancer")
            && !web
        {
            problems.push((
                format!("alarms.{i}.metric"),
                "only the web source publishes it ([source] kind = \"web\")".into(),
            ));
        }
    }
}

/// `[expect] ordered` where no history is kept to judge it on: a replay (its ids are not
/// positions), or `[scenario] history = false`.
fn ordered_without_history(file: &StreamFile, written: &Written) -> Option<(String, String)> {
    let history_off = written
        .get("scenario")
        .and_then(|s| s.get("history"))
        .and_then(serde_json::Value::as_bool)
        == Some(false);
    let why = match (file.replay.is_some(), history_off) {
        _ if !file.expect.ordered => return None,
        (true, _) => "a replay's events keep no history (their ids are not the generator's)",
        (_, true) => "[scenario] history = false keeps none",
        _ => return None,
    };
    Some((
        "expect.ordered".into(),
        format!("judged on the run's history, and {why}"),
    ))
}

/// `[generate]`: the generator's settings, worded for the scenario file.
fn check_generate(file: &StreamFile, problems: &mut Vec<(String, String)>) {
    let g = &file.generate;
    let generated = file.source_kind() == SourceKind::Generate;
    if generated && g.events.unwrap_or(0) == 0 {
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
        if let Ok(config) = file.generator_config(0) {
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
/// last call, due within [`crate::flows::stream::input::arrival::MAX_SECS`]; a web source's calls at
/// most [`MAX_CALLS`] (a replay's items are known only as they are read: its feed refuses one
/// due beyond the cap).
fn check_schedule(file: &StreamFile, problems: &mut Vec<(String, String)>) {
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
            if let Some(problem) = file.load_plan().check_span(events) {
                problems.push((plan_key.into(), problem));
            }
        }
        SourceKind::Web => check_web_schedule(file, problems),
        SourceKind::Replay => {}
    }
}

/// A web source's calls: at most [`MAX_CALLS`], at a rate within the load plan's bounds, the
/// last one due within the cap.
fn check_web_schedule(file: &StreamFile, problems: &mut Vec<(String, String)>) {
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
fn check_source(file: &StreamFile, problems: &mut Vec<(String, String)>) {
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
fn check_sinks(file: &StreamFile, problems: &mut Vec<(String, String)>) {
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
    let calls = file.pipeline.calls();
    problems.extend(crate::verdict::fault_rules::check_targets(
        &file.faults.schedule,
        &calls,
        |service| match service {
            Service::Sns => {
                " (S3 announces new data and alerts; the run status is the harness's, published \
                 without faults)"
            }
            Service::Firehose => " (pipeline.consumers does not name \"firehose\")",
            _ => "",
        },
    ));
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
fn check_replay(file: &StreamFile, problems: &mut Vec<(String, String)>) {
    if let Some(replay) = &file.replay {
        if let Speed::Factor(f) = replay.speed {
            if let Err(e) = crate::flows::stream::input::replay::Pace::scaled(f) {
                problems.push(("replay.speed".into(), e));
            }
        }
    }
}

/// `[expect]`: globs that parse (a count that cannot fail is refused as it is read), and the
/// faults' own settings.
fn check_expect(file: &StreamFile, problems: &mut Vec<(String, String)>) {
    problems.extend(file.faults.check(file.source_kind() == SourceKind::Web));
    for (i, p) in file.expect.partitions.iter().enumerate() {
        problems.extend(glob_problem(
            &format!("expect.partitions.{i}.glob"),
            &p.glob,
        ));
    }
    if let Some(subject) = &file.expect.sns.run_status_subject {
        problems.extend(glob_problem("expect.sns.run_status_subject", subject));
    }
}

/// `[generate]` keys beside `[replay]` (the replay's events are the file's: only `rate`
/// applies), and `[generate] rate` beside `[load]` (the load plan sets the rate).
fn keys_another_section_overrides(table: &Written) -> Vec<(String, String)> {
    let generate = table.get("generate").and_then(serde_json::Value::as_object);
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
