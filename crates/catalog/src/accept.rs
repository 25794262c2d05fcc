//! Reading the `Accept-Language` header (RFC 9110, section 12.5.4).

/// The language tags of an `Accept-Language` header, most wanted first:
/// ordered by quality (`q`, default 1), ties in the order given; tags with
/// `q=0`, the wildcard `*` and malformed entries left out.
pub fn preferences(header: &str) -> Vec<String> {
    let mut ranked: Vec<(u16, usize, String)> = Vec::new();
    for (position, entry) in header.split(',').enumerate() {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        if tag.is_empty() || tag == "*" || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            continue;
        }
        let mut quality = 1000;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                quality = thousandths(value.trim()).unwrap_or(0);
            }
        }
        if quality > 0 {
            ranked.push((quality, position, tag.to_ascii_lowercase()));
        }
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.into_iter().map(|(_, _, tag)| tag).collect()
}

/// A quality value (`0`, `0.8`, `1.000`) in thousandths, or `None` when malformed.
fn thousandths(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{fraction:0<3}");
    match whole {
        "0" => digits.parse().ok(),
        "1" if digits == "000" => Some(1000),
        _ => None,
    }
}
