//! The sources' map keeps its arrows one way: no source file imports (`use crate::...`,
//! `use super::...`, or a path in the code) one that imports it back, directly or through
//! others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of the crate by path ("context::engine"), with its source text.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(stem);
                walk(&path, &inner, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut name = prefix.to_vec();
                if stem != "mod" && stem != "lib" {
                    name.push(stem);
                }
                out.insert(name.join("::"), std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

/// The modules `source` (the module `name`) refers to, by the longest known module path.
fn references(name: &str, source: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent: Vec<&str> = name.split("::").filter(|s| !s.is_empty()).collect();
    let mut found = BTreeSet::new();
    // Outside test modules: tests may reach anywhere.
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    for (start, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let rest = &code[start..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut parts: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let absolute: Vec<&str> = if parts.first() == Some(&"crate") {
            parts.remove(0);
            parts
        } else {
            let mut base = parent.clone();
            while parts.first() == Some(&"super") {
                parts.remove(0);
                base.pop();
            }
            base.extend(parts);
            base
        };
        // The longest prefix that is a module of the crate.
        for len in (1..=absolute.len()).rev() {
            let candidate = absolute[..len].join("::");
            if known.contains(&candidate) {
                if candidate != name {
                    found.insert(candidate);
                }
                break;
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let edges: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(name, source)| (name.as_str(), references(name, source, &known)))
        .collect();
    assert!(
        edges.get("session").is_some_and(|e| e.contains("handle")),
        "the scan sees session's imports: {:?}",
        edges.get("session")
    );
    // A module that reaches itself through its references is in a cycle.
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = edges[start].iter().cloned().collect();
        while let Some(next) = stack.pop() {
            if next == *start {
                cycles.push(start.to_string());
                break;
            }
            if seen.insert(next.clone()) {
                stack.extend(edges.get(next.as_str()).into_iter().flatten().cloned());
            }
        }
    }
    assert!(cycles.is_empty(), "modules in an import cycle: {cycles:?}");
}
