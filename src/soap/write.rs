//! Writing the generated types as XML, straight into the envelope's buffer.
//!
//! The generator emits a [`WriteXml`] impl for every type next to its yaserde derives; the client
//! encodes requests with it because it costs a fraction of yaserde's event writer. Elements are
//! written ASP.NET style: an element in another namespace than its parent's default declares it
//! as its own default (`<DoCreditCardSecondaryVoid xmlns="…">`), so children need no prefix.

/// A value that can be written as the content of an element.
pub trait WriteXml {
    /// Writes the content (text, or child elements) of the element holding `self`.
    fn write_content(&self, writer: &mut XmlWriter);
}

/// Open elements whose default namespace is remembered; deeper ones declare theirs again,
/// which costs bytes, never correctness. Requests are a few levels deep.
const TRACKED_DEPTH: usize = 16;

/// Appends XML to a byte buffer, keeping track of the default namespace in scope.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: Vec<u8>,
    /// Default namespace of each open element, outermost first: the first `depth` entries
    /// (up to [`TRACKED_DEPTH`]).
    defaults: [&'static str; TRACKED_DEPTH],
    depth: usize,
}

impl XmlWriter {
    /// A writer appending to `out`, outside any element (no default namespace in scope).
    pub fn new(out: Vec<u8>) -> Self {
        Self {
            out,
            defaults: [""; TRACKED_DEPTH],
            depth: 0,
        }
    }

    /// The bytes written.
    pub fn into_inner(self) -> Vec<u8> {
        self.out
    }

    /// Writes `<local>…</local>` in `namespace` (`""` for none) holding `value`.
    pub fn element<T: WriteXml + ?Sized>(
        &mut self,
        namespace: &'static str,
        local: &str,
        value: &T,
    ) {
        self.start_tag(namespace, local);
        self.out.push(b'>');
        if let Some(slot) = self.defaults.get_mut(self.depth) {
            *slot = namespace;
        }
        self.depth += 1;
        value.write_content(self);
        self.depth -= 1;
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(local.as_bytes());
        self.out.push(b'>');
    }

    /// Writes the element when there is a value, nothing otherwise (ASP.NET leaves nulls out).
    pub fn optional<T: WriteXml>(
        &mut self,
        namespace: &'static str,
        local: &str,
        value: &Option<T>,
    ) {
        if let Some(value) = value {
            self.element(namespace, local, value);
        }
    }

    /// Writes the element when there is a value, and an empty `xsi:nil="true"` element
    /// otherwise: for elements the schema requires but lets be nil.
    pub fn nillable<T: WriteXml>(
        &mut self,
        namespace: &'static str,
        local: &str,
        value: &Option<T>,
    ) {
        match value {
            Some(value) => self.element(namespace, local, value),
            None => {
                self.start_tag(namespace, local);
                self.out.extend_from_slice(
                    b" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:nil=\"true\" />",
                );
            }
        }
    }

    /// Writes one element per item.
    pub fn repeated<T: WriteXml>(&mut self, namespace: &'static str, local: &str, items: &[T]) {
        for item in items {
            self.element(namespace, local, item);
        }
    }

    /// Writes `<local`, declaring `namespace` as the default when it is not the one in scope.
    fn start_tag(&mut self, namespace: &'static str, local: &str) {
        let in_scope = match self.depth {
            0 => Some(""),
            depth => self.defaults.get(depth - 1).copied(),
        };
        // The generated code passes the same constant down a whole request, so the pointers
        // usually settle it without comparing the text.
        let same = in_scope.is_some_and(|in_scope| {
            (in_scope.as_ptr() == namespace.as_ptr() && in_scope.len() == namespace.len())
                || in_scope == namespace
        });
        self.out.push(b'<');
        self.out.extend_from_slice(local.as_bytes());
        if !same {
            self.out.extend_from_slice(b" xmlns=\"");
            self.escaped(namespace);
            self.out.push(b'"');
        }
    }

    /// Writes text, escaping what XML needs escaped.
    pub fn text(&mut self, text: &str) {
        self.escaped(text);
    }

    fn escaped(&mut self, text: &str) {
        let out = &mut self.out;
        super::escape::escape_with(text, |piece| out.extend_from_slice(piece.as_bytes()));
    }
}

impl WriteXml for String {
    fn write_content(&self, writer: &mut XmlWriter) {
        writer.text(self);
    }
}

impl WriteXml for str {
    fn write_content(&self, writer: &mut XmlWriter) {
        writer.text(self);
    }
}

/// Values written through their `Display`, whose output needs no escaping.
macro_rules! write_displayed {
    ($($type:ty),* $(,)?) => {$(
        impl WriteXml for $type {
            fn write_content(&self, writer: &mut XmlWriter) {
                writer.text(&self.to_string());
            }
        }
    )*};
}

write_displayed!(bool);
text_scalars!(write_displayed);

#[cfg(test)]
mod tests {
    use super::*;

    struct Pair(String, Option<String>);

    impl WriteXml for Pair {
        fn write_content(&self, writer: &mut XmlWriter) {
            writer.element("urn:t", "A", &self.0);
            writer.optional("urn:t", "B", &self.1);
            writer.element("", "C", "plain");
        }
    }

    struct Flags(Option<bool>, Option<bool>);

    impl WriteXml for Flags {
        fn write_content(&self, writer: &mut XmlWriter) {
            writer.nillable("urn:t", "Known", &self.0);
            writer.nillable("urn:t", "Unknown", &self.1);
        }
    }

    #[test]
    fn a_nillable_element_is_always_written_and_nil_when_absent() {
        let mut writer = XmlWriter::new(Vec::new());
        writer.element("urn:t", "Op", &Flags(Some(true), None));
        let xml = String::from_utf8(writer.into_inner()).unwrap();
        assert_eq!(
            xml,
            "<Op xmlns=\"urn:t\"><Known>true</Known><Unknown \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:nil=\"true\" /></Op>"
        );
        let document = roxmltree::Document::parse(&xml).unwrap();
        let unknown = document
            .descendants()
            .find(|node| node.has_tag_name(("urn:t", "Unknown")))
            .unwrap();
        assert_eq!(
            unknown.attribute(("http://www.w3.org/2001/XMLSchema-instance", "nil")),
            Some("true")
        );
    }

    #[test]
    fn namespaces_are_declared_once_as_the_default_and_text_is_escaped() {
        let mut writer = XmlWriter::new(Vec::new());
        writer.element("urn:t", "Op", &Pair("a<b & \"c\"\r".into(), None));
        let xml = String::from_utf8(writer.into_inner()).unwrap();
        assert_eq!(
            xml,
            "<Op xmlns=\"urn:t\"><A>a&lt;b &amp; &quot;c&quot;&#13;</A><C xmlns=\"\">plain</C></Op>"
        );
    }
}
