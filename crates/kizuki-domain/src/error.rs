//! Validation errors always name the field, so a user knows what to fix.

use serde::Serialize;

/// One problem with one field of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Path of the offending field, e.g. `options[1].scenario`.
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An input that breaks one or more domain rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", summary(.errors))]
pub struct ValidationError {
    pub errors: Vec<FieldError>,
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationError {
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError::new(field, message)],
        }
    }
}

/// Collects field errors and turns them into a `Result` at the end.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Text must be present (after trimming) and at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.push(field, "must not be empty");
        } else {
            self.optional_text(field, value, max);
        }
    }

    /// Optional text may be empty but not longer than `max` characters, and holds no control
    /// characters other than tab and line breaks (a NUL cannot be stored everywhere).
    pub fn optional_text(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.push(field, format!("must be at most {max} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            self.push(field, "must not contain control characters");
        }
    }

    /// Instants must fall in the years 1900–2199: anything else is a typo, and not every
    /// database can store it.
    pub fn instant(&mut self, field: &str, value: jiff::Timestamp) {
        if !(EARLIEST..LATEST).contains(&value.as_second()) {
            self.push(field, "must be between the years 1900 and 2199");
        }
    }

    /// Optional instant, same bounds.
    pub fn optional_instant(&mut self, field: &str, value: Option<jiff::Timestamp>) {
        if let Some(v) = value {
            self.instant(field, v);
        }
    }

    /// Dates must fall in the years 1900–2199.
    pub fn date(&mut self, field: &str, value: jiff::civil::Date) {
        if !(1900..2200).contains(&value.year()) {
            self.push(field, "must be between the years 1900 and 2199");
        }
    }

    pub fn finish(self) -> Result<(), ValidationError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                errors: self.errors,
            })
        }
    }
}

/// 1900-01-01T00:00:00Z and 2200-01-01T00:00:00Z as Unix seconds.
const EARLIEST: i64 = -2_208_988_800;
const LATEST: i64 = 7_258_118_400;

/// Limits that keep one record from swallowing the database.
pub mod limits {
    pub const TITLE: usize = 300;
    pub const NAME: usize = 200;
    pub const TEXT: usize = 20_000;
    pub const LIST_ITEMS: usize = 500;
}
