//! Turning XML names into Rust identifiers.
//!
//! XML names allow characters Rust identifiers do not (`.`, `-`, a leading digit), may be Rust
//! keywords, and two different XML names can map to the same Rust name (`fooBar` and `FooBar`).
//! Everything here is deterministic: the same inputs, claimed in the same order, give the same
//! identifiers.

use std::collections::BTreeSet;

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

/// Type names the generated code must not define, because they would shadow a prelude type or
/// because yaserde's derive recognises field types by their last path segment (a struct called
/// `String` or `Vec` would be treated as the standard type).
const RESERVED_TYPE_NAMES: &[&str] = &["Box", "Option", "Result", "Self", "String", "Vec"];

/// Keywords that cannot be written as raw identifiers (`r#self` is not allowed); fields named
/// after them get a `_value` suffix instead (a trailing underscore alone would make the helper
/// variables yaserde derives non-snake-case).
const NON_RAW_KEYWORDS: &[&str] = &["crate", "self", "super"];

/// `UpperCamelCase` form of an XML name, made into a valid identifier.
pub fn type_name(xml_name: &str) -> String {
    let camel = ascii_fallback(xml_name.to_upper_camel_case(), |name| {
        name.to_upper_camel_case()
    });
    match camel.chars().next() {
        None => "Unnamed".to_owned(),
        // A leading digit cannot start an identifier; a letter keeps the name in camel case.
        Some(first) if first.is_ascii_digit() => format!("V{camel}"),
        Some(_) => camel,
    }
}

/// `snake_case` form of an XML name, made into a valid identifier. Keywords that cannot be raw
/// identifiers get a `_value` suffix here; the others are escaped by [`ident`].
pub fn field_name(xml_name: &str) -> String {
    let snake = ascii_fallback(xml_name.to_snake_case(), |name| name.to_snake_case());
    match snake.chars().next() {
        None => "value".to_owned(),
        Some(first) if first.is_ascii_digit() => format!("_{snake}"),
        Some(_) if NON_RAW_KEYWORDS.contains(&snake.as_str()) => format!("{snake}_value"),
        Some(_) => snake,
    }
}

/// heck keeps every Unicode alphanumeric character, and some of those (superscript digits, for
/// instance) cannot appear in an identifier. When that happens the name is rebuilt from its ASCII
/// letters and digits only.
fn ascii_fallback(converted: String, convert: impl Fn(&str) -> String) -> String {
    if converted.is_empty() || syn::parse_str::<Ident>(&converted).is_ok() {
        return converted;
    }
    let ascii: String = converted
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    convert(&ascii)
}

/// An identifier token for a name produced by [`type_name`] or [`field_name`] (or a [`Namer`]
/// from them), escaping Rust keywords: `type` becomes `r#type`.
pub fn ident(name: &str) -> Ident {
    match syn::parse_str::<Ident>(name) {
        Ok(ident) => ident,
        // The names reaching here are sanitised, so a name that does not parse is a keyword;
        // the few that cannot be raw never reach here (see `NON_RAW_KEYWORDS`,
        // `RESERVED_TYPE_NAMES`), but a suffix keeps this from panicking if one did.
        Err(_) if NON_RAW_KEYWORDS.contains(&name) || name == "Self" => {
            Ident::new(&format!("{name}_value"), Span::call_site())
        }
        Err(_) => Ident::new_raw(name, Span::call_site()),
    }
}

/// Hands out names that are unique within one scope (the `types` module, one struct's fields,
/// one enum's variants).
#[derive(Debug, Default)]
pub struct Namer {
    taken: BTreeSet<String>,
}

impl Namer {
    /// A namer for type names, with the names that must never be defined already taken.
    pub fn for_types() -> Self {
        Self::with_taken(RESERVED_TYPE_NAMES)
    }

    /// A namer where `names` are already in use.
    pub fn with_taken(names: &[&str]) -> Self {
        Self {
            taken: names.iter().map(|name| (*name).to_owned()).collect(),
        }
    }

    /// Claims `base` if free; otherwise `base` + `suffix` (when given), then `base2`, `base3`, ….
    pub fn claim(&mut self, base: &str, suffix: Option<&str>, separator: &str) -> String {
        let mut candidates = std::iter::once(base.to_owned())
            .chain(suffix.map(|suffix| format!("{base}{suffix}")))
            .chain((2u32..).map(|n| format!("{base}{separator}{n}")));
        loop {
            // The numbered candidates never run out, so this loop always ends.
            if let Some(candidate) = candidates.next() {
                if self.taken.insert(candidate.clone()) {
                    return candidate;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_follow_rust_conventions() {
        assert_eq!(field_name("MerchantID"), "merchant_id");
        assert_eq!(field_name("InstaMedAccountID"), "insta_med_account_id");
        assert_eq!(
            field_name("interfaceTransactionStatus"),
            "interface_transaction_status"
        );
        assert_eq!(field_name("1stLine"), "_1st_line");
        assert_eq!(field_name("a.b-c"), "a_b_c");
        assert_eq!(field_name("--"), "value");
    }

    #[test]
    fn type_names_are_identifiers() {
        assert_eq!(
            type_name("SecondaryCreditCardVoidRequestData"),
            "SecondaryCreditCardVoidRequestData"
        );
        assert_eq!(type_name("ArrayOfString"), "ArrayOfString");
        assert_eq!(type_name("01"), "V01");
        assert_eq!(type_name(""), "Unnamed");
        assert_eq!(type_name("x²"), "X");
    }

    #[test]
    fn keywords_are_escaped() {
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(field_name("self"), "self_value");
        assert_eq!(ident("merchant_id").to_string(), "merchant_id");
    }

    #[test]
    fn namer_resolves_collisions_deterministically() {
        let mut namer = Namer::for_types();
        assert_eq!(namer.claim("Foo", Some("Type"), ""), "Foo");
        assert_eq!(namer.claim("Foo", Some("Type"), ""), "FooType");
        assert_eq!(namer.claim("Foo", Some("Type"), ""), "Foo2");
        assert_eq!(namer.claim("String", None, ""), "String2");
        let mut fields = Namer::default();
        assert_eq!(fields.claim("id", None, "_"), "id");
        assert_eq!(fields.claim("id", None, "_"), "id_2");
    }
}
