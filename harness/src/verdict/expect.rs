//! What every flow's `[expect]` is made of: counts, the reconciliation, run-status subjects.
//!
//! Each flow keeps its own `[expect]` types in its folder; they are built from these pieces,
//! which say how a stated count can fail (a range that admits everything is refused), how it is
//! judged into [`Checks`], and how a run-status subject glob matches.

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Deserializer};

use super::checks::Checks;

/// An exact count (`5`) or a range (`{ min = 1, max = 9 }`, either bound optional); a range
/// that cannot fail is refused (every count a file states is checked, found off its flow's
/// schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Count {
    /// Exactly this many.
    Exact(u64),
    /// Within the bounds (inclusive).
    Range(Bounds),
}

/// Inclusive bounds of a [`Count`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Lower bound.
    pub min: Option<u64>,
    /// Upper bound.
    pub max: Option<u64>,
}

/// The largest integer a TOML file can hold (TOML integers are signed 64-bit).
const MAX_TOML_INTEGER: u64 = i64::MAX as u64;

impl Count {
    /// Checks that the count can fail: a range needs a bound, and `min <= max`.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Count::Range(Bounds {
                min: None,
                max: None,
            }) => Err("a range needs min, max or both (`{}` would accept anything)".into()),
            Count::Range(Bounds {
                min: Some(a),
                max: Some(b),
            }) if a > b => Err(format!("min ({a}) is above max ({b}): nothing can pass")),
            Count::Range(Bounds { min, max })
                if min.unwrap_or(0) == 0 && max.is_none_or(|m| m >= MAX_TOML_INTEGER) =>
            {
                Err(
                    "this range admits every count and so can never fail: give a min above 0 \
                     or a max"
                        .into(),
                )
            }
            _ => Ok(()),
        }
    }

    /// Whether `value` satisfies the count.
    pub fn admits(&self, value: u64) -> bool {
        match *self {
            Count::Exact(n) => value == n,
            Count::Range(Bounds { min, max }) => {
                min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
            }
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::Range(Bounds {
                min: Some(a),
                max: Some(b),
            }) => write!(f, "{a}..={b}"),
            Count::Range(Bounds {
                min: Some(a),
                max: None,
            }) => write!(f, ">= {a}"),
            Count::Range(Bounds {
                min: None,
                max: Some(b),
            }) => write!(f, "<= {b}"),
            Count::Range(Bounds {
                min: None,
                max: None,
            }) => write!(f, "any"),
        }
    }
}

/// `reconciliation = true`: every run is reconciled, so the key exists only to keep files that
/// say so valid; `false` is refused where it is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled;

impl<'de> Deserialize<'de> for Reconciled {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if bool::deserialize(deserializer)? {
            Ok(Reconciled)
        } else {
            Err(serde::de::Error::custom(
                "cannot be turned off: every run is judged on missing, duplicated, misplaced, \
                 altered and unknown records",
            ))
        }
    }
}

impl schemars::JsonSchema for Reconciled {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Reconciled".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The reconciliation holds (always: `false` is refused).",
            "const": true
        })
    }
}

/// Judging a flow's `[expect]` into [`Checks`].
impl Checks {
    /// The stated `expected` count against `actual`, held or not (nothing when not stated).
    pub fn count(&mut self, check: &str, expected: &Option<Count>, actual: u64) {
        if let Some(c) = expected {
            self.check(check, c.admits(actual), c.to_string(), actual.to_string());
        }
    }

    /// Every run-status subject matches `pattern` (when stated), and there is one.
    pub fn subjects(&mut self, check: &str, pattern: &Option<String>, subjects: &[String]) {
        if let Some(pattern) = pattern {
            let all_match =
                matcher(pattern).is_some_and(|m| subjects.iter().all(|s| m.is_match(s)));
            if subjects.is_empty() || !all_match {
                self.fail(
                    check,
                    format!("subjects matching `{pattern}`"),
                    format!("{subjects:?}"),
                );
            }
        }
    }
}

/// A glob where `*` stays within one path segment and `**` crosses them.
pub fn matcher(pattern: &str) -> Option<GlobMatcher> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .or_else(|_| Glob::new(pattern))
        .ok()
        .map(|g| g.compile_matcher())
}

/// The problem of a glob stated at `key`, if it does not parse.
pub fn glob_problem(key: &str, pattern: &str) -> Option<(String, String)> {
    Glob::new(pattern)
        .err()
        .map(|e| (key.to_string(), format!("not a glob: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_admits_its_value_and_a_range_its_bounds() {
        assert!(Count::Exact(3).admits(3) && !Count::Exact(3).admits(4));
        let r = Count::Range(Bounds {
            min: Some(2),
            max: Some(4),
        });
        assert!(r.admits(2) && r.admits(4) && !r.admits(5) && !r.admits(1));
        assert_eq!(r.to_string(), "2..=4");
    }

    #[test]
    fn a_range_that_cannot_fail_is_refused() {
        let range = |min, max| Count::Range(Bounds { min, max });
        for fine in [Count::Exact(3), range(Some(1), None), range(None, Some(0))] {
            assert!(fine.check().is_ok(), "{fine:?}");
        }
        for (never, why) in [
            (range(Some(0), None), "admits every count"),
            (range(None, None), "needs min, max or both"),
            (range(Some(5), Some(2)), "nothing can pass"),
        ] {
            let e = never.check().unwrap_err();
            assert!(e.contains(why), "{never:?}: {e}");
        }
    }

    #[test]
    fn a_false_reconciliation_is_refused_where_written() {
        #[derive(Deserialize)]
        struct E {
            #[allow(dead_code)]
            reconciliation: Reconciled,
        }
        assert!(toml::from_str::<E>("reconciliation = true").is_ok());
        let e = toml::from_str::<E>("reconciliation = false").err().unwrap();
        assert!(e.message().contains("cannot be turned off"), "{e}");
    }

    #[test]
    fn subjects_fail_when_none_came_or_one_does_not_match() {
        let mut checks = Checks::default();
        let pattern = Some("*_Pipeline_Success".to_string());
        checks.subjects("s", &pattern, &["a_Pipeline_Success".into()]);
        assert!(checks.failed.is_empty());
        checks.subjects("s", &pattern, &[]);
        checks.subjects("s", &pattern, &["a_Pipeline_Failure".into()]);
        assert_eq!(checks.failed.len(), 2);
    }
}
