//! Every message of the email corpus through `rapport mailgate`, one process
//! per message as an MTA pipe runs it: a conversation whose threading is
//! checked message by message, then the golden fixtures and the third-party
//! corpora (fixtures/third_party). No message may crash mailgate, be lost
//! (each is filed, recognised or quarantined, and the database agrees), or
//! open a ticket when it is a bounce.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::path::{Path, PathBuf};

use rapport_store::{Store, StoreOptions};

mod support;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn emails_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|extension| extension == "eml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

async fn mailgate(database: &str, raw: &[u8]) -> (i32, String) {
    let (code, said) = support::mailgate(&["--database", database], raw).await;
    let line = said.lines().rev().find(|line| line.starts_with("rapport mailgate: ")).unwrap_or_default();
    (code, line.trim_start_matches("rapport mailgate: ").to_owned())
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    opened: usize,
    added: usize,
    duplicate: usize,
    quarantined: usize,
    refused: usize,
}

impl Tally {
    fn count(&mut self, said: &str) {
        if said.starts_with("opened ticket") {
            self.opened += 1;
        } else if said.starts_with("added to ticket") {
            self.added += 1;
        } else if said.starts_with("already filed") {
            self.duplicate += 1;
        } else if said.starts_with("kept in the quarantine") {
            self.quarantined += 1;
        } else if said.starts_with("refused") {
            self.refused += 1;
        } else {
            panic!("unexpected mailgate outcome {said:?}");
        }
    }

    fn total(&self) -> usize {
        self.opened + self.added + self.duplicate + self.quarantined + self.refused
    }
}

#[tokio::test]
async fn the_corpus_goes_through_mailgate_with_nothing_lost_and_the_right_threading() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("corpus.db").display());
    // mailgate files into a help desk that exists (it creates none).
    support::migrate(&database);

    // The conversation: each step's outcome is known.
    let thread = fixtures().join("threads");
    let expected = [
        ("01-original.eml", "opened ticket #1"),
        ("02-reply-in-reply-to.eml", "added to ticket #1"),
        ("03-reply-references-only.eml", "added to ticket #1"),
        ("04-new-mail-with-token.eml", "added to ticket #1"),
        ("05-stranger-with-token.eml", "opened ticket #2 (linked to #1)"),
        ("06-reply-address-token.eml", "added to ticket #1"),
        ("07-duplicate-of-original.eml", "already filed on ticket #1"),
    ];
    for (file, outcome) in expected {
        let (code, said) = mailgate(&database, &std::fs::read(thread.join(file)).unwrap()).await;
        assert_eq!((code, said.as_str()), (0, outcome), "{file}");
    }

    // The golden fixtures and the third-party corpora.
    let mut files = emails_under(&fixtures().join("email"));
    files.extend(emails_under(&fixtures().join("third_party")));
    assert!(files.len() >= 300, "the corpus has {} messages", files.len());
    let mut tally = Tally::default();
    let mut bounce_tally = Tally::default();
    for file in &files {
        let raw = std::fs::read(file).unwrap();
        let (code, said) = mailgate(&database, &raw).await;
        assert_eq!(code, 0, "{}: {said}", file.display());
        tally.count(&said);
        let name = file.display().to_string();
        if name.contains("flufl.bounce") || file.file_name().unwrap().to_string_lossy().starts_with("bounce-") {
            bounce_tally.count(&said);
        }
    }
    assert_eq!(tally.total(), files.len(), "every message has an outcome");
    eprintln!("corpus of {}: {tally:?}; bounces: {bounce_tally:?}", files.len());

    // The database agrees with what mailgate said: nothing acknowledged is missing.
    let store = Store::open(&database, StoreOptions::default()).await.unwrap();
    let tickets = store.count_tickets().await.unwrap() as usize;
    assert_eq!(tickets, 2 + tally.opened, "one ticket per 'opened'");
    let quarantine = store.list_quarantine(None, 10_000).await.unwrap();
    assert!(!quarantine.is_empty());
    for item in &quarantine {
        assert!(!store.get_quarantined_raw(item.id).await.unwrap().is_empty(), "kept whole");
    }
    // Bounces are attached or held; the few known misses of the bounce corpus
    // (senders that look like people) are the only ones that open tickets.
    assert!(bounce_tally.opened <= 6, "bounces opened tickets: {bounce_tally:?}");
    assert!(bounce_tally.quarantined + bounce_tally.added >= 110, "{bounce_tally:?}");
    store.close().await;
}
