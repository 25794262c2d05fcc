//! Separating what the customer wrote from what they quoted.
//!
//! Mail clients mark quoted history in a handful of ways: an attribution
//! line ("On Monday, Ann wrote:", in several languages) above `>`-quoted
//! lines, Outlook's "-----Original Message-----" rule or its
//! From:/Sent:/To:/Subject: header block above the unquoted original, and
//! trailing `>` blocks. After the history comes out, so does the signature
//! (everything after a `-- ` line) and a mobile footer ("Sent from my
//! iPhone"). The rules are deliberately conservative: a reply written between
//! quoted lines keeps its quotes, a forwarded message is not history, and a
//! message that would be left empty is kept whole.

/// The text to show, and the full text when something was taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stripped {
    /// What the sender wrote.
    pub text: String,
    /// The full text, when it differs from `text`.
    pub original: Option<String>,
}

/// Longest attribution line, in characters, joined over up to three lines.
const MAX_ATTRIBUTION_CHARS: usize = 400;
/// Attributions looked at before giving up on a text.
const MAX_ATTRIBUTIONS: usize = 20;
/// A bare `--` line (without the standard trailing space) only starts a
/// signature when at most this many lines follow it.
const MAX_LOOSE_SIGNATURE_LINES: usize = 20;

/// Line endings to LF, no NULs, no leading blank lines, no trailing whitespace.
pub(crate) fn normalize(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace(['\r'], "\n").replace('\0', "");
    let text = text.trim_end();
    let start = text
        .find(|c: char| !c.is_whitespace())
        .map_or(text.len(), |first| text[..first].rfind('\n').map_or(0, |newline| newline + 1));
    text[start..].to_owned()
}

/// Strips quoted history, the signature and mobile footers from a body.
pub(crate) fn strip(text: &str) -> Stripped {
    let full = normalize(text);
    let all: Vec<&str> = full.lines().collect();
    let lines: Vec<&str> = match history(&all) {
        Some((start, end)) => all[..start].iter().chain(&all[end..]).copied().collect(),
        None => all,
    };
    let mut end = trailing_quote_start(&lines);
    end = signature_start(&lines[..end]);
    end = footer_start(&lines[..end]);
    let kept = lines[..end].join("\n").trim_end().to_owned();
    if kept.trim().is_empty() || kept == full {
        Stripped { text: full, original: None }
    } else {
        Stripped { text: kept, original: Some(full) }
    }
}

/// A line as a header-block matcher sees it: trimmed, without the `*` and
/// `_` that HTML-to-text conversion leaves around bold labels, lower-cased.
fn plain(line: &str) -> String {
    line.trim().trim_start_matches(['*', '_']).trim().to_lowercase()
}

/// True for a `>`-quoted line.
fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The lines of quoted history, as a range to take out: from the first
/// line of history to the end, or (for a reply written below the quote) the
/// attribution and the quote above the reply.
fn history(lines: &[&str]) -> Option<(usize, usize)> {
    let mut attributions = 0;
    for index in 0..lines.len() {
        if is_quoted(lines[index]) {
            continue;
        }
        if let Some(span) = attribution_span(lines, index) {
            // Each attribution looks at the rest of the text; a text made of
            // thousands of them must not take quadratic time.
            attributions += 1;
            if attributions > MAX_ATTRIBUTIONS {
                return None;
            }
            let after = index + span;
            match quote_layout(&lines[after..]) {
                QuoteLayout::Above => return Some((index, lines.len())),
                QuoteLayout::Below(end) if lines[..index].iter().all(|line| line.trim().is_empty()) => {
                    return Some((index, after + end));
                }
                QuoteLayout::Below(_) | QuoteLayout::Interleaved => {}
            }
        } else if is_original_message_rule(lines[index]) {
            return Some((index, lines.len()));
        } else if outlook_header_block(lines, index) {
            let rule_above = index
                .checked_sub(1)
                .and_then(|above| lines[..=above].iter().rposition(|line| !line.trim().is_empty()))
                .filter(|above| is_rule(lines[*above]));
            return Some((rule_above.unwrap_or(index), lines.len()));
        }
    }
    None
}

/// How many lines (1 to 3) an attribution line starting at `index` spans.
fn attribution_span(lines: &[&str], index: usize) -> Option<usize> {
    let mut joined = String::new();
    for (offset, line) in lines[index..].iter().take(3).enumerate() {
        if line.trim().is_empty() || (offset > 0 && is_quoted(line)) {
            return None;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if joined.chars().count() > MAX_ATTRIBUTION_CHARS {
            return None;
        }
        // Joined over several lines, it must start like one: "Hello" above
        // "Ann <ann@example.com> wrote:" is not part of the attribution.
        if is_attribution(&joined) && (offset == 0 || starts_like_attribution(lines[index])) {
            let next = lines[index + offset + 1..].iter().find(|line| !line.trim().is_empty());
            let bare_wrote = !joined.to_lowercase().starts_with("on ") && joined.to_lowercase().ends_with("wrote:");
            // "Ann <ann@example.com> wrote:" without a date only counts above a quote.
            if bare_wrote && !next.is_some_and(|line| is_quoted(line)) {
                return None;
            }
            return Some(offset + 1);
        }
    }
    None
}

/// True for the first line of a wrapped attribution: a date or the word
/// that opens one.
fn starts_like_attribution(line: &str) -> bool {
    let line = line.trim().to_lowercase();
    line.starts_with(|c: char| c.is_ascii_digit())
        || ["on ", "am ", "le ", "el ", "op ", "il ", "em ", "den "].iter().any(|prefix| line.starts_with(prefix))
}

/// True for "On <date>, <name> wrote:" and its common translations.
fn is_attribution(line: &str) -> bool {
    let line = line.to_lowercase();
    let starts = |prefix: &str| line.starts_with(prefix);
    let ends = |suffixes: &[&str]| suffixes.iter().any(|suffix| line.ends_with(suffix));
    (starts("on ") && ends(&["wrote:", "wrote :", "writes:"]))
        || (starts("am ") && line.contains("schrieb") && line.ends_with(':'))
        || (starts("le ") && ends(&["a écrit :", "a écrit:", "a ecrit :", "a ecrit:"]))
        || (starts("el ") && ends(&["escribió:", "escribio:", "escribió :"]))
        || (starts("op ") && line.contains("schreef") && line.ends_with(':'))
        || (starts("il ") && ends(&["ha scritto:", "ha scritto :"]))
        || (starts("em ") && ends(&["escreveu:", "escreveu :"]))
        || (starts("den ") && ends(&["skrev:", "skrev :"]))
        || ends(&["написал:", "написала:", "написал(а):"])
        || (line.contains('@') && ends(&["wrote:"]))
}

/// Where the reply sits relative to the quote after an attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteLayout {
    /// Only quoted lines (or unquoted history) follow: the reply is above.
    Above,
    /// One quote, then the reply to the end; the quote ends at this index.
    Below(usize),
    /// The reply is written between quoted lines: the quotes are its context.
    Interleaved,
}

/// How the lines after an attribution mix quote and reply. A signature
/// after the quote does not count as reply.
fn quote_layout(after: &[&str]) -> QuoteLayout {
    let first = after.iter().position(|line| !line.trim().is_empty());
    let Some(first) = first.filter(|first| is_quoted(after[*first])) else {
        return QuoteLayout::Above;
    };
    let Some(reply) = after[first..].iter().position(|line| !line.trim().is_empty() && !is_quoted(line)) else {
        return QuoteLayout::Above;
    };
    let reply = first + reply;
    if is_signature_separator(after[reply]) {
        return QuoteLayout::Above;
    }
    if after[reply..].iter().any(|line| is_quoted(line)) { QuoteLayout::Interleaved } else { QuoteLayout::Below(reply) }
}

/// Phrases of the "-----Original Message-----" rule in the clients' languages.
const ORIGINAL_MESSAGE: &[&str] = &[
    "original message",
    "ursprüngliche nachricht",
    "original-nachricht",
    "message d'origine",
    "message original",
    "mensaje original",
    "messaggio originale",
    "oorspronkelijk bericht",
    "originalmeddelande",
    "oprindelig meddelelse",
    "opprinnelig melding",
    "alkuperäinen viesti",
    "původní zpráva",
    "исходное сообщение",
    "mensagem original",
];

/// True for "-----Original Message-----" and the like.
fn is_original_message_rule(line: &str) -> bool {
    let trimmed = line.trim();
    let plain = trimmed.to_lowercase();
    (trimmed.starts_with('-') || trimmed.starts_with('_'))
        && plain.chars().count() < 100
        && ORIGINAL_MESSAGE.iter().any(|phrase| plain.contains(phrase))
}

/// True for a horizontal rule drawn in text (`____`, `-----`).
fn is_rule(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 5 && (line.chars().all(|c| c == '_') || line.chars().all(|c| c == '-'))
}

/// Labels of the header block Outlook puts above the original, by field.
const FROM_LABELS: &[&str] = &["from:", "de:", "de :", "von:", "van:", "da:", "od:", "от:", "fra:", "från:"];
const DATE_LABELS: &[&str] = &[
    "sent:",
    "date:",
    "envoyé :",
    "envoyé:",
    "gesendet:",
    "datum:",
    "verzonden:",
    "inviato:",
    "enviado:",
    "enviado el:",
    "data:",
    "отправлено:",
    "sendt:",
    "skickat:",
];
const TO_LABELS: &[&str] = &[
    "to:",
    "subject:",
    "cc:",
    "à :",
    "à:",
    "objet :",
    "objet:",
    "an:",
    "betreff:",
    "aan:",
    "onderwerp:",
    "a:",
    "oggetto:",
    "para:",
    "asunto:",
    "assunto:",
    "кому:",
    "тема:",
    "til:",
    "emne:",
    "till:",
    "ämne:",
];
/// Subject prefixes of a forward: a forwarded message is content, not history.
const FORWARD_PREFIXES: &[&str] = &["fw:", "fwd:", "wg:", "tr:", "rv:", "doorst:"];

/// True when `index` starts a From:/Sent:/To:/Subject: block that is not a
/// forward.
fn outlook_header_block(lines: &[&str], index: usize) -> bool {
    let has_label = |line: &str, labels: &[&str]| {
        let plain = plain(line);
        labels.iter().any(|label| plain.starts_with(label))
    };
    if !has_label(lines[index], FROM_LABELS) {
        return false;
    }
    let block: Vec<&str> = lines[index + 1..].iter().take(6).copied().filter(|line| !line.trim().is_empty()).collect();
    let dated = block.iter().take(4).any(|line| has_label(line, DATE_LABELS));
    let addressed = block.iter().any(|line| has_label(line, TO_LABELS));
    let forwarded = block.iter().any(|line| {
        let plain = plain(line);
        ["subject:", "objet:", "objet :", "betreff:", "onderwerp:", "oggetto:", "asunto:", "assunto:", "тема:", "ämne:"]
            .iter()
            .filter_map(|label| plain.strip_prefix(label))
            .any(|subject| FORWARD_PREFIXES.iter().any(|prefix| subject.trim_start().starts_with(prefix)))
    });
    let after_forward_rule = lines[..index]
        .iter()
        .rev()
        .find(|line| !line.trim().is_empty())
        .is_some_and(|line| plain(line).contains("forwarded message") || plain(line).contains("weitergeleitete"));
    dated && addressed && !forwarded && !after_forward_rule
}

/// Where a trailing block of `>`-quoted lines (with blank lines) starts.
fn trailing_quote_start(lines: &[&str]) -> usize {
    let mut end = lines.len();
    let mut quoted = false;
    while end > 0 {
        let line = lines[end - 1];
        if is_quoted(line) {
            quoted = true;
        } else if !line.trim().is_empty() {
            break;
        }
        end -= 1;
    }
    if quoted { end } else { lines.len() }
}

/// True for the signature separator `-- ` (or a bare `--`).
fn is_signature_separator(line: &str) -> bool {
    line == "-- " || line.trim_end() == "--"
}

/// Where the signature starts: the last `-- ` line.
fn signature_start(lines: &[&str]) -> usize {
    match lines.iter().rposition(|line| is_signature_separator(line)) {
        Some(index) if lines[index] == "-- " || lines.len() - index - 1 <= MAX_LOOSE_SIGNATURE_LINES => index,
        _ => lines.len(),
    }
}

/// Footers mobile clients add on their own.
const FOOTERS: &[&str] = &[
    "sent from my ",
    "sent from mail for windows",
    "sent from outlook",
    "get outlook for ",
    "sent from yahoo mail",
    "sent from samsung",
    "sent via ",
    "envoyé de mon ",
    "envoyé depuis mon ",
    "von meinem ",
    "enviado desde mi ",
    "enviado do meu ",
    "inviato da ",
];

/// Where a trailing mobile footer starts.
fn footer_start(lines: &[&str]) -> usize {
    match lines.iter().rposition(|line| !line.trim().is_empty()) {
        Some(index) => {
            let plain = plain(lines[index]);
            if plain.chars().count() < 80 && FOOTERS.iter().any(|footer| plain.starts_with(footer)) {
                index
            } else {
                lines.len()
            }
        }
        None => lines.len(),
    }
}

#[cfg(test)]
mod tests;
