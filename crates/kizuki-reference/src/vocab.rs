//! The closed vocabularies of the reference library, each with bilingual labels.

use kizuki_domain::settings::Language;

/// The appendix categories are the domain's, since incidents' own lessons use them too.
pub use kizuki_domain::review::LessonCategory;

/// A string did not name any variant of one of this crate's vocabularies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`; expected one of: {expected}")]
pub struct UnknownTerm {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! vocabulary {
    ($(#[$m:meta])* pub enum $name:ident : $kind:literal {
        $($(#[$vm:meta])* $variant:ident => $s:literal, $ja:literal, $en:literal;)+
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $variant),+
        }

        impl $name {
            /// Every term, in the order the vocabulary is documented.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The identifier used in data files and APIs.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// A human-readable name.
            pub fn label(self, lang: Language) -> &'static str {
                match (self, lang) {
                    $(($name::$variant, Language::Ja) => $ja,
                      ($name::$variant, Language::En) => $en,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownTerm;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$variant),)+
                    other => Err(UnknownTerm {
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

vocabulary! {
    /// What kind of organisation a case happened to (the study anonymises all but one).
    pub enum OrganisationType: "organisation type" {
        HostingProvider => "hosting_provider", "Webホスティング事業者", "Web hosting provider";
        GlobalGroup => "global_group", "海外拠点を多数持つ企業グループ", "Corporate group with many overseas sites";
        MultiSiteCompany => "multi_site_company", "国内に多数の拠点を持つ企業", "Company with many sites in Japan";
        Manufacturer => "manufacturer", "工場を持つ製造業", "Manufacturer with factories";
        CloudServiceProvider => "cloud_service_provider", "クラウドサービス事業者", "Cloud service provider";
        ItServices => "it_services", "ITサービス・ソリューション企業", "IT services company";
        AcademicResearch => "academic_research", "学術研究機関（大学等）", "Academic research institution";
        ServiceGroup => "service_group", "グループ会社を持つサービス企業", "Service company with group companies";
    }
}

vocabulary! {
    /// How the attacker got in or what weakness the attack relied on.
    pub enum AttackVector: "attack vector" {
        VulnerableServer => "vulnerable_server", "既知の脆弱性が残るサーバ", "Server with a known, unpatched vulnerability";
        UnpatchedDevice => "unpatched_device", "パッチ未適用の端末・IoT機器", "Unpatched PC or IoT device";
        PhishingEmail => "phishing_email", "なりすましメール・不正な添付ファイル", "Spoofed e-mail with a malicious attachment";
        StolenCredentials => "stolen_credentials", "正規アカウントの不正利用", "Stolen or hijacked legitimate account";
        PasswordGuessing => "password_guessing", "パスワードの推測・総当たり", "Password guessing (dictionary or brute force)";
        PasswordReuse => "password_reuse", "パスワードの使い回し", "Reused passwords";
        WeakAuthentication => "weak_authentication", "パスワードだけの認証", "Password-only authentication";
        StaleAccount => "stale_account", "放置された不要アカウント", "Unneeded account left active";
        Misconfiguration => "misconfiguration", "設定の誤り", "Misconfiguration";
        Supplier => "supplier", "取引先経由", "Through a supplier or business partner";
        GroupCompany => "group_company", "グループ会社経由", "Through a group company";
        CloudService => "cloud_service", "外部クラウドサービスとの連携", "External cloud service and its integration";
        UnknownMalware => "unknown_malware", "既存の対策ソフトで検知できない未知のマルウェア", "Malware unknown to signature-based antivirus";
    }
}

vocabulary! {
    /// What the case counts as Day 1 (the study uses either, depending on the case).
    pub enum StartBasis: "start basis" {
        Occurrence => "occurrence", "攻撃の発生日", "Day the attack happened";
        Detection => "detection", "検知日", "Day of detection";
    }
}
