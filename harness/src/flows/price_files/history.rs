//! The price-file run's history: where each file was seen, from upload to alert.
//!
//! Each file is followed by its key through the flow's objects and steps: uploaded under the
//! ingestion prefix (S3 answered the harness's `PutObject`), received by the ETL step (its
//! notification, from the step's [`ObjectTap`]), written as CSV or quarantined (the bucket's
//! listing), received by the analysis step (the CSV's notification), and, for a record whose
//! weighted average moved past the threshold, its alert object. A file is known by its
//! position in the generator's order; every key it may take is mapped to that position.
//! When the run FAILs on a count, the verdict says where each missing file was last seen.

use std::collections::HashMap;
use std::sync::Mutex;

use tickflow_pipeline::chaos::Stage as Step;
use tickflow_pipeline::history::ObjectTap;
use tickflow_pipeline::price_files::{layout, Alert};

use super::generate::{Outcome, PriceFile};
use crate::verdict::history::{Clock, History, Position, Stage, StageId, Summary, Times};
use crate::verdict::Failure;

/// Uploaded under the ingestion prefix.
pub const UPLOADED: StageId = 0;
/// Received by the ETL step.
pub const ETL: StageId = 1;
/// Written as CSV under the analysis prefix.
pub const CSV: StageId = 2;
/// Quarantined.
pub const QUARANTINED: StageId = 3;
/// Received by the analysis step.
pub const ANALYSED: StageId = 4;
/// Its alert object written.
pub const ALERTED: StageId = 5;
/// A record's path.
const RECORD: &[StageId] = &[UPLOADED, ETL, CSV, ANALYSED];
/// A record's path when it alerts.
const ALERTING: &[StageId] = &[UPLOADED, ETL, CSV, ANALYSED, ALERTED];
/// A malformed file's path.
const MALFORMED: &[StageId] = &[UPLOADED, ETL, QUARANTINED];

/// The price-file flow's stages, as its history names them.
fn stages() -> Vec<Stage> {
    let stage = |name, seen, times| Stage { name, seen, times };
    vec![
        stage("ingestion", "uploaded", Times::AtLeastOnce),
        stage("the ETL step", "received", Times::AtLeastOnce),
        stage("the CSV objects", "listed", Times::ExactlyOnce),
        stage("the quarantine", "listed", Times::ExactlyOnce),
        stage("the analysis step", "received", Times::AtLeastOnce),
        stage("the alert objects", "listed", Times::ExactlyOnce),
    ]
}

/// What the steps' taps and the harness's uploads report to, during a price-file run.
#[derive(Debug)]
pub struct FileRecorder {
    clock: Clock,
    /// Every key a file may take (its upload, CSV, quarantine entry, alert) -> its position.
    keys: HashMap<String, Position>,
    /// Each file's key, by position.
    files: Vec<String>,
    /// Each file's path, by position.
    paths: Vec<&'static [StageId]>,
    history: Mutex<History>,
}

impl ObjectTap for FileRecorder {
    fn received(&self, step: Step, keys: &[String]) {
        let stage = match step {
            Step::Etl => ETL,
            Step::Analysis => ANALYSED,
            _ => return,
        };
        let at = self.clock.now_ms();
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            // A key no file takes (a set-up object, another run's) is the listing's to judge.
            if let Some(&p) = self.keys.get(key) {
                history.saw(stage, p, at);
            }
        }
    }
}

impl FileRecorder {
    /// A recorder of `files`, whose records must make `alerts`, from now.
    pub fn new(files: &[PriceFile], alerts: &[Alert]) -> Self {
        let alerting: std::collections::HashSet<String> = alerts
            .iter()
            .map(|a| layout::alert_key(&a.asset, a.latest_date))
            .collect();
        let mut keys = HashMap::with_capacity(files.len() * 2);
        let mut paths = Vec::with_capacity(files.len());
        for (p, file) in files.iter().enumerate() {
            let p = p as Position;
            keys.insert(file.key.clone(), p);
            let path = match &file.outcome {
                Outcome::Record(record) => {
                    keys.insert(layout::csv_key(&record.asset, record.date), p);
                    let alert = layout::alert_key(&record.asset, record.date);
                    let path = match alerting.contains(&alert) {
                        true => ALERTING,
                        false => RECORD,
                    };
                    keys.insert(alert, p);
                    path
                }
                Outcome::Malformed(_) => {
                    keys.insert(layout::quarantine_key(&file.key), p);
                    MALFORMED
                }
            };
            paths.push(path);
        }
        Self {
            clock: Clock::start(),
            keys,
            files: files.iter().map(|f| f.key.clone()).collect(),
            paths,
            history: Mutex::new(History::new(stages())),
        }
    }

    /// S3 took the upload of file `position`, now.
    pub fn uploaded(&self, position: usize) {
        let at = self.clock.now_ms();
        if let Ok(p) = Position::try_from(position) {
            let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
            history.saw(UPLOADED, p, at);
        }
    }

    /// Distinct files the ETL step and the analysis step received so far (a step's repeats
    /// counted once): how far a stuck run got.
    pub fn steps_reached(&self) -> (u64, u64) {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        (history.reached(ETL), history.reached(ANALYSED))
    }

    /// The run's history judged from the bucket's listing (`csv`, `quarantined` and `alerts`
    /// keys) once the steps drained: the report's summary, and, when `failed` (a count check
    /// FAILed), the failure that says where each file went missing (the history explains a
    /// failure, it never makes one of its own).
    pub fn judge(
        &self,
        csv: &[String],
        quarantined: &[String],
        alerts: &[String],
        failed: bool,
    ) -> (Summary, Option<Failure>) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for (stage, keys) in [(CSV, csv), (QUARANTINED, quarantined), (ALERTED, alerts)] {
            for key in keys {
                if let Some(&p) = self.keys.get(key) {
                    history.saw(stage, p, 0);
                }
            }
        }
        let anomalies = history.check(self.paths.len(), |p| {
            std::slice::from_ref(&self.paths[p as usize])
        });
        let summary = history.summary(
            &anomalies,
            |_| true,
            |p| self.files[p as usize].clone(),
            |ms| self.clock.wall(ms),
        );
        let failure = (failed && anomalies.lost + anomalies.duplicated > 0).then(|| Failure {
            examples: summary.examples.clone(),
            ..Failure::new(
                "history",
                "every file uploaded, received by the ETL step, written as CSV (received by \
                 the analysis step, its alert written when it moved) or quarantined",
                summary.counts(),
            )
        });
        (summary, failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::price_files::generate::{expected_alerts, generate};
    use crate::flows::price_files::settings::{FileJump, MalformedCounts, PriceFileSettings};

    /// Files of one asset, one malformed, one forced alert at file 5.
    fn files() -> (Vec<PriceFile>, Vec<Alert>) {
        let settings = PriceFileSettings {
            files: 12,
            forced_jumps: vec![FileJump {
                asset: PriceFileSettings::default().assets[0].name.clone(),
                at_file: 5,
                pct: 9.0,
            }],
            malformed: MalformedCounts {
                unparsable: 1,
                ..MalformedCounts::default()
            },
            ..PriceFileSettings::default()
        };
        let files = generate(&settings, 3);
        let alerts = expected_alerts(&files, settings.threshold_pct);
        (files, alerts)
    }

    /// What a clean run leaves: every file on its path, the listing's keys.
    fn clean(files: &[PriceFile], alerts: &[Alert]) -> (FileRecorder, [Vec<String>; 3]) {
        let recorder = FileRecorder::new(files, alerts);
        let mut listed: [Vec<String>; 3] = Default::default();
        for (p, file) in files.iter().enumerate() {
            recorder.uploaded(p);
            recorder.received(Step::Etl, std::slice::from_ref(&file.key));
            match &file.outcome {
                Outcome::Record(r) => {
                    let csv = layout::csv_key(&r.asset, r.date);
                    recorder.received(Step::Analysis, std::slice::from_ref(&csv));
                    listed[0].push(csv);
                }
                Outcome::Malformed(_) => listed[1].push(layout::quarantine_key(&file.key)),
            }
        }
        listed[2] = alerts
            .iter()
            .map(|a| layout::alert_key(&a.asset, a.latest_date))
            .collect();
        (recorder, listed)
    }

    #[test]
    fn a_clean_run_has_every_file_on_its_path_and_explains_nothing() {
        let (files, alerts) = files();
        assert!(!alerts.is_empty());
        let (recorder, [csv, quarantined, alerted]) = clean(&files, &alerts);
        let (summary, failure) = recorder.judge(&csv, &quarantined, &alerted, true);
        assert_eq!(summary.counts(), "lost 0, duplicated 0, from nowhere 0");
        assert_eq!(failure, None);
        let seen: Vec<u64> = summary.stages.iter().map(|s| s.events).collect();
        assert_eq!(seen, [12, 12, 11, 1, 11, alerts.len() as u64]);
    }

    #[test]
    fn a_missing_csv_an_alert_and_a_stray_alert_are_named_with_their_last_stage() {
        let (files, alerts) = files();
        let (recorder, [mut csv, quarantined, mut alerted]) = clean(&files, &alerts);
        let missing_alert = alerted.remove(0);
        let alerting_csv = layout::csv_key(&alerts[0].asset, alerts[0].latest_date);
        let gone = csv
            .iter()
            .position(|k| *k != alerting_csv)
            .expect("another record");
        let gone = csv.remove(gone);
        // An alert for a record that did not move: from nowhere.
        let quiet = files
            .iter()
            .filter_map(|f| match &f.outcome {
                Outcome::Record(r) => Some(layout::alert_key(&r.asset, r.date)),
                Outcome::Malformed(_) => None,
            })
            .find(|key| !alerted.contains(key) && *key != missing_alert)
            .expect("a record that does not alert");
        alerted.push(quiet);
        let (summary, failure) = recorder.judge(&csv, &quarantined, &alerted, false);
        assert_eq!(failure, None, "nothing else failed: nothing to explain");
        assert_eq!((summary.lost, summary.from_nowhere), (1, 2), "{summary:?}");
        let (recorder, _) = clean(&files, &alerts);
        let (_, failure) = recorder.judge(&csv, &quarantined, &alerted, true);
        let failure = failure.expect("a failure to explain");
        let lost = failure.examples.iter().find(|l| l.starts_with("lost "));
        let lost = lost.expect("a lost line");
        assert!(lost.ends_with("never in the alert objects"), "{lost}");
        assert!(
            lost.contains("last seen in the analysis step (received at "),
            "{lost}"
        );
        // The missing CSV: seen by the analysis step after it, never listed.
        assert!(
            failure
                .examples
                .iter()
                .any(|l| l.contains("in the analysis step though never in the CSV objects")),
            "{gone}: {:?}",
            failure.examples
        );
    }
}
