//! The modules of `src/` import each other without a cycle (issue 12): every file is a module
//! (`src/routes/cases.rs` is `routes::cases`, `src/auth/mod.rs` is `auth`), every `crate::…`
//! path in it is an edge to the longest module that path names, and the graph must be a DAG.
//! Run it alone with `cargo test --test api layering`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] { String::new() } else { parts.join("::") }
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::a::b::…` path in `text`, expanding `use crate::{a, b::c}` groups one level deep.
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("crate::") {
        let start = i + pos + "crate::".len();
        // Skip `$crate::` in macros and identifiers ending in `crate`.
        let before = text[..i + pos].chars().last();
        i = start;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b':') {
            end += 1;
        }
        let path = text[start..end].trim_end_matches(':').to_owned();
        if end < bytes.len() && bytes[end] == b'{' {
            let close = text[end..].find('}').map_or(text.len(), |c| end + c);
            for item in text[end + 1..close].split(',') {
                let item = item.trim().split([' ', '{']).next().unwrap_or_default();
                if !item.is_empty() && item != "self" {
                    out.push(format!("{path}::{item}"));
                }
            }
            out.push(path);
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn src_modules_import_each_other_without_a_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&root, &mut all);
    let modules: BTreeSet<String> = all.iter().map(|f| module_of(&root, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &all {
        let from = module_of(&root, file);
        let text = std::fs::read_to_string(file).unwrap();
        // Tests inside a file may reach anywhere.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for path in crate_paths(text) {
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let target = (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find(|candidate| modules.contains(candidate));
            if let Some(to) = target
                && to != from
                // A module may use what its own children define.
                && !to.starts_with(&format!("{from}::"))
                && !from.is_empty()
            {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    // The first cycle found is reported (fixing it may reveal the next).
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for module in &modules {
        if !state.contains_key(module.as_str())
            && let Some(cycle) = visit(module, &edges, &mut state, &mut Vec::new())
        {
            cycles.push(cycle.join(" -> "));
            break;
        }
    }
    println!("layering: {} modules, {} import edges", modules.len(), edges.values().map(BTreeSet::len).sum::<usize>());
    assert!(cycles.is_empty(), "import cycles among src/ modules:\n{}", cycles.join("\n"));
}
