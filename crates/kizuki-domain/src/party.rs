//! The people and organisations an incident involves, with a way to reach them that still
//! works when e-mail is down (one company in the study lost e-mail for months).

use serde::{Deserialize, Serialize};

use crate::error::{Validator, limits};
use crate::{ValidationError, string_enum};

string_enum! {
    pub enum PartyKind: "party kind" {
        Internal => "internal",
        VendorForensics => "vendor_forensics",
        VendorAntivirus => "vendor_antivirus",
        VendorEdr => "vendor_edr",
        Mss => "mss",
        Hosting => "hosting",
        Jpcert => "jpcert",
        Police => "police",
        Ppc => "ppc",
        Regulator => "regulator",
        Nisc => "nisc",
        Ipa => "ipa",
        Customer => "customer",
        Supplier => "supplier",
        GroupCompany => "group_company",
        Other => "other",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Party {
    pub id: i64,
    pub incident_id: i64,
    pub kind: PartyKind,
    pub name: String,
    pub organisation: String,
    pub role: String,
    pub email: String,
    pub phone: String,
    /// The channel to use when e-mail is down: an emergency phone line, a chat room, a fax.
    pub fallback_channel: String,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewParty {
    pub kind: PartyKind,
    pub name: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub fallback_channel: String,
    #[serde(default)]
    pub notes: String,
}

/// A change to a party's details. Fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyPatch {
    pub kind: Option<PartyKind>,
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub fallback_channel: Option<String>,
    pub notes: Option<String>,
}

impl PartyPatch {
    /// The party as it would be after the change, validated as a whole.
    pub fn apply(&self, current: &Party) -> Result<NewParty, ValidationError> {
        let pick = |new: &Option<String>, old: &String| new.clone().unwrap_or_else(|| old.clone());
        let merged = NewParty {
            kind: self.kind.unwrap_or(current.kind),
            name: pick(&self.name, &current.name),
            organisation: pick(&self.organisation, &current.organisation),
            role: pick(&self.role, &current.role),
            email: pick(&self.email, &current.email),
            phone: pick(&self.phone, &current.phone),
            fallback_channel: pick(&self.fallback_channel, &current.fallback_channel),
            notes: pick(&self.notes, &current.notes),
        };
        merged.validate()?;
        Ok(merged)
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl NewParty {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("name", &self.name, limits::NAME);
        for (field, value) in [
            ("organisation", &self.organisation),
            ("role", &self.role),
            ("email", &self.email),
            ("phone", &self.phone),
            ("fallback_channel", &self.fallback_channel),
        ] {
            v.optional_text(field, value, limits::NAME);
        }
        if !self.email.is_empty() && !self.email.contains('@') {
            v.push("email", "must be an e-mail address");
        }
        v.optional_text("notes", &self.notes, limits::TEXT);
        v.finish()
    }
}
