//! Transaction IDs as the simulator stores them: case-folded, bounded, kept on the stack.
//!
//! InstaMed writes its GUID-like IDs in either case, so the ledger matches them case-blind. Every
//! lookup folds the ID a request carries into an [`IdKey`] without touching the heap, which keeps
//! the hot path of a void free of allocations.

use std::fmt;

/// Longest ID, in characters, that InstaMed accepts.
pub(crate) const MAX_ID_CHARS: usize = 50;

/// Room for [`MAX_ID_CHARS`] characters of up to four UTF-8 bytes each.
const CAPACITY: usize = MAX_ID_CHARS * 4;

/// A transaction ID folded to ASCII upper case: the ledger's key.
#[derive(Clone, Copy)]
pub(crate) struct IdKey {
    len: u8,
    bytes: [u8; CAPACITY],
}

impl IdKey {
    /// The folded form of `id`, or `None` if `id` is empty, longer than 50 characters, or holds
    /// control characters or surrounding white space (no such ID can exist in the ledger).
    pub(crate) fn fold(id: &str) -> Option<Self> {
        let valid = !id.is_empty()
            && id.len() <= CAPACITY
            && id.chars().count() <= MAX_ID_CHARS
            && !id.chars().any(char::is_control)
            && id.trim() == id;
        if !valid {
            return None;
        }
        let mut bytes = [0; CAPACITY];
        bytes[..id.len()].copy_from_slice(id.as_bytes());
        bytes[..id.len()].make_ascii_uppercase();
        // `len` fits: `CAPACITY` is 200.
        let len = u8::try_from(id.len()).ok()?;
        Some(Self { len, bytes })
    }

    /// A new random ID in InstaMed's usual form: 32 upper-case hex digits.
    pub(crate) fn random(rng: &mut fastrand::Rng) -> Self {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut bytes = [0; CAPACITY];
        for byte in &mut bytes[..32] {
            *byte = HEX[rng.usize(..16)];
        }
        Self { len: 32, bytes }
    }

    /// The folded ID.
    pub(crate) fn as_str(&self) -> &str {
        // Upper-casing ASCII letters keeps UTF-8 valid, and `fold` and `random` only ever store
        // whole strings, so this cannot fail; an empty string is the harmless fallback.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for IdKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for IdKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_refuses_what_cannot_be_an_id() {
        let key = IdKey::fold("ee52401813a74328aaa7d93319ff4383").unwrap();
        assert_eq!(key.as_str(), "EE52401813A74328AAA7D93319FF4383");
        assert_eq!(IdKey::fold("ÿé-x").unwrap().as_str(), "ÿé-X");
        assert!(IdKey::fold("").is_none());
        assert!(IdKey::fold(" A").is_none());
        assert!(IdKey::fold("A\u{0}").is_none());
        assert!(IdKey::fold(&"é".repeat(50)).is_some());
        assert!(IdKey::fold(&"A".repeat(51)).is_none());
    }

    #[test]
    fn random_ids_are_32_upper_hex_digits() {
        let mut rng = fastrand::Rng::with_seed(7);
        let id = IdKey::random(&mut rng);
        assert_eq!(id.as_str().len(), 32);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        );
    }
}
