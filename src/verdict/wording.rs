//! Reading the wording of an answer. Words only ever pick among refusals already known to be
//! refusals by their statuses or their kind of error: never whether something is a refusal.

/// Wording that says the payment named is not known.
pub(super) const UNKNOWN: &[&str] = &[
    "transaction not found",
    "payment not found",
    "unknown transaction",
    "invalid transaction id",
    "transaction does not exist",
    "no such transaction",
];

/// Whether lower-case `text` says one of `phrases`: as a word of its own (so "unsettled" and
/// "resettled" do not say "settled"), and not negated by "not", "no", "never", "nor",
/// "without" or a word ending in "n't" among the two words before it in the same clause (so
/// "not yet settled", "hasn't settled", "no funds transfer has started", "not too late" and
/// "not already voided" say the opposite). Words pick among refusals only, but a refusal
/// picked against what they say is still a wrong answer to print.
pub(super) fn says(text: &str, phrases: &[&str]) -> bool {
    phrases.iter().any(|phrase| {
        text.match_indices(phrase).any(|(at, _)| {
            let before = &text[..at];
            let joined = before
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
            let clause = before
                .rsplit(|c: char| ".,;:!?()[]\"-".contains(c))
                .next()
                .unwrap_or_default();
            let negated = clause.split_whitespace().rev().take(2).any(|word| {
                matches!(word, "not" | "no" | "never" | "nor" | "without")
                    || word.ends_with("n't")
                    || word.ends_with("n\u{2019}t")
            });
            !joined && !negated
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::testing::*;

    #[test]
    fn words_count_only_when_they_are_not_negated() {
        let settled: &[&str] = &["settled"];
        for said in [
            "transaction settled",
            "Transaction has settled; use a refund",
            "SETTLED",
            "settled.",
            "Void not allowed: settled",
        ] {
            assert!(says(&said.to_ascii_lowercase(), settled), "{said}");
        }
        for said in [
            "transaction not yet settled",
            "transaction unsettled",
            "transaction not settled",
            "has not been settled",
            "resettled",
            "the payment isn't settled yet",
            "payment hasn\u{2019}t settled",
        ] {
            assert!(!says(&said.to_ascii_lowercase(), settled), "{said}");
        }
        assert!(!says("no funds transfer has started", &["funds transfer"]));
        assert!(says(
            "void not allowed: funds transfer initiated",
            &["funds transfer"]
        ));
        assert!(says(
            "void not allowed because funds transfer initiated",
            &["funds transfer"]
        ));
        assert!(!says("not too late", &["too late"]));
        assert!(!says("transaction not already voided", &["already void"]));
        // With a payment status the words pick the refusal; negated, they pick none.
        let of = |message: &str| kind(&judge(answer("D", "C", message)).unwrap_err());
        assert_eq!(of("Transaction has settled"), "late");
        assert_eq!(of("Transaction not yet settled"), "declined");
        assert_eq!(of("Not too late; declined for another reason"), "declined");
    }
}
