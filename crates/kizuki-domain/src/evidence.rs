//! Evidence items with their hash and chain of custody, so that what a non-specialist
//! preserved on day 1 still stands up on day 100.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Validator, limits};
use crate::{ValidationError, string_enum};

string_enum! {
    pub enum CustodyAction: "custody action" {
        Collected => "collected",
        Transferred => "transferred",
        Analysed => "analysed",
        Stored => "stored",
        Returned => "returned",
        Destroyed => "destroyed",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustodyEvent {
    pub id: i64,
    pub evidence_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub action: CustodyAction,
    /// Who held or handled the item.
    pub handler: String,
    pub location: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustodyEvent {
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
    pub action: CustodyAction,
    pub handler: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidenceItem {
    pub id: i64,
    pub incident_id: i64,
    pub name: String,
    pub description: String,
    /// Lower-case hex SHA-256 of the item, when it is a file or an image.
    pub sha256: Option<String>,
    /// Where the item is now.
    pub location: String,
    pub custody: Vec<CustodyEvent>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvidence {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub location: String,
    /// Who collected it; recorded as the first custody event.
    pub collected_by: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub collected_at: Option<Timestamp>,
}

impl NewEvidence {
    /// Validates and normalises the hash to lower case.
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("name", &self.name, limits::NAME);
        v.optional_text("description", &self.description, limits::TEXT);
        v.optional_text("location", &self.location, limits::NAME);
        v.text("collected_by", &self.collected_by, limits::NAME);
        v.optional_instant("collected_at", self.collected_at);
        if let Some(h) = &self.sha256 {
            let h = h.trim().to_ascii_lowercase();
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                v.push("sha256", "must be 64 hexadecimal characters");
            }
            self.sha256 = Some(h);
        }
        v.finish()
    }
}

impl NewCustodyEvent {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("handler", &self.handler, limits::NAME);
        v.optional_text("location", &self.location, limits::NAME);
        v.optional_text("note", &self.note, limits::TEXT);
        v.optional_instant("at", self.at);
        v.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_checked_and_lower_cased() {
        let mut e = NewEvidence {
            name: "PC-0231 disk image".into(),
            description: String::new(),
            sha256: Some("AB".repeat(32)),
            location: "safe 2".into(),
            collected_by: "Sato".into(),
            collected_at: None,
        };
        e.validate().unwrap();
        assert_eq!(e.sha256.as_deref(), Some("ab".repeat(32).as_str()));
        e.sha256 = Some("xyz".into());
        assert_eq!(e.validate().unwrap_err().errors[0].field, "sha256");
    }
}
