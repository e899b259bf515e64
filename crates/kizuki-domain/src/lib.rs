//! The incident domain of Kizuki.
//!
//! Everything here is plain data and pure functions: no HTTP, no SQL, no async runtime.
//! The shape follows the NISC case study the product is built from: an incident has a
//! three-lane timeline counted in days from a start date ("Day 1"), decisions framed as
//! options with outcome scenarios, evidence with a chain of custody, observables that
//! correlate incidents, and legal clocks that start at awareness.

pub mod access;
pub mod audit;
pub mod clock;
pub mod decision;
pub mod error;
pub mod evidence;
pub mod exercise;
pub mod incident;
pub mod legal_clock;
pub mod notification;
pub mod observable;
pub mod party;
pub mod review;
pub mod settings;
pub mod task;
pub mod timeline;
pub mod user;

pub use error::{FieldError, ValidationError};

/// A string did not name any variant of a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`; expected one of: {expected}")]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

/// Declares a closed vocabulary stored and exchanged as snake_case strings.
#[macro_export]
macro_rules! string_enum {
    ($(#[$m:meta])* pub enum $name:ident : $kind:literal { $($(#[$vm:meta])* $variant:ident => $s:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$variant),)+
                    other => Err($crate::UnknownVariant {
                        kind: $kind,
                        value: other.to_owned(),
                        expected: [$($s),+].join(", "),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
