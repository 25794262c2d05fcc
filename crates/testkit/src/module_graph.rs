//! The module graph of a crate, read from its sources: one node per module
//! file, one edge per module a file names through a `crate::`, `super::` or
//! `self::` path (in a `use` or inline). Names the crate root re-exports
//! (`pub use a::b::Thing;`) resolve to the module that defines them, so a
//! root that only assembles is not a hub every module passes through.
//! Inline test modules (`#[cfg(test)] mod …`) are left out: what tests
//! reach does not shape the code.
//!
//! [`ModuleGraph::loops`] lists each import loop (a strongly connected set
//! of two or more modules); [`ModuleGraph::dot`] draws the graph for
//! Graphviz: `cargo run -p rapport-testkit --example module_graph -- crates/store/src | dot -Tsvg`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate root's name in the graph.
pub const ROOT: &str = "crate";

/// Modules and the modules each one names.
#[derive(Debug, Default)]
pub struct ModuleGraph {
    /// Module path (`kernel::tickets`, `crate` for the root) to the modules it uses.
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

impl ModuleGraph {
    /// Reads every `.rs` file under `src` (a crate's `src` folder with its
    /// `lib.rs` or `main.rs`; `bin/` folders are other crates and skipped).
    pub fn read(src: &Path) -> anyhow::Result<ModuleGraph> {
        let mut files = Vec::new();
        collect(src, &mut files)?;
        let mut sources = BTreeMap::new();
        for file in files {
            let relative = file.strip_prefix(src)?;
            let Some(module) = module_of(relative) else { continue };
            let text = std::fs::read_to_string(&file)?;
            sources.insert(module, strip(&text));
        }
        let modules: BTreeSet<String> = sources.keys().cloned().collect();
        let exports = sources.get(ROOT).map(|root| root_exports(root)).unwrap_or_default();
        let mut graph = ModuleGraph::default();
        for (module, text) in &sources {
            let mut uses = BTreeSet::new();
            for path in paths(text) {
                if let Some(target) = resolve(module, &path, &modules, &exports)
                    && &target != module
                {
                    uses.insert(target);
                }
            }
            graph.edges.insert(module.clone(), uses);
        }
        Ok(graph)
    }

    /// Every import loop: sets of two or more modules that reach each other,
    /// each sorted, largest first.
    pub fn loops(&self) -> Vec<Vec<String>> {
        let mut found: Vec<Vec<String>> =
            strongly_connected(&self.edges).into_iter().filter(|set| set.len() > 1).collect();
        found.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        found
    }

    /// The graph in Graphviz's DOT language.
    pub fn dot(&self, name: &str) -> String {
        let mut out = format!("digraph \"{name}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n");
        for (from, targets) in &self.edges {
            out.push_str(&format!("  \"{from}\";\n"));
            for to in targets {
                out.push_str(&format!("  \"{from}\" -> \"{to}\";\n"));
            }
        }
        out.push_str("}\n");
        out
    }
}

fn collect(folder: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "bin") {
                collect(&path, files)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    Ok(())
}

/// `lib.rs` → `crate`, `a.rs` and `a/mod.rs` → `a`, `a/b.rs` → `a::b`.
fn module_of(relative: &Path) -> Option<String> {
    let mut parts: Vec<String> =
        relative.iter().map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
    if parts == ["lib"] || parts == ["main"] {
        return Some(ROOT.to_owned());
    }
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    (!parts.is_empty()).then(|| parts.join("::"))
}

/// The text without its `#[cfg(test)]` / `#[cfg(all(test, …))]` modules.
fn without_test_modules(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        let is_test_cfg = line.starts_with("#[cfg(") && line.contains("test");
        let module_at = (i + 1..lines.len().min(i + 4)).find(|&j| {
            let next = lines[j].trim_start();
            next.starts_with("mod ") || next.starts_with("pub mod ") || next.starts_with("pub(crate) mod ")
        });
        if let (true, Some(at)) = (is_test_cfg, module_at)
            && lines[i + 1..at].iter().all(|between| between.trim_start().starts_with("#["))
        {
            // Skip to the end of the module's braces.
            let mut depth = 0i64;
            let mut j = at;
            while j < lines.len() {
                depth += lines[j].matches('{').count() as i64 - lines[j].matches('}').count() as i64;
                if depth <= 0 && (lines[j].contains('}') || lines[j].trim_end().ends_with(';')) {
                    break;
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        kept.push(lines[i]);
        i += 1;
    }
    kept.join("\n")
}

/// The text without comments, string literals' contents and inline test modules.
fn strip(text: &str) -> String {
    without_test_modules(&without_comments_or_strings(text))
}

/// The text without comments and string literals' contents.
fn without_comments_or_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    if !escaped && c == '"' {
                        break;
                    }
                    escaped = !escaped && c == '\\';
                }
                out.push('"');
            }
            '\'' => {
                // A char literal ('x', '\n') or a lifetime ('a): skip a literal whole.
                let rest: String = chars.clone().take(3).collect();
                let skip = if rest.starts_with('\\') {
                    rest.find('\'').map_or(0, |end| end + 1)
                } else if rest.chars().nth(1) == Some('\'') {
                    2
                } else {
                    0
                };
                for _ in 0..skip {
                    chars.next();
                }
                out.push('\'');
            }
            other => out.push(other),
        }
    }
    out
}

/// The root's re-exports: name → the path it names (`Store` → `handle::Store`).
fn root_exports(root: &str) -> BTreeMap<String, Vec<String>> {
    let mut exports = BTreeMap::new();
    for statement in root.split(';') {
        let statement = statement.trim();
        let Some(rest) = statement.strip_prefix("pub use ").or_else(|| statement.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let rest = rest.trim_start_matches("crate::").trim_start_matches("self::");
        for path in expand(rest) {
            if let Some(name) = path.last() {
                exports.insert(name.clone(), path.clone());
            }
        }
    }
    exports
}

/// Every `crate::…`, `super::…` and `self::…` path in `text`, groups expanded.
fn paths(text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = text[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            let boundary =
                at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':');
            if !boundary {
                continue;
            }
            let end = path_end(text, at);
            found.extend(expand(&text[at..end]));
        }
    }
    found
}

/// Where a path that starts at `at` ends: after its last segment or its closing brace.
fn path_end(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = at;
    let mut depth = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'{' => depth += 1,
            b'}' if depth == 0 => return i,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ if depth > 0 => {}
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b':' => {}
            _ => return i,
        }
        i += 1;
    }
    i
}

/// `a::{b, c::{d, e}}` → `[a, b]`, `[a, c, d]`, `[a, c, e]`.
fn expand(path: &str) -> Vec<Vec<String>> {
    let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = path.find('{') else {
        let segments: Vec<String> = path
            .split("::")
            .filter(|s| !s.is_empty())
            .map(|s| s.split(" as ").next().unwrap_or(s).to_owned())
            .collect();
        return vec![segments];
    };
    let head: Vec<String> = path[..open].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let inner = path[open + 1..].strip_suffix('}').unwrap_or(&path[open + 1..]);
    let mut items = Vec::new();
    let (mut depth, mut begin) = (0usize, 0usize);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&inner[begin..i]);
                begin = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[begin..]);
    let mut out = Vec::new();
    for item in items.into_iter().filter(|item| !item.is_empty()) {
        for tail in expand(item) {
            let mut full = head.clone();
            full.extend(tail.into_iter().filter(|segment| segment != "self"));
            out.push(full);
        }
    }
    out
}

/// The module a path (from a file of `module`) names: the longest prefix
/// that is a module, or the module a root re-export points into.
fn resolve(
    module: &str,
    path: &[String],
    modules: &BTreeSet<String>,
    exports: &BTreeMap<String, Vec<String>>,
) -> Option<String> {
    let mut base: Vec<String> =
        if module == ROOT { Vec::new() } else { module.split("::").map(str::to_owned).collect() };
    let mut segments = path.iter().peekable();
    match segments.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segments.next();
            base.clear();
        }
        Some("super") => {
            while segments.peek().is_some_and(|s| *s == "super") {
                segments.next();
                base.pop();
            }
        }
        Some("self") => {
            segments.next();
        }
        _ => return None,
    }
    let mut full = base;
    full.extend(segments.cloned());
    // A root re-export: `crate::Store` is `handle::Store`.
    if let Some(first) = full.first()
        && !modules.contains(first)
        && let Some(target) = exports.get(first)
    {
        full.splice(0..1, target.iter().cloned());
    }
    for len in (1..=full.len()).rev() {
        let candidate = full[..len].join("::");
        if modules.contains(&candidate) {
            return Some(candidate);
        }
    }
    Some(ROOT.to_owned())
}

/// Tarjan's strongly connected components.
fn strongly_connected(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        state.index.insert(node, state.next);
        state.low.insert(node, state.next);
        state.next += 1;
        state.stack.push(node);
        state.on_stack.insert(node);
        if let Some(targets) = state.edges.get(node) {
            for target in targets {
                let target = target.as_str();
                if !state.edges.contains_key(target) {
                    continue;
                }
                if !state.index.contains_key(target) {
                    visit(state, target);
                    let low = state.low[target].min(state.low[node]);
                    state.low.insert(node, low);
                } else if state.on_stack.contains(target) {
                    let low = state.index[target].min(state.low[node]);
                    state.low.insert(node, low);
                }
            }
        }
        if state.low[node] == state.index[node] {
            let mut set = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(top);
                set.push(top.to_owned());
                if top == node {
                    break;
                }
            }
            set.sort();
            state.found.push(set);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{ModuleGraph, expand, strip};

    #[test]
    fn groups_expand_into_one_path_each() {
        let paths = expand("crate::kernel::{messages::{NewMessage, attach}, tickets::load_ticket, self}");
        let words: Vec<String> = paths.iter().map(|path| path.join("::")).collect();
        assert_eq!(
            words,
            [
                "crate::kernel::messages::NewMessage",
                "crate::kernel::messages::attach",
                "crate::kernel::tickets::load_ticket",
                "crate::kernel"
            ]
        );
    }

    #[test]
    fn comments_strings_and_test_modules_name_nothing() {
        let text = "use crate::a::X; // crate::b::Y\nlet s = \"crate::c::Z\";\n#[cfg(test)]\nmod tests {\n    use crate::d::W;\n}\n";
        let stripped = strip(text);
        assert!(stripped.contains("crate::a::X"));
        for gone in ["crate::b", "crate::c", "crate::d"] {
            assert!(!stripped.contains(gone), "{gone} in {stripped}");
        }
    }

    #[test]
    fn a_loop_through_a_third_module_and_a_root_reexport_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path();
        std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod c;\nmod d;\npub use c::Thing;\n").unwrap();
        std::fs::write(src.join("a.rs"), "use crate::b::f;\n").unwrap();
        std::fs::write(src.join("b.rs"), "pub fn f() { crate::Thing::new(); }\n").unwrap();
        std::fs::write(src.join("c.rs"), "use super::a;\npub struct Thing;\n").unwrap();
        std::fs::write(src.join("d.rs"), "use crate::a::g;\n").unwrap();
        let graph = ModuleGraph::read(src).unwrap();
        assert_eq!(graph.loops(), vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]);
        assert!(graph.dot("x").contains("\"d\" -> \"a\""));
    }
}
