//! One-line texts: a subject, a customer's, an agent's or a team's name is
//! shown in lists and goes into mail headers, where a line break or another
//! control character would split a line or smuggle a header. Every path that
//! stores one folds it the same way: each run of control characters and white
//! space becomes one space, and the ends are trimmed.

/// `text` on one line: runs of white space and control characters (CR, LF,
/// tab, NUL, the Unicode line and paragraph separators...) become one space;
/// the ends are trimmed.
pub fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            gap = !line.is_empty();
        } else {
            if gap {
                line.push(' ');
                gap = false;
            }
            line.push(c);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::one_line;

    #[test]
    fn line_breaks_and_controls_become_one_space() {
        assert_eq!(one_line("Printer\r\nBcc: x@example.com"), "Printer Bcc: x@example.com");
        assert_eq!(one_line("  Ann\t\u{0}Lee\u{2028} "), "Ann Lee");
        assert_eq!(one_line("Zoë  Quill"), "Zoë Quill");
        assert_eq!(one_line("\r\n"), "");
    }

    proptest! {
        #[test]
        fn one_line_has_no_break_no_control_and_is_stable(text in "\\PC{0,40}|[ a-z\r\n\t\u{0}\u{85}\u{2028}]{0,40}") {
            let line = one_line(&text);
            prop_assert!(!line.chars().any(|c| c.is_control() || (c.is_whitespace() && c != ' ')), "{line:?}");
            prop_assert!(!line.contains("  ") && line.trim() == line);
            prop_assert_eq!(one_line(&line), line.clone());
        }
    }
}
