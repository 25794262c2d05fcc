//! The `imap_url` setting of a mailbox: which server, which user, which
//! folder, and whether TLS wraps the connection. A small subset of RFC 5092:
//! no password (that belongs in the auth setting, which keeps it out of
//! logs), no `;UIDVALIDITY` or search parameters, no STARTTLS.

use percent_encoding::percent_decode_str;
use url::{Host, Url};

use super::ImapError;

/// How the connection is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapTransport {
    /// `imap://`: plain TCP, port 143 by default. Only for servers on a
    /// trusted network: the password crosses it in the clear.
    Plain,
    /// `imaps://`: TLS from the first byte, port 993 by default.
    Tls,
}

/// A parsed `imap_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapUrl {
    pub transport: ImapTransport,
    /// A DNS name or an IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// The login name, percent-decoded (`support%40example.com` is
    /// `support@example.com`).
    pub user: String,
    /// The folder to poll, percent-decoded; `INBOX` when the URL names none.
    pub folder: String,
}

/// Parses `imap://user@host[:port]/FOLDER` or `imaps://...`; see [`ImapUrl`].
pub fn parse_imap_url(text: &str) -> Result<ImapUrl, ImapError> {
    let invalid = |reason: &str| ImapError::InvalidUrl { url: redact_password(text), reason: reason.to_owned() };
    let url = Url::parse(text).map_err(|error| invalid(&error.to_string()))?;
    let (transport, default_port) = match url.scheme() {
        "imap" => (ImapTransport::Plain, 143),
        "imaps" => (ImapTransport::Tls, 993),
        _ => return Err(invalid("the scheme must be imap:// or imaps://")),
    };
    if url.password().is_some() {
        return Err(invalid("a password does not belong in the URL; put it in the mailbox's auth setting"));
    }
    let host = match url.host() {
        Some(Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        _ => return Err(invalid("the URL names no server (imap://USER@HOST/FOLDER)")),
    };
    let user = percent_decode_str(url.username())
        .decode_utf8()
        .map_err(|_| invalid("the user is not UTF-8 once percent-decoded"))?
        .into_owned();
    if user.is_empty() {
        return Err(invalid("the URL names no user (imap://USER@HOST/FOLDER)"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the URL may not have a query (?) or fragment (#)"));
    }
    let path = url.path();
    if path.contains(';') {
        return Err(invalid("IMAP URL parameters such as ;UIDVALIDITY are not supported"));
    }
    let folder = percent_decode_str(path.trim_start_matches('/').trim_end_matches('/'))
        .decode_utf8()
        .map_err(|_| invalid("the folder is not UTF-8 once percent-decoded"))?
        .into_owned();
    if folder.chars().any(char::is_control) {
        return Err(invalid("the folder name has control characters"));
    }
    let folder = if folder.is_empty() { "INBOX".to_owned() } else { folder };
    Ok(ImapUrl { transport, host, port: url.port().unwrap_or(default_port), user, folder })
}

/// The URL with any password replaced, for error messages.
fn redact_password(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return text.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:<redacted>@{host}{tail}"),
        None => text.to_owned(),
    }
}

/// A folder name as IMAP spells it on the wire: modified UTF-7 (RFC 3501
/// section 5.1.3), so `Entwürfe` is `Entw&APw-rfe`.
pub(super) fn encode_folder(folder: &str) -> String {
    let mut encoded = String::with_capacity(folder.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in folder.chars() {
        if (' '..='~').contains(&c) {
            flush_utf7(&mut pending, &mut encoded);
            if c == '&' {
                encoded.push_str("&-");
            } else {
                encoded.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush_utf7(&mut pending, &mut encoded);
    encoded
}

/// Writes pending UTF-16 units as `&` + modified base64 + `-`.
fn flush_utf7(pending: &mut Vec<u16>, encoded: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    if pending.is_empty() {
        return;
    }
    let bytes: Vec<u8> = pending.drain(..).flat_map(u16::to_be_bytes).collect();
    encoded.push('&');
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let group = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        // 1 byte gives 2 base64 digits, 2 give 3, 3 give 4; no padding.
        for digit in 0..=chunk.len() {
            let index = (group >> (18 - 6 * digit)) & 63;
            encoded.push(char::from(ALPHABET[index as usize]));
        }
    }
    encoded.push('-');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(transport: ImapTransport, host: &str, port: u16, user: &str, folder: &str) -> ImapUrl {
        ImapUrl { transport, host: host.to_owned(), port, user: user.to_owned(), folder: folder.to_owned() }
    }

    #[test]
    fn good_urls() {
        use ImapTransport::{Plain, Tls};
        let cases = [
            ("imap://support@mail.example.com/INBOX", parsed(Plain, "mail.example.com", 143, "support", "INBOX")),
            ("imaps://support@mail.example.com/INBOX", parsed(Tls, "mail.example.com", 993, "support", "INBOX")),
            ("imaps://support@mail.example.com", parsed(Tls, "mail.example.com", 993, "support", "INBOX")),
            ("imaps://support@mail.example.com/", parsed(Tls, "mail.example.com", 993, "support", "INBOX")),
            (
                "IMAPS://support@mail.example.com:10993/INBOX",
                parsed(Tls, "mail.example.com", 10993, "support", "INBOX"),
            ),
            ("imap://help@127.0.0.1:1143/INBOX", parsed(Plain, "127.0.0.1", 1143, "help", "INBOX")),
            ("imaps://help@[::1]:993/INBOX", parsed(Tls, "::1", 993, "help", "INBOX")),
            (
                "imaps://support%40example.com@outlook.office365.com/INBOX",
                parsed(Tls, "outlook.office365.com", 993, "support@example.com", "INBOX"),
            ),
            (
                "imaps://support@imap.example.com/Support/Tickets%20In",
                parsed(Tls, "imap.example.com", 993, "support", "Support/Tickets In"),
            ),
            (
                "imaps://support@imap.example.com/Entw%C3%BCrfe",
                parsed(Tls, "imap.example.com", 993, "support", "Entwürfe"),
            ),
        ];
        for (text, expected) in cases {
            match parse_imap_url(text) {
                Ok(url) => assert_eq!(url, expected, "{text}"),
                Err(error) => panic!("{text}: {error}"),
            }
        }
    }

    #[test]
    fn bad_urls() {
        let cases = [
            ("", "relative URL"),
            ("mail.example.com", "relative URL"),
            ("https://support@mail.example.com/INBOX", "imap:// or imaps://"),
            ("pop3://support@mail.example.com/INBOX", "imap:// or imaps://"),
            ("imaps://mail.example.com/INBOX", "no user"),
            ("imaps://support@/INBOX", "empty host"),
            ("imaps:///INBOX", "no server"),
            ("imaps://support@mail.example.com:99999/INBOX", "invalid port"),
            ("imaps://support@mail.example.com/INBOX?x=1", "query"),
            ("imaps://support@mail.example.com/INBOX#x", "fragment"),
            ("imaps://support@mail.example.com/INBOX;UIDVALIDITY=5", "UIDVALIDITY"),
            ("imaps://support@mail.example.com/IN%0D%0ABOX", "control characters"),
            ("imaps://support@mail.example.com/%FF", "not UTF-8"),
        ];
        for (text, expected) in cases {
            match parse_imap_url(text) {
                Ok(url) => panic!("{text} parsed as {url:?}"),
                Err(error) => {
                    let message = error.to_string();
                    assert!(message.contains(expected), "{text}: {message}");
                    assert!(matches!(error, ImapError::InvalidUrl { .. }), "{text}: {error:?}");
                }
            }
        }
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_not_repeated() {
        let error = parse_imap_url("imaps://support:hunter2@mail.example.com/INBOX").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("password does not belong in the URL"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("imaps://support:<redacted>@mail.example.com/INBOX"), "{message}");
    }

    #[test]
    fn folder_names_in_modified_utf7() {
        let cases = [
            ("INBOX", "INBOX"),
            ("Support/Tickets In", "Support/Tickets In"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("Q&A", "Q&-A"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("😀", "&2D3eAA-"),
        ];
        for (folder, expected) in cases {
            assert_eq!(encode_folder(folder), expected, "{folder}");
        }
    }
}
