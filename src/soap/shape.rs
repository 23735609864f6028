//! What a generated type looks like on the wire, for tools that describe the service (the
//! simulator's help pages) from the bindings instead of parsing the WSDL again.

/// The wire shape of a type: what an element of this type holds.
///
/// The generator implements it for every type it writes; the built-in types implement it with
/// the XML Schema name they map from.
pub trait Shape {
    /// What an element of this type holds.
    const CONTENT: Content;

    /// [`Self::CONTENT`], as a function: children name their type's content through it, so
    /// that a type may (through its children) contain itself.
    fn content() -> Content {
        Self::CONTENT
    }
}

/// What an element holds.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Content {
    /// Text of an XML Schema built-in type, named as the schema names it (`string`, `boolean`,
    /// `dateTime`, Microsoft's `guid`).
    Text(&'static str),
    /// One of these values, in schema order.
    Enumeration(&'static [&'static str]),
    /// Child elements, in sequence order (a base type's first).
    Elements(&'static [Child]),
}

impl Content {
    /// The child elements; none for text.
    pub const fn children(self) -> &'static [Child] {
        match self {
            Self::Elements(children) => children,
            Self::Text(_) | Self::Enumeration(_) => &[],
        }
    }
}

/// One child element of a complex type.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Child {
    /// Local name, exactly as in the schema.
    pub name: &'static str,
    /// Namespace URI (`""` for an unqualified element).
    pub namespace: &'static str,
    /// How often it occurs.
    pub occurs: Occurs,
    /// What it holds.
    pub content: fn() -> Content,
}

impl Child {
    /// A child element (used by the generated code).
    pub const fn new(
        name: &'static str,
        namespace: &'static str,
        occurs: Occurs,
        content: fn() -> Content,
    ) -> Self {
        Self {
            name,
            namespace,
            occurs,
            content,
        }
    }
}

/// How often a child element occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Occurs {
    /// Exactly once.
    Once,
    /// At most once; left out when absent.
    Optional,
    /// Exactly once, nil when absent.
    Nillable,
    /// Any number of times.
    Many,
}

macro_rules! built_in {
    ($($type:ty => $name:literal),* $(,)?) => {$(
        impl Shape for $type {
            const CONTENT: Content = Content::Text($name);
        }
    )*};
}

built_in!(
    String => "string",
    bool => "boolean",
    i8 => "byte",
    i16 => "short",
    i32 => "int",
    i64 => "long",
    u8 => "unsignedByte",
    u16 => "unsignedShort",
    u32 => "unsignedInt",
    u64 => "unsignedLong",
    f32 => "float",
    f64 => "double",
    crate::xsd::Decimal => "decimal",
    crate::xsd::DateTime => "dateTime",
    crate::xsd::Base64Binary => "base64Binary",
    crate::xsd::Guid => "guid",
);
