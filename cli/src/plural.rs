//! Counts in words: "1 row", "3 rows", the same on a terminal and off it.

/// `count` and `noun`, the noun plural unless the count is one: "1 row", "0 rows", "2 steps".
/// Every noun the tool counts takes a plain "s".
pub fn counted(count: impl Into<u64>, noun: &str) -> String {
    let count = count.into();
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1u64, "row"), "1 row");
        assert_eq!(counted(0u64, "row"), "0 rows");
        assert_eq!(counted(2u32, "step"), "2 steps");
    }
}
