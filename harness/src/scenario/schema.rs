//! The JSON Schema of the scenario format.
//!
//! The JSON Schema of the scenario format, generated from the types that read it, so TOML
//! editors (taplo, Even Better TOML) complete and check keys against exactly what
//! [`super::parse`] accepts.

use super::file::ScenarioFile;

/// Where the schema is committed, relative to the repository root; shipped scenarios point at
/// it with a `#:schema ./tickflow.schema.json` first line.
pub const COMMITTED_PATH: &str = "scenarios/tickflow.schema.json";

/// The schema, pretty-printed with a trailing newline: what `tickflow schema` prints and what
/// is committed at [`COMMITTED_PATH`].
pub fn scenario_schema() -> String {
    let schema = schemars::schema_for!(ScenarioFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is plain JSON");
    text.push('\n');
    text
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
