//! The harness's layers, read from its source: every `crate::` and `super::` path of every
//! module (tests left out) is resolved to the module it names, and the test fails on an import
//! cycle between modules, on an import that points up a layer, and on a flow that imports
//! another flow.
//!
//! The layers, bottom up (lib.rs says the same):
//! 0. what every judge and report says: `error`, `verdict`, `html`, `plot`, `latency`, `owned_thread`;
//! 1. infrastructure: `aws`, `localstack`, `postgres`, `topology`;
//! 2. reading back: `observe`;
//! 3. the flows, one folder each: `flows::stream`, `flows::batch`, `flows::price_files`;
//! 4. scenarios: `scenario`;
//! 5. commands and reports over every flow: `report`, `doctor`, `parity`, `ceiling`, `shrink`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("verdict", 0),
    ("html", 0),
    ("plot", 0),
    ("latency", 0),
    ("owned_thread", 0),
    ("aws", 1),
    ("localstack", 1),
    ("postgres", 1),
    ("topology", 1),
    ("observe", 2),
    ("flows", 3),
    ("scenario", 4),
    ("report", 5),
    ("doctor", 5),
    ("parity", 5),
    ("ceiling", 5),
    ("shrink", 5),
];

/// Each module's path (`flows::stream::judge`) and its source without comments and tests.
fn modules(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = module_name(root, &path);
                let text = std::fs::read_to_string(&path).expect("readable source");
                out.insert(name, code_only(&text));
            }
        }
    }
    out
}

fn module_name(root: &Path, path: &Path) -> String {
    let rel: PathBuf = path
        .strip_prefix(root)
        .expect("under root")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// The source without `//` comments and without its `#[cfg(test)]` module (tests may reach
/// anywhere).
fn code_only(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that follows `prefix` in `code`, with `{a, b::c}` groups expanded.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        expand(rest, String::new(), &mut out);
    }
    out
}

/// Expands the path at the start of `text` (after `base`) into `out`.
fn expand(text: &str, base: String, out: &mut Vec<String>) {
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let path = format!("{base}{ident}");
    let after = &text[ident.len()..];
    if (ident.is_empty() || ident.ends_with("::")) && after.starts_with('{') {
        let inner = group(&after[1..]);
        for item in split_top(inner) {
            expand(item.trim(), path.clone(), out);
        }
    } else if !path.is_empty() {
        out.push(path.trim_end_matches("::").to_string());
    }
}

/// The text up to the brace that closes a group opened just before it.
fn group(text: &str) -> &str {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return &text[..i],
            '}' => depth -= 1,
            _ => {}
        }
    }
    text
}

/// Splits a group's items at its top-level commas.
fn split_top(text: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// The module a path names: its longest prefix that is a module.
fn resolve(path: &str, known: &BTreeMap<String, String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|candidate| known.contains_key(candidate))
}

/// The module `super::path` names from `module` (each `super` is one step up, whether the
/// module is a file or a folder's `mod.rs`).
fn from_super(module: &str, path: &str) -> String {
    let mut parts: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
    parts.pop();
    let mut path = path;
    while let Some(rest) = path.strip_prefix("super::") {
        parts.pop();
        path = rest;
    }
    parts.extend(path.split("::"));
    parts.join("::")
}

/// Which modules each module imports (itself and its own descendants left out).
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(root);
    let mut edges = BTreeMap::new();
    for (module, code) in &modules {
        let mut targets = BTreeSet::new();
        let mut all: Vec<String> = paths_after(code, "crate::");
        all.extend(
            paths_after(code, "super::")
                .into_iter()
                .map(|p| from_super(module, &p)),
        );
        for path in all {
            if let Some(target) = resolve(&path, &modules) {
                let own = target == *module || target.starts_with(&format!("{module}::"));
                // A folder's `mod.rs` re-exporting its children is not an import.
                if !own && !target.is_empty() {
                    targets.insert(target);
                }
            }
        }
        edges.insert(module.clone(), targets);
    }
    edges
}

fn layer(module: &str) -> u8 {
    let top = module.split("::").next().unwrap_or_default();
    LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .map(|(_, l)| *l)
        .unwrap_or_else(|| panic!("module `{module}` is in no layer: add it to LAYERS"))
}

/// `flows::stream` for any module of the stream flow.
fn flow(module: &str) -> Option<&str> {
    let mut parts = module.splitn(3, "::");
    (parts.next() == Some("flows"))
        .then(|| parts.next())
        .flatten()
}

/// A cycle in `edges`, as the modules along it, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|p| p == node).unwrap_or(0);
                let mut found = path[start..].to_vec();
                found.push(node.to_string());
                return Some(found);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, marks, path) {
                return Some(found);
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut marks, &mut Vec::new()))
}

/// What breaks the layering in `edges`, one line each.
fn violations(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (from, targets) in edges.iter().filter(|(m, _)| !m.is_empty()) {
        for to in targets {
            if layer(to) > layer(from) {
                out.push(format!(
                    "`{from}` (layer {}) imports `{to}` (layer {}), above it",
                    layer(from),
                    layer(to)
                ));
            }
            if let (Some(a), Some(b)) = (flow(from), flow(to)) {
                if a != b {
                    out.push(format!(
                        "flow `{a}` imports flow `{b}` (`{from}` -> `{to}`)"
                    ));
                }
            }
        }
    }
    if let Some(found) = cycle(edges) {
        out.push(format!("import cycle: {}", found.join(" -> ")));
    }
    out
}

#[test]
fn the_harness_imports_point_down_its_layers_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&root);
    assert!(edges.len() > 50, "found only {} modules", edges.len());
    let problems = violations(&edges);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_cycle_an_upward_import_and_a_flow_importing_another_are_each_found() {
    let edges = |pairs: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    let clean = edges(&[
        ("flows::batch::judge", "verdict"),
        ("scenario", "flows::batch"),
    ]);
    assert!(violations(&clean).is_empty());
    let circle = edges(&[
        ("flows::stream::judge", "flows::stream::report"),
        ("flows::stream::report", "flows::stream::judge"),
    ]);
    assert!(violations(&circle)[0].starts_with("import cycle: "));
    let upward = edges(&[("verdict", "scenario::file")]);
    assert!(violations(&upward)[0].contains("above it"));
    let across = edges(&[("flows::batch::judge", "flows::stream::judge")]);
    assert!(violations(&across)[0].starts_with("flow `batch` imports flow `stream`"));
}

#[test]
fn paths_are_read_from_groups_and_super() {
    let code = "use crate::{a::b, c::{d, e::f}};\nlet x = crate::g::h(1); not_crate::z;";
    assert_eq!(
        paths_after(code, "crate::"),
        ["a::b", "c::d", "c::e::f", "g::h"]
    );
    assert_eq!(
        from_super("flows::stream::judge", "report::X"),
        "flows::stream::report::X"
    );
    assert_eq!(
        from_super("flows::stream::driver", "judge"),
        "flows::stream::judge"
    );
    assert_eq!(
        from_super("flows::stream::driver::feed", "super::lake"),
        "flows::stream::lake"
    );
}
