//! Which characters XML 1.0 (fifth edition) allows in a document and in a name.
//!
//! Both checks run eight bytes at a time over the common case (ASCII text without control
//! characters, names made of letters) and look a byte or a character up only where the common
//! case ends, so that conformance costs little on a kilobyte-sized answer.

/// Eight copies of one byte.
const fn splat(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

const HIGH: u64 = splat(0x80);

fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk = bytes.get(at..at + 8)?;
    let mut word = [0; 8];
    word.copy_from_slice(chunk);
    Some(u64::from_le_bytes(word))
}

/// What a pass over the whole document learnt.
pub(super) struct Survey {
    /// Whether a `]` occurs anywhere: without one no text can hold the forbidden `]]>`, and
    /// text is not searched for it.
    pub(super) brackets: bool,
}

/// Checks that every character of `text` is one XML allows (`Char`, production [2]): no C0
/// control but tab, line feed and carriage return, and neither U+FFFE nor U+FFFF (a `str`
/// holds no surrogate). Returns the byte offset of the first forbidden character.
pub(super) fn survey(text: &str) -> Result<Survey, usize> {
    let bytes = text.as_bytes();
    // An answer as ASP.NET writes it, on one line, holds no control character and no 0xEF:
    // one pass over the whole text, reduced once at its end, settles it. Only a text that may
    // hold one is looked at block by block.
    let (low, ef, bracket) = minimums(bytes);
    if low >= 0x20 && ef != 0 {
        return Ok(Survey {
            brackets: bracket == 0,
        });
    }
    let mut brackets = false;
    let mut blocks = bytes.chunks_exact(BLOCK);
    let mut at = 0;
    for block in &mut blocks {
        if suspect(block, brackets) {
            check_block(bytes, at, block, &mut brackets)?;
        }
        at += BLOCK;
    }
    // The tail, padded with spaces (allowed, and neither 0xEF nor `]`) to a whole block.
    let tail = blocks.remainder();
    let mut padded = [b' '; BLOCK];
    padded[..tail.len()].copy_from_slice(tail);
    if suspect(&padded, brackets) {
        check_block(bytes, at, tail, &mut brackets)?;
    }
    Ok(Survey { brackets })
}

/// Bytes the survey takes at a time.
const BLOCK: usize = 64;

/// Whether `block` may hold a control character (the allowed tab, line feed and carriage
/// return included), an 0xEF (the lead byte of U+F000..U+FFFF) or, until one is known, a `]`.
/// Written as three minimums over the block, which the compiler turns into vector minimums:
/// the smallest byte is below 0x20 exactly when there is a control, and the smallest byte
/// exclusive-or 0xEF (or `]`) is zero exactly when there is an 0xEF (or a `]`).
#[inline]
fn suspect(block: &[u8], brackets: bool) -> bool {
    let (low, ef, bracket) = minimums(block);
    low < 0x20 || ef == 0 || (!brackets && bracket == 0)
}

/// The smallest byte of `bytes`, and the smallest of each byte exclusive-or 0xEF and `]`: one
/// fold the compiler turns into vector minimums.
#[inline]
fn minimums(bytes: &[u8]) -> (u8, u8, u8) {
    bytes
        .iter()
        .fold((u8::MAX, u8::MAX, u8::MAX), |(low, ef, bracket), &b| {
            (low.min(b), ef.min(b ^ 0xEF), bracket.min(b ^ b']'))
        })
}

/// Checks a suspect `block` (at `at` in `bytes`) exactly: first as a whole, with a fold the
/// compiler turns into vector compares, then byte by byte if that flags it. A pretty-printed
/// answer's line breaks make most blocks suspect, and this keeps them cheap.
fn check_block(bytes: &[u8], at: usize, block: &[u8], brackets: &mut bool) -> Result<(), usize> {
    // Once a `]` is known, probing for NUL instead adds nothing: NUL is flagged already.
    let probe = if *brackets { 0 } else { b']' };
    let flagged = block.iter().fold(false, |flagged, &b| {
        flagged
            | ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r'))
            | (b == 0xEF)
            | (b == probe)
    });
    if flagged {
        check_bytes(bytes, at, at + block.len(), brackets)?;
    }
    Ok(())
}

fn check_bytes(bytes: &[u8], from: usize, to: usize, brackets: &mut bool) -> Result<(), usize> {
    for at in from..to {
        match bytes[at] {
            b'\t' | b'\n' | b'\r' => {}
            0..0x20 => return Err(at),
            // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
            0xEF if bytes.get(at + 1) == Some(&0xBF)
                && matches!(bytes.get(at + 2), Some(0xBE | 0xBF)) =>
            {
                return Err(at);
            }
            b']' => *brackets = true,
            _ => {}
        }
    }
    Ok(())
}

/// Whether `c` may start a name (`NameStartChar`, production [4], less the colon, which
/// namespaces keep for the prefix).
pub(super) fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// Whether `c` may continue a name (`NameChar`, production [4a], less the colon).
pub(super) fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A name as [`scan_name`] found it.
#[derive(Clone, Copy)]
pub(super) struct Name {
    /// Byte offset just past the name: the first character that is not a name character.
    pub(super) end: usize,
    /// Byte offset of its first colon within the name.
    pub(super) colon: Option<usize>,
    /// Whether it is a qualified name (`QName` of Namespaces 1.0): one or two `NCName`s,
    /// each starting as a name must, around at most one colon.
    pub(super) qualified: bool,
}

/// The high bit of every byte of `word` that is not an ASCII letter.
#[inline]
fn non_letters(word: u64) -> u64 {
    // Folded to lower case and to seven bits, a letter is 0x61..=0x7A; the additions cannot
    // carry into the next byte.
    let folded = (word | splat(0x20)) & !HIGH;
    let from_a = folded.wrapping_add(splat(0x80 - 0x61)) & HIGH;
    let past_z = folded.wrapping_add(splat(0x80 - 0x7B)) & HIGH;
    (word & HIGH) | (!from_a & HIGH) | past_z
}

/// The name that starts at `at` in `text`: every name character up to the first that is not
/// one (what follows is for the caller to judge), whether it is a qualified name, and where
/// its first colon is.
pub(super) fn scan_name(text: &str, at: usize) -> Name {
    let bytes = text.as_bytes();
    let mut end = at;
    let mut colon = None;
    let mut colons = 0u32;
    loop {
        // Letters, eight at a time.
        while let Some(word) = word_at(bytes, end) {
            let others = non_letters(word);
            if others != 0 {
                end += (others.trailing_zeros() / 8) as usize;
                break;
            }
            end += 8;
        }
        let Some(&byte) = bytes.get(end) else {
            break;
        };
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => end += 1,
            b':' => {
                colon.get_or_insert(end - at);
                colons += 1;
                end += 1;
            }
            0x80.. => match text.get(end..).and_then(|rest| rest.chars().next()) {
                Some(c) if is_name_char(c) => end += c.len_utf8(),
                _ => break,
            },
            _ => break,
        }
    }
    // Names mostly start with an ASCII letter, which settles it without decoding.
    let starts_well = |from: usize| match bytes.get(from) {
        Some(b'a'..=b'z' | b'A'..=b'Z' | b'_') => from < end,
        Some(0x80..) if from < end => text[from..].chars().next().is_some_and(is_name_start),
        _ => false,
    };
    let qualified = colons <= 1
        && match colon {
            None => starts_well(at),
            Some(colon) => colon > 0 && starts_well(at) && starts_well(at + colon + 1),
        };
    Name {
        end,
        colon,
        qualified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The survey as the grammar reads, one character at a time.
    fn survey_charwise(text: &str) -> Result<bool, usize> {
        for (at, c) in text.char_indices() {
            let allowed = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}'
                | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
            if !allowed {
                return Err(at);
            }
        }
        Ok(text.contains(']'))
    }

    #[test]
    fn the_survey_finds_what_a_character_by_character_check_finds() {
        for special in [
            "\u{1}", "\u{1F}", "\u{FFFE}", "\u{FFFF}", "\u{FFFD}", "\u{FEFF}", "]", "\t", "\u{7F}",
            "é", "\0", "\n", "\r",
        ] {
            // Past two blocks, so that the block tests and the padded tail are both crossed.
            for length in (0..20).chain([31, 32, 33, 63, 64, 65, 70, 127, 128, 129]) {
                for place in 0..=length {
                    let mut text: String = (0..length)
                        .map(|i| (b'a' + (i % 26) as u8) as char)
                        .collect();
                    text.insert_str(place, special);
                    let fast = survey(&text).map(|survey| survey.brackets);
                    assert_eq!(fast, survey_charwise(&text), "{text:?}");
                }
            }
        }
    }

    /// `scan_name` one character at a time.
    fn scan_charwise(text: &str, at: usize) -> (usize, Option<usize>) {
        let mut end = at;
        let mut colon = None;
        for c in text[at..].chars() {
            if c == ':' {
                colon.get_or_insert(end - at);
            } else if !is_name_char(c) {
                break;
            }
            end += c.len_utf8();
        }
        (end, colon)
    }

    #[test]
    fn names_are_scanned_eight_bytes_at_a_time_as_they_are_one_at_a_time() {
        let specials = [
            " ", ">", "/", "=", ":", "7", "-", "<", "\n", "?", "_", "@", "[", "`", "{", "~",
            "\u{7F}", "é", "\u{B7}", "\u{300}", "\u{37E}", "\u{2000}", "Ω", "𐀀",
        ];
        for length in 0..20 {
            for special in specials {
                for place in 0..=length {
                    let mut name: String = (0..length)
                        .map(|i| (b'a' + (i % 26) as u8) as char)
                        .collect();
                    name.insert_str(place, special);
                    name.push_str("Tail:x>rest");
                    for (at, _) in name.char_indices() {
                        let found = scan_name(&name, at);
                        assert_eq!(
                            (found.end, found.colon),
                            scan_charwise(&name, at),
                            "{name:?} from {at}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn qualified_names_follow_namespaces() {
        for (name, qualified) in [
            ("a", true),
            ("p:a", true),
            ("_x.y-z9", true),
            ("é", true),
            ("a\u{B7}", true),
            ("", false),
            ("1a", false),
            ("-a", false),
            (".a", false),
            ("\u{B7}a", false),
            (":a", false),
            ("a:", false),
            ("p:1a", false),
            ("p:q:a", false),
        ] {
            let found = scan_name(name, 0);
            assert_eq!(found.end, name.len(), "{name:?}");
            assert_eq!(found.qualified, qualified, "{name:?}");
        }
    }
}
