#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Exploration dump (temporary).

mod parse_support;

use rapport_channels::email::parse::{ParsedEmail, parse};
use std::fs;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "eml") {
            out.push(path);
        }
    }
}

#[test]
fn dump() {
    let mut files = Vec::new();
    walk(&parse_support::fixtures().join("third_party"), &mut files);
    files.sort();
    for file in files {
        let raw = fs::read(&file).unwrap();
        let name = file.strip_prefix(parse_support::fixtures()).unwrap().display().to_string();
        match parse(&raw, &parse_support::options(), parse_support::RECEIVED_AT) {
            Ok(ParsedEmail::Bounce(b)) => eprintln!("{name}\tBOUNCE\t{:?}\t{:?}\t{:?}\t{:?}\t{}", b.recipients, b.status, b.original_message_id, b.diagnostic, b.reporter),
            Ok(ParsedEmail::Message(m)) => eprintln!("{name}\tMESSAGE\t{}\t{:?}\t{:?}\t{:?}", m.message.sender.value, m.message.subject, m.noise, m.message.text.chars().take(80).collect::<String>()),
            Err(e) => eprintln!("{name}\tERROR\t{}", e.code()),
        }
    }
}
#[test]
fn debug_one() {
    let raw = fs::read(parse_support::fixtures().join("third_party/flufl.bounce/data/simple_26.eml")).unwrap();
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    for h in m.headers() { eprintln!("{:?} => {:?}", h.name, h.value); }
}
