//! How a void's refusals are told apart: by the payment's status first, by the wording only
//! where the status leaves a choice.

use super::kind::{Kind, Refused, is};
use super::wording::{UNKNOWN, says};

/// Sorts a known refusal of a void.
///
/// - `PrimaryTransactionStatus` `V`: already voided, whatever the words.
/// - Any other payment status: the payment is there and not voided. `S`/`SE` make it not
///   voidable, whatever the words; with another status the wording may pick "not voidable"
///   or "unknown payment". "Not voidable" also needs the void refused [`Refused::ByStatus`]
///   (`TransactionStatus` `D`/`X`): it advises and triggers a refund, and a request rejected
///   without that status is no declined void. Otherwise the payment's status still makes it a
///   known refusal: declined.
/// - No payment status: the wording may say "already voided" or "unknown payment", never "not
///   voidable": without statuses nothing shows the payment is there and not voided, and a
///   refund must not rest on words.
pub(super) fn void_kind_of(refused: Refused, primary: Option<&str>, wording: &str) -> Option<Kind> {
    const ALREADY_VOIDED: &[&str] = &["already void", "already been void", "previously void"];
    const NOT_VOIDABLE: &[&str] = &[
        "funds transfer",
        "transfer of funds",
        "cannot be voided",
        "can not be voided",
        "not voidable",
        "too late",
        "use a refund",
        "use refund",
        "settled",
    ];
    let text = wording.to_ascii_lowercase();
    match primary.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) if is(p, "V") => Some(Kind::AlreadyVoided),
        Some(p) => {
            let settled = is(p, "S") || is(p, "SE");
            if refused == Refused::ByStatus && (settled || says(&text, NOT_VOIDABLE)) {
                Some(Kind::NotVoidable)
            } else if !settled && says(&text, UNKNOWN) {
                Some(Kind::UnknownTransaction)
            } else {
                Some(Kind::Declined)
            }
        }
        None if says(&text, ALREADY_VOIDED) => Some(Kind::AlreadyVoided),
        None if says(&text, UNKNOWN) => Some(Kind::UnknownTransaction),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::soap::FaultCode;
    use crate::verdict::Evidence;
    use crate::verdict::testing::*;

    #[test]
    fn refusals_are_sorted_by_status_then_by_words() {
        let of = |a: Evidence| kind(&judge(a).unwrap_err());
        assert_eq!(of(answer("D", "V", "DECLINED")), "already");
        assert_eq!(of(answer("X", "V", "DECLINED")), "already");
        assert_eq!(of(answer("D", "", "Transaction already voided")), "already");
        // The payment's status says it is not voided: the words cannot say otherwise.
        assert_eq!(
            of(answer("D", "C", "Transaction already voided")),
            "declined"
        );
        assert_eq!(of(answer("D", "S", "DECLINED")), "late");
        assert_eq!(of(answer("D", "SE", "Transaction not found")), "late");
        assert_eq!(of(answer("D", "C", "Funds transfer initiated")), "late");
        assert_eq!(of(answer("D", "", "Transaction not found")), "unknown");
        assert_eq!(of(answer("D", "C", "DO NOT HONOR")), "declined");
        // Settlement words are no reason to advise a refund.
        assert_eq!(
            of(answer(
                "D",
                "C",
                "Timeout contacting the settlement database"
            )),
            "declined"
        );
    }

    #[test]
    fn a_rejected_request_is_never_not_voidable_without_transaction_status() {
        let client = |reason: &str, detail: &[(&str, &str)]| {
            judge_fault(fault(FaultCode::Sender, reason, detail), NS)
        };
        // Words alone: a fault, known to have voided nothing, and no refund advised.
        for words in [
            "Void not allowed: too late",
            "Transaction settled",
            "No funds transfer has started; void rejected",
        ] {
            let error = client(words, &[]);
            assert_eq!(kind(&error), "fault", "{words}");
            assert!(!error.outcome_unknown(), "{words}");
        }
        // The payment's status makes it a known refusal; without TransactionStatus no void was
        // declined, so it is declined, not "refund instead".
        match client("Void rejected", &[("PrimaryTransactionStatus", "S")]) {
            Error::Declined(refusal) => {
                assert!(refusal.fault.is_some());
                assert!(refusal.payment_is_not_voided());
            }
            other => panic!("{other:?}"),
        }
        // The same with TransactionStatus D is a declined void of a settled payment.
        let late = client(
            "Void rejected",
            &[
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "S"),
            ],
        );
        assert_eq!(kind(&late), "late");
        let nvp = judge_nvp_error(
            Some("400".to_owned()),
            "Void not allowed: too late".to_owned(),
            answer("", "S", ""),
            200,
        );
        assert_eq!(kind(&nvp), "declined");
    }

    #[test]
    fn without_a_payment_status_wording_never_makes_not_voidable() {
        for words in [
            "Void not allowed: funds transfer initiated",
            "Transaction has settled; use a refund",
            "Too late to void",
            "the payment isn't settled yet",
            "Payment hasn't settled",
            "no funds transfer has started",
            "not too late",
        ] {
            let error = judge(answer("D", "", words)).unwrap_err();
            match &error {
                Error::Declined(refusal) => {
                    assert_eq!(refusal.response_message.as_deref(), Some(words));
                }
                other => panic!("{words}: {other:?}"),
            }
        }
    }
}
