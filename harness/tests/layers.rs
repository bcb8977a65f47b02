//! The workspace's layers, held to its imports.
//!
//! The workspace's layers, read from its source: in each tree (the harness, the pipeline, the
//! CLI), every `crate::` and `super::` path of every module (tests left out) is resolved to the
//! module it names, and the test fails on an import cycle between modules, on an import that
//! points up a layer, on a module importing a sibling it must stay apart from (a flow another
//! flow, a pipeline another pipeline), and on a module importing its parent's `mod.rs` (what
//! children share belongs in a child of its own, not above them).
//!
//! The layers, bottom up (each crate's `lib.rs` and ARCHITECTURE.md say the same).
//!
//! The harness (one folder per layer):
//! 0. what every judge and report says: `error`, `verdict`, `render`, `runtime`;
//! 1. infrastructure: `infra`;
//! 2. reading back: `observe`;
//! 3. the flows, one folder each: `flows::stream`, `flows::batch`, `flows::price_files`;
//! 4. scenarios: `scenario`;
//! 5. reports and commands over every flow: `report`, `commands`.
//!
//! The pipeline:
//! 0. foundations: `utc`, `draw`, `control`, `retry`, `calls`, `compress`, `kpl`, `s3_event`,
//!    `resources`;
//! 1. the data: `event`, `envelope`, `source`;
//! 2. AWS, faults and stages: `chaos`, `aws`, `error`, `stages`, `history`, `esm`, `resend`,
//!    `metrics`;
//! 3. the outputs stages share: `lake`, `notify`;
//! 4. the stages and pipelines, each apart from the others: `producer`, `bridge`, `processor`,
//!    `web`, `batch`, `price_files`.
//!
//! The CLI (`src/cli`): 0. `target`; 1. `runs`; 2. the commands; 3. `mod.rs`, clap's types and
//! the dispatch.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source tree and the rules its imports keep.
struct Tree {
    /// The folder of its `lib.rs` (or `mod.rs`), from the harness's manifest.
    root: &'static str,
    /// Each top-level module's layer.
    layers: &'static [(&'static str, u8)],
    /// Modules whose subtrees may not import one another.
    apart: &'static [&'static str],
    /// Whether the root is a `mod.rs` its children may not import (a crate's `lib.rs` only
    /// re-exports, and is left out).
    root_is_parent: bool,
    /// Fewest modules it has (a tree read wrong would pass every rule).
    at_least: usize,
}

const HARNESS: Tree = Tree {
    root: "src",
    layers: &[
        ("error", 0),
        ("verdict", 0),
        ("render", 0),
        ("runtime", 0),
        ("infra", 1),
        ("observe", 2),
        ("flows", 3),
        ("scenario", 4),
        ("report", 5),
        ("commands", 5),
    ],
    apart: &["flows::stream", "flows::batch", "flows::price_files"],
    root_is_parent: false,
    at_least: 50,
};

const PIPELINE: Tree = Tree {
    root: "../pipeline/src",
    layers: &[
        ("utc", 0),
        ("draw", 0),
        ("control", 0),
        ("retry", 0),
        ("calls", 0),
        ("compress", 0),
        ("kpl", 0),
        ("s3_event", 0),
        ("resources", 0),
        ("event", 1),
        ("envelope", 1),
        ("source", 1),
        ("chaos", 2),
        ("aws", 2),
        ("error", 2),
        ("stages", 2),
        ("history", 2),
        ("esm", 2),
        ("resend", 2),
        ("metrics", 2),
        ("lake", 3),
        ("notify", 3),
        ("producer", 4),
        ("bridge", 4),
        ("processor", 4),
        ("web", 4),
        ("batch", 4),
        ("price_files", 4),
    ],
    apart: &[
        "producer",
        "bridge",
        "processor",
        "web",
        "batch",
        "price_files",
    ],
    root_is_parent: false,
    at_least: 50,
};

const CLI: Tree = Tree {
    root: "../src/cli",
    layers: &[
        ("target", 0),
        ("runs", 1),
        ("commands", 2),
        ("consume", 2),
        ("load", 2),
        ("parity", 2),
        ("produce", 2),
        ("replay", 2),
        ("run", 2),
        ("serve", 2),
        ("shrink", 2),
    ],
    apart: &[],
    root_is_parent: true,
    at_least: 6,
};

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

/// The module a path names: its longest prefix that is a module (the root, `""`, for an item
/// of the root's own).
fn resolve(path: &str, known: &BTreeMap<String, String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (0..=parts.len())
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
                if !own {
                    targets.insert(target);
                }
            }
        }
        edges.insert(module.clone(), targets);
    }
    edges
}

/// `module`'s layer in `tree` (the root is above every layer).
fn layer(module: &str, tree: &Tree) -> u8 {
    if module.is_empty() {
        return u8::MAX;
    }
    let top = module.split("::").next().unwrap_or_default();
    tree.layers
        .iter()
        .find(|(name, _)| *name == top)
        .map(|(_, l)| *l)
        .unwrap_or_else(|| panic!("module `{module}` of {} is in no layer: add it", tree.root))
}

/// The subtree of `tree.apart` that `module` is in.
fn apart<'t>(module: &str, tree: &'t Tree) -> Option<&'t str> {
    tree.apart
        .iter()
        .find(|a| module == **a || module.starts_with(&format!("{a}::")))
        .copied()
}

/// The module whose `mod.rs` holds `module`: `a` for `a::b`, the root for a top-level one.
fn parent(module: &str) -> &str {
    module.rsplit_once("::").map_or("", |(p, _)| p)
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

/// What breaks `tree`'s rules in `edges`, one line each.
fn violations(edges: &BTreeMap<String, BTreeSet<String>>, tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    for (from, targets) in edges.iter().filter(|(m, _)| !m.is_empty()) {
        for to in targets {
            if to == parent(from) && (!to.is_empty() || tree.root_is_parent) {
                let name = if to.is_empty() { "the root" } else { to };
                out.push(format!("`{from}` imports its parent, {name}'s mod.rs"));
                continue;
            }
            if to.is_empty() {
                continue; // a crate root's re-exports
            }
            let (a, b) = (layer(from, tree), layer(to, tree));
            if b > a {
                out.push(format!(
                    "`{from}` (layer {a}) imports `{to}` (layer {b}), above it"
                ));
            }
            if let (Some(a), Some(b)) = (apart(from, tree), apart(to, tree)) {
                if a != b {
                    out.push(format!(
                        "`{a}` imports `{b}`, kept apart (`{from}` -> `{to}`)"
                    ));
                }
            }
        }
    }
    let without_root: BTreeMap<String, BTreeSet<String>> = edges
        .iter()
        .filter(|(m, _)| !m.is_empty())
        .map(|(m, t)| {
            (
                m.clone(),
                t.iter().filter(|t| !t.is_empty()).cloned().collect(),
            )
        })
        .collect();
    if let Some(found) = cycle(&without_root) {
        out.push(format!("import cycle: {}", found.join(" -> ")));
    }
    out
}

/// `tree`'s violations, read from its source.
fn check(tree: &Tree) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(tree.root);
    let edges = graph(&root);
    assert!(
        edges.len() >= tree.at_least,
        "{}: found only {} modules",
        tree.root,
        edges.len()
    );
    violations(&edges, tree)
}

#[test]
fn the_harness_imports_point_down_its_layers_without_cycles() {
    let problems = check(&HARNESS);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_pipeline_imports_point_down_its_layers_and_its_pipelines_stay_apart() {
    let problems = check(&PIPELINE);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_cli_imports_point_down_from_the_dispatch_to_the_commands() {
    let problems = check(&CLI);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_cycle_an_upward_a_sideways_and_a_parent_import_are_each_found() {
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
        ("flows::batch::judge", "flows::batch::content"),
    ]);
    assert!(violations(&clean, &HARNESS).is_empty());
    let circle = edges(&[
        ("flows::stream::judge", "flows::stream::report"),
        ("flows::stream::report", "flows::stream::judge"),
    ]);
    assert!(violations(&circle, &HARNESS)[0].starts_with("import cycle: "));
    let upward = edges(&[("verdict", "scenario::file")]);
    assert!(violations(&upward, &HARNESS)[0].contains("above it"));
    let across = edges(&[("flows::batch::judge", "flows::stream::judge")]);
    assert!(violations(&across, &HARNESS)[0].starts_with("`flows::batch` imports `flows::stream`"));
    let pipelines = edges(&[("batch::trigger", "processor::handler")]);
    assert!(violations(&pipelines, &PIPELINE)[0].contains("kept apart"));
    let parent = edges(&[("scenario::stream", "scenario")]);
    assert!(violations(&parent, &HARNESS)[0].contains("imports its parent, scenario's mod.rs"));
    let cli_root = edges(&[("consume", "")]);
    assert!(violations(&cli_root, &CLI)[0].contains("imports its parent, the root"));
    let crate_root = edges(&[("flows::batch::judge", "")]);
    assert!(
        violations(&crate_root, &HARNESS).is_empty(),
        "a crate root's re-exports"
    );
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
