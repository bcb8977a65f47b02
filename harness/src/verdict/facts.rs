//! What a seed fixes, as each flow's report says it.
//!
//! What a seed fixes, as each flow's report says it: how parity classes every fact of the
//! report's JSON, and which facts become compared when both runs say the seed decided them.

/// How parity treats one fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactClass {
    /// Decided by the scenario and its seed: two correct targets agree on it.
    Compared,
    /// Decided by timing or batching as well: shown side by side, never a difference.
    Observed,
    /// A duration in seconds: the timings table.
    Timing,
    /// Different on every run (ids, samples, the harness's own CPU): left out.
    Ignored,
}

/// A report's rules for its facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactRules {
    /// (pattern, class): the first pattern whose segments match a path's first segments wins
    /// (`*` matches any one segment); a path no pattern matches is compared, so that a field
    /// added later is compared until someone shows it may differ.
    pub classes: &'static [(&'static str, FactClass)],
    /// (prefix, fact, value): the observed facts under the prefix are compared when both runs'
    /// `fact` says `value` (the seed alone decided them then).
    pub compared_when_both: &'static [(&'static str, &'static str, &'static str)],
}

impl FactRules {
    /// The class of the fact at `path` (its segments).
    pub fn class(&self, path: &[String]) -> FactClass {
        self.classes
            .iter()
            .find(|(pattern, _)| {
                let segments: Vec<&str> = pattern.split('.').collect();
                segments.len() <= path.len()
                    && segments.iter().zip(path).all(|(s, p)| *s == "*" || s == p)
            })
            .map_or(FactClass::Compared, |(_, c)| *c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: FactRules = FactRules {
        classes: &[
            ("name", FactClass::Ignored),
            ("sinks.*.events", FactClass::Compared),
            ("sinks", FactClass::Observed),
            ("times", FactClass::Timing),
        ],
        compared_when_both: &[],
    };

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn paths_no_rule_names_are_compared_and_wildcards_match_one_segment() {
        assert_eq!(
            RULES.class(&path("a_field_added_later")),
            FactClass::Compared
        );
        assert_eq!(RULES.class(&path("name")), FactClass::Ignored);
        assert_eq!(RULES.class(&path("sinks.raw.events")), FactClass::Compared);
        assert_eq!(RULES.class(&path("sinks.raw.objects")), FactClass::Observed);
        assert_eq!(RULES.class(&path("times.total_secs")), FactClass::Timing);
        assert_eq!(RULES.class(&path("sinks")), FactClass::Observed);
    }
}
