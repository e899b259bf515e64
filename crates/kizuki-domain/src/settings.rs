//! Organisation-wide settings: time zone, language, severity ladder.

use serde::{Deserialize, Serialize};

use crate::string_enum;

string_enum! {
    /// The two languages Kizuki speaks.
    pub enum Language: "language" {
        Ja => "ja",
        En => "en",
    }
}

/// One rung of the severity ladder, with the written criteria responders triage against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeverityLevel {
    pub level: u8,
    pub name_en: String,
    pub name_ja: String,
    pub criteria_en: String,
    pub criteria_ja: String,
}

/// The organisation's severity levels, lowest first, numbered 1..=N without gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeverityLadder {
    levels: Vec<SeverityLevel>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LadderError {
    #[error("the severity ladder needs at least one level")]
    Empty,
    #[error(
        "severity levels must be numbered 1, 2, 3, … in order; found {found} at position {position}"
    )]
    Gap { position: usize, found: u8 },
}

impl SeverityLadder {
    pub fn new(levels: Vec<SeverityLevel>) -> Result<Self, LadderError> {
        if levels.is_empty() {
            return Err(LadderError::Empty);
        }
        for (i, l) in levels.iter().enumerate() {
            if usize::from(l.level) != i + 1 {
                return Err(LadderError::Gap {
                    position: i + 1,
                    found: l.level,
                });
            }
        }
        Ok(Self { levels })
    }

    pub fn levels(&self) -> &[SeverityLevel] {
        &self.levels
    }

    pub fn lowest(&self) -> u8 {
        1
    }

    pub fn highest(&self) -> u8 {
        u8::try_from(self.levels.len()).unwrap_or(u8::MAX)
    }

    pub fn contains(&self, level: u8) -> bool {
        level >= 1 && level <= self.highest()
    }

    pub fn get(&self, level: u8) -> Option<&SeverityLevel> {
        self.levels.get(usize::from(level).checked_sub(1)?)
    }
}

impl Default for SeverityLadder {
    /// Four levels, as most Japanese CSIRT regulations define them.
    fn default() -> Self {
        let l = |level, name_en: &str, name_ja: &str, criteria_en: &str, criteria_ja: &str| {
            SeverityLevel {
                level,
                name_en: name_en.into(),
                name_ja: name_ja.into(),
                criteria_en: criteria_en.into(),
                criteria_ja: criteria_ja.into(),
            }
        };
        Self {
            levels: vec![
                l(
                    1,
                    "Low",
                    "低",
                    "A suspicion or a contained event on one device; no business impact and no data involved.",
                    "疑い、または端末1台で収まった事象。業務影響・情報の関与なし。",
                ),
                l(
                    2,
                    "Medium",
                    "中",
                    "Confirmed compromise of a few systems or accounts; limited impact on one unit.",
                    "少数のシステムやアカウントの侵害を確認。一部門に限られた影響。",
                ),
                l(
                    3,
                    "High",
                    "高",
                    "Business services disrupted, or personal/confidential data possibly leaked; management and PR must be engaged.",
                    "業務サービスの停止、または個人情報・機密情報の漏えいの可能性。経営層・広報の関与が必要。",
                ),
                l(
                    4,
                    "Critical",
                    "緊急",
                    "Organisation-wide outage, confirmed large leak, or harm to customers or society; full crisis response.",
                    "全社的な停止、大規模な漏えいの確定、顧客や社会への被害。全社的な危機対応。",
                ),
            ],
        }
    }
}

/// Settings that shape how incidents are shown and validated.
#[derive(Debug, Clone)]
pub struct OrgSettings {
    pub time_zone: jiff::tz::TimeZone,
    pub language: Language,
    pub severity: SeverityLadder,
    /// Whether Day 1 is, by default, the day of occurrence or of detection.
    pub start_basis: crate::incident::StartBasis,
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            time_zone: jiff::tz::TimeZone::get("Asia/Tokyo").unwrap_or(jiff::tz::TimeZone::UTC),
            language: Language::Ja,
            severity: SeverityLadder::default(),
            start_basis: crate::incident::StartBasis::Detection,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ladder_has_four_levels_with_both_languages() {
        let ladder = SeverityLadder::default();
        assert_eq!(ladder.highest(), 4);
        assert!(
            ladder
                .levels()
                .iter()
                .all(|l| !l.criteria_ja.is_empty() && !l.criteria_en.is_empty())
        );
        assert!(!ladder.contains(0));
        assert!(!ladder.contains(5));
    }

    #[test]
    fn ladder_with_a_gap_is_refused() {
        let mut levels = SeverityLadder::default().levels().to_vec();
        levels.remove(1);
        assert_eq!(
            SeverityLadder::new(levels).unwrap_err(),
            LadderError::Gap {
                position: 2,
                found: 3
            }
        );
    }

    #[test]
    fn default_zone_is_tokyo() {
        assert_eq!(
            OrgSettings::default().time_zone.iana_name(),
            Some("Asia/Tokyo")
        );
    }
}
