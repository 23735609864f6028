//! An error and its causes on one line, for the commands that print errors of other crates.

/// `error: cause: cause…`, each cause said once ([`instamed_soap::error::chain`]).
pub fn chain(error: &dyn std::error::Error) -> String {
    instamed_soap::error::chain(error)
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
