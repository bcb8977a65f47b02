//! Two runs of one scenario, side by side.
//!
//! Two runs of one scenario set side by side: which facts agree, which differ, which quirks each
//! target showed, and how long each took.

use std::collections::BTreeSet;

use super::facts::Facts;
use super::quirks::{Quirk, QUIRKS};
use crate::infra::aws::emulator::Emulator;

/// One target's run of the scenario, as parity reads it.
#[derive(Debug, Clone)]
pub struct Side {
    /// What the target is, as its header says (`LocalStack 4.14.0 at ...`).
    pub header: String,
    /// Which implementation answered.
    pub emulator: Emulator,
    /// The run's facts.
    pub facts: Facts,
    /// The answers to [`QUIRKS`], in order, or why they could not be asked (shown under the
    /// quirks).
    pub quirks: std::result::Result<Vec<String>, String>,
}

/// How the two sides compare on one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Both the same.
    Same,
    /// Different, as the quirks table says each implementation answers.
    Documented,
    /// Different, and nothing documents it: parity fails.
    Differs,
    /// A target answered otherwise than its quirks row says: the table is wrong, parity fails.
    Contradicts,
    /// A target could not be asked (its probe failed): nothing is known, parity fails.
    Unanswered,
    /// Shown side by side, never a difference (timing decides it).
    Shown,
}

impl Agreement {
    /// Whether this row fails parity.
    pub fn fails(self) -> bool {
        matches!(self, Self::Differs | Self::Contradicts | Self::Unanswered)
    }

    /// The marker the text table shows.
    pub fn marker(self) -> &'static str {
        match self {
            Self::Same | Self::Shown => "",
            Self::Documented => "quirk",
            Self::Differs => "DIFFERS",
            Self::Contradicts => "NOT AS DOCUMENTED",
            Self::Unanswered => "NOT ASKED",
        }
    }
}

/// One row of the side-by-side table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The fact's path or the quirk's id.
    pub what: String,
    /// The first target's value (`-` when it has none).
    pub left: String,
    /// The second target's value.
    pub right: String,
    /// How they compare.
    pub agreement: Agreement,
}

/// One timing of both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// The timing's path (`elapsed_secs`, `times.produced_secs`, ...).
    pub what: String,
    /// Seconds on the first target.
    pub left: Option<f64>,
    /// Seconds on the second target.
    pub right: Option<f64>,
}

/// The comparison of two runs.
#[derive(Debug, Clone)]
pub struct Parity {
    /// The facts both must agree on.
    pub compared: Vec<Row>,
    /// The facts timing decides, side by side.
    pub observed: Vec<Row>,
    /// Each quirk, as both targets answered it.
    pub quirks: Vec<Row>,
    /// Durations of both runs.
    pub timings: Vec<Timing>,
}

impl Parity {
    /// Every row that fails parity.
    pub fn failures(&self) -> Vec<&Row> {
        self.compared
            .iter()
            .chain(&self.quirks)
            .filter(|r| r.agreement.fails())
            .collect()
    }

    /// Whether the two runs agree on everything but documented quirks.
    pub fn holds(&self) -> bool {
        self.failures().is_empty()
    }
}

/// Compares `left` with `right`.
pub fn compare(left: &Side, right: &Side) -> Parity {
    let rows = |a: &std::collections::BTreeMap<String, String>,
                b: &std::collections::BTreeMap<String, String>,
                differ: Agreement| {
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        keys.into_iter()
            .map(|k| {
                let l = a.get(k).cloned().unwrap_or_else(|| "-".into());
                let r = b.get(k).cloned().unwrap_or_else(|| "-".into());
                let agreement = if l == r { Agreement::Same } else { differ };
                Row {
                    what: k.clone(),
                    left: l,
                    right: r,
                    agreement,
                }
            })
            .collect::<Vec<_>>()
    };
    let timing_keys: BTreeSet<&String> = left
        .facts
        .timings
        .keys()
        .chain(right.facts.timings.keys())
        .collect();
    let (l, r) = super::facts::compared_when_both(&left.facts, &right.facts);
    Parity {
        compared: rows(&l.compared, &r.compared, Agreement::Differs),
        observed: rows(&l.observed, &r.observed, Agreement::Shown),
        quirks: QUIRKS
            .iter()
            .enumerate()
            .map(|(i, q)| quirk_row(q, left, right, i))
            .collect(),
        timings: timing_keys
            .into_iter()
            .map(|k| Timing {
                what: k.clone(),
                left: left.facts.timings.get(k).copied(),
                right: right.facts.timings.get(k).copied(),
            })
            .collect(),
    }
}

/// Quirk `i` as both sides answered it, judged against the table.
fn quirk_row(quirk: &Quirk, left: &Side, right: &Side, i: usize) -> Row {
    let answer = |side: &Side| match &side.quirks {
        Ok(answers) => answers.get(i).cloned(),
        Err(_) => None,
    };
    let (al, ar) = (answer(left), answer(right));
    let shown = |a: &Option<String>| a.clone().unwrap_or_else(|| "-".into());
    let (l, r) = (shown(&al), shown(&ar));
    let documented = |side: &Side, a: &str| quirk.expected_of(side.emulator).map(|e| e == a);
    let (dl, dr) = (documented(left, &l), documented(right, &r));
    let agreement = if al.is_none() || ar.is_none() {
        Agreement::Unanswered
    } else if dl == Some(false) || dr == Some(false) {
        Agreement::Contradicts
    } else if l == r {
        Agreement::Same
    } else if dl == Some(true) || dr == Some(true) {
        Agreement::Documented
    } else {
        Agreement::Differs
    };
    Row {
        what: quirk.id.to_string(),
        left: l,
        right: r,
        agreement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(emulator: Emulator, alerts: &str, answers: [&str; 4]) -> Side {
        let mut facts = Facts::default();
        facts.compared.insert("alerts".into(), alerts.into());
        facts.observed.insert("stats.objects".into(), alerts.into());
        facts.timings.insert("elapsed_secs".into(), 2.0);
        Side {
            header: emulator.name().into(),
            emulator,
            facts,
            quirks: Ok(answers.iter().map(|a| a.to_string()).collect()),
        }
    }

    const LOCALSTACK: [&str; 4] = ["answers", "sent", "inside the write", "accepted"];
    const MOTO: [&str; 4] = ["absent", "sent", "inside the write", "refused"];

    #[test]
    fn documented_quirks_do_not_fail_parity() {
        let p = compare(
            &side(Emulator::LocalStack, "4", LOCALSTACK),
            &side(Emulator::Moto, "4", MOTO),
        );
        assert!(p.holds(), "{p:?}");
        let agreements: Vec<Agreement> = p.quirks.iter().map(|r| r.agreement).collect();
        assert_eq!(
            agreements,
            [
                Agreement::Documented,
                Agreement::Same,
                Agreement::Same,
                Agreement::Documented
            ]
        );
    }

    #[test]
    fn a_fact_that_differs_fails_parity_and_an_observed_one_does_not() {
        let p = compare(
            &side(Emulator::LocalStack, "4", LOCALSTACK),
            &side(Emulator::Moto, "3", MOTO),
        );
        assert!(!p.holds());
        let failures = p.failures();
        assert_eq!(failures.len(), 1);
        assert_eq!(
            (
                failures[0].what.as_str(),
                failures[0].left.as_str(),
                failures[0].right.as_str()
            ),
            ("alerts", "4", "3")
        );
        assert_eq!(p.observed[0].agreement, Agreement::Shown);
    }

    #[test]
    fn an_answer_the_table_does_not_document_fails_parity() {
        let mut fixed_moto = MOTO;
        fixed_moto[3] = "accepted";
        let p = compare(
            &side(Emulator::LocalStack, "4", LOCALSTACK),
            &side(Emulator::Moto, "4", fixed_moto),
        );
        let failures = p.failures();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].what, "empty-key-filter");
        assert_eq!(failures[0].agreement, Agreement::Contradicts);
        // An endpoint nothing is documented for: a differing answer is a difference.
        let p = compare(
            &side(Emulator::Other, "4", LOCALSTACK),
            &side(Emulator::Other, "4", MOTO),
        );
        assert_eq!(p.failures().len(), 2);
        assert!(p
            .failures()
            .iter()
            .all(|r| r.agreement == Agreement::Differs));
    }

    #[test]
    fn a_fact_only_one_side_has_differs() {
        let left = side(Emulator::LocalStack, "4", LOCALSTACK);
        let mut right = side(Emulator::LocalStack, "4", LOCALSTACK);
        right
            .facts
            .compared
            .insert("sinks.raw.events".into(), "10".into());
        let p = compare(&left, &right);
        assert_eq!(p.failures()[0].left, "-");
    }
}
