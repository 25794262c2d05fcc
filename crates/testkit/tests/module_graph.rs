//! No import loops among the modules of the store and the server: data
//! flows one way, so a change to a low module never has to ripple back up.
//! The only loops allowed are pairs that are two halves of one thing.

use std::path::PathBuf;

use rapport_testkit::module_graph::ModuleGraph;

fn loops_of(krate: &str) -> Vec<Vec<String>> {
    // Read when the test runs (cargo sets it for the test process), not when
    // it was compiled: a binary built from another checkout of the same
    // workspace reads this one.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let src = PathBuf::from(manifest).join("..").join(krate).join("src");
    let graph = ModuleGraph::read(&src).unwrap_or_else(|error| panic!("reading {}: {error}", src.display()));
    assert!(graph.edges.len() > 10, "{} has only {} modules: is the path right?", src.display(), graph.edges.len());
    graph.loops()
}

fn allowed(pair: &[&str]) -> Vec<String> {
    pair.iter().map(|module| (*module).to_owned()).collect()
}

#[test]
fn the_stores_modules_import_each_other_in_no_loop() {
    // The SQLite writer and its batch builder are the two halves of group commit.
    let found: Vec<Vec<String>> =
        loops_of("store").into_iter().filter(|set| *set != allowed(&["create_batch", "writer"])).collect();
    assert!(found.is_empty(), "import loops among the store's modules: {found:?}");
}

#[test]
fn the_servers_modules_import_each_other_in_no_loop() {
    // Chat's hub and its state are two halves of one thing: the registry of
    // connected sockets and what it holds per chat.
    let found: Vec<Vec<String>> =
        loops_of("server").into_iter().filter(|set| *set != allowed(&["chat::hub", "chat::state"])).collect();
    assert!(found.is_empty(), "import loops among the server's modules: {found:?}");
}
