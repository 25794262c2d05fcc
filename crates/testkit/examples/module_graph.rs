//! Prints a crate's module graph in Graphviz's DOT language, and its import
//! loops on standard error: `cargo run -p rapport-testkit --example
//! module_graph -- crates/store/src > store.dot`.

use std::path::PathBuf;

use rapport_testkit::module_graph::ModuleGraph;

fn main() -> anyhow::Result<()> {
    let Some(src) = std::env::args().nth(1).map(PathBuf::from) else {
        anyhow::bail!("usage: module_graph CRATE_SRC_FOLDER (for example crates/store/src)");
    };
    let graph = ModuleGraph::read(&src)?;
    print!("{}", graph.dot(&src.display().to_string()));
    for found in graph.loops() {
        eprintln!("import loop: {}", found.join(" ↔ "));
    }
    Ok(())
}
