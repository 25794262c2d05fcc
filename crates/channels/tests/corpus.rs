#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The parser against every message we have: our golden fixtures and the
//! third-party corpora in `fixtures/third_party` (see its README for where
//! each comes from).
//!
//! Every message, every truncation of it, and every message given a From it
//! lacked must parse into a message, a bounce or a clear error without
//! panicking. The counts pin what the parser makes of each corpus, and the
//! spot checks pin well-known answers: flufl.bounce's table of failed
//! addresses and talon's stripped replies.

mod parse_support;

use rapport_channels::email::parse::{BounceReport, ParseError, Parsed, ParsedEmail, parse};
use std::collections::BTreeMap;
use std::fs;
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

/// One message of the corpus: where it came from and its bytes.
struct Sample {
    name: String,
    raw: Vec<u8>,
}

/// Every `.eml` under `dir`, and every message of every `.mbox`, by name.
fn samples(dir: &Path) -> Vec<Sample> {
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let mut samples = Vec::new();
    for file in files {
        let name = file.strip_prefix(parse_support::fixtures()).unwrap().display().to_string();
        let raw = fs::read(&file).unwrap();
        if file.extension().is_some_and(|extension| extension == "mbox") {
            for (index, message) in split_mbox(&raw).into_iter().enumerate() {
                samples.push(Sample { name: format!("{name}#{}", index + 1), raw: message });
            }
        } else {
            samples.push(Sample { name, raw });
        }
    }
    samples
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "eml" || extension == "mbox") {
            files.push(path);
        }
    }
}

/// Splits an mbox at its `From ` lines, undoing `>From` quoting (mboxrd).
fn split_mbox(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    for line in raw.split_inclusive(|byte| *byte == b'\n') {
        if line.starts_with(b"From ") {
            messages.push(Vec::new());
        } else if let Some(message) = messages.last_mut() {
            let quoted = line.iter().take_while(|byte| **byte == b'>').count();
            if quoted > 0 && line[quoted..].starts_with(b"From ") {
                message.extend_from_slice(&line[1..]);
            } else {
                message.extend_from_slice(line);
            }
        }
    }
    messages
}

/// What a parse came to, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Message,
    Bounce,
    NotAMessage,
    NoSender,
    Malformed,
}

fn outcome(result: &Result<ParsedEmail, ParseError>) -> Outcome {
    match result {
        Ok(ParsedEmail::Message(_)) => Outcome::Message,
        Ok(ParsedEmail::Bounce(_)) => Outcome::Bounce,
        Err(ParseError::NotAMessage) => Outcome::NotAMessage,
        Err(ParseError::NoSender) => Outcome::NoSender,
        Err(ParseError::Malformed) => Outcome::Malformed,
    }
}

/// Parses without letting a panic escape, naming the sample if one does.
fn parse_sample(name: &str, raw: &[u8]) -> Result<ParsedEmail, ParseError> {
    catch_unwind(|| parse(raw, &parse_support::options(), parse_support::RECEIVED_AT))
        .unwrap_or_else(|_| panic!("parsing {name} panicked"))
}

fn parse_file(path: &str) -> Result<ParsedEmail, ParseError> {
    parse_sample(path, &fs::read(parse_support::fixtures().join(path)).unwrap())
}

fn message(path: &str) -> Parsed {
    match parse_file(path) {
        Ok(ParsedEmail::Message(parsed)) => *parsed,
        other => panic!("{path}: expected a message, got {other:?}"),
    }
}

fn bounce(path: &str) -> BounceReport {
    match parse_file(path) {
        Ok(ParsedEmail::Bounce(report)) => report,
        other => panic!("{path}: expected a bounce, got {other:?}"),
    }
}

/// The outcomes of every sample under `fixtures/<dir>`, counted.
fn census(dir: &str) -> BTreeMap<Outcome, usize> {
    let mut counts = BTreeMap::new();
    for sample in samples(&parse_support::fixtures().join(dir)) {
        let result = parse_sample(&sample.name, &sample.raw);
        if let Err(error) = &result {
            assert!(error.to_string().len() > 40, "{}: the error should say what to do: {error}", sample.name);
        }
        *counts.entry(outcome(&result)).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_corpus_is_large_enough() {
    let all = samples(&parse_support::fixtures());
    assert!(all.len() >= 100, "only {} messages in the corpus", all.len());
}

#[test]
fn every_message_and_every_truncation_parses_without_panicking() {
    for sample in samples(&parse_support::fixtures()) {
        let result = parse_sample(&sample.name, &sample.raw);
        assert!(parse_support::render(&sample.raw).starts_with('{'), "{}", sample.name);
        // A message without a sender still has a body worth exercising.
        if result == Err(ParseError::NoSender) {
            let mut with_sender = b"From: corpus@example.com\r\n".to_vec();
            with_sender.extend_from_slice(&sample.raw);
            let outcome = outcome(&parse_sample(&sample.name, &with_sender));
            assert!(matches!(outcome, Outcome::Message | Outcome::Bounce), "{} with a From: {outcome:?}", sample.name);
        }
        let length = sample.raw.len();
        for cut in [length / 7, length / 3, length / 2, length * 5 / 6, length.saturating_sub(1)] {
            let _ = parse_sample(&format!("{} cut at {cut}", sample.name), &sample.raw[..cut]);
        }
    }
}

#[test]
fn hostile_inputs_are_clear_errors_or_messages() {
    let huge_header = format!("From: a@example.com\r\nSubject: {}\r\n\r\nbody", "x".repeat(2_000_000));
    let deep_multipart = {
        let mut raw = String::from("From: a@example.com\r\n");
        for depth in 0..300 {
            raw.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b{depth}\"\r\n\r\n--b{depth}\r\n"));
        }
        raw.push_str("Content-Type: text/plain\r\n\r\ndeep\r\n");
        raw
    };
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("blank lines", b"\r\n\r\n\r\n".to_vec()),
        ("nul bytes", vec![0; 4096]),
        ("only a colon", b":".to_vec()),
        ("huge subject", huge_header.into_bytes()),
        ("deep multipart", deep_multipart.into_bytes()),
        ("bad base64", b"From: a@example.com\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!====".to_vec()),
        (
            "many attributions",
            format!("From: a@example.com\r\n\r\n{}", "On Monday, Ann wrote:\n> x\ny\n".repeat(50_000)).into_bytes(),
        ),
        (
            "big html table",
            format!(
                "From: a@example.com\r\nContent-Type: text/html\r\n\r\n<table>{}</table>",
                "<tr><td>cell</td><td><b>bold</b> text</td></tr>".repeat(5_000)
            )
            .into_bytes(),
        ),
        (
            "endless encoded word",
            format!("From: a@example.com\r\nSubject: =?UTF-8?B?{}", "QUFB".repeat(10_000)).into_bytes(),
        ),
    ];
    for (name, raw) in inputs {
        let _ = parse_sample(name, &raw);
    }
    assert_eq!(parse_sample("empty", b""), Err(ParseError::NotAMessage));
}

#[test]
fn census_of_our_fixtures() {
    let counts = census("email");
    assert_eq!(counts.get(&Outcome::Bounce), Some(&9), "{counts:?}");
    assert_eq!(counts.get(&Outcome::NoSender), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&Outcome::NotAMessage), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&Outcome::Message), Some(&46), "{counts:?}");
}

#[test]
fn census_of_mail_parser_messages() {
    // Most of mail-parser's structure tests have no From: they are clear
    // NoSender errors (and are parsed again with a From above). 023 is the
    // fuzzer input that made mail-parser 0.11 panic; the panic is caught.
    let counts = census("third_party/mail-parser");
    assert_eq!(counts.get(&Outcome::Message), Some(&47), "{counts:?}");
    assert_eq!(counts.get(&Outcome::NoSender), Some(&106), "{counts:?}");
    assert_eq!(counts.get(&Outcome::Malformed), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&Outcome::NotAMessage), Some(&4), "the mbox's messages have no headers: {counts:?}");
    assert_eq!(counts.get(&Outcome::Bounce), None, "no bounce among them: {counts:?}");
}

#[test]
fn census_of_flufl_bounces() {
    // 117 samples: two are not bounces (an auto-reply and a misfiled reply),
    // and three come from senders that look like people (a virus scanner, a
    // "mail service" mailbox, a person's address), so they stay messages.
    let counts = census("third_party/flufl.bounce");
    assert_eq!(counts.get(&Outcome::Bounce), Some(&112), "{counts:?}");
    assert_eq!(counts.get(&Outcome::Message), Some(&5), "{counts:?}");
}

#[test]
fn flufl_failed_recipients_match_its_table() {
    let table = fs::read_to_string(parse_support::fixtures().join("third_party/flufl.bounce/expected.tsv")).unwrap();
    let (mut matched, mut misses) = (0, Vec::new());
    for line in table.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let expected: Vec<&str> = fields[1].split(',').filter(|address| !address.is_empty()).collect();
        let got = match parse_file(&format!("third_party/flufl.bounce/data/{}", fields[0])) {
            Ok(ParsedEmail::Bounce(report)) => report.recipients,
            _ => Vec::new(),
        };
        let mut got_sorted = got.clone();
        got_sorted.sort();
        if got_sorted == expected {
            matched += 1;
        } else {
            misses.push(format!("{}: got {got:?}, expected {expected:?}", fields[0]));
        }
    }
    // 106 of the 115 rows match. The misses: three notices from senders that
    // look like people (not taken for bounces), a notice forwarded inside
    // another, an AOL screen name without a domain, list addresses quoted in
    // a GroupWise notice, directory suggestions (LLNL, Yale), and a spam
    // rejection naming a truncated address.
    assert!(matched >= 106, "{matched} matched; misses:\n{}", misses.join("\n"));
}

#[test]
fn flufl_spot_checks() {
    let postfix = bounce("third_party/flufl.bounce/data/postfix_01.eml");
    assert_eq!(postfix.recipients, ["xxxxx@local.ie"]);
    assert_eq!(postfix.reporter, "mailer-daemon@python.org");

    let qmail = bounce("third_party/flufl.bounce/data/qmail_01.eml");
    assert_eq!(qmail.recipients, ["userx@example.de"]);
    assert!(qmail.text.starts_with("Hi. This is the qmail-send program"), "{}", qmail.text);

    let exim = bounce("third_party/flufl.bounce/data/exim_01.eml");
    assert_eq!(exim.recipients, ["userx@its.example.nl"]);

    let dsn = bounce("third_party/flufl.bounce/data/dsn_01.eml");
    assert_eq!(dsn.recipients, ["userx@example.com"]);
    assert_eq!(dsn.status.as_deref(), Some("5.0.0"));

    let delayed = bounce("third_party/flufl.bounce/data/dsn_06.eml");
    assert_eq!(delayed.recipients, ["userx@example.com"]);
    assert!(delayed.status.as_deref().is_some_and(|status| status.starts_with('4')), "{:?}", delayed.status);

    let yahoo = bounce("third_party/flufl.bounce/data/yahoo_04.eml");
    assert_eq!(yahoo.recipients, ["userx@example.es", "usery@example.uk"]);

    let sendmail = bounce("third_party/flufl.bounce/data/sendmail_01.eml");
    assert_eq!(sendmail.recipients, ["zzzzz@shaft.coal.nl", "zzzzz@nfg.nl"]);

    // An auto-reply is not a bounce.
    let auto_reply = message("third_party/flufl.bounce/data/qmail_08.eml");
    assert_eq!(auto_reply.message.subject, "Auto reply");

    // Nor is a reservation office's reply that merely confused flufl's
    // GroupWise detector; it threads to the message it answers.
    let reply = message("third_party/flufl.bounce/data/groupwise_03.eml");
    assert_eq!(reply.message.sender.value, "reservas@yyyyy.cu");
    assert_eq!(reply.message.thread.references, ["1456018944.242038011550903.872471708902354@mercurio"]);
}

#[test]
fn talon_replies_strip_to_what_was_written() {
    let dir = parse_support::fixtures().join("third_party/talon/standard_replies");
    let mut checked = 0;
    for sample in samples(&dir) {
        let Ok(ParsedEmail::Message(parsed)) = parse_sample(&sample.name, &sample.raw) else {
            panic!("{} is not a message", sample.name);
        };
        assert_eq!(parsed.message.text, "Hello", "{}", sample.name);
        assert!(parsed.message.original_text.is_some(), "{}", sample.name);
        checked += 1;
    }
    assert_eq!(checked, 12);

    let gmail = message("third_party/talon/standard_replies/gmail.eml");
    assert_eq!(gmail.message.sender.value, "xxx@gmail.com");
    assert_eq!(gmail.message.subject, "Re: Test");
}

#[test]
fn mail_parser_spot_checks() {
    let readme = message("third_party/mail-parser/eml/regressions/readme-example.eml");
    assert_eq!(readme.message.sender.value, "art@vandelay.com");
    assert_eq!(readme.message.sender_name.as_deref(), Some("Art Vandelay (Vandelay Industries)"));
    assert_eq!(readme.message.subject, "Why not both importing AND exporting? ☺");
    assert!(!readme.message.attachments.is_empty());

    let forwarded = message("third_party/mail-parser/eml/rfc/002.eml");
    assert_eq!(forwarded.message.sender.value, "vice-president@whitehouse.gov");
    assert_eq!(forwarded.message.subject, "[Fwd: Map of Argentina with Description]");

    let reply = message("third_party/mail-parser/eml/thirdparty/015.eml");
    assert_eq!(reply.message.sender.value, "jsterr@proxforge.de");
    assert_eq!(reply.message.sender_name.as_deref(), Some("Jonas Sterr - ProxForge"));
    assert_eq!(reply.message.subject, "Re: (#5290765) Proxmox Shop E-Mails");
    assert_eq!(reply.message.external_id.as_deref(), Some("7da78721a8a234894af702fe25fc64a5@proxforge.de"));

    let list = message("third_party/mail-parser/eml/thirdparty/014.eml");
    assert!(list.message.automatic);

    assert_eq!(parse_file("third_party/mail-parser/eml/malformed/023.eml"), Err(ParseError::Malformed));

    let mbox = samples(&parse_support::fixtures().join("third_party/mail-parser/mbox"));
    assert_eq!(mbox.len(), 4);
    assert_eq!(mbox[2].raw, b"Message 3\nFrom hello\n>From world\n>>From test\n\n");
}
