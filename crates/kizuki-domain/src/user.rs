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
    /// A second factor (TOTP) is set up.
    pub mfa_enabled: bool,
    /// A deactivated user cannot log in or use tokens; their history stays.
    pub active: bool,
    /// The language this person last chose for pages (and will be written to in); `None`
    /// until they choose, when the browser's and then the organisation's language apply.
    #[serde(default)]
    pub language: Option<crate::settings::Language>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// What a login checks, read together with the user. Never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCredentials {
    pub user: User,
    /// Argon2id PHC string; `None` until a password is set (e.g. an open enrolment link).
    pub password_hash: Option<String>,
    /// Base32 TOTP secret once enrolment is confirmed.
    pub totp_secret: Option<String>,
    /// A secret offered at enrolment, waiting for the first correct code.
    pub totp_pending_secret: Option<String>,
    /// The last TOTP time step accepted; a code for this step or an earlier one is a replay.
    pub totp_last_step: Option<i64>,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "totp_secret",
                &self.totp_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

string_enum! {
    /// How far a browser session has got through login.
    pub enum SessionStage: "session_stage" {
        /// Password accepted, but the role requires MFA and none is set up: only enrolment is allowed.
        EnrolMfa => "enrol_mfa",
        /// Fully logged in.
        Full => "full",
    }
}

/// A browser session as stored: the secret in the cookie is kept only as a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub stage: SessionStage,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: Timestamp,
    /// The absolute end, however active the session is.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub address: Option<String>,
    pub user_agent: String,
}

/// A session being opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub user_id: i64,
    pub secret_hash: String,
    pub stage: SessionStage,
    pub expires_at: Timestamp,
    pub address: Option<String>,
    pub user_agent: String,
}

string_enum! {
    /// Whether a token may change things or only read them.
    pub enum TokenAccess: "access" {
        Read => "read",
        Write => "write",
    }
}

string_enum! {
    /// What a token may reach. `All` covers everything the user can reach.
    pub enum TokenResource: "resource" {
        All => "all",
        Incidents => "incidents",
        Timeline => "timeline",
        Tasks => "tasks",
        Decisions => "decisions",
        Parties => "parties",
        Evidence => "evidence",
        Observables => "observables",
        LegalClocks => "legal_clocks",
        Reference => "reference",
        /// Reviews, lessons, corrective actions, reports and exercises.
        Review => "review",
        Users => "users",
        Audit => "audit",
    }
}

/// What a token may do: never more than its user may.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenScope {
    pub access: TokenAccess,
    pub resources: Vec<TokenResource>,
}

impl TokenScope {
    /// Everything the user can do (the CLI's default for an operator's own token).
    pub fn full() -> Self {
        Self {
            access: TokenAccess::Write,
            resources: vec![TokenResource::All],
        }
    }

    /// Whether this scope covers touching `resource`, writing when `write` is set.
    pub fn allows(&self, resource: TokenResource, write: bool) -> bool {
        (!write || self.access == TokenAccess::Write)
            && self
                .resources
                .iter()
                .any(|r| *r == TokenResource::All || *r == resource)
    }
}

/// A person on an incident's need-to-know list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub added_at: Timestamp,
}

/// The member who keeps one lane of an incident's timeline moving: its entries written and
/// its tasks done. In the study's slow cases nobody owned the management lane, so decisions
/// waited; naming an owner per lane makes the gap visible on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LaneOwner {
    pub lane: crate::timeline::Lane,
    pub user_id: i64,
    pub display_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub assigned_at: Timestamp,
}

/// A stored count of consecutive failed logins for one e-mail address (known or not, so
/// that unknown and real accounts behave alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginFailures {
    pub failures: u32,
    pub last_failure_at: Option<Timestamp>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub scope: TokenScope,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
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
}
