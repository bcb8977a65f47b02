//! What a scenario's run plans, within caps.
//!
//! What a scenario's run plans before it starts, read off its schedules as a run would read
//! them (each due time asked of the plan, not reasoned about): when its last arrival is due,
//! how many calls a web source makes, how long a price-file upload is paced over. Validation
//! promises every file it accepts plans a bounded run; the property test over settings and
//! the scenario fuzz target hold it to that with this.

use crate::flows::price_files::settings::MAX_UPLOAD_SECS;
use crate::flows::stream::arrival::{LoadPlan, MAX_SECS};
use crate::flows::stream::web::settings::MAX_CALLS;

use super::file::{FlowKind, ScenarioFile, SourceKind};

/// The planned size of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Planned {
    /// Seconds into the run when the feed or the scheduler stops at the latest: the last
    /// arrival's due time, or the plan's duration if that ends first (`None`: as fast as the
    /// pipeline takes them, or a replay, whose items are known only as they are read).
    pub arrivals_secs: Option<f64>,
    /// Calls a web source's scheduler makes (`None`: not a web source, or until a duration).
    pub calls: Option<u64>,
    /// Seconds a paced price-file upload takes.
    pub upload_secs: Option<f64>,
}

impl Planned {
    /// Whether every figure is within its cap: [`MAX_SECS`] for arrivals, [`MAX_CALLS`] for
    /// calls, [`MAX_UPLOAD_SECS`] for uploads.
    pub fn bounded(&self) -> bool {
        self.arrivals_secs.is_none_or(|s| s <= MAX_SECS)
            && self.calls.is_none_or(|c| c <= MAX_CALLS)
            && self.upload_secs.is_none_or(|s| s <= MAX_UPLOAD_SECS)
    }
}

/// The run `file` plans.
pub fn planned(file: &ScenarioFile) -> Planned {
    match file.scenario.flow {
        FlowKind::Stream => stream(file),
        FlowKind::PriceFiles => Planned {
            upload_secs: file.price_files.as_ref().and_then(|p| {
                let files = p.total_files();
                p.rate.map(|rate| files.saturating_sub(1) as f64 / rate)
            }),
            ..Planned::default()
        },
        FlowKind::Batch => Planned::default(),
    }
}

fn stream(file: &ScenarioFile) -> Planned {
    match file.source_kind() {
        SourceKind::Generate => Planned {
            arrivals_secs: last_arrival(
                &super::stream_input::load_plan(file),
                file.generate.events,
            ),
            ..Planned::default()
        },
        SourceKind::Web => {
            let settings = file.web.clone().unwrap_or_default();
            let load = file.load.as_ref();
            let calls = settings.calls(load);
            let until_duration = calls == u64::MAX;
            let scheduled = calls.saturating_add(settings.refused.total());
            Planned {
                arrivals_secs: last_arrival(&settings.schedule(load), Some(scheduled)),
                calls: (!until_duration).then_some(calls),
                upload_secs: None,
            }
        }
        SourceKind::Replay => Planned::default(),
    }
}

/// When the last of `items` is due on `plan`, or its duration if that ends first.
fn last_arrival(plan: &LoadPlan, items: Option<u64>) -> Option<f64> {
    let last = items
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| plan.due(i))
        .map(|d| d.as_secs_f64());
    match (last, plan.duration_secs) {
        (Some(last), Some(end)) => Some(last.min(end)),
        (last, end) => last.or(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Numbers at and beyond every edge a setting has.
    fn edge() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "1e-300", "1e-18", "1e-9", "0.001", "0.5", "1.0", "60.0", "6000.0", "1e6", "1e9",
            "1e12", "1e300", "0.0", "-5.0", "inf", "nan",
        ])
        .prop_map(str::to_string)
    }

    fn count() -> impl Strategy<Value = u64> {
        prop::sample::select(vec![1u64, 10, 390, 10_000, 1_000_000, 1_000_000_000_000])
    }

    fn bounded_if_valid(text: &str) -> Result<(), TestCaseError> {
        if let Ok(file) = super::super::parse("p.toml", text) {
            let plan = planned(&file);
            prop_assert!(plan.bounded(), "{text}\nvalidated, and plans {plan:?}");
        }
        Ok(())
    }

    proptest! {
        /// Every rate, speed, interval, count and duration a file may give: validation either
        /// refuses the file or the run it plans is within the caps.
        #[test]
        fn a_file_that_validates_plans_a_bounded_run(
            rate in edge(), events in count(), speed in edge(), every in edge(),
            requests in prop::option::of(count()), duration in prop::option::of(edge()),
            files in prop::sample::select(vec![1u32, 288, 100_000]),
        ) {
            let head = "[scenario]\nname = \"p\"\n";
            let load = duration
                .as_ref()
                .map(|d| format!("[load]\nrate = {rate}\nduration_secs = {d}\n"))
                .unwrap_or_default();
            bounded_if_valid(&format!("{head}[generate]\nevents = {events}\nrate = {rate}\n"))?;
            bounded_if_valid(&format!("{head}[generate]\nevents = {events}\n{load}"))?;
            let requests = requests.map(|r| format!("requests = {r}\n")).unwrap_or_default();
            bounded_if_valid(&format!(
                "{head}[source]\nkind = \"web\"\n[web]\nspeed = {speed}\nevery_secs = {every}\n{requests}{load}"
            ))?;
            bounded_if_valid(&format!(
                "[scenario]\nname = \"p\"\nflow = \"price-files\"\n[price_files]\nfiles = {files}\nrate = {rate}\n"
            ))?;
        }
    }

    #[test]
    fn the_settings_the_issue_found_are_refused() {
        for text in [
            "[scenario]\nname = \"p\"\n[generate]\nevents = 10\nrate = 1e-300\n",
            "[scenario]\nname = \"p\"\nflow = \"price-files\"\n[price_files]\nrate = 1e-18\n",
            "[scenario]\nname = \"p\"\n[source]\nkind = \"web\"\n[web]\nspeed = 1e-18\n",
            "[scenario]\nname = \"p\"\n[source]\nkind = \"web\"\n[web]\nevery_secs = 1e-9\n",
        ] {
            let errors = super::super::parse("p.toml", text).expect_err(text);
            assert!(!errors.is_empty(), "{text}");
        }
        let fine = super::super::parse(
            "p.toml",
            "[scenario]\nname = \"p\"\n[source]\nkind = \"web\"\n",
        )
        .unwrap();
        let plan = planned(&fine);
        assert_eq!(plan.calls, Some(390), "a trading day at a call a minute");
        assert!(plan.bounded(), "{plan:?}");
    }
}
