//! The hub crate's layers (docs/ARCHITECTURE.md), checked from its
//! sources: every `crate::…` or `super::…` path in a file's code (comments
//! and the `#[cfg(test)]` module left out) names a module of the same layer
//! or a lower one, and no files import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers from the bottom up, each with the top-level modules of
/// `src/` it holds (docs/ARCHITECTURE.md, "The layers of the hub crate").
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundations",
        &[
            "config",
            "error",
            "stats",
            "id",
            "state",
            "client_addr",
            "send_queue",
            "limits",
            "tokens",
        ],
    ),
    ("transport", &["transport"]),
    ("session state", &["session"]),
    ("cluster seam", &["adapter"]),
    ("what the application registers", &["app"]),
    ("hub", &["hub", "stream", "channel"]),
    ("events", &["events"]),
    ("connection", &["connection"]),
    ("edges", &["edge", "builder", "service"]),
    ("crate root", &["lib", "guide"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The module path of a source file: `hub/handle.rs` → `["hub", "handle"]`,
/// `hub/mod.rs` → `["hub"]`, `lib.rs` → `["lib"]`.
fn module_of(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") && parts.len() > 1 {
        parts.pop();
    }
    parts
}

/// The file that holds a module path, trying its longest prefix first
/// (`crate::hub::handle::Hub` → `hub/handle.rs`).
fn file_of(path: &[String]) -> Option<PathBuf> {
    for len in (1..=path.len()).rev() {
        let base = path[..len].iter().collect::<PathBuf>();
        for candidate in [
            src().join(&base).with_extension("rs"),
            src().join(&base).join("mod.rs"),
        ] {
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn layer_of(module: &[String]) -> usize {
    let top = module.first().map(String::as_str).unwrap_or("lib");
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&top))
        .unwrap_or_else(|| {
            panic!("module `{top}` is in no layer: add it to LAYERS and to docs/ARCHITECTURE.md")
        })
}

/// The code of a file: without comments, and without its test module.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every module path a piece of code names from `crate::`, `super::` or
/// `self::`, as absolute module paths (`use crate::{a::b, c}` gives both).
fn paths_named(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let starts = code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
        .chain(code.match_indices("self::"));
    for (start, _) in starts {
        if code[..start].ends_with(|c: char| is_ident(c) || c == ':') {
            continue;
        }
        let mut base: Vec<String> = module.to_vec();
        let mut rest = &code[start..];
        loop {
            if let Some(tail) = rest.strip_prefix("crate::") {
                base.clear();
                rest = tail;
            } else if let Some(tail) = rest.strip_prefix("super::") {
                base.pop();
                rest = tail;
            } else if let Some(tail) = rest.strip_prefix("self::") {
                rest = tail;
            } else {
                break;
            }
        }
        let items: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .collect(),
            None => vec![rest],
        };
        for item in items {
            let segments: Vec<String> = item
                .trim()
                .split("::")
                .map(|s| s.chars().take_while(|c| is_ident(*c)).collect::<String>())
                .take_while(|s| !s.is_empty())
                .collect();
            found.push(base.iter().cloned().chain(segments).collect());
        }
    }
    found
}

fn sources(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Each file's imports of other files of the crate.
fn import_graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut graph = BTreeMap::new();
    for file in files {
        let mut module = module_of(&file);
        if module == ["lib"] {
            module.clear();
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        let targets = paths_named(&code, &module)
            .iter()
            .map(|path| file_of(path).unwrap_or_else(|| src().join("lib.rs")))
            .filter(|target| *target != file)
            .collect();
        graph.insert(file, targets);
    }
    graph
}

fn short(file: &Path) -> String {
    file.strip_prefix(src()).unwrap().display().to_string()
}

#[test]
fn no_import_runs_up_a_layer() {
    let mut upward = Vec::new();
    for (file, targets) in import_graph() {
        let from = layer_of(&module_of(&file));
        for target in targets {
            let to = layer_of(&module_of(&target));
            if to > from {
                upward.push(format!(
                    "{} ({}) imports {} ({})",
                    short(&file),
                    LAYERS[from].0,
                    short(&target),
                    LAYERS[to].0
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let graph = import_graph();
    // Depth-first search; a file met again while still on the path closes
    // a circle.
    fn visit(
        file: &PathBuf,
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        path: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        if let Some(at) = path.iter().position(|f| f == file) {
            return Some(path[at..].to_vec());
        }
        if done.contains(file) {
            return None;
        }
        path.push(file.clone());
        for next in graph.get(file).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(file.clone());
        None
    }
    let mut done = BTreeSet::new();
    for file in graph.keys() {
        // The crate root declares every module: it is above them all.
        if file.ends_with("lib.rs") && file.parent() == Some(src().as_path()) {
            continue;
        }
        if let Some(circle) = visit(file, &graph, &mut Vec::new(), &mut done) {
            let names: Vec<String> = circle.iter().map(|f| short(f)).collect();
            panic!(
                "files that import each other in a circle: {}",
                names.join(" -> ")
            );
        }
    }
}

/// The checks above must see imports at all: a known one is found.
#[test]
fn the_checks_read_imports() {
    let graph = import_graph();
    let socket = src().join("hub/socket.rs");
    let handle = src().join("hub/handle.rs");
    assert!(
        graph[&socket].contains(&handle),
        "hub/socket.rs imports hub/handle.rs"
    );
    let node = src().join("hub/node.rs");
    assert!(
        graph[&node].contains(&src().join("hub/broadcast.rs")),
        "hub/node.rs imports hub/broadcast.rs through super::"
    );
}
