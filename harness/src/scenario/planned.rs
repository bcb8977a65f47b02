//! What a scenario's run plans, within caps.
//!
//! What a scenario's run plans before it starts (its flow says: see
//! [`crate::flows::FlowFile::planned`]). Validation promises every file it accepts plans a
//! bounded run; the property test over settings and the scenario fuzz target hold it to that
//! with this.

use super::file::ScenarioFile;
pub use crate::flows::flow::{Planned, PlannedFigure};

/// The run `file` plans.
pub fn planned(file: &ScenarioFile) -> Planned {
    file.sections.planned()
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
        assert_eq!(
            plan.get("calls"),
            Some(390.0),
            "a trading day at a call a minute"
        );
        assert!(plan.bounded(), "{plan:?}");
    }
}
