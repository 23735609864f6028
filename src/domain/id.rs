//! InstaMed's rules for an identifier (an outlet's IDs, a payment's ID).

use std::sync::Arc;

use super::InvalidRequest;

/// Longest outlet identifier or transaction ID InstaMed accepts.
const MAX_ID_LEN: usize = 50;

/// Checks one identifier against InstaMed's rules: 1 to 50 characters, no control characters and
/// no surrounding white space (the service trims it, so the ID that arrives would differ).
pub(super) fn checked(field: &'static str, value: &str) -> Result<Arc<str>, InvalidRequest> {
    // One pass over the characters: a caller may build an ID for every void it sends. IDs are
    // ASCII in practice, where bytes are characters.
    let (count, control, non_character) = if value.is_ascii() {
        let control = value.bytes().any(|b| b.is_ascii_control());
        (value.len(), control, false)
    } else {
        value
            .chars()
            .fold((0, false, false), |(count, control, non_character), c| {
                (
                    count + 1,
                    control || c.is_control(),
                    non_character || matches!(c, '\u{FFFE}' | '\u{FFFF}'),
                )
            })
    };
    let padded = value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace);
    let problem = if value.is_empty() {
        "is required".to_owned()
    } else if count > MAX_ID_LEN {
        format!("must be at most {MAX_ID_LEN} characters, got {count}")
    } else if control {
        "must not contain control characters".to_owned()
    } else if non_character {
        // Not characters XML can carry: the envelope would not be XML.
        "must not contain U+FFFE or U+FFFF".to_owned()
    } else if padded {
        "must not start or end with white space".to_owned()
    } else {
        return Ok(Arc::from(value));
    };
    Err(InvalidRequest::new(field, problem))
}
