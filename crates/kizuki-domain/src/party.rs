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
