//! Errors that point at the place in a playbook file that needs fixing.

use std::fmt;

/// One problem in one playbook file.
///
/// Displayed as `file:line:column: field.path: message`, e.g.
/// `ransomware.yml:41:15: phases[2].tasks[0].lane: unknown lane "it"; expected one of …`.
/// Line and column are 1-based; they are absent only when the file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookError {
    /// The file name (or path) as given to the parser.
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The field path, e.g. `phases[2].tasks[0].lane`; empty for the document as a whole.
    pub path: String,
    pub message: String,
}

impl PlaybookError {
    pub(crate) fn new(
        file: &str,
        line: Option<u32>,
        column: Option<u32>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_owned(),
            line: line.filter(|l| *l > 0),
            column: column.filter(|c| *c > 0),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlaybookError {}

/// Every problem found, in file and source order. Displayed one error per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaybookErrors {
    errors: Vec<PlaybookError>,
}

impl PlaybookErrors {
    pub fn new(errors: Vec<PlaybookError>) -> Self {
        Self { errors }
    }

    pub fn errors(&self) -> &[PlaybookError] {
        &self.errors
    }

    pub fn into_vec(self) -> Vec<PlaybookError> {
        self.errors
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, PlaybookError> {
        self.errors.iter()
    }

    pub(crate) fn push(&mut self, e: PlaybookError) {
        self.errors.push(e);
    }

    pub(crate) fn extend(&mut self, other: PlaybookErrors) {
        self.errors.extend(other.errors);
    }
}

impl From<PlaybookError> for PlaybookErrors {
    fn from(e: PlaybookError) -> Self {
        Self { errors: vec![e] }
    }
}

impl IntoIterator for PlaybookErrors {
    type Item = PlaybookError;
    type IntoIter = std::vec::IntoIter<PlaybookError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a PlaybookErrors {
    type Item = &'a PlaybookError;
    type IntoIter = std::slice::Iter<'a, PlaybookError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for PlaybookErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlaybookErrors {}
