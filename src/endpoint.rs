//! The service's addresses as a user writes them: checked, and shown without secrets.

use http::Uri;

use crate::call::{config, config_with};
use crate::error::Error;

/// `url` with anything written before an `@` in its authority (`user:password@`) replaced by
/// `***`, so that an address can go in an error message or a log whatever was typed into it.
pub(crate) fn masked(url: &str) -> String {
    let start = url.find("://").map_or(0, |at| at + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |at| start + at);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    }
}

/// Parses `url`, the address called `what` in messages, refusing credentials written in it:
/// HTTP Basic credentials belong in [`Credentials`](crate::Credentials), where they are kept
/// out of logs; in a URL they would be sent nowhere and shown everywhere.
pub(crate) fn parse(url: &str, what: &str) -> Result<Uri, Error> {
    let uri: Uri = url
        .parse()
        .map_err(|e| config_with(format!("{what} {} is not a URL", masked(url)), e))?;
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(config(format!(
            "{what} {} has credentials in it: give them as the account ID and password \
             (INSTAMED_ACCOUNT_ID, INSTAMED_PASSWORD), never in the URL",
            masked(url)
        )));
    }
    Ok(uri)
}

/// Whether `endpoint` is InstaMed's NVP page (`…/NVP.aspx`) rather than `service.asmx`.
pub(crate) fn is_nvp_page(endpoint: &Uri) -> bool {
    sibling(endpoint, "NVP.aspx").is_some()
}

/// `service.asmx` beside the NVP page `endpoint`, where the typed SOAP calls of an NVP client go.
pub(crate) fn soap_beside_nvp(endpoint: &Uri) -> Option<Uri> {
    let dir = sibling(endpoint, "NVP.aspx")?;
    let authority = endpoint.authority().map_or("", |a| a.as_str());
    let scheme = endpoint.scheme_str().unwrap_or("https");
    format!("{scheme}://{authority}{dir}service.asmx")
        .parse()
        .ok()
}

/// The directory part of `endpoint`'s path when its last segment is `page` (any case).
fn sibling<'a>(endpoint: &'a Uri, page: &str) -> Option<&'a str> {
    let path = endpoint.path();
    path.len()
        .checked_sub(page.len())
        .filter(|&at| path.is_char_boundary(at))
        .filter(|&at| path[at..].eq_ignore_ascii_case(page))
        .filter(|&at| at > 0 && path.as_bytes()[at - 1] == b'/')
        .map(|at| &path[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_hides_user_and_password_and_keeps_the_rest() {
        assert_eq!(
            masked("https://user:pa55@host:8443/payment/service.asmx?x=a@b"),
            "https://***@host:8443/payment/service.asmx?x=a@b"
        );
        assert_eq!(masked("user:pw@proxy:3128"), "***@proxy:3128");
        assert_eq!(masked("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(masked("https://a@b@host/"), "https://***@host/");
    }

    #[test]
    fn credentials_in_an_address_are_refused_and_never_echoed() {
        let error = parse("https://acct:s3cret@host/payment/service.asmx", "endpoint")
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains("s3cret") && !error.contains("acct"),
            "{error}"
        );
        assert!(
            error.contains("https://***@host/payment/service.asmx"),
            "{error}"
        );
        let error = parse("https://acct:s3cret@ho st/", "endpoint")
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains("s3cret") && !error.contains("acct"),
            "{error}"
        );
    }

    #[test]
    fn the_soap_address_beside_an_nvp_page() {
        let nvp: Uri = "https://h:1/payment/nvp.aspx".parse().unwrap();
        assert!(is_nvp_page(&nvp));
        assert_eq!(
            soap_beside_nvp(&nvp).unwrap(),
            "https://h:1/payment/service.asmx"
        );
        let other: Uri = "https://h/payment/MyNVP.aspx".parse().unwrap();
        assert!(!is_nvp_page(&other));
    }
}
