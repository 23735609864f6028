//! The simple types the generated fields hold, read from an element's text.

use super::{ReadError, ReadXml, XmlReader};

impl ReadXml for String {
    fn read_xml(reader: &mut XmlReader<'_>) -> Result<Self, ReadError> {
        reader.text()
    }
}

impl ReadXml for bool {
    fn read_xml(reader: &mut XmlReader<'_>) -> Result<Self, ReadError> {
        match reader.text()?.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(reader.error(format!("{other:?} is not an xs:boolean"))),
        }
    }
}

/// Text-valued types read through their `FromStr`.
macro_rules! read_parsed {
    ($($type:ty),* $(,)?) => {$(
        impl ReadXml for $type {
            fn read_xml(reader: &mut XmlReader<'_>) -> Result<Self, ReadError> {
                let text = reader.text()?;
                text.parse().map_err(|error| {
                    reader.error(format!("{text:?} is not a valid {}: {error}", stringify!($type)))
                })
            }
        }
    )*};
}

text_scalars!(read_parsed);
