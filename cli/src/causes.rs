//! An error and its causes on one line, for the commands that print errors of other crates.

/// `error: cause: cause…`, each cause said once: a cause whose words its error already
/// quotes is not said again.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::chain;

    /// An error whose words may or may not quote its cause's.
    #[derive(Debug)]
    struct Journal {
        quotes: bool,
        cause: std::io::Error,
    }

    impl fmt::Display for Journal {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.quotes {
                write!(f, "cannot open the journal: {}", self.cause)
            } else {
                f.write_str("cannot open the journal")
            }
        }
    }

    impl std::error::Error for Journal {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.cause)
        }
    }

    #[test]
    fn each_cause_is_said_once() {
        for quotes in [false, true] {
            let error = Journal {
                quotes,
                cause: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
            };
            assert_eq!(chain(&error), "cannot open the journal: denied");
        }
    }
}
