//! The layers `docs/architecture.md` draws, held against the code: which crate may depend on
//! which, what the client never pulls in, and that no module imports its way back up or round
//! in a circle. The code is read as text (`use` lines and `crate::` paths), which is all the
//! compiler checks too, without a tool to install.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/");

/// Each crate of the house, its folder, and the crates of ours it may depend on (build and
/// normal dependencies; dev-dependencies are tests' business).
const CRATES: [(&str, &str, &[&str]); 11] = [
    ("instamed-soap", ".", &["instamed-soap-codegen"]),
    ("instamed-soap-codegen", "codegen", &[]),
    ("instamed-soap-listener", "crates/listener", &[]),
    (
        "instamed-soap-simulator",
        "crates/simulator",
        &[
            "instamed-soap",
            "instamed-soap-listener",
            "instamed-soap-codegen",
        ],
    ),
    (
        "instamed-soap-contract",
        "crates/contract",
        &["instamed-soap", "instamed-soap-listener"],
    ),
    ("instamed-soap-ledger", "crates/ledger", &["instamed-soap"]),
    // Above the client and the ledger: it imports them, they never import it.
    (
        "instamed-soap-gateway",
        "crates/gateway",
        &[
            "instamed-soap",
            "instamed-soap-ledger",
            "instamed-soap-listener",
        ],
    ),
    ("instamed-soap-pg-cluster", "crates/pg-cluster", &[]),
    (
        "instamed-soap-test-support",
        "crates/test-support",
        &[
            "instamed-soap",
            "instamed-soap-simulator",
            "instamed-soap-pg-cluster",
        ],
    ),
    (
        "instamed-soap-bench",
        "crates/bench",
        &[
            "instamed-soap",
            "instamed-soap-simulator",
            "instamed-soap-ledger",
            "instamed-soap-pg-cluster",
        ],
    ),
    (
        "instamed-soap-cli",
        "cli",
        &[
            "instamed-soap",
            "instamed-soap-listener",
            "instamed-soap-simulator",
            "instamed-soap-contract",
            "instamed-soap-ledger",
            "instamed-soap-gateway",
            "instamed-soap-bench",
            "instamed-soap-codegen",
        ],
    ),
];

/// What a client library user must never pay for.
const NOT_IN_THE_CLIENT: [&str; 9] = [
    "clap",
    "csv",
    "encoding_rs",
    "fastrand",
    "quick-xml",
    "rcgen",
    "roxmltree",
    "rusqlite",
    "tempfile",
];

/// The client's modules by layer, bottom first: a module may use its own layer's and those
/// below. `docs/architecture.md` names each layer.
const CLIENT_LAYERS: [&[&str]; 7] = [
    &[
        "domain",
        "credentials",
        "sensitive",
        "files",
        "timer",
        "exact_json",
        "xsd",
        "nvp",
        "outcome",
    ],
    &["soap", "rest", "bindings", "protocol"],
    &["error"],
    &["endpoint", "trust", "proxy", "transport", "deadline"],
    &["verdict", "void", "refund"],
    &["call"],
    &["client", "retry", "spans", "redact", "observe", "sso"],
];

/// The sections of a manifest that list dependencies the crate itself is built with.
fn built_with(manifest: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut listing = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            listing = line == "[dependencies]"
                || line == "[build-dependencies]"
                || (line.starts_with("[target.") && line.ends_with(".dependencies]"));
            continue;
        }
        if listing && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn each_crate_depends_only_on_the_crates_below_it() {
    for (name, folder, allowed) in CRATES {
        let manifest = read(&Path::new(ROOT).join(folder).join("Cargo.toml"));
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{folder}/Cargo.toml is not {name}"
        );
        for dependency in built_with(&manifest) {
            if dependency.starts_with("instamed-soap") {
                assert!(
                    allowed.contains(&dependency.as_str()),
                    "{name} depends on {dependency}, which docs/architecture.md does not allow"
                );
            }
        }
    }
}

#[test]
fn the_client_has_no_feature_and_pulls_in_no_tool() {
    let manifest = read(&Path::new(ROOT).join("Cargo.toml"));
    assert!(
        !manifest.lines().any(|line| line.trim() == "[features]"),
        "the client crate has features again: a tool belongs in a crate of its own"
    );
    let dependencies = built_with(&manifest);
    for tool in NOT_IN_THE_CLIENT {
        assert!(
            !dependencies.contains(tool),
            "the client depends on {tool}, which only a tool needs"
        );
    }
}

/// The top-level module a file of `src` belongs to (`call` for `src/call/soap.rs`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative
        .components()
        .next()
        .expect("a component")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code of a file without its comments and its `#[cfg(test)]` tail, which may use
/// anything.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate's own top-level modules each file's code names, by `crate::name`, by `use
/// crate::{a, b::c}` lists, and by `super::name` from a file directly under a module folder.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|file| module_of(src, file))
        .filter(|module| module != "lib" && module != "main")
        .collect();
    let reexported = reexports(src, &modules);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(src, file);
        let code = code_of(&read(file));
        let named = graph.entry(from.clone()).or_default();
        let mut mention = |name: &str| {
            // `crate::Client` names the module that defines it, as `crate::client::Client` would.
            let module = reexported.get(name).map_or(name, String::as_str);
            if modules.contains(module) && module != from {
                named.insert(module.to_owned());
            }
        };
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            if let Some(list) = rest.strip_prefix('{') {
                let list = &list[..list.find('}').unwrap_or(list.len())];
                for item in list.split(',') {
                    mention(item.trim().split("::").next().unwrap_or("").trim());
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                mention(&name);
            }
        }
        // `super::x` from a root-level file names a sibling module, as `crate::x` would.
        let depth = file.strip_prefix(src).map_or(0, |p| p.components().count());
        let at_root = depth == 1 || file.file_name().is_some_and(|n| n == "mod.rs") && depth == 2;
        if at_root {
            for (at, _) in code.match_indices("super::") {
                let name: String = code[at + "super::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                mention(&name);
            }
        }
    }
    graph
}

/// The items the crate root re-exports, by the module they come from: `pub use a::{B, C}` in
/// `lib.rs` or `main.rs`.
fn reexports(src: &Path, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for root in ["lib.rs", "main.rs"] {
        let Ok(text) = std::fs::read_to_string(src.join(root)) else {
            continue;
        };
        let code = code_of(&text);
        for statement in code.split(';') {
            let Some(path) = statement.trim().strip_prefix("pub use ") else {
                continue;
            };
            let Some((module, items)) = path.split_once("::") else {
                continue;
            };
            if !modules.contains(module.trim()) {
                continue;
            }
            let items = items.trim().trim_start_matches('{').trim_end_matches('}');
            for item in items.split(',') {
                let name = item.rsplit("::").next().unwrap_or("").trim();
                let name = name.rsplit(" as ").next().unwrap_or(name).trim();
                if !name.is_empty() {
                    found.insert(name.to_owned(), module.trim().to_owned());
                }
            }
        }
    }
    found
}

/// Every circle among a crate's top-level modules, each once, as `a -> b -> a`.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    // Tarjan would be shorter to run; a crate has a few dozen modules, so the plain search
    // for a path back to each module reads better.
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    let mut circle = path.clone();
                    // One spelling per circle: start from its smallest module.
                    let smallest = circle
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, m)| *m)
                        .map_or(0, |(i, _)| i);
                    circle.rotate_left(smallest);
                    let first = circle[0].clone();
                    circle.push(first);
                    found.insert(circle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn no_crate_has_a_circle_among_its_modules() {
    let mut all = Vec::new();
    for (name, folder, _) in CRATES {
        let src = Path::new(ROOT).join(folder).join("src");
        for circle in circles(&imports(&src)) {
            all.push(format!("{name}: {circle}"));
        }
    }
    assert!(all.is_empty(), "circles among modules:\n{}", all.join("\n"));
}

#[test]
fn no_module_of_the_client_imports_a_layer_above_its_own() {
    let layer_of = |module: &str| CLIENT_LAYERS.iter().position(|l| l.contains(&module));
    let graph = imports(&Path::new(ROOT).join("src"));
    let mut upward = Vec::new();
    for (from, named) in &graph {
        if from == "lib" {
            continue;
        }
        let Some(own) = layer_of(from) else {
            upward.push(format!("{from} is in no layer of docs/architecture.md"));
            continue;
        };
        for to in named {
            match layer_of(to) {
                Some(theirs) if theirs > own => upward.push(format!(
                    "{from} (layer {}) imports {to} (layer {})",
                    own + 1,
                    theirs + 1
                )),
                Some(_) => {}
                None => upward.push(format!("{to} is in no layer of docs/architecture.md")),
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(
        upward.is_empty(),
        "imports that run up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_circle_search_finds_a_circle() {
    // The checks above pass on a house without circles; this one proves they could fail.
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(circles(&graph), ["a -> b -> c -> a"]);
}
