//! Namespace scope: the declarations in force, which the prefixes of names resolve through, and
//! the rules of Namespaces 1.0 for what may be declared.

use std::borrow::Cow;

use super::{ReadError, XmlReader};

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The namespace the `xml` prefix is bound to without a declaration.
const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// The namespace of `xmlns` itself, which nothing may be bound to.
const XMLNS: &str = "http://www.w3.org/2000/xmlns/";

/// A namespace declaration in scope.
pub(super) struct Binding<'i> {
    /// The declared prefix, `""` for the default namespace.
    pub(super) prefix: &'i str,
    /// The namespace URI, `""` where `xmlns=""` undeclares the default.
    pub(super) uri: Cow<'i, str>,
    /// Depth of the element that declares it.
    pub(super) depth: usize,
}

impl<'i> XmlReader<'i> {
    /// Drops the declarations of elements that have closed.
    #[inline]
    pub(super) fn leave_scopes(&mut self) {
        while self.bindings.last().is_some_and(|b| b.depth > self.depth) {
            self.bindings.pop();
        }
    }

    /// Checks a namespace declaration against Namespaces 1.0 (and its errata): `xmlns` is
    /// never declared, `xml` only to its own namespace, neither namespace to anything else,
    /// and a prefix is not undeclared.
    pub(super) fn check_declaration(
        &self,
        at: usize,
        prefix: &str,
        uri: &str,
    ) -> Result<(), ReadError> {
        let problem = match (prefix, uri) {
            ("xmlns", _) => "the xmlns prefix declared",
            ("xml", XML) => return Ok(()),
            ("xml", _) => "the xml prefix bound to another namespace",
            (_, XML) => "the XML namespace bound to a prefix other than xml",
            (_, XMLNS) => "the xmlns namespace bound to a prefix",
            ("", _) => return Ok(()),
            (_, "") => "a prefix bound to no namespace",
            _ => return Ok(()),
        };
        Err(self.error_at(at, format!("{problem} ({prefix:?})")))
    }

    /// Resolves the prefixes of the start tag's prefixed attributes (an undeclared one is an
    /// error), refuses two with the same namespace and local name, and says whether one is
    /// `xsi:nil="true"`.
    pub(super) fn prefixed_pass(&self, at: usize) -> Result<bool, ReadError> {
        let mut nil = false;
        let mut expanded: Vec<(&str, &str)> = Vec::new();
        for (name, value) in self.attribute_list() {
            let Some((prefix, local)) = name.split_once(':') else {
                continue;
            };
            if prefix == "xmlns" {
                continue;
            }
            let Some(namespace) = self.lookup(prefix) else {
                return Err(self.error_at(at, format!("undeclared namespace prefix {prefix:?}")));
            };
            if local == "nil" && namespace == XSI {
                nil = matches!(self.attribute_value(value)?.as_ref(), "true" | "1");
            }
            if self.prefixed_attributes > 1 {
                expanded.push((namespace, local));
            }
        }
        if expanded.len() > 1 {
            expanded.sort_unstable();
            if let Some(pair) = expanded.windows(2).find(|pair| pair[0] == pair[1]) {
                let (namespace, local) = pair[0];
                return Err(self.error_at(
                    at,
                    format!("attribute {{{namespace}}}{local} appears twice"),
                ));
            }
        }
        Ok(nil)
    }

    /// The namespace `prefix` is bound to in the current scope (`""` for the default
    /// namespace); `None` when it is not declared.
    pub(super) fn lookup(&self, prefix: &str) -> Option<&Cow<'i, str>> {
        static XML_BINDING: Cow<'static, str> = Cow::Borrowed(XML);
        if prefix == "xml" {
            return Some(&XML_BINDING);
        }
        // Unprefixed names are the usual case: find the default without comparing text.
        let declares = |binding: &&Binding<'i>| match prefix {
            "" => binding.prefix.is_empty(),
            _ => binding.prefix == prefix,
        };
        self.bindings
            .iter()
            .rev()
            .find(declares)
            .map(|binding| &binding.uri)
    }
}
