//! RFC 3339 timestamps for the journal, in UTC to the millisecond.

use std::time::SystemTime;

/// `at` as `YYYY-MM-DDThh:mm:ss.mmmZ`, by the well-kept `humantime` the command-line tool
/// already uses; a time before 1970 (a clock set wrong) reads as the epoch.
pub(super) fn rfc3339(at: SystemTime) -> String {
    let at = at.max(SystemTime::UNIX_EPOCH);
    humantime::format_rfc3339_millis(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::rfc3339;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn dates_read_as_a_calendar_does() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000Z"
        );
        // 2024-02-29T12:34:56.789Z: a leap day.
        let at = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(rfc3339(at), "2024-02-29T12:34:56.789Z");
        let at = UNIX_EPOCH + Duration::from_secs(1_798_761_599);
        assert_eq!(rfc3339(at), "2026-12-31T23:59:59.000Z");
    }
}
