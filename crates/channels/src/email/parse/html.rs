//! HTML bodies: sanitised for the agent UI, and rendered as plain text when a
//! message has no text part.
//!
//! Sanitising is ammonia's defaults (no scripts, event handlers, styles,
//! forms or `javascript:` URLs), with `<title>` text dropped too, plus the `cid:` scheme, which inline images
//! use and the UI maps to the message's attachments. The text rendering runs
//! on the sanitised HTML, whose nesting is checked first: html2text walks the
//! tree recursively, and a stranger's ten thousand nested `<div>`s must not
//! overflow the stack.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// HTML nested deeper than this is not parsed at all: html5ever's tree
/// building is quadratic in the nesting depth, so a few hundred kilobytes of
/// `<div>`s would hold the gateway for minutes. Real mail stays far below.
const MAX_PARSE_DEPTH: usize = 1000;
/// Deeper nesting than this is rendered without layout.
const MAX_RENDER_DEPTH: usize = 200;
/// The line width html2text wraps at: wide enough that paragraphs stay on one
/// line, as the sender wrote them.
const RENDER_WIDTH: usize = 10_000;

/// Safe HTML for the agent UI.
pub(super) fn sanitize(html: &str) -> String {
    if nesting_depth(html) > MAX_PARSE_DEPTH {
        return format!("<pre>{}</pre>", escape(&strip_tags(html)));
    }
    // A <title> is invisible in a mail client; without this its text would
    // show up at the top of the sanitised body.
    ammonia::Builder::default().add_url_schemes(["cid"]).add_clean_content_tags(["title"]).clean(html).to_string()
}

/// Plain text of an HTML body, with blockquotes marked by `>`.
pub(super) fn to_text(html: &str) -> String {
    if nesting_depth(html) > MAX_PARSE_DEPTH {
        return tidy(&strip_tags(html));
    }
    let clean = sanitize(html);
    let rendered = if nesting_depth(&clean) > MAX_RENDER_DEPTH {
        None
    } else {
        catch_unwind(AssertUnwindSafe(|| {
            html2text::config::plain_no_decorate().string_from_read(clean.as_bytes(), RENDER_WIDTH).ok()
        }))
        .ok()
        .flatten()
    };
    tidy(&rendered.unwrap_or_else(|| strip_tags(&clean)))
}

/// Lines without trailing spaces, and no runs of more than one blank line.
fn tidy(text: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() && lines.last().is_some_and(|last| last.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    lines.join("\n").trim().to_owned()
}

/// The text of HTML without any markup, in one linear pass: tags dropped,
/// script and style contents dropped, block ends made line breaks, and the
/// common entities decoded.
fn strip_tags(html: &str) -> String {
    const BREAKS: &[&str] =
        &["br", "/p", "/div", "/li", "/tr", "/h1", "/h2", "/h3", "/h4", "/h5", "/h6", "/blockquote"];
    let mut text = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        rest = &rest[start + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let name: String =
            rest[..end].trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '/').collect::<String>();
        let name = name.to_ascii_lowercase();
        rest = rest.get(end + 1..).unwrap_or_default();
        if name == "script" || name == "style" {
            // Raw text up to the closing tag; `<` inside it is not markup.
            let closing = format!("</{name}");
            let after = rest.to_ascii_lowercase().find(&closing).map_or(rest.len(), |index| index + closing.len());
            rest = &rest[after..];
            rest = rest.find('>').map_or("", |index| &rest[index + 1..]);
        } else if BREAKS.contains(&name.as_str()) {
            text.push('\n');
        }
    }
    text.push_str(rest);
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Text made safe to put inside HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The deepest element nesting of well-formed (sanitised) HTML.
fn nesting_depth(html: &str) -> usize {
    const VOID: &[&str] = &["area", "br", "col", "hr", "img", "wbr", "source", "track", "input", "meta", "link"];
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if let Some(closing) = tag.strip_prefix('/') {
            if !closing.is_empty() {
                depth = depth.saturating_sub(1);
            }
        } else if !tag.ends_with('/') {
            let name: String =
                tag.chars().take_while(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
            if !name.is_empty() && !VOID.contains(&name.as_str()) {
                depth += 1;
                deepest = deepest.max(depth);
            }
        }
        rest = &rest[end..];
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_removes_scripts_and_handlers_and_keeps_cid_images() {
        let html = r#"<p onclick="steal()">Hi<script>alert(1)</script></p><a href="javascript:alert(1)">x</a><img src="cid:logo@x">"#;
        let clean = sanitize(html);
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("javascript"), "{clean}");
        assert!(clean.contains(r#"src="cid:logo@x""#), "{clean}");
    }

    #[test]
    fn to_text_marks_blockquotes() {
        let text = to_text("<p>Thanks!</p><blockquote><p>Old text</p></blockquote>");
        assert!(text.starts_with("Thanks!"), "{text}");
        assert!(text.contains("> Old text"), "{text}");
    }

    #[test]
    fn deep_nesting_is_flattened_without_parsing() {
        for depth in [500, 50_000] {
            let html = format!("{}deep &amp; <b>bold</b>{}", "<div>".repeat(depth), "</div>".repeat(depth));
            let started = std::time::Instant::now();
            assert_eq!(to_text(&html), "deep & bold", "{depth}");
            assert_eq!(sanitize(&html).contains("<div>"), depth < MAX_PARSE_DEPTH, "{depth}");
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{depth}: {:?}", started.elapsed());
        }
    }

    #[test]
    fn strip_tags_drops_scripts_and_breaks_blocks() {
        assert_eq!(strip_tags("<p>a</p><script>x<y</script><style>p{}</style>b<br>c &lt;d&gt;"), "a\nb\nc <d>");
    }

    #[test]
    fn nesting_depth_counts_open_elements() {
        assert_eq!(nesting_depth("<div><p>a<br>b</p><p>c</p></div>"), 2);
        assert_eq!(nesting_depth("text"), 0);
    }
}
