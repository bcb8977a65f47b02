//! Every count a scenario file states can fail: found off its flow's schema, checked at once.
//!
//! A count (`found = 5`, `table_rows = { min = 1 }`) is a [`Count`] wherever a flow's `[expect]`
//! types hold one; the schema says where, so no flow lists its counts again to have them
//! checked. A range that admits every count, or none, is refused at its key, beside every
//! other problem of the file.

use serde_json::Value;

use super::keys::{property, resolve, schemas};
use crate::flows::flow::Written;
use crate::flows::Flow;
use crate::verdict::expect::Count;

/// Where the schema names a count.
const COUNT: &str = "#/$defs/Count";

/// Every stated count of `table` (read by `flow`) that cannot fail, as (dotted key, message).
pub fn that_cannot_fail(flow: &dyn Flow, table: &Written) -> Vec<(String, String)> {
    let Some((_, root)) = schemas().iter().find(|(name, _)| *name == flow.name()) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    in_table(root, root, table, "", &mut problems);
    problems
}

/// The counts of `table`, whose schema is `node`, at `path`.
fn in_table(
    root: &Value,
    node: &Value,
    table: &Written,
    path: &str,
    problems: &mut Vec<(String, String)>,
) {
    for (key, value) in table {
        let Some(child) = property(root, node, key) else {
            continue; // another flow's key, or none: said elsewhere
        };
        let dotted = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        in_value(root, child, value, &dotted, problems);
    }
}

/// The counts of `value`, whose schema is `node`, at `path`.
fn in_value(
    root: &Value,
    node: &Value,
    value: &Value,
    path: &str,
    problems: &mut Vec<(String, String)>,
) {
    if names_count(root, node) {
        if let Ok(count) = serde_json::from_value::<Count>(value.clone()) {
            if let Err(message) = count.check() {
                problems.push((path.to_string(), message));
            }
            return;
        }
    }
    match value {
        Value::Object(inner) => in_table(root, node, inner, path, problems),
        Value::Array(items) => {
            let Some(item) = resolve(root, node).and_then(|n| n.get("items")) else {
                return;
            };
            for (i, value) in items.iter().enumerate() {
                in_value(root, item, value, &format!("{path}.{i}"), problems);
            }
        }
        _ => {}
    }
}

/// Whether `node` is a count, or one of its alternatives is (an optional count, a count or a
/// word).
fn names_count(root: &Value, node: &Value) -> bool {
    if node.get("$ref").and_then(Value::as_str) == Some(COUNT) {
        return true;
    }
    let Some(node) = resolve(root, node) else {
        return false;
    };
    ["anyOf", "oneOf", "allOf"]
        .iter()
        .filter_map(|k| node.get(*k).and_then(Value::as_array))
        .flatten()
        .any(|alternative| names_count(root, alternative))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(flow: &str, text: &str) -> Vec<String> {
        let flow = crate::flows::named(flow).unwrap();
        that_cannot_fail(flow, &toml::from_str(text).unwrap())
            .into_iter()
            .map(|(key, message)| format!("{key}: {message}"))
            .collect()
    }

    #[test]
    fn every_count_that_cannot_fail_is_named_at_any_depth() {
        let stream = problems(
            "stream",
            "[expect]\nfound = {}\nsent = 5\n[expect.sns]\nnew_data = { min = 0 }\n[[expect.partitions]]\nglob = \"x\"\nevents = { min = 3, max = 2 }\n[expect.sinks.raw]\nobjects = { max = 9223372036854775807 }\n",
        );
        let mut keys: Vec<&str> = stream
            .iter()
            .map(|p| p.split(':').next().unwrap())
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "expect.found",
                "expect.partitions.0.events",
                "expect.sinks.raw.objects",
                "expect.sns.new_data"
            ],
            "{stream:#?}"
        );
        let batch = problems("batch", "[expect.batch]\ntable_rows = { min = 0 }\n");
        assert_eq!(batch.len(), 1, "{batch:?}");
        let prices = problems("price-files", "[expect.price_files]\nalerts = {}\n");
        assert_eq!(prices.len(), 1, "{prices:?}");
    }

    #[test]
    fn counts_that_can_fail_and_words_pass() {
        let fine = problems(
            "stream",
            "[expect]\nfound = { min = 1 }\nsent = 0\n[expect.sns]\nnew_data = \"objects\"\n",
        );
        assert!(fine.is_empty(), "{fine:?}");
    }
}
