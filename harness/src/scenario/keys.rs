//! Which flow reads a key: a key only another flow reads is refused naming that flow.
//!
//! Read off each flow's generated schema (the types that read its sections), so no flow's keys
//! are listed by hand: a key the named flow does not read, that another flow does, would be
//! ignored by this run and could let it pass on what was never checked or injected. It is
//! refused with the flow it belongs to; a key no flow reads is left to the flow's reader, which
//! refuses it as unknown.

use std::sync::OnceLock;

use serde_json::Value;

use crate::flows::flow::Written;
use crate::flows::{Flow, FLOWS};

/// Each flow's name and schema, generated once.
pub(super) fn schemas() -> &'static [(&'static str, Value)] {
    static SCHEMAS: OnceLock<Vec<(&'static str, Value)>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        FLOWS
            .iter()
            .map(|f| (f.name(), f.schema().to_value()))
            .collect()
    })
}

/// The keys of `table` that `flow` does not read and another flow does, as (dotted key,
/// message).
pub fn of_other_flows(flow: &dyn Flow, table: &Written) -> Vec<(String, String)> {
    let all = schemas();
    let Some((_, mine)) = all.iter().find(|(name, _)| *name == flow.name()) else {
        return Vec::new();
    };
    let others: Vec<Node> = all
        .iter()
        .filter(|(name, _)| *name != flow.name())
        .map(|(name, root)| Node {
            flow: name,
            root,
            at: root,
        })
        .collect();
    let mine = Node {
        flow: flow.name(),
        root: mine,
        at: mine,
    };
    let mut problems = Vec::new();
    walk(table, "", &mine, &others, &mut problems);
    problems
}

/// A place in one flow's schema.
#[derive(Clone, Copy)]
struct Node<'s> {
    flow: &'s str,
    root: &'s Value,
    at: &'s Value,
}

impl<'s> Node<'s> {
    /// The schema of its key `key`, when it has one.
    fn child(&self, key: &str) -> Option<Node<'s>> {
        property(self.root, self.at, key).map(|at| Node { at, ..*self })
    }
}

/// Every key of `table` (at `path`) that `mine` lacks and one of `others` has.
fn walk(
    table: &Written,
    path: &str,
    mine: &Node,
    others: &[Node],
    problems: &mut Vec<(String, String)>,
) {
    for (key, value) in table {
        if path.is_empty() && key == "scenario" {
            continue; // read before the flow is known
        }
        let dotted = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let theirs: Vec<Node> = others.iter().filter_map(|o| o.child(key)).collect();
        match mine.child(key) {
            Some(child) => {
                if let Value::Object(inner) = value {
                    walk(inner, &dotted, &child, &theirs, problems);
                }
            }
            None => {
                if let Some(owner) = theirs.first() {
                    let verb = if dotted.starts_with("expect") {
                        "not checked by"
                    } else {
                        "not read by"
                    };
                    problems.push((dotted, another_flows(verb, mine.flow, owner.flow)));
                }
            }
        }
    }
}

/// What is said of a key that `owner` reads given to a `flow` scenario: `verb` the flow, and
/// how to mean it.
fn another_flows(verb: &str, flow: &str, owner: &str) -> String {
    format!(
        "{verb} the {flow} flow: it would be ignored (the {owner} flow's: set \
         `flow = \"{owner}\"` in [scenario] if it is meant)"
    )
}

/// The schema of `key` inside `node`: through `$ref`s and the alternatives of an optional or
/// untagged type; any key of a map.
pub(super) fn property<'s>(root: &'s Value, node: &'s Value, key: &str) -> Option<&'s Value> {
    let node = resolve(root, node)?;
    if let Some(found) = node.get("properties").and_then(|p| p.get(key)) {
        return Some(found);
    }
    if let Some(map) = node.get("additionalProperties").filter(|a| a.is_object()) {
        return Some(map);
    }
    ["anyOf", "oneOf", "allOf"]
        .iter()
        .filter_map(|k| node.get(*k).and_then(Value::as_array))
        .flatten()
        .find_map(|alternative| property(root, alternative, key))
}

/// `node`, or what its `$ref` points at.
pub(super) fn resolve<'s>(root: &'s Value, node: &'s Value) -> Option<&'s Value> {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.strip_prefix("#/$defs/")?;
            resolve(root, root.get("$defs")?.get(name)?)
        }
        None => Some(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(name: &str) -> &'static dyn Flow {
        crate::flows::named(name).unwrap()
    }

    fn problems(flow_name: &str, text: &str) -> Vec<(String, String)> {
        of_other_flows(flow(flow_name), &toml::from_str(text).unwrap())
    }

    #[test]
    fn a_key_only_another_flow_reads_names_that_flow_at_any_depth() {
        let p = problems("batch", "[pipeline]\nshards = 2\n[expect.sns]\nprice_alert = 1\nrun_status_subject = \"x\"\n[replay]\nsource = \"d\"\nspeed = 2.0\n");
        let mut keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["expect.sns.price_alert", "pipeline", "replay.speed"]);
        for (key, message) in &p {
            let verb = if key.starts_with("expect") {
                "checked"
            } else {
                "read"
            };
            assert!(
                message.starts_with(&format!("not {verb} by the batch flow")),
                "{p:?}"
            );
            assert!(message.contains("the stream flow's"), "{p:?}");
        }
    }

    #[test]
    fn keys_of_the_flow_itself_and_keys_of_no_flow_are_left_to_its_reader() {
        assert!(problems(
            "stream",
            "[generate]\nevents = 5\n[expect.sinks.raw]\nobjects = 1\n[nonsense]\nx = 1\n"
        )
        .is_empty());
        let p = problems(
            "stream",
            "[expect.price_files]\nalerts = 1\n[batch]\ncompanies = 2\n",
        );
        assert_eq!(p.len(), 2, "{p:?}");
    }
}
