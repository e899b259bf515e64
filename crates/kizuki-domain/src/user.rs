//! People who use Kizuki and the tokens their scripts use.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Validator;
use crate::{ValidationError, string_enum};

string_enum! {
    /// Roles match the people of PRODUCT.md; the permission matrix comes with the security work.
    pub enum Role: "role" {
        Admin => "admin",
        IncidentCommander => "incident_commander",
        Responder => "responder",
        Executive => "executive",
        PrLegal => "pr_legal",
        BusinessUnit => "business_unit",
        Reporter => "reporter",
        ExternalResponder => "external_responder",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

impl NewUser {
    /// Normalises the address (trimmed, lower case) and checks its shape.
    pub fn new(email: &str, display_name: &str, role: Role) -> Result<Self, ValidationError> {
        let email = email.trim().to_lowercase();
        let mut v = Validator::new();
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !email.chars().any(char::is_whitespace);
        if !valid {
            v.push(
                "email",
                "must be an e-mail address such as csirt@example.jp",
            );
        }
        v.optional_text("display_name", display_name, crate::error::limits::NAME);
        v.finish()?;
        let display_name = if display_name.trim().is_empty() {
            email.clone()
        } else {
            display_name.trim().to_owned()
        };
        Ok(Self {
            email,
            display_name,
            role,
        })
    }
}

/// An API token as stored: only the hash of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Hashes a token secret for storage and lookup. Tokens are 256-bit random values, so a
/// fast hash is enough; a slow one would only slow every API request.
pub fn token_hash(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// The prefix that makes a leaked Kizuki token recognisable to secret scanners.
pub const TOKEN_PREFIX: &str = "kzk_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        let u = NewUser::new(" CSIRT@Example.JP ", "", Role::Responder).unwrap();
        assert_eq!(u.email, "csirt@example.jp");
        assert_eq!(u.display_name, "csirt@example.jp");
        let e = NewUser::new("not-an-address", "", Role::Responder).unwrap_err();
        assert_eq!(e.errors[0].field, "email");
    }

    #[test]
    fn token_hash_is_stable_hex() {
        assert_eq!(token_hash("kzk_a"), token_hash("kzk_a"));
        assert_ne!(token_hash("kzk_a"), token_hash("kzk_b"));
        assert_eq!(token_hash("x").len(), 64);
    }
}
