//! Embeds every `locales/*.ftl` file: adding a language is adding a file.
//! Writes `$OUT_DIR/sources.rs`, a list of `(language tag, file text)`.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=locales");
    let directory = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("locales");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", directory.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "ftl"))
        .collect();
    files.sort();
    let mut source =
        String::from("/// Each catalog's language tag and text.\npub(crate) const SOURCES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let tag = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default();
        let _ = writeln!(source, "    ({tag:?}, include_str!({:?})),", path.display().to_string());
    }
    source.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("sources.rs");
    std::fs::write(&out, source).unwrap_or_else(|error| panic!("cannot write {}: {error}", out.display()));
}
