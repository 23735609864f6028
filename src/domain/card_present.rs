//! How the card was present for a payment, in InstaMed's codes.

use std::fmt;
use std::str::FromStr;

use super::InvalidRequest;

/// How the card was present for the original payment, as InstaMed codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
#[allow(missing_docs)] // the variants are InstaMed's own codes, named as on the wire
pub enum CardPresentStatus {
    PresentSwipeNoSign,
    PresentSwipeSign,
    PresentEMV,
    NotPresentGenericMailOrder,
    NotPresentMailOrFax,
    NotPresentPhone,
    NotPresentInternet,
    NotPresentRecurring,
    NotPresentInstallment,
    NotPresentPayerAuth,
    /// Keyed in by hand: InstaMed's samples use it for voids.
    #[default]
    PresentManualKey,
    InAppApplePay,
    MSDContactless,
}

impl CardPresentStatus {
    /// Every code, in InstaMed's order.
    pub const ALL: [Self; 13] = [
        Self::PresentSwipeNoSign,
        Self::PresentSwipeSign,
        Self::PresentEMV,
        Self::NotPresentGenericMailOrder,
        Self::NotPresentMailOrFax,
        Self::NotPresentPhone,
        Self::NotPresentInternet,
        Self::NotPresentRecurring,
        Self::NotPresentInstallment,
        Self::NotPresentPayerAuth,
        Self::PresentManualKey,
        Self::InAppApplePay,
        Self::MSDContactless,
    ];

    /// The code as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PresentSwipeNoSign => "PresentSwipeNoSign",
            Self::PresentSwipeSign => "PresentSwipeSign",
            Self::PresentEMV => "PresentEMV",
            Self::NotPresentGenericMailOrder => "NotPresentGenericMailOrder",
            Self::NotPresentMailOrFax => "NotPresentMailOrFax",
            Self::NotPresentPhone => "NotPresentPhone",
            Self::NotPresentInternet => "NotPresentInternet",
            Self::NotPresentRecurring => "NotPresentRecurring",
            Self::NotPresentInstallment => "NotPresentInstallment",
            Self::NotPresentPayerAuth => "NotPresentPayerAuth",
            Self::PresentManualKey => "PresentManualKey",
            Self::InAppApplePay => "InAppApplePay",
            Self::MSDContactless => "MSDContactless",
        }
    }
}

impl FromStr for CardPresentStatus {
    type Err = InvalidRequest;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == code)
            .ok_or_else(|| {
                // The valid codes are listed: a person who typed one wrong needs the others.
                let valid: Vec<&str> = Self::ALL.iter().map(|status| status.as_str()).collect();
                InvalidRequest::new(
                    "PrimaryCardPresentStatus",
                    // As typed, less a card number typed in the wrong column.
                    format!(
                        "unknown code {:?}; valid: {}",
                        crate::sensitive::shown(code),
                        valid.join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for CardPresentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_code_is_said_as_typed_less_a_card_number() {
        let unknown = "Presentmanualkey".parse::<CardPresentStatus>().unwrap_err();
        assert!(
            unknown.problem.contains("\"Presentmanualkey\""),
            "{}",
            unknown.problem
        );
        let card = "4111111111111111".parse::<CardPresentStatus>().unwrap_err();
        assert!(
            !card.problem.contains("4111111111111111"),
            "{}",
            card.problem
        );
    }

    #[test]
    fn card_present_codes_round_trip() {
        for status in CardPresentStatus::ALL {
            assert_eq!(
                status.as_str().parse::<CardPresentStatus>().unwrap(),
                status
            );
        }
        assert!("Swiped".parse::<CardPresentStatus>().is_err());
    }
}
