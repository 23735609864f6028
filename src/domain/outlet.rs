//! Where a payment was taken.

use std::sync::Arc;

use super::InvalidRequest;
use super::id::checked;

/// Where a payment was taken: InstaMed's merchant, store and terminal IDs.
///
/// Cheap to clone (the IDs are shared), so one outlet can go into every void it sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Outlet {
    merchant_id: Arc<str>,
    store_id: Arc<str>,
    terminal_id: Arc<str>,
}

impl Outlet {
    /// An outlet, if each ID is 1 to 50 characters with no control characters.
    ///
    /// ```
    /// use instamed_soap::Outlet;
    /// assert!(Outlet::new("123123123", "123", "123").is_ok());
    /// assert_eq!(Outlet::new("", "123", "123").unwrap_err().field, "MerchantID");
    /// ```
    pub fn new(
        merchant_id: impl AsRef<str>,
        store_id: impl AsRef<str>,
        terminal_id: impl AsRef<str>,
    ) -> Result<Self, InvalidRequest> {
        Ok(Self {
            merchant_id: checked("MerchantID", merchant_id.as_ref())?,
            store_id: checked("StoreID", store_id.as_ref())?,
            terminal_id: checked("TerminalID", terminal_id.as_ref())?,
        })
    }

    /// The merchant ID.
    pub fn merchant_id(&self) -> &str {
        &self.merchant_id
    }

    /// The store ID.
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// The terminal ID.
    pub fn terminal_id(&self) -> &str {
        &self.terminal_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outlet_field_is_named_in_its_error() {
        let long = "9".repeat(51);
        assert_eq!(
            Outlet::new(&long, "1", "1").unwrap_err().field,
            "MerchantID"
        );
        assert_eq!(Outlet::new("1", "", "1").unwrap_err().field, "StoreID");
        assert_eq!(
            Outlet::new("1", "1", "a\u{7}").unwrap_err().field,
            "TerminalID"
        );
        assert!(Outlet::new("9".repeat(50), "1", "1").is_ok());
    }
}
