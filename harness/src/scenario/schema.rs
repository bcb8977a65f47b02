//! The JSON Schema of the scenario format.
//!
//! The JSON Schema of the scenario format, generated from the types that read it, so TOML
//! editors (taplo, Even Better TOML) complete and check keys against exactly what
//! [`super::parse`] accepts.

use serde_json::{json, Map, Value};

use super::file::Meta;
use crate::flows::FLOWS;

/// Where the schema is committed, relative to the repository root; shipped scenarios point at
/// it with a `#:schema ./tickflow.schema.json` first line.
pub const COMMITTED_PATH: &str = "scenarios/tickflow.schema.json";

/// The schema, pretty-printed with a trailing newline: what `tickflow schema` prints and what
/// is committed at [`COMMITTED_PATH`].
///
/// One alternative per flow (its own schema, with `[scenario]` whose `flow` names it: given,
/// or left out for the default flow), their definitions together.
pub fn scenario_schema() -> String {
    let mut defs = Map::new();
    let mut meta = schemars::schema_for!(Meta).to_value();
    merge_defs(&mut defs, &mut meta);
    strip_root(&mut meta);
    defs.insert("Meta".into(), meta);
    let mut branches = Vec::new();
    for (i, flow) in FLOWS.iter().enumerate() {
        let mut branch = flow.schema().to_value();
        merge_defs(&mut defs, &mut branch);
        strip_root(&mut branch);
        let mut scenario = json!({
            "$ref": "#/$defs/Meta",
            "properties": { "flow": { "const": flow.name() } }
        });
        if i > 0 {
            scenario["required"] = json!(["flow"]);
        }
        branch["properties"]["scenario"] = scenario;
        let required = branch.as_object_mut().and_then(|o| {
            o.entry("required")
                .or_insert_with(|| json!([]))
                .as_array_mut()
        });
        if let Some(required) = required {
            required.insert(0, json!("scenario"));
        }
        branch["title"] = json!(flow.name());
        branches.push(branch);
    }
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ScenarioFile",
        "description": "A scenario file: [scenario] and the sections of the flow it names.",
        "oneOf": branches,
        "$defs": defs,
    });
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is plain JSON");
    text.push('\n');
    text
}

/// Moves `schema`'s definitions into `defs`; two flows' definitions of one name must agree.
fn merge_defs(defs: &mut Map<String, Value>, schema: &mut Value) {
    let Some(Value::Object(own)) = schema.as_object_mut().and_then(|o| o.remove("$defs")) else {
        return;
    };
    for (name, def) in own {
        if let Some(earlier) = defs.get(&name) {
            assert_eq!(
                earlier, &def,
                "two flows define `{name}` differently: rename one"
            );
        }
        defs.insert(name, def);
    }
}

/// Drops what only a document's root says (`$schema`).
fn strip_root(schema: &mut Value) {
    if let Some(o) = schema.as_object_mut() {
        o.remove("$schema");
    }
}

/// The `#:schema` line every shipped scenario starts with (taplo's directive).
pub const DIRECTIVE: &str = "#:schema ./tickflow.schema.json";

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn repo() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
    }

    fn shipped_scenarios() -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        assert!(files.len() > 10, "found only {files:?}");
        files
    }

    fn validator() -> jsonschema::Validator {
        let schema: serde_json::Value = serde_json::from_str(&scenario_schema()).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    }

    fn as_json(toml_text: &str) -> serde_json::Value {
        let table: toml::Table = toml_text.parse().unwrap();
        serde_json::to_value(table).unwrap()
    }

    fn errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
        validator
            .iter_errors(&as_json(text))
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect()
    }

    #[test]
    fn the_committed_schema_is_the_generated_one() {
        let committed = std::fs::read_to_string(repo().join(COMMITTED_PATH)).unwrap();
        assert!(
            committed == scenario_schema(),
            "{COMMITTED_PATH} is stale: run `cargo run -- schema --out {COMMITTED_PATH}`"
        );
    }

    #[test]
    fn every_shipped_scenario_points_at_the_schema_and_passes_it() {
        let validator = validator();
        for file in shipped_scenarios() {
            let text = std::fs::read_to_string(&file).unwrap();
            assert_eq!(text.lines().next(), Some(DIRECTIVE), "{}", file.display());
            let errors = errors(&validator, &text);
            assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        }
    }

    #[test]
    fn the_schema_rejects_what_the_parser_rejects() {
        let validator = validator();
        let smoke = std::fs::read_to_string(repo().join("scenarios/smoke.toml")).unwrap();
        let broken = [
            smoke.replacen("[pipeline]", "[pipeline]\nshard = 2", 1),
            smoke.replacen("seed = ", "seed = \"seven\"\n# ", 1),
            smoke.replacen("[scenario]", "[scenario]\nflow = \"batches\"", 1),
            format!("{smoke}\n[nonsense]\nx = 1\n"),
        ];
        for text in broken {
            assert!(crate::scenario::parse("broken.toml", &text).is_err());
            assert!(
                !errors(&validator, &text).is_empty(),
                "schema accepted:\n{text}"
            );
        }
    }
}
