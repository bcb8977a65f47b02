//! ARCHITECTURE.md held to the code.
//!
//! ARCHITECTURE.md held to the code: every path its code map names exists, and every module of
//! the three source trees and of each flow's folder is named there.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The workspace's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness is in the workspace")
        .to_path_buf()
}

/// Every `backticked` path under a source or test folder that `text` names.
fn named_paths(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            ["harness/", "pipeline/", "src/", "tests/"]
                .iter()
                .any(|p| t.starts_with(p))
                && !t.contains(' ')
                && !t.contains('<')
        })
        .map(str::to_string)
        .collect()
}

/// The folders whose every entry the code map must name.
const MAPPED: &[&str] = &[
    "harness/src",
    "harness/src/infra",
    "harness/src/render",
    "harness/src/runtime",
    "harness/src/commands",
    "harness/src/flows/stream",
    "harness/src/flows/stream/input",
    "harness/src/flows/stream/judge",
    "harness/src/flows/stream/resources",
    "harness/src/flows/batch",
    "harness/src/flows/price_files",
    "pipeline/src",
    "src",
    "src/cli",
];

/// The entries of `folder` (`x.rs` files and `x/` folders) that no path of `named` names.
fn unnamed(root: &Path, folder: &str, named: &BTreeSet<String>) -> Vec<String> {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join(folder)).expect("a source folder") {
        let entry = entry.expect("a folder entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.path().is_dir();
        // A folder's `mod.rs` is its map, named with the folder.
        if !is_dir && (!name.ends_with(".rs") || name == "mod.rs") {
            continue;
        }
        let path = format!("{folder}/{name}");
        let found = named
            .iter()
            .any(|n| n == &path || n.starts_with(&format!("{path}/")));
        if !found {
            missing.push(if is_dir { format!("{path}/") } else { path });
        }
    }
    missing.sort();
    missing
}

#[test]
fn every_path_the_code_map_names_exists_and_every_module_is_named() {
    let root = root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let named = named_paths(&text);
    assert!(named.len() > 80, "found only {} paths", named.len());
    let gone: Vec<&String> = named
        .iter()
        .filter(|p| !root.join(p.trim_end_matches('/')).exists())
        .collect();
    assert!(
        gone.is_empty(),
        "ARCHITECTURE.md names what is not there: {gone:?}"
    );
    let missing: Vec<String> = MAPPED
        .iter()
        .flat_map(|folder| unnamed(&root, folder, &named))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name: {missing:?}"
    );
}

#[test]
fn a_module_left_out_or_a_path_gone_is_found() {
    let root = root();
    let named = named_paths("- `harness/src/runtime/wait.rs`: waits.\n- `src/cli/`: the CLI.");
    assert!(named.contains("harness/src/runtime/wait.rs"));
    let in_src = unnamed(&root, "src", &named);
    assert!(!in_src.contains(&"src/cli/".to_string()), "{in_src:?}");
    assert!(
        unnamed(&root, "src/cli", &named).contains(&"src/cli/run.rs".to_string()),
        "a folder named whole does not name its files"
    );
    let missing = unnamed(&root, "harness/src", &named);
    assert!(
        missing.contains(&"harness/src/verdict/".to_string()),
        "{missing:?}"
    );
    assert!(!missing.contains(&"harness/src/runtime/wait.rs".to_string()));
    assert!(!root.join("harness/src/nothing.rs").exists());
}

/// Every `.rs` file below `folder`.
fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// Whether `text` opens with a one-line `//!` summary (the line after it is no `//!` text).
fn opens_with_a_summary(text: &str) -> bool {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let second = lines.next().unwrap_or_default();
    first.starts_with("//! ") && (second == "//!" || !second.starts_with("//!"))
}

#[test]
fn every_file_opens_with_a_one_line_summary() {
    let root = root();
    let folders = [
        "harness/src",
        "harness/tests",
        "pipeline/src",
        "pipeline/benches",
        "src",
        "tests",
    ];
    let without: Vec<String> = folders
        .iter()
        .flat_map(|f| rust_files(&root.join(f)))
        .filter(|p| !opens_with_a_summary(&std::fs::read_to_string(p).expect("readable")))
        .map(|p| p.strip_prefix(&root).unwrap_or(&p).display().to_string())
        .collect();
    assert!(
        without.is_empty(),
        "files without a one-line `//!` summary: {without:?}"
    );
    assert!(opens_with_a_summary("//! What it holds.\n//!\n//! More.\n"));
    assert!(opens_with_a_summary("//! What it holds.\n\nuse x;\n"));
    assert!(!opens_with_a_summary(
        "//! What it holds, said\n//! over two lines.\n"
    ));
    assert!(!opens_with_a_summary("use x;\n"));
}

/// The code of `text` without `//` comments and without its `#[cfg(test)]` module.
fn code_only(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|line| line.find("//").map_or(line, |i| &line[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files (outside `own`, the flows' folder: a flow naming another is the layer test's) whose
/// code names `flows::<flow>`.
fn naming(root: &Path, flow: &str, own: &Path) -> Vec<String> {
    let needle = format!("flows::{flow}");
    ["harness/src", "src"]
        .iter()
        .flat_map(|folder| rust_files(&root.join(folder)))
        .filter(|file| !file.starts_with(own))
        .filter(|file| {
            let text = std::fs::read_to_string(file).expect("a source file");
            code_only(&text).contains(&needle)
        })
        .map(|file| {
            file.strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string()
        })
        .collect()
}

/// A flow is its folder and one registry line: outside its folder, only the registry names it
/// (tests and docs aside). The stream flow is named by the commands that drive it, and is left
/// out.
#[test]
fn a_flow_is_named_outside_its_folder_by_the_registry_alone() {
    let root = root();
    let flows = root.join("harness/src/flows");
    let mut checked = 0;
    for entry in std::fs::read_dir(&flows).expect("the flows folder") {
        let path = entry.expect("a folder entry").path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !path.is_dir() || name == "stream" {
            continue;
        }
        checked += 1;
        let found = naming(&root, &name, &flows);
        assert!(
            found.is_empty(),
            "the {name} flow is named outside the flows and their registry: {found:?}"
        );
        let registry = std::fs::read_to_string(flows.join("mod.rs")).expect("the registry");
        assert!(
            code_only(&registry).contains(&format!("{name}::scenario::")),
            "the {name} flow is not in the registry"
        );
    }
    assert!(
        checked >= 2,
        "found only {checked} flows besides the stream flow"
    );
}
