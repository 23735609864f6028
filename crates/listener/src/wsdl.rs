//! Where a WSDL names the address of its service, so that a server can serve it naming its own:
//! as ASP.NET describes a service at the URL it is asked at, a client generated from the WSDL a
//! server gives then calls that server.

use std::ops::Range;

/// The namespaces of the WSDL address extensions: the SOAP 1.1, SOAP 1.2 and HTTP bindings'.
const ADDRESS_NAMESPACES: [&str; 3] = [
    "http://schemas.xmlsoap.org/wsdl/soap/",
    "http://schemas.xmlsoap.org/wsdl/soap12/",
    "http://schemas.xmlsoap.org/wsdl/http/",
];

/// The byte ranges of every port address's `location` value in `wsdl`, in document order;
/// `None` when `wsdl` is not XML.
pub fn address_locations(wsdl: &str) -> Option<Vec<Range<usize>>> {
    let doc = roxmltree::Document::parse(wsdl).ok()?;
    let mut locations: Vec<Range<usize>> = doc
        .descendants()
        .filter(|node| {
            node.tag_name().name() == "address"
                && node
                    .tag_name()
                    .namespace()
                    .is_some_and(|ns| ADDRESS_NAMESPACES.contains(&ns))
        })
        .flat_map(|node| node.attributes())
        .filter(|attribute| attribute.name() == "location" && attribute.namespace().is_none())
        .map(|attribute| attribute.range_value())
        .collect();
    locations.sort_by_key(|range| range.start);
    Some(locations)
}

#[cfg(test)]
mod tests {
    use super::address_locations;

    #[test]
    fn every_binding_s_address_is_found_and_nothing_else() {
        let wsdl = r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
            xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
            xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
            xmlns:other="urn:other"><service><port>
            <soap:address location="https://a/x.asmx"/></port><port>
            <soap12:address location="https://b/x.asmx"/></port><port>
            <other:address location="https://c/"/></port></service></definitions>"#;
        let found: Vec<&str> = address_locations(wsdl)
            .expect("XML")
            .into_iter()
            .map(|range| &wsdl[range])
            .collect();
        assert_eq!(found, ["https://a/x.asmx", "https://b/x.asmx"]);
        assert_eq!(address_locations("not <xml"), None);
    }
}
