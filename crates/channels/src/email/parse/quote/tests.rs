//! Table tests for quote and signature stripping: each case is the body as
//! received and the text expected after stripping (`None`: kept whole).

use super::*;

/// Strips `input` and checks the result; `expected` None means untouched.
fn check(name: &str, input: &str, expected: Option<&str>) {
    let stripped = strip(input);
    match expected {
        Some(text) => {
            assert_eq!(stripped.text, text, "{name}: text");
            assert_eq!(stripped.original.as_deref(), Some(normalize(input).as_str()), "{name}: original");
        }
        None => {
            assert_eq!(stripped.text, normalize(input), "{name}: text");
            assert_eq!(stripped.original, None, "{name}: original");
        }
    }
}

#[test]
fn attribution_lines() {
    let table: &[(&str, &str, Option<&str>)] = &[
        (
            "gmail",
            "Thanks, that fixed it.\n\nOn Mon, Jan 8, 2024 at 10:02 AM Support <support@example.com> wrote:\n> Try again.\n>\n",
            Some("Thanks, that fixed it."),
        ),
        (
            "gmail wrapped over two lines",
            "Works now.\n\nOn Mon, Jan 8, 2024 at 10:02 AM Rapport Support Team <\nsupport@example.com> wrote:\n\n> Try again.\n",
            Some("Works now."),
        ),
        (
            "apple mail",
            "Great.\n\nSent from my iPhone\n\n> On 8 Jan 2024, at 10:02, Support <support@example.com> wrote:\n>\n> Try again.\n",
            Some("Great."),
        ),
        (
            "german",
            "Danke!\n\nAm 08.01.2024 um 10:02 schrieb Support <support@example.com>:\n> Bitte erneut versuchen.\n",
            Some("Danke!"),
        ),
        (
            "french",
            "Merci.\n\nLe lun. 8 janv. 2024 à 10:02, Support <support@example.com> a écrit :\n> Réessayez.\n",
            Some("Merci."),
        ),
        (
            "spanish",
            "Gracias.\n\nEl lun, 8 ene 2024 a las 10:02, Support (<support@example.com>) escribió:\n> Inténtelo de nuevo.\n",
            Some("Gracias."),
        ),
        (
            "dutch",
            "Bedankt.\n\nOp ma 8 jan. 2024 om 10:02 schreef Support <support@example.com>:\n> Probeer opnieuw.\n",
            Some("Bedankt."),
        ),
        ("only a quote is kept whole", "On Mon, Jan 8, 2024, Ann wrote:\n> hello\n", None),
        (
            "interleaved answers keep their quotes",
            "On Mon, Jan 8, 2024, Support wrote:\n> Which version?\n3.2\n> Which browser?\nFirefox\n",
            None,
        ),
        (
            "a reply below the quote",
            "On Mon, Jan 8, 2024, Support wrote:\n> Did it work?\n\nYes, thanks.\n",
            Some("Yes, thanks."),
        ),
        (
            "russian",
            "Спасибо!\n\n08.01.2024 18:02 пользователь Support <support@example.com> написал:\n> Попробуйте ещё раз.\n",
            Some("Спасибо!"),
        ),
        (
            "android, wrapped, without an opening word",
            "Hello\n02.04.2012 14:20 пользователь \"bob@example.org\" <\nbob@example.org> написал:\n\n> Hi\n>\n",
            Some("Hello"),
        ),
        ("a greeting is not part of a bare attribution", "Hello\nAnn <ann@example.com> wrote:\n> Hi\n", Some("Hello")),
        (
            "interleaved with a trailing quote",
            "On Mon, Jan 8, 2024, Support wrote:\n> Which version?\n3.2\n> Thanks, Support\n",
            Some("On Mon, Jan 8, 2024, Support wrote:\n> Which version?\n3.2"),
        ),
        ("a sentence starting with On is not an attribution", "On Monday I wrote: hello.\nBye\n", None),
    ];
    for (name, input, expected) in table {
        check(name, input, *expected);
    }
}

#[test]
fn outlook_blocks() {
    let table: &[(&str, &str, Option<&str>)] = &[
        (
            "original message rule",
            "Yes please.\r\n\r\n-----Original Message-----\r\nFrom: Support\r\nSent: Monday\r\nTo: Ann\r\nSubject: Re: x\r\n\r\nShall we?\r\n",
            Some("Yes please."),
        ),
        (
            "header block under a rule",
            "Yes please.\n\n________________________________\nFrom: Support <support@example.com>\nSent: Monday, January 8, 2024 10:02 AM\nTo: Ann <ann@example.com>\nSubject: Re: x\n\nShall we?\n",
            Some("Yes please."),
        ),
        (
            "bold labels from html",
            "Yes please.\n\n*From:* Support <support@example.com>\n*Sent:* Monday\n*To:* Ann\n*Subject:* Re: x\n\nShall we?\n",
            Some("Yes please."),
        ),
        (
            "german outlook",
            "Ja.\n\nVon: Support <support@example.com>\nGesendet: Montag, 8. Januar 2024 10:02\nAn: Ann\nBetreff: AW: x\n\nAlt\n",
            Some("Ja."),
        ),
        (
            "thunderbird rule",
            "Sure.\n\n-------- Original Message --------\nSubject: x\nDate: Mon\n\nOld\n",
            Some("Sure."),
        ),
        (
            "a forward is content, not history",
            "See below.\n\n---------- Forwarded message ---------\nFrom: Shop <shop@example.com>\nDate: Mon, Jan 8, 2024\nSubject: Order 1\nTo: Ann\n\nYour order failed.\n",
            None,
        ),
        (
            "an outlook forward is content too",
            "FYI\n\n________________________________\nFrom: Shop <shop@example.com>\nSent: Monday\nTo: Ann\nSubject: FW: Order 1\n\nYour order failed.\n",
            None,
        ),
        ("a lone From: line is not a block", "From: the team\nWe shipped it.\n", None),
    ];
    for (name, input, expected) in table {
        check(name, input, *expected);
    }
}

#[test]
fn signatures_and_footers() {
    let table: &[(&str, &str, Option<&str>)] = &[
        ("dash dash space", "Hello.\n\n-- \nAnn Example\nACME Ltd\n", Some("Hello.")),
        ("bare dash dash", "Hello.\n\n--\nAnn\n", Some("Hello.")),
        ("bare dash dash with a long tail is text", &format!("Hello.\n--\n{}", "line\n".repeat(30)), None),
        ("mobile footer", "Call me.\n\nSent from my iPhone\n", Some("Call me.")),
        ("outlook mobile footer", "Call me.\n\nGet Outlook for Android\n", Some("Call me.")),
        ("signature only is kept whole", "-- \nAnn\n", None),
        ("trailing quote block", "Agreed.\n\n> earlier\n> text\n", Some("Agreed.")),
        ("signature above a quote", "Agreed.\n-- \nAnn\n\nOn Mon, Support wrote:\n> x\n", Some("Agreed.")),
        ("plain text is untouched", "Line one.\r\nLine two.\r\n", None),
    ];
    for (name, input, expected) in table {
        check(name, input, *expected);
    }
}

#[test]
fn normalize_line_endings() {
    assert_eq!(normalize("\r\n\r\n  Hi\r\nthere\rfriend\r\n\r\n"), "  Hi\nthere\nfriend");
    assert_eq!(normalize(""), "");
}
