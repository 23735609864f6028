//! Comparing a request with a recorded one by meaning, not by bytes.
//!
//! XML: namespace URIs (not prefixes), element order, attributes in any order, text with
//! surrounding white space ignored. Forms: unordered pairs, keys compared case-blind. JSON (the
//! REST interface): objects as unordered keys, white space ignored, numbers by their decimal
//! value (`4.0`, `4.00` and `40e-1` are one number). A recorded value may be a placeholder:
//! `{{any}}` stands for any text (also inside a value: `Ref-{{any}}`), and an element whose
//! whole text is `{{ignore}}`, or a JSON value that is the string `"{{ignore}}"`, matches that
//! element or value with any content; a value the recorder redacted (`[redacted]`) matches any
//! value.

use std::fmt;

use instamed_soap::exact_json::Json;

/// Elements nested deeper than this are not compared: the request is reported as differing.
/// A SOAP envelope nests a dozen levels; this bounds what a hostile document can cost.
pub const MAX_DEPTH: usize = 256;

/// Any text.
pub const ANY: &str = "{{any}}";
/// A whole element, whatever it holds.
pub const IGNORE: &str = "{{ignore}}";

/// The first place two requests differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Where: an element path (`/Envelope/Body/DoCreditCardSecondaryVoid/transaction/StoreID`)
    /// or a form key (`?storeid`).
    pub path: String,
    /// What the cassette has there.
    pub expected: String,
    /// What the request has there.
    pub actual: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at {}: expected {:?}, got {:?}",
            self.path, self.expected, self.actual
        )
    }
}

/// The result of a comparison: how much agreed before the first difference, and that difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// How many nodes or pairs agreed; used to name the closest cassette.
    pub agreed: usize,
    /// The first difference, if any.
    pub difference: Option<Difference>,
}

impl Comparison {
    /// Whether the two match.
    pub fn matches(&self) -> bool {
        self.difference.is_none()
    }

    fn differ(
        agreed: usize,
        path: String,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        let difference = Difference {
            path,
            expected: expected.into(),
            actual: actual.into(),
        };
        Self {
            agreed,
            difference: Some(difference),
        }
    }
}

/// Whether `actual` fits `pattern`, where each `{{any}}` stands for any text. A whole
/// recorded value of [`REDACTED`](crate::redact::REDACTED) matches any value too: what it was
/// never reached the disk (SSOService's `password`, the SSO login's `securityKey`), so there is
/// nothing to compare; which credentials a replay takes is
/// [`ExpectedCredentials`](crate::login::ExpectedCredentials)'s business.
pub fn text_matches(pattern: &str, actual: &str) -> bool {
    let pattern = pattern.trim();
    let actual = actual.trim();
    if pattern == crate::redact::REDACTED {
        return true;
    }
    let mut parts = pattern.split(ANY);
    let first = parts.next().unwrap_or("");
    if !pattern.contains(ANY) {
        return pattern == actual;
    }
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let (last, middle) = parts
        .split_last()
        .map_or(("", &[][..]), |(last, middle)| (*last, middle));
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Compares two XML documents by meaning.
pub fn xml(expected: &str, actual: &str) -> Comparison {
    let expected_doc = match roxmltree::Document::parse(expected) {
        Ok(doc) => doc,
        Err(error) => {
            return Comparison::differ(
                0,
                "/".into(),
                "well-formed XML in the cassette",
                error.to_string(),
            );
        }
    };
    let actual_doc = match roxmltree::Document::parse(actual) {
        Ok(doc) => doc,
        Err(error) => {
            return Comparison::differ(0, "/".into(), "well-formed XML", error.to_string());
        }
    };
    let mut agreed = 0;
    match element(
        expected_doc.root_element(),
        actual_doc.root_element(),
        &mut agreed,
    ) {
        Ok(()) => Comparison {
            agreed,
            difference: None,
        },
        Err(difference) => Comparison {
            agreed,
            difference: Some(difference),
        },
    }
}

/// An element's namespace and local name; `xmlns=""` is no namespace, as XML says.
fn name_of<'a>(node: roxmltree::Node<'a, '_>) -> (Option<&'a str>, &'a str) {
    let name = node.tag_name();
    (name.namespace().filter(|ns| !ns.is_empty()), name.name())
}

fn expanded(node: roxmltree::Node) -> String {
    match name_of(node) {
        (Some(ns), local) => format!("{{{ns}}}{local}"),
        (None, local) => local.to_owned(),
    }
}

fn own_text(node: roxmltree::Node) -> String {
    node.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Compares two elements and everything under them, depth-first in document order, with a
/// work list instead of recursion: a hostile document's nesting costs heap, never stack.
fn element(
    expected: roxmltree::Node,
    actual: roxmltree::Node,
    agreed: &mut usize,
) -> Result<(), Difference> {
    let mut pending = vec![(expected, actual, 0usize)];
    // The names from the root to the element being compared, for paths in differences.
    let mut names: Vec<&str> = Vec::new();
    while let Some((expected, actual, depth)) = pending.pop() {
        names.truncate(depth);
        names.push(expected.tag_name().name());
        let path = || format!("/{}", names.join("/"));
        let differ = |expected: String, actual: String| Difference {
            path: path(),
            expected,
            actual,
        };
        if depth >= MAX_DEPTH {
            return Err(differ(
                format!("at most {MAX_DEPTH} levels of nesting"),
                "deeper nesting".into(),
            ));
        }
        if name_of(expected) != name_of(actual) {
            return Err(differ(expanded(expected), expanded(actual)));
        }
        let expected_children: Vec<_> = expected.children().filter(|c| c.is_element()).collect();
        if expected_children.is_empty() && own_text(expected) == IGNORE {
            *agreed += 1;
            continue;
        }
        attributes(expected, actual).map_err(|(want, got)| differ(want, got))?;

        let (want_text, got_text) = (own_text(expected), own_text(actual));
        if !text_matches(&want_text, &got_text) {
            return Err(differ(want_text, got_text));
        }
        *agreed += 1;

        let actual_children: Vec<_> = actual.children().filter(|c| c.is_element()).collect();
        if let Some(want) = expected_children.get(actual_children.len()) {
            return Err(Difference {
                path: format!("{}/{}", path(), want.tag_name().name()),
                expected: format!("element {}", expanded(*want)),
                actual: "nothing".into(),
            });
        }
        if let Some(extra) = actual_children.get(expected_children.len()) {
            return Err(Difference {
                path: format!("{}/{}", path(), extra.tag_name().name()),
                expected: "nothing".into(),
                actual: format!("element {}", expanded(*extra)),
            });
        }
        // Reversed, so that the first child is compared first.
        for (want, got) in expected_children.into_iter().zip(actual_children).rev() {
            pending.push((want, got, depth + 1));
        }
    }
    Ok(())
}

/// Compares the attributes of two elements: `Err((expected, actual))` at the first difference.
fn attributes(expected: roxmltree::Node, actual: roxmltree::Node) -> Result<(), (String, String)> {
    let differ = |expected: String, actual: String| (expected, actual);
    let mut expected_attributes: Vec<_> = expected.attributes().collect();
    let mut actual_attributes: Vec<_> = actual.attributes().collect();
    expected_attributes.sort_by_key(|a| (a.namespace(), a.name()));
    actual_attributes.sort_by_key(|a| (a.namespace(), a.name()));
    for (position, want) in expected_attributes.iter().enumerate() {
        let got = actual_attributes
            .iter()
            .find(|a| a.name() == want.name() && a.namespace() == want.namespace());
        match got {
            Some(got) if text_matches(want.value(), got.value()) => {}
            Some(got) => {
                return Err(differ(
                    format!("@{}={}", want.name(), want.value()),
                    format!("@{}={}", got.name(), got.value()),
                ));
            }
            None => {
                return Err(differ(
                    format!("attribute {}", want.name()),
                    format!("no attribute {} ({position})", want.name()),
                ));
            }
        }
    }
    if let Some(extra) = actual_attributes.iter().find(|got| {
        !expected_attributes
            .iter()
            .any(|want| want.name() == got.name() && want.namespace() == got.namespace())
    }) {
        return Err(differ(
            "no such attribute".into(),
            format!("@{}={}", extra.name(), extra.value()),
        ));
    }
    Ok(())
}

/// Compares two form bodies (or query strings) as unordered pairs with case-blind keys.
pub fn form(expected: &str, actual: &str) -> Comparison {
    let pairs = |text: &str| -> Vec<(String, String)> {
        let mut pairs: Vec<_> = form_urlencoded::parse(text.trim().as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
        pairs.sort();
        pairs
    };
    let (want, got) = (pairs(expected), pairs(actual));
    // Pairs match one to one, so a key given twice must be given twice.
    let mut used = vec![false; got.len()];
    let mut agreed = 0;
    for (key, value) in &want {
        let same_key = |(i, (k, _)): &(usize, &(String, String))| k == key && !used[*i];
        let matching = got
            .iter()
            .enumerate()
            .filter(same_key)
            .find(|(_, (_, v))| text_matches(value, v));
        match matching {
            Some((i, _)) => {
                used[i] = true;
                agreed += 1;
            }
            None => {
                let actual = got
                    .iter()
                    .enumerate()
                    .find(same_key)
                    .map_or_else(|| "missing".to_owned(), |(_, (_, v))| v.clone());
                return Comparison::differ(agreed, format!("?{key}"), value.clone(), actual);
            }
        }
    }
    if let Some((key, value)) = got
        .iter()
        .zip(&used)
        .find(|(_, used)| !**used)
        .map(|(pair, _)| pair)
    {
        return Comparison::differ(agreed, format!("?{key}"), "missing", value.clone());
    }
    Comparison {
        agreed,
        difference: None,
    }
}

/// Compares two JSON documents by meaning. Paths name the first difference from the root `$`:
/// `$.Outlet.StoreID`, `$.Items[2]`.
pub fn json(expected: &str, actual: &str) -> Comparison {
    // Numbers are read as their text: through a float, an amount of 4.10000000000000000001
    // would match 4.10.
    let expected = match Json::parse(expected) {
        Ok(value) => value,
        Err(error) => {
            return Comparison::differ(0, "$".into(), "JSON in the cassette", error.to_string());
        }
    };
    let actual = match Json::parse(actual) {
        Ok(value) => value,
        Err(error) => return Comparison::differ(0, "$".into(), "JSON", error.to_string()),
    };
    // A name given twice says two things; neither document can be compared by one of them.
    for (document, value) in [("the cassette", &expected), ("the request", &actual)] {
        if let Some(name) = value.repeated_name() {
            return Comparison::differ(
                0,
                "$".into(),
                format!("each key once in {document}"),
                format!("key {name} twice"),
            );
        }
    }
    let mut agreed = 0;
    match json_value(&expected, &actual, &mut agreed) {
        Ok(()) => Comparison {
            agreed,
            difference: None,
        },
        Err(difference) => Comparison {
            agreed,
            difference: Some(difference),
        },
    }
}

/// Compares two JSON values depth-first, keys in sorted order so that the first difference is
/// the same whatever order either document wrote its keys in. A work list, as for XML; the
/// parser's own depth limit bounds the documents anyway. Neither document repeats a key.
fn json_value(expected: &Json, actual: &Json, agreed: &mut usize) -> Result<(), Difference> {
    let mut pending = vec![("$".to_owned(), expected, actual)];
    while let Some((path, expected, actual)) = pending.pop() {
        let differ = |want: String, got: String| Difference {
            path: path.clone(),
            expected: want,
            actual: got,
        };
        match (expected, actual) {
            (Json::String(want), _) if want.trim() == IGNORE => {}
            (Json::String(want), Json::String(got)) => {
                if !text_matches(want, got) {
                    return Err(differ(want.clone(), got.clone()));
                }
            }
            (Json::String(want), Json::Number(got)) if want.contains(ANY) => {
                if !text_matches(want, got) {
                    return Err(differ(want.clone(), got.clone()));
                }
            }
            (Json::Number(want), Json::Number(got)) => {
                if decimal(want) != decimal(got) {
                    return Err(differ(want.clone(), got.clone()));
                }
            }
            (Json::Object(want), Json::Object(got)) => {
                let mut keys: Vec<&String> = want.iter().map(|(key, _)| key).collect();
                keys.sort();
                if let Some(missing) = keys.iter().find(|key| actual.get(key).is_none()) {
                    return Err(Difference {
                        path: format!("{path}.{missing}"),
                        expected: format!("key {missing}"),
                        actual: "nothing".into(),
                    });
                }
                let mut extra: Vec<&String> = got
                    .iter()
                    .map(|(key, _)| key)
                    .filter(|key| expected.get(key).is_none())
                    .collect();
                extra.sort();
                if let Some(extra) = extra.first() {
                    return Err(Difference {
                        path: format!("{path}.{extra}"),
                        expected: "nothing".into(),
                        actual: format!("key {extra}"),
                    });
                }
                // Reversed, so that the first key is compared first.
                for key in keys.into_iter().rev() {
                    if let (Some(want), Some(got)) = (expected.get(key), actual.get(key)) {
                        pending.push((format!("{path}.{key}"), want, got));
                    }
                }
            }
            (Json::Array(want), Json::Array(got)) => {
                if want.len() != got.len() {
                    return Err(differ(
                        format!("{} items", want.len()),
                        format!("{} items", got.len()),
                    ));
                }
                for (index, (want, got)) in want.iter().zip(got).enumerate().rev() {
                    pending.push((format!("{path}[{index}]"), want, got));
                }
            }
            (want, got) if want == got => {}
            (want, got) => return Err(differ(want.to_string(), got.to_string())),
        }
        *agreed += 1;
    }
    Ok(())
}

/// A JSON number's decimal value as (sign, significant digits, exponent), so that numbers are
/// compared exactly, never through a float: `4.0`, `4.00` and `40e-1` are one value.
fn decimal(number: &str) -> (bool, String, i64) {
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(at) => (&number[..at], number[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (number, 0),
    };
    let negative = mantissa.starts_with('-');
    let mantissa = mantissa.trim_start_matches(['-', '+']);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let exponent = exponent.saturating_sub(i64::try_from(fraction.len()).unwrap_or(i64::MAX));
    let trimmed_end = digits.trim_end_matches('0');
    let exponent = exponent
        .saturating_add(i64::try_from(digits.len() - trimmed_end.len()).unwrap_or(i64::MAX));
    let significant = trimmed_end.trim_start_matches('0');
    if significant.is_empty() {
        return (false, String::new(), 0);
    }
    (negative, significant.to_owned(), exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_compared_by_meaning() {
        let recorded =
            r#"{"Outlet":{"MerchantID":"1","StoreID":"2"},"TransactionID":"AB","N":4.0}"#;
        let sent = "{ \"N\": 40e-1,\n \"TransactionID\":\"AB\", \"Outlet\": {\"StoreID\":\"2\",\"MerchantID\":\"1\"} }";
        assert!(json(recorded, sent).matches());
        assert!(json(r#"{"N":-0.50}"#, r#"{"N":-5e-1}"#).matches());
        assert!(!json(r#"{"N":1}"#, r#"{"N":10}"#).matches());
        assert!(!json(r#"{"N":"4.00"}"#, r#"{"N":4.00}"#).matches());
    }

    /// Through a float, these pairs are one number each: an amount sent would match a
    /// recorded amount it is not.
    #[test]
    fn json_numbers_are_compared_as_written_never_through_a_float() {
        for (recorded, sent) in [
            (r#"{"Amount":4.10}"#, r#"{"Amount":4.10000000000000000001}"#),
            (r#"{"Amount":5}"#, r#"{"Amount":4.999999999999999999}"#),
            (
                r#"{"N":12345678901234567890123}"#,
                r#"{"N":12345678901234567890124}"#,
            ),
        ] {
            let comparison = json(recorded, sent);
            assert!(!comparison.matches(), "{recorded} matched {sent}");
        }
        let differ = json(r#"{"Amount":4.10}"#, r#"{"Amount":4.10000000000000000001}"#)
            .difference
            .unwrap();
        assert_eq!(differ.actual, "4.10000000000000000001");
        // A key given twice is not compared by either of its values.
        let twice = json(r#"{"A":1}"#, r#"{"A":1,"A":2}"#);
        assert!(twice.difference.unwrap().actual.contains("twice"));
    }

    #[test]
    fn the_first_json_difference_is_a_path_with_both_values() {
        let recorded = r#"{"Outlet":{"MerchantID":"1","StoreID":"2"},"TransactionID":"AB"}"#;
        let sent = r#"{"TransactionID":"AB","Outlet":{"StoreID":"3","MerchantID":"1"}}"#;
        let comparison = json(recorded, sent);
        assert_eq!(
            comparison.difference.unwrap().to_string(),
            r#"at $.Outlet.StoreID: expected "2", got "3""#
        );
        assert_eq!(comparison.agreed, 3);
        let missing = json(recorded, r#"{"Outlet":{"MerchantID":"1","StoreID":"2"}}"#);
        assert_eq!(missing.difference.unwrap().path, "$.TransactionID");
        let extra = json(r#"{"A":[1]}"#, r#"{"A":[1],"B":null}"#);
        assert_eq!(extra.difference.unwrap().actual, "key B");
        let items = json(r#"{"A":[1,2]}"#, r#"{"A":[1,3]}"#).difference.unwrap();
        assert_eq!(items.path, "$.A[1]");
        assert_eq!(json("{", "{}").difference.unwrap().path, "$");
    }

    #[test]
    fn json_placeholders_match_any_text_or_any_value() {
        let recorded = r#"{"Id":"{{any}}","Ref":"R-{{any}}","Stamp":"{{ignore}}"}"#;
        assert!(json(recorded, r#"{"Id":"x","Ref":"R-9","Stamp":{"deep":[1]}}"#).matches());
        assert!(json(recorded, r#"{"Id":7,"Ref":"R-","Stamp":null}"#).matches());
        assert!(!json(recorded, r#"{"Id":"x","Ref":"Q-9","Stamp":1}"#).matches());
        assert!(!json(recorded, r#"{"Id":"x","Ref":"R-9"}"#).matches());
    }

    #[test]
    fn placeholders_match_any_text() {
        assert!(text_matches("{{any}}", "whatever"));
        assert!(text_matches("Ref-{{any}}-x", "Ref-123-x"));
        assert!(!text_matches("Ref-{{any}}-x", "Ref-123-y"));
        assert!(text_matches("a{{any}}b{{any}}c", "a1b2c"));
        assert!(!text_matches("abc", "abd"));
    }

    #[test]
    fn xml_is_compared_by_namespace_not_prefix() {
        let recorded = r#"<s:Envelope xmlns:s="urn:env"><s:Body><Op xmlns="urn:t"><A>1</A><B x="1" y="2"/></Op></s:Body></s:Envelope>"#;
        let sent = r#"<e:Envelope xmlns:e="urn:env">
            <e:Body><t:Op xmlns:t="urn:t"> <t:A> 1 </t:A><t:B y="2" x="1"></t:B></t:Op></e:Body></e:Envelope>"#;
        assert!(xml(recorded, sent).matches());
    }

    #[test]
    fn the_first_difference_is_an_element_path_with_both_values() {
        let recorded =
            r#"<Op xmlns="urn:t"><tx><MerchantID>1</MerchantID><StoreID>2</StoreID></tx></Op>"#;
        let sent =
            r#"<Op xmlns="urn:t"><tx><MerchantID>1</MerchantID><StoreID>3</StoreID></tx></Op>"#;
        let comparison = xml(recorded, sent);
        let difference = comparison.difference.unwrap();
        assert_eq!(
            difference.to_string(),
            r#"at /Op/tx/StoreID: expected "2", got "3""#
        );
        assert_eq!(comparison.agreed, 3);
        let wrong_ns = xml(recorded, &sent.replace("urn:t", "urn:other"));
        assert_eq!(wrong_ns.difference.unwrap().expected, "{urn:t}Op");
    }

    #[test]
    fn ignore_skips_a_whole_element_and_any_skips_text() {
        let recorded = "<Op><Stamp>{{ignore}}</Stamp><Id>{{any}}</Id></Op>";
        assert!(
            xml(
                recorded,
                "<Op><Stamp><Deep>x</Deep></Stamp><Id>42</Id></Op>"
            )
            .matches()
        );
        assert!(!xml(recorded, "<Op><Id>42</Id></Op>").matches());
    }

    #[test]
    fn missing_and_extra_elements_are_differences() {
        let missing = xml("<Op><A/><B/></Op>", "<Op><A/></Op>")
            .difference
            .unwrap();
        assert_eq!(
            (missing.path.as_str(), missing.actual.as_str()),
            ("/Op/B", "nothing")
        );
        let extra = xml("<Op><A/></Op>", "<Op><A/><C/></Op>")
            .difference
            .unwrap();
        assert_eq!(
            (extra.path.as_str(), extra.expected.as_str()),
            ("/Op/C", "nothing")
        );
    }

    #[test]
    fn deep_nesting_is_a_difference_not_a_crash() {
        let deep = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        let comparison = xml(&deep(5_000), &deep(5_000));
        let difference = comparison.difference.unwrap();
        assert_eq!(difference.actual, "deeper nesting");
        assert_eq!(difference.path.matches('/').count(), MAX_DEPTH + 1);
        assert!(xml(&deep(20), &deep(20)).matches());
        assert!(!xml(&deep(20), &deep(5_000)).matches());
        assert!(!xml(&deep(5_000), &deep(20)).matches());
    }

    #[test]
    fn forms_compare_as_unordered_pairs_with_case_blind_keys() {
        assert!(form("a=1&MerchantID=2", "merchantid=2&A=1").matches());
        let difference = form("a=1&b={{any}}", "a=2&b=9").difference.unwrap();
        assert_eq!(difference.to_string(), r#"at ?a: expected "1", got "2""#);
        assert!(!form("a=1", "a=1&c=3").matches());
        assert!(form("a=1&b={{any}}", "b=zz&a=1").matches());
    }
}
