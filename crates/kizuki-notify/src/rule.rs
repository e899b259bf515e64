//! Notification rules: who is told about which incidents, by which route, in which words.
//!
//! A rule answers one question for the incident commander of the study's better-prepared
//! organisations: "at this level, for this kind of incident, who must hear about it?" The
//! planner below turns the matching rules into a list of sends, one per recipient and channel,
//! so a person covered by two rules is not told twice through the same route.

use kizuki_domain::ValidationError;
use kizuki_domain::error::{Validator, limits};
use kizuki_domain::incident::Category;
use kizuki_domain::settings::SeverityLadder;
use kizuki_domain::user::Role;
use serde::{Deserialize, Serialize};

/// Someone (or some group) a notification is addressed to. The server resolves it to
/// addresses when it sends; a plan keeps the symbolic form so it can be shown and audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    /// Every active user holding the role.
    Role { role: Role },
    /// One named user.
    User { user_id: i64 },
    /// An external contact from the organisation's directory (vendor, authority, customer).
    Party { party_id: i64 },
    /// Whoever the rotation names at the moment of sending, not at the moment of planning:
    /// a plan that waits in the job table must still reach the person now holding the pager.
    OnCall { rotation_id: i64 },
}

/// The route a notification takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Channel {
    Email,
    /// A configured webhook target (Slack, Teams, Mattermost or signed JSON).
    Webhook {
        webhook_id: i64,
    },
    /// A line on the incident commander's call list: for the sites one organisation in the
    /// study could only reach by telephone while e-mail was down.
    PhoneTree,
}

/// A stored notification rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationRule {
    pub id: i64,
    pub name: String,
    /// A disabled rule is kept (with its history) but plans nothing.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Incidents at this level or above match.
    pub min_severity: u8,
    /// Categories that match; empty means every category, so a new category is never
    /// silently left out of a catch-all rule.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Whether a suspicion report (not yet triaged) triggers the rule. Reports carry no
    /// judged severity, so for them this flag replaces the level threshold.
    #[serde(default)]
    pub on_reports: bool,
    pub recipients: Vec<Recipient>,
    pub channels: Vec<Channel>,
    /// The message template to use (see [`crate::template`]).
    pub template_id: String,
}

fn yes() -> bool {
    true
}

/// The facts of an incident a rule is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentFacts {
    pub severity: u8,
    pub category: Category,
    /// A suspicion report from the public form rather than a triaged incident.
    pub is_report: bool,
}

/// One send the server should make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedNotification {
    pub recipient: Recipient,
    pub channel: Channel,
    /// The template of the first rule (in the order given) that asked for this send.
    pub template_id: String,
    /// Every rule that asked for it, so the audit trail can say why someone was told.
    pub rule_ids: Vec<i64>,
}

/// Longest template identifier; identifiers are short slugs, not text.
pub const TEMPLATE_ID_MAX: usize = 100;

impl NotificationRule {
    /// Whether the rule applies to an incident with these facts.
    pub fn matches(&self, facts: &IncidentFacts) -> bool {
        if !self.enabled {
            return false;
        }
        if !self.categories.is_empty() && !self.categories.contains(&facts.category) {
            return false;
        }
        if facts.is_report {
            self.on_reports
        } else {
            facts.severity >= self.min_severity
        }
    }

    /// Checks the rule against the organisation's ladder and reports every broken field.
    pub fn validate(&self, ladder: &SeverityLadder) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("name", &self.name, limits::NAME);
        if !ladder.contains(self.min_severity) {
            v.push(
                "min_severity",
                format!(
                    "must be a level between {} and {}",
                    ladder.lowest(),
                    ladder.highest()
                ),
            );
        }
        for (i, c) in self.categories.iter().enumerate() {
            if self.categories[..i].contains(c) {
                v.push(format!("categories[{i}]"), format!("`{c}` is listed twice"));
            }
        }
        if self.recipients.is_empty() {
            v.push("recipients", "must name at least one recipient");
        }
        if self.recipients.len() > limits::LIST_ITEMS {
            v.push(
                "recipients",
                format!("must have at most {} entries", limits::LIST_ITEMS),
            );
        }
        for (i, r) in self.recipients.iter().enumerate() {
            let (name, id) = match r {
                Recipient::Role { .. } => continue,
                Recipient::User { user_id } => ("user_id", *user_id),
                Recipient::Party { party_id } => ("party_id", *party_id),
                Recipient::OnCall { rotation_id } => ("rotation_id", *rotation_id),
            };
            if id <= 0 {
                v.push(format!("recipients[{i}].{name}"), "must be a positive id");
            }
        }
        if self.channels.is_empty() {
            v.push("channels", "must name at least one channel");
        }
        for (i, c) in self.channels.iter().enumerate() {
            if let Channel::Webhook { webhook_id } = c
                && *webhook_id <= 0
            {
                v.push(format!("channels[{i}].webhook_id"), "must be a positive id");
            }
        }
        if let Some(message) = template_id_problem(&self.template_id) {
            v.push("template_id", message);
        }
        v.finish()
    }
}

/// Template ids end up in URLs and logs, so they are plain slugs.
fn template_id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("must not be empty".into());
    }
    if id.len() > TEMPLATE_ID_MAX {
        return Some(format!("must be at most {TEMPLATE_ID_MAX} characters"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Some("may hold only a–z, 0–9, `_`, `-` and `.`".into());
    }
    None
}

/// Plans the notifications for an incident: every enabled matching rule contributes its
/// recipients on each of its channels, and a recipient reached twice on the same channel is
/// planned once. The order follows the rules as given, so the caller decides precedence
/// (for example by rule id) and the plan is stable from one call to the next.
pub fn plan(rules: &[NotificationRule], facts: &IncidentFacts) -> Vec<PlannedNotification> {
    let mut planned: Vec<PlannedNotification> = Vec::new();
    for rule in rules.iter().filter(|r| r.matches(facts)) {
        for recipient in &rule.recipients {
            for channel in &rule.channels {
                match planned
                    .iter_mut()
                    .find(|p| p.recipient == *recipient && p.channel == *channel)
                {
                    Some(existing) => {
                        if !existing.rule_ids.contains(&rule.id) {
                            existing.rule_ids.push(rule.id);
                        }
                    }
                    None => planned.push(PlannedNotification {
                        recipient: *recipient,
                        channel: *channel,
                        template_id: rule.template_id.clone(),
                        rule_ids: vec![rule.id],
                    }),
                }
            }
        }
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_field(e: &ValidationError) -> Option<&str> {
        e.errors.first().map(|f| f.field.as_str())
    }

    fn rule(id: i64, min: u8, cats: &[Category], on_reports: bool) -> NotificationRule {
        NotificationRule {
            id,
            name: format!("rule {id}"),
            enabled: true,
            min_severity: min,
            categories: cats.to_vec(),
            on_reports,
            recipients: vec![Recipient::Role {
                role: Role::IncidentCommander,
            }],
            channels: vec![Channel::Email],
            template_id: "new_incident".into(),
        }
    }

    fn facts(severity: u8, category: Category, is_report: bool) -> IncidentFacts {
        IncidentFacts {
            severity,
            category,
            is_report,
        }
    }

    #[test]
    fn matching_table() {
        use Category::*;
        // (rule min, rule categories, on_reports, incident severity, category, is_report, expect)
        type Case = (u8, &'static [Category], bool, u8, Category, bool, bool);
        let cases: &[Case] = &[
            (3, &[], false, 3, Ransomware, false, true),
            (3, &[], false, 4, DataLeak, false, true),
            (3, &[], false, 2, Ransomware, false, false),
            (1, &[Ransomware], false, 1, Ransomware, false, true),
            (1, &[Ransomware], false, 4, DataLeak, false, false),
            (1, &[Ransomware, DataLeak], false, 2, DataLeak, false, true),
            // Reports: the flag decides, not the level.
            (1, &[], false, 1, Other, true, false),
            (4, &[], true, 1, Other, true, true),
            (1, &[Ransomware], true, 1, Other, true, false),
            (1, &[Ransomware], true, 1, Ransomware, true, true),
            // A rule for reports still fires for triaged incidents at its level.
            (2, &[], true, 2, Insider, false, true),
            (2, &[], true, 1, Insider, false, false),
        ];
        for (i, &(min, cats, on_reports, sev, cat, is_report, expect)) in cases.iter().enumerate() {
            let r = rule(1, min, cats, on_reports);
            assert_eq!(
                r.matches(&facts(sev, cat, is_report)),
                expect,
                "case {i}: min {min} cats {cats:?} reports {on_reports} vs {sev} {cat} {is_report}"
            );
        }
    }

    #[test]
    fn disabled_rule_never_matches() {
        let mut r = rule(1, 1, &[], true);
        r.enabled = false;
        assert!(!r.matches(&facts(4, Category::Ransomware, false)));
        assert!(!r.matches(&facts(1, Category::Ransomware, true)));
    }

    #[test]
    fn plan_deduplicates_per_recipient_and_channel() {
        let commander = Recipient::Role {
            role: Role::IncidentCommander,
        };
        let on_call = Recipient::OnCall { rotation_id: 7 };
        let ciso = Recipient::User { user_id: 42 };
        let mut a = rule(1, 1, &[], false);
        a.recipients = vec![on_call, commander];
        a.channels = vec![Channel::Email, Channel::Webhook { webhook_id: 3 }];
        let mut b = rule(2, 3, &[Category::Ransomware], false);
        b.recipients = vec![commander, ciso, commander];
        b.channels = vec![Channel::Email, Channel::PhoneTree];
        b.template_id = "severe".into();
        let mut c = rule(3, 4, &[], false); // does not match level 3
        c.recipients = vec![Recipient::Party { party_id: 9 }];

        let p = plan(&[a, b, c], &facts(3, Category::Ransomware, false));
        let got: Vec<(Recipient, Channel, &str, Vec<i64>)> = p
            .iter()
            .map(|n| {
                (
                    n.recipient,
                    n.channel,
                    n.template_id.as_str(),
                    n.rule_ids.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (on_call, Channel::Email, "new_incident", vec![1]),
                (
                    on_call,
                    Channel::Webhook { webhook_id: 3 },
                    "new_incident",
                    vec![1]
                ),
                (commander, Channel::Email, "new_incident", vec![1, 2]),
                (
                    commander,
                    Channel::Webhook { webhook_id: 3 },
                    "new_incident",
                    vec![1]
                ),
                (commander, Channel::PhoneTree, "severe", vec![2]),
                (ciso, Channel::Email, "severe", vec![2]),
                (ciso, Channel::PhoneTree, "severe", vec![2]),
            ]
        );
    }

    #[test]
    fn plan_is_empty_when_nothing_matches_and_stable_when_repeated() {
        let rules = vec![
            rule(1, 3, &[], false),
            rule(2, 1, &[Category::Ransomware], false),
        ];
        assert!(plan(&rules, &facts(2, Category::DataLeak, false)).is_empty());
        let f = facts(4, Category::Ransomware, false);
        assert_eq!(plan(&rules, &f), plan(&rules, &f));
        assert_eq!(plan(&rules, &f).len(), 1);
    }

    #[test]
    fn validation_names_each_bad_field() {
        let ladder = SeverityLadder::default();
        assert_eq!(rule(1, 1, &[], false).validate(&ladder), Ok(()));

        let mut r = rule(1, 0, &[Category::Insider, Category::Insider], false);
        r.name = "  ".into();
        r.recipients = vec![
            Recipient::User { user_id: 0 },
            Recipient::Role {
                role: Role::Executive,
            },
            Recipient::OnCall { rotation_id: -1 },
        ];
        r.channels = vec![Channel::Webhook { webhook_id: 0 }];
        r.template_id = "New Incident".into();
        let e = r.validate(&ladder).unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "min_severity",
                "categories[1]",
                "recipients[0].user_id",
                "recipients[2].rotation_id",
                "channels[0].webhook_id",
                "template_id",
            ]
        );
        assert_eq!(first_field(&e), Some("name"));
    }

    #[test]
    fn validation_table_single_fields() {
        let ladder = SeverityLadder::default();
        type Breaker = fn(&mut NotificationRule);
        let cases: &[(&str, Breaker)] = &[
            ("min_severity", |r| r.min_severity = 5),
            ("recipients", |r| r.recipients.clear()),
            ("channels", |r| r.channels.clear()),
            ("template_id", |r| r.template_id.clear()),
            ("template_id", |r| r.template_id = "a".repeat(101)),
            ("recipients[0].party_id", |r| {
                r.recipients = vec![Recipient::Party { party_id: 0 }]
            }),
            ("name", |r| r.name = "x".repeat(201)),
        ];
        for (field, breaker) in cases {
            let mut r = rule(1, 1, &[], false);
            breaker(&mut r);
            let e = r.validate(&ladder).unwrap_err();
            assert_eq!(first_field(&e), Some(*field), "{e}");
            assert_eq!(e.errors.len(), 1, "{e}");
        }
    }

    #[test]
    fn rule_json_round_trip_and_unknown_fields_are_refused() {
        let json = serde_json::json!({
            "id": 5,
            "name": "ransomware to the CISO",
            "min_severity": 3,
            "categories": ["ransomware"],
            "recipients": [{"kind": "role", "role": "executive"}, {"kind": "on_call", "rotation_id": 2}],
            "channels": [{"kind": "email"}, {"kind": "webhook", "webhook_id": 1}],
            "template_id": "new_incident"
        });
        let r: NotificationRule = serde_json::from_value(json.clone()).unwrap();
        assert!(r.enabled);
        assert!(!r.on_reports);
        assert_eq!(r.recipients[1], Recipient::OnCall { rotation_id: 2 });
        let back = serde_json::to_value(&r).unwrap();
        let again: NotificationRule = serde_json::from_value(back).unwrap();
        assert_eq!(again, r);

        let mut typo = json;
        typo["min_severty"] = serde_json::json!(2);
        let err = serde_json::from_value::<NotificationRule>(typo).unwrap_err();
        assert!(err.to_string().contains("min_severty"), "{err}");
    }
}
