//! The one error type: where in which file, and what is wrong.

use std::fmt;

use roxmltree::Node;

use crate::xml;

/// A WSDL the generator cannot turn into bindings.
///
/// Displayed as `{file}: {element path}: {message}`, or `{file}: {message}` when the problem has
/// no single element (unreadable file, malformed XML). A construct outside the supported subset
/// has a message starting with `unsupported: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    file: String,
    element_path: Option<String>,
    message: String,
}

impl Error {
    /// The file label given to the generator (the path for [`crate::generate_file`]).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The XPath-like location of the offending element, with prefixes as written in the file.
    pub fn element_path(&self) -> Option<&str> {
        self.element_path.as_deref()
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn whole_file(file: &str, message: String) -> Self {
        Self {
            file: file.to_owned(),
            element_path: None,
            message,
        }
    }

    pub(crate) fn from_problem(file: &str, problem: Problem) -> Self {
        Self {
            file: file.to_owned(),
            element_path: problem.element_path,
            message: problem.message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.element_path {
            Some(path) => write!(f, "{}: {}: {}", self.file, path, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for Error {}

/// An [`Error`] before the file label is attached: the reading and resolving code does not need
/// to know which file it works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    element_path: Option<String>,
    message: String,
}

impl Problem {
    /// A problem with the element `node`.
    pub fn at(node: Node<'_, '_>, message: impl Into<String>) -> Self {
        Self::at_path(xml::element_path(node), message)
    }

    /// A problem with the element at `element_path` (kept for elements whose node is gone by the
    /// time the problem is found).
    pub fn at_path(element_path: String, message: impl Into<String>) -> Self {
        Self {
            element_path: Some(element_path),
            message: message.into(),
        }
    }

    /// A construct outside the supported subset, at `node`.
    pub fn unsupported(node: Node<'_, '_>, what: impl fmt::Display) -> Self {
        Self::at(node, format!("unsupported: {what}"))
    }

    /// A problem with no single element.
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            element_path: None,
            message: message.into(),
        }
    }
}

/// Result of the internal steps.
pub(crate) type Result<T, E = Problem> = std::result::Result<T, E>;
