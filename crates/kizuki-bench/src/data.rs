//! Deterministic, realistic-looking synthetic incidents and timeline entries.
//!
//! Distributions are chosen so that list filters are selective: 11 categories with a skew
//! (ransomware and targeted e-mail most common), 7 phases with most incidents closed, four
//! severity levels, and one rare word ([`RARE_WORD`]) in about 1% of titles.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::incident::{
    Category, DetectionSource, Impact, IncidentFields, Phase, StartBasis,
};
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields};

/// In about 1% of titles; searched for by the list benchmark.
pub const RARE_WORD: &str = "zerologon";
/// In about 10% of titles.
pub const COMMON_WORD: &str = "vpn";
/// In no title or summary: a search that must look at every row.
pub const MISSING_WORD: &str = "xylophonist";
/// Marks the incident with the long (500-entry) timeline.
pub const BIG_MARKER: &str = "kizukibench-big-timeline";

/// SplitMix64: small, fast, good enough for test data, and reproducible from a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; returns 0 for n == 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        // `items` is never empty at the call sites (constant tables).
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        &items[i.min(items.len().saturating_sub(1))]
    }

    /// Picks by weight from `(item, weight)` pairs.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut r = self.below(total);
        for (item, w) in items {
            let w = u64::from(*w);
            if r < w {
                return *item;
            }
            r -= w;
        }
        items[items.len() - 1].0
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

const CATEGORIES: &[(Category, u32)] = &[
    (Category::Ransomware, 18),
    (Category::TargetedEmail, 16),
    (Category::UnauthorisedAccess, 14),
    (Category::DataLeak, 10),
    (Category::CloudExposure, 9),
    (Category::WebDefacement, 7),
    (Category::DenialOfService, 7),
    (Category::SupplyChain, 6),
    (Category::CryptoMining, 5),
    (Category::Insider, 4),
    (Category::Other, 4),
];

const PHASES: &[(Phase, u32)] = &[
    (Phase::Closed, 55),
    (Phase::PostIncident, 10),
    (Phase::Recovery, 9),
    (Phase::Eradication, 6),
    (Phase::Containment, 8),
    (Phase::Triage, 7),
    (Phase::Reported, 5),
];

const SEVERITIES: &[(u8, u32)] = &[(1, 45), (2, 32), (3, 17), (4, 6)];

const SOURCES: &[DetectionSource] = &[
    DetectionSource::Edr,
    DetectionSource::Ids,
    DetectionSource::Antivirus,
    DetectionSource::Monitoring,
    DetectionSource::Hunting,
    DetectionSource::UserReport,
    DetectionSource::ExternalJpcert,
    DetectionSource::ExternalCustomer,
];

const WHAT: &[&str] = &[
    "Suspicious login",
    "Encrypted file shares",
    "Phishing campaign",
    "Credential stuffing",
    "Exposed storage bucket",
    "Defaced landing page",
    "Malware beacon",
    "Unusual outbound traffic",
    "Privilege escalation",
    "Leaked customer list",
    "Compromised build server",
    "Cryptominer process",
    "Traffic flood",
    "Lost laptop",
    "Misdirected e-mail",
    "Web shell",
];

const WHERE: &[&str] = &[
    "file server",
    "payroll system",
    "mail gateway",
    "corporate website",
    "CRM",
    "domain controller",
    "ERP",
    "factory OT network",
    "customer portal",
    "HR database",
    "backup appliance",
    "developer laptop",
];

const UNITS: &[&str] = &[
    "Tokyo HQ",
    "Osaka branch",
    "Nagoya plant",
    "Fukuoka office",
    "Sapporo call centre",
    "Singapore subsidiary",
    "Logistics",
    "Sales",
    "Finance",
    "R&D",
];

const ACTORS: &[&str] = &[
    "CSIRT lead",
    "SOC analyst",
    "CISO",
    "IT operations",
    "Legal",
    "PR",
    "Vendor (forensics)",
    "Business unit manager",
];

const PHRASES: &[&str] = &[
    "Reviewed EDR telemetry for the affected hosts",
    "Isolated the host from the network",
    "Reset credentials of the affected accounts",
    "Briefed the executive committee on the current scope",
    "Collected memory image and disk snapshot for forensics",
    "Notified the data protection officer",
    "Blocked the indicator at the proxy and mail gateway",
    "Restored service from the last clean backup",
    "Confirmed no lateral movement in the last 24 hours",
    "Drafted the customer notification for legal review",
    "Opened a case with the vendor support desk",
    "Checked firewall logs for connections to the C2 address",
];

const LANES: &[Lane] = &[
    Lane::CisoCsirt,
    Lane::CisoCsirt,
    Lane::ItBusiness,
    Lane::ManagementPr,
    Lane::External,
];

const KINDS: &[EntryKind] = &[
    EntryKind::Detection,
    EntryKind::Analysis,
    EntryKind::Analysis,
    EntryKind::Containment,
    EntryKind::Communication,
    EntryKind::Decision,
    EntryKind::Recovery,
    EntryKind::Other,
];

/// The base instant all synthetic incidents are spread back from (3 years).
fn base() -> Timestamp {
    Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH) // 2026-01-01
}

/// The fields of synthetic incident number `n` (0-based).
pub fn incident(n: u64) -> IncidentFields {
    let mut rng = Rng::new(n.wrapping_mul(7919).wrapping_add(1));
    let category = rng.weighted(CATEGORIES);
    let what = rng.pick(WHAT);
    let place = rng.pick(WHERE);
    let unit = rng.pick(UNITS);
    let mut title = format!("{what} on the {place} at {unit}");
    if rng.chance(100) {
        title.push_str(" via VPN");
    }
    if rng.chance(10) {
        title.push_str(&format!(" ({RARE_WORD} suspected)"));
    }
    title.push_str(&format!(" #{n}"));
    let summary = format!(
        "{} {}. {}.",
        what,
        place,
        rng.pick(PHRASES) // reads like a first note
    );
    let secs_back = i64::try_from(rng.below(3 * 365 * 86_400)).unwrap_or(0);
    let aware_at = base()
        .checked_sub(SignedDuration::from_secs(secs_back))
        .unwrap_or_else(|_| base());
    let start_date: Date = aware_at.to_zoned_datetime(TimeZone::UTC).date();
    let personal = matches!(category, Category::DataLeak) || rng.chance(150);
    IncidentFields {
        title,
        summary,
        category,
        severity: rng.weighted(SEVERITIES),
        phase: rng.weighted(PHASES),
        detection_source: *rng.pick(SOURCES),
        start_date,
        start_basis: StartBasis::Detection,
        aware_at,
        affected_units: vec![(*unit).to_owned()],
        affected_assets: vec![(*place).to_owned()],
        impact: Impact {
            confidentiality: rng.chance(500),
            integrity: rng.chance(300),
            availability: rng.chance(400),
            personal_data: personal,
            personal_data_count: None,
            unauthorised_act: personal && category.is_attack(),
            gdpr: false,
            notes: String::new(),
        },
        restricted: false,
    }
}

/// The incident with the long timeline.
pub fn big_incident() -> IncidentFields {
    let mut f = incident(u64::MAX / 2);
    f.title = format!("Ransomware across the {BIG_MARKER} estate");
    f.category = Category::Ransomware;
    f.phase = Phase::Recovery;
    f.severity = 4;
    f
}

/// `count` timeline entries for an incident that became known at `aware_at`.
pub fn entries(seed: u64, aware_at: Timestamp, count: usize) -> Vec<TimelineEntryFields> {
    let mut rng = Rng::new(seed ^ 0x5151_5151);
    let mut at = aware_at
        .checked_sub(SignedDuration::from_hours(48))
        .unwrap_or(aware_at);
    (0..count)
        .map(|i| {
            at = at
                .checked_add(SignedDuration::from_secs(
                    60 + i64::try_from(rng.below(6 * 3600)).unwrap_or(0),
                ))
                .unwrap_or(at);
            entry(&mut rng, at, i)
        })
        .collect()
}

fn entry(rng: &mut Rng, at: Timestamp, i: usize) -> TimelineEntryFields {
    let text = format!(
        "{}. {} (step {}).",
        rng.pick(PHRASES),
        rng.pick(PHRASES),
        i + 1
    );
    TimelineEntryFields {
        occurred_at: at,
        precision: TimePrecision::Minute,
        day_part: None,
        lane: *rng.pick(LANES),
        actor: (*rng.pick(ACTORS)).to_owned(),
        kind: *rng.pick(KINDS),
        text,
        source: EntrySource::Manual,
    }
}

/// A JSON body for `POST /api/v1/incidents/{id}/timeline`.
pub fn append_body(rng: &mut Rng) -> serde_json::Value {
    serde_json::json!({
        "lane": rng.pick(LANES).as_str(),
        "kind": rng.pick(KINDS).as_str(),
        "actor": rng.pick(ACTORS),
        "text": format!("{} (bench append {}).", rng.pick(PHRASES), rng.below(1_000_000)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_word_is_rare_and_common_word_is_common() {
        let n = 20_000;
        let rare = (0..n)
            .filter(|i| incident(*i).title.contains(RARE_WORD))
            .count();
        let common = (0..n)
            .filter(|i| incident(*i).title.to_lowercase().contains(COMMON_WORD))
            .count();
        assert!((100..=300).contains(&rare), "rare: {rare}");
        assert!((1_500..=2_500).contains(&common), "common: {common}");
        assert!((0..n).all(|i| !incident(i).title.contains(MISSING_WORD)
            && !incident(i).summary.contains(MISSING_WORD)));
    }

    #[test]
    fn incidents_are_valid_for_the_default_ladder() {
        let ladder = kizuki_domain::settings::SeverityLadder::default();
        for i in 0..500 {
            incident(i).validate(&ladder, true).unwrap();
        }
        big_incident().validate(&ladder, true).unwrap();
    }
}
