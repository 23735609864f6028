//! A secret in every encoding a server, a proxy or a capture may write it in: the one list
//! the leak suites and the sensitive-data module's own tests generate their cases from.

/// `secret` in every encoding a server, a proxy or a capture may write it in.
pub fn encodings(secret: &str) -> Vec<(&'static str, String)> {
    let percent = |lower: bool, keep: fn(u8) -> bool| -> String {
        secret
            .bytes()
            .map(|b| match (keep(b), lower) {
                (true, _) => char::from(b).to_string(),
                (false, false) => format!("%{b:02X}"),
                (false, true) => format!("%{b:02x}"),
            })
            .collect()
    };
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json[1..json.len() - 1].to_owned();
    let json_ascii: String = secret
        .encode_utf16()
        .map(|unit| match char::from_u32(u32::from(unit)) {
            Some(c) if c.is_ascii_alphanumeric() => c.to_string(),
            _ => format!("\\u{unit:04x}"),
        })
        .collect();
    let xml: String = secret
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let references = |hex: bool| -> String {
        secret
            .chars()
            .map(|c| match (c.is_ascii_alphanumeric(), hex) {
                (true, _) => c.to_string(),
                (false, false) => format!("&#{};", u32::from(c)),
                (false, true) => format!("&#x{:X};", u32::from(c)),
            })
            .collect()
    };
    vec![
        ("as written", secret.to_owned()),
        (
            "percent-encoded, %20",
            percent(false, |b| b.is_ascii_alphanumeric()),
        ),
        (
            "percent-encoded, lower-case hex",
            percent(true, |b| b.is_ascii_alphanumeric()),
        ),
        (
            "percent-encoded as a URL component",
            percent(false, |b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)),
        ),
        (
            "form-encoded, +",
            form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        ),
        ("JSON-escaped", json),
        ("JSON-escaped, \\u", json_ascii),
        (
            "JSON-escaped, \\/",
            secret
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('/', "\\/"),
        ),
        ("XML-escaped", xml),
        ("XML character references", references(false)),
        ("XML hex character references", references(true)),
    ]
}
