//! The batch run's history: each company file's rows, stage by stage.
//!
//! A batch run's events are rows, and a company file is where they come from: its rows are
//! followed from the file (what the generator wrote), through the run that read it (the rows
//! per company its log in S3 says it loaded), into the output object and the table (the two
//! branches the job writes at once). At the first stage of a branch with fewer rows than the
//! file, the missing rows are lost there, last seen at the stage before it; more rows than the
//! file are duplicated; rows of a company no file holds come from nowhere. When the run FAILs
//! on a count, the verdict says for each company where its rows went missing.

use std::collections::{BTreeMap, BTreeSet};

use crate::verdict::history::{StageSeen, Summary, EXAMPLES};
use crate::verdict::Failure;

/// Rows per company at one stage.
pub type Rows = BTreeMap<String, u64>;

/// One stage of a company's rows.
#[derive(Debug, Clone, Copy)]
pub struct Stage<'a> {
    /// Its name: `the table`.
    pub name: &'static str,
    /// What its rows are: `rows loaded`.
    pub seen: &'static str,
    /// Its rows per company (`None`: it could not be read, and is not judged: the stages
    /// after it are held to the one before it).
    pub rows: Option<&'a Rows>,
}

impl Stage<'_> {
    fn rows_of(&self, company: &str) -> u64 {
        self.rows.and_then(|r| r.get(company)).copied().unwrap_or(0)
    }

    fn total(&self) -> u64 {
        self.rows.map_or(0, |r| r.values().sum())
    }
}

/// The company files' rows (`files`) followed through the run's `read` (its log), then into
/// the `output` object and the `table`: the report's summary, and, when `failed` (a count
/// check FAILed), the failure that says where each company's rows went missing.
pub fn judge(
    files: &Rows,
    read: Stage<'_>,
    branches: [Stage<'_>; 2],
    failed: bool,
) -> (Summary, Option<Failure>) {
    let file = Stage {
        name: "the company files",
        seen: "rows written",
        rows: Some(files),
    };
    let mut summary = Summary {
        stages: [file, read, branches[0], branches[1]]
            .iter()
            .filter(|s| s.rows.is_some())
            .map(|s| StageSeen {
                stage: s.name.to_string(),
                events: s.total(),
            })
            .collect(),
        ..Summary::default()
    };
    let example = |summary: &mut Summary, line: String| {
        if summary.examples.len() < EXAMPLES * 3 {
            summary.examples.push(line);
        }
    };
    // The read follows the files; both branches follow the read (the files, when the run's log
    // could not be read).
    let after_read = if read.rows.is_some() { read } else { file };
    let steps = [
        (file, read),
        (after_read, branches[0]),
        (after_read, branches[1]),
    ];
    let steps: Vec<_> = steps
        .into_iter()
        .filter(|(_, s)| s.rows.is_some())
        .collect();
    for (company, &want) in files {
        for &(before, stage) in &steps {
            // Rows lost before `before` were counted there.
            let (had, got) = (before.rows_of(company).min(want), stage.rows_of(company));
            if got < had {
                summary.lost += had - got;
                let line = format!(
                    "lost {} rows of {company}: last seen in {} ({} {}), {got} in {}",
                    had - got,
                    before.name,
                    before.rows_of(company),
                    before.seen,
                    stage.name
                );
                example(&mut summary, line);
            } else if got > want {
                summary.duplicated += got - want;
                let line = format!(
                    "duplicated {} rows of {company} in {}",
                    got - want,
                    stage.name
                );
                example(&mut summary, line);
            }
        }
    }
    let companies: BTreeSet<&String> = std::iter::once(read)
        .chain(branches)
        .filter_map(|s| s.rows)
        .flat_map(|r| r.keys())
        .filter(|c| !files.contains_key(*c))
        .collect();
    for company in companies {
        for stage in std::iter::once(read).chain(branches) {
            let got = stage.rows_of(company);
            if got > 0 {
                summary.from_nowhere += got;
                let line = format!(
                    "from nowhere {got} rows of {company:?} in {}: no file holds it",
                    stage.name
                );
                example(&mut summary, line);
            }
        }
    }
    let explained = failed && summary.lost + summary.duplicated + summary.from_nowhere > 0;
    let failure = explained.then(|| Failure {
        examples: summary.examples.clone(),
        ..Failure::new(
            "history",
            "each company file's rows read by the run, in the output object and in the table",
            summary.counts(),
        )
    });
    (summary, failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, u64)]) -> Rows {
        pairs.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }

    fn stages<'a>(
        read: &'a Rows,
        output: &'a Rows,
        table: &'a Rows,
    ) -> (Stage<'a>, [Stage<'a>; 2]) {
        let stage = |name, seen, rows| Stage {
            name,
            seen,
            rows: Some(rows),
        };
        (
            stage("the run's log", "rows read", read),
            [
                stage("the output object", "rows written", output),
                stage("the table", "rows loaded", table),
            ],
        )
    }

    #[test]
    fn clean_rows_explain_nothing_and_a_loss_names_the_stage_before_it() {
        let files = rows(&[("A", 10), ("B", 5)]);
        let (read, branches) = stages(&files, &files, &files);
        let (summary, failure) = judge(&files, read, branches, true);
        assert_eq!(summary.counts(), "lost 0, duplicated 0, from nowhere 0");
        assert_eq!(failure, None);
        assert_eq!(
            summary.stages.iter().map(|s| s.events).collect::<Vec<_>>(),
            [15; 4]
        );

        // B read whole, 2 rows short in the table; A never read (so absent from both
        // branches: one loss, at the read).
        let read = rows(&[("B", 5)]);
        let table = rows(&[("B", 3)]);
        let output = rows(&[("B", 5)]);
        let (r, branches) = stages(&read, &output, &table);
        let (summary, failure) = judge(&files, r, branches, false);
        assert_eq!(failure, None, "nothing else failed");
        assert_eq!((summary.lost, summary.duplicated), (12, 0));
        assert_eq!(
            summary.examples,
            [
                "lost 10 rows of A: last seen in the company files (10 rows written), 0 in the run's log",
                "lost 2 rows of B: last seen in the run's log (5 rows read), 3 in the table",
            ]
        );
        let (_, failure) = judge(&files, r, branches, true);
        assert_eq!(
            failure.map(|f| f.actual),
            Some("lost 12, duplicated 0, from nowhere 0".to_string())
        );

        // 7 of 10 read, 5 in the table: 3 lost at the read, 2 more at the table.
        let read = rows(&[("A", 7), ("B", 5)]);
        let table = rows(&[("A", 5), ("B", 5)]);
        let (r, branches) = stages(&read, &read, &table);
        let (summary, _) = judge(&files, r, branches, true);
        assert_eq!(summary.lost, 5, "{:?}", summary.examples);

        // A log that could not be read is not judged: the branches are held to the files.
        let unread = Stage { rows: None, ..r };
        let (summary, _) = judge(&files, unread, branches, true);
        assert_eq!(summary.lost, 3 + 5, "{:?}", summary.examples);
        assert_eq!(summary.stages.len(), 3);
        assert_eq!(
            summary.examples[1],
            "lost 5 rows of A: last seen in the company files (10 rows written), 5 in the table"
        );
    }

    #[test]
    fn extra_rows_are_duplicated_and_an_unknown_company_is_from_nowhere() {
        let files = rows(&[("A", 10)]);
        let table = rows(&[("A", 11), ("Z", 4)]);
        let (read, branches) = stages(&files, &files, &table);
        let (summary, _) = judge(&files, read, branches, true);
        assert_eq!(
            (summary.lost, summary.duplicated, summary.from_nowhere),
            (0, 1, 4)
        );
        assert_eq!(
            summary.examples,
            [
                "duplicated 1 rows of A in the table",
                "from nowhere 4 rows of \"Z\" in the table: no file holds it",
            ]
        );
    }
}
