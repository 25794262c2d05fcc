//! Snippets: a short plain text around the words a search matched, cut into
//! parts with the matching words marked. Built here from the stored text, the
//! same on both databases, rather than by the engines (FTS5's `snippet()`
//! re-reads each hit's index entries and costs about 50 µs a hit; PostgreSQL's
//! `ts_headline()` re-parses the whole text), so a page of snippets costs one
//! read of its texts.
//!
//! Words are compared as the index compares them: split on anything not a
//! letter or digit, lower-cased, with diacritics removed ("Zoë" matches
//! "zoe").

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A piece of a snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnippetPart {
    /// Plain text.
    pub text: String,
    /// Whether it is a matching word.
    pub matched: bool,
}

/// How many words a snippet of a longer text shows.
pub(crate) const SNIPPET_WORDS: usize = 16;

/// Words shown before the first match in a window, for context.
const LEAD_WORDS: usize = 3;

/// What stands for the text left out at either end.
const ELLIPSIS: &str = "…";

/// A word as the index compares it: lower case, without diacritics.
pub(crate) fn fold(word: &str) -> String {
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    word.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// One word of a text: where it is, and whether it matches the query.
struct Word {
    start: usize,
    end: usize,
    /// Which query word it matches.
    matches: Option<usize>,
}

/// The words of `text`, each checked against the folded query `words`.
fn split(text: &str, words: &[String]) -> Vec<Word> {
    let mut found = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(begin)) => {
                let folded = fold(&text[begin..at]);
                let matches = words.iter().position(|word| *word == folded);
                found.push(Word { start: begin, end: at, matches });
                start = None;
            }
            _ => {}
        }
    }
    found
}

/// The whole of `text` with the words of the query marked (for short texts:
/// a subject, a customer's name and addresses). `words` are query words as
/// [`fold`] gives them.
pub(crate) fn highlight(text: &str, words: &[String]) -> Vec<SnippetPart> {
    let found = split(text, words);
    parts(text, &found, 0, found.len())
}

/// At most [`SNIPPET_WORDS`] words of `text` around its best match: the
/// window holding the most different query words, earliest first, starting a
/// few words before its first match, with an ellipsis where text was left out.
/// Runs of white space show as one space.
pub(crate) fn window(text: &str, words: &[String]) -> Vec<SnippetPart> {
    let found = split(text, words);
    if found.len() <= SNIPPET_WORDS {
        return parts(text, &found, 0, found.len());
    }
    let mut best = (0, 0);
    for (index, word) in found.iter().enumerate() {
        if word.matches.is_none() {
            continue;
        }
        let start = index.saturating_sub(LEAD_WORDS).min(found.len() - SNIPPET_WORDS);
        let mut seen = vec![false; words.len()];
        for word in &found[start..start + SNIPPET_WORDS] {
            if let Some(which) = word.matches {
                seen[which] = true;
            }
        }
        let distinct = seen.iter().filter(|seen| **seen).count();
        if distinct > best.1 {
            best = (start, distinct);
        }
    }
    parts(text, &found, best.0, best.0 + SNIPPET_WORDS)
}

/// The text of `found[from..to]`, with what lies between words, marked.
fn parts(text: &str, found: &[Word], from: usize, to: usize) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    if found.is_empty() {
        push_part(&mut parts, gap(text).trim().to_owned(), false);
        return parts;
    }
    let begin = if from == 0 { 0 } else { found[from].start };
    let end = if to == found.len() { text.len() } else { found[to - 1].end };
    if from > 0 {
        push_part(&mut parts, ELLIPSIS.to_owned(), false);
    }
    let mut at = begin;
    for word in &found[from..to] {
        push_part(&mut parts, gap(&text[at..word.start]), false);
        push_part(&mut parts, text[word.start..word.end].to_owned(), word.matches.is_some());
        at = word.end;
    }
    push_part(&mut parts, gap(&text[at..end]), false);
    if to < found.len() {
        push_part(&mut parts, ELLIPSIS.to_owned(), false);
    }
    if let Some(first) = parts.first_mut()
        && !first.matched
    {
        first.text = first.text.trim_start().to_owned();
    }
    if let Some(last) = parts.last_mut()
        && !last.matched
    {
        last.text = last.text.trim_end().to_owned();
    }
    parts.retain(|part| !part.text.is_empty());
    parts
}

/// Text between words, with each run of white space made one space.
fn gap(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !blank {
                out.push(' ');
            }
            blank = true;
        } else {
            out.push(c);
            blank = false;
        }
    }
    out
}

/// Appends `text` as a part, joining it to the last part when both are
/// marked alike; empty text is dropped.
pub(crate) fn push_part(parts: &mut Vec<SnippetPart>, text: String, matched: bool) {
    if text.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(last) if last.matched == matched => last.text.push_str(&text),
        _ => parts.push(SnippetPart { text, matched }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn part(text: &str, matched: bool) -> SnippetPart {
        SnippetPart { text: text.to_owned(), matched }
    }

    fn query(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| fold(word)).collect()
    }

    fn marked(parts: &[SnippetPart]) -> Vec<&str> {
        parts.iter().filter(|part| part.matched).map(|part| part.text.as_str()).collect()
    }

    fn joined(parts: &[SnippetPart]) -> String {
        parts.iter().map(|part| part.text.as_str()).collect()
    }

    #[test]
    fn words_fold_as_the_index_folds_them() {
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold("CAFÉ"), "cafe");
        assert_eq!(fold("Straße"), "straße");
        assert_eq!(fold("Kettle"), "kettle");
    }

    #[test]
    fn issue_14_customer_words_are_marked_as_the_query_splits_them() {
        assert_eq!(
            highlight("Ann Lee · ann.lee@example.com", &query(&["ann", "EXAMPLE"])),
            vec![
                part("Ann", true),
                part(" Lee · ", false),
                part("ann", true),
                part(".lee@", false),
                part("example", true),
                part(".com", false)
            ]
        );
        assert_eq!(marked(&highlight("Zoë Quillfeather", &query(&["zoe"]))), vec!["Zoë"]);
    }

    #[test]
    fn a_short_text_is_shown_whole_with_its_markup_as_text() {
        let parts = window("Hello, the <b>zephyrine</b>\n\n parcel", &query(&["zephyrine"]));
        assert_eq!(parts, vec![part("Hello, the <b>", false), part("zephyrine", true), part("</b> parcel", false)]);
    }

    #[test]
    fn a_long_text_shows_the_window_with_the_most_different_words() {
        let text = format!(
            "{} kettle once. {} The kettle is broken and the lid came off too. {}",
            "filler ".repeat(30),
            "more ".repeat(30),
            "tail ".repeat(30)
        );
        let parts = window(&text, &query(&["kettle", "lid"]));
        assert_eq!(marked(&parts), vec!["kettle", "lid"]);
        let shown = joined(&parts);
        assert!(shown.starts_with("…more more The kettle"), "{shown}");
        assert!(shown.ends_with('…'), "{shown}");
        assert_eq!(split(&shown, &[]).len(), SNIPPET_WORDS);
    }

    #[test]
    fn a_match_at_the_start_or_end_has_no_ellipsis_on_that_side() {
        let text = format!("Kettle {}", "word ".repeat(40));
        let shown = joined(&window(&text, &query(&["kettle"])));
        assert!(shown.starts_with("Kettle word") && shown.ends_with('…'), "{shown}");
        let text = format!("{}kettle.", "word ".repeat(40));
        let shown = joined(&window(&text, &query(&["kettle"])));
        assert!(shown.starts_with("…word") && shown.ends_with("kettle."), "{shown}");
    }

    #[test]
    fn no_match_shows_the_beginning() {
        let text = "word ".repeat(40);
        let parts = window(&text, &query(&["kettle"]));
        assert!(marked(&parts).is_empty());
        assert!(joined(&parts).starts_with("word word") && joined(&parts).ends_with('…'));
        assert!(window("", &query(&["kettle"])).is_empty());
        assert!(window(" \n ", &query(&["kettle"])).is_empty());
    }

    proptest! {
        #[test]
        fn snippets_are_text_from_the_source_and_mark_only_query_words(
            text in "[a-zA-Zëé ,.\n<>]{0,400}",
            picked in proptest::collection::vec("[a-zë]{1,6}", 1..4),
        ) {
            let words: Vec<String> = picked.iter().map(|word| fold(word)).collect();
            let parts = window(&text, &words);
            let normalised = gap(&text);
            for part in &parts {
                prop_assert!(!part.text.is_empty());
                if part.matched {
                    prop_assert!(words.contains(&fold(&part.text)), "{:?} marked", part.text);
                }
            }
            for neighbours in parts.windows(2) {
                prop_assert!(neighbours[0].matched != neighbours[1].matched);
            }
            let shown = joined(&parts);
            for piece in shown.split(ELLIPSIS).filter(|piece| !piece.is_empty()) {
                prop_assert!(normalised.contains(piece), "{piece:?} not in {normalised:?}");
            }
            prop_assert!(split(&shown, &[]).len() <= SNIPPET_WORDS);
        }
    }
}
