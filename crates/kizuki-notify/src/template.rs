//! Message templates an administrator can edit: `{{incident.title}}` and nothing cleverer.
//!
//! The language is deliberately tiny. A template is text with fields in double braces; the
//! fields come from a fixed list ([`Field`]), and which of them a message may use depends on
//! its [`TemplateKind`] (a new-incident message has no legal clock to speak of). There are no
//! expressions, filters, loops or includes, so an administrator's template can never run code
//! or read data it was not handed, and every mistake is found when the template is saved, not
//! at 3 a.m. when the message is due: parsing names the line and column of an unknown field or
//! an unclosed `{{`.
//!
//! Syntax: `{{` always opens a field and `}}` closes it; spaces inside the braces are allowed
//! (`{{ incident.title }}`). A `}}` with no opening `{{` is an error, because it is almost
//! always a typo for a field (`{incident.title}}`). Single braces are ordinary text.
//!
//! Values are plain text, already formatted for the reader (dates in the organisation's zone
//! and the recipient's language). Rendering produces plain text; for an HTML body, escape each
//! value with [`html_escape`] before rendering, so the template's own text is left as written.

use std::collections::BTreeMap;
use std::fmt;

use kizuki_domain::settings::Language;
use kizuki_domain::{FieldError, ValidationError};
use serde::{Deserialize, Serialize};

macro_rules! fields {
    ($($(#[$m:meta])* $variant:ident => $name:literal),+ $(,)?) => {
        /// A value a template may show. The list is closed and documented here, so the
        /// template editor can offer it and an unknown name is caught at once.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $($(#[$m])* $variant),+
        }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant),+];

            /// The name written between the braces.
            pub fn name(self) -> &'static str {
                match self { $(Field::$variant => $name),+ }
            }

            pub fn from_name(name: &str) -> Option<Field> {
                match name {
                    $($name => Some(Field::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

fields! {
    /// The incident's number.
    IncidentId => "incident.id",
    IncidentTitle => "incident.title",
    /// The level number on the organisation's ladder.
    IncidentSeverity => "incident.severity",
    /// The level's name in the reader's language ("High", "高").
    IncidentSeverityName => "incident.severity_name",
    /// The category's label in the reader's language.
    IncidentCategory => "incident.category",
    IncidentPhase => "incident.phase",
    /// The incident page.
    IncidentUrl => "incident.url",
    /// When the organisation became aware, in its own zone.
    IncidentAwareAt => "incident.aware_at",
    /// The study's day label for now ("Day 3").
    Day => "day",
    /// The signed acknowledgement link (see [`crate::ack`]).
    AckUrl => "ack_url",
    /// The person the message is addressed to.
    RecipientName => "recipient.name",
    /// Which escalation step this is (1 = the first after the initial message).
    EscalationStep => "escalation.step",
    /// How long the incident has waited unacknowledged, in minutes.
    EscalationWaitedMinutes => "escalation.waited_minutes",
    /// The legal obligation ("APPI preliminary report").
    ClockName => "clock.name",
    ClockDueAt => "clock.due_at",
    /// Time left or time past, as words ("about 5 hours left").
    ClockTimeLeft => "clock.time_left",
    ActionTitle => "action.title",
    ActionOwner => "action.owner",
    ActionDueDate => "action.due_date",
    /// Days left or late, as words ("due in 3 days", "2 days overdue").
    ActionDays => "action.days",
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a message is about; it decides which fields exist for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    NewIncident,
    Escalation,
    ClockDueSoon,
    ClockOverdue,
    ActionReminder,
}

impl TemplateKind {
    pub const ALL: &'static [TemplateKind] = &[
        TemplateKind::NewIncident,
        TemplateKind::Escalation,
        TemplateKind::ClockDueSoon,
        TemplateKind::ClockOverdue,
        TemplateKind::ActionReminder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::NewIncident => "new_incident",
            TemplateKind::Escalation => "escalation",
            TemplateKind::ClockDueSoon => "clock_due_soon",
            TemplateKind::ClockOverdue => "clock_overdue",
            TemplateKind::ActionReminder => "action_reminder",
        }
    }

    /// The fields a message of this kind may use; the server must supply every one.
    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            TemplateKind::NewIncident => &[
                IncidentId,
                IncidentTitle,
                IncidentSeverity,
                IncidentSeverityName,
                IncidentCategory,
                IncidentPhase,
                IncidentUrl,
                IncidentAwareAt,
                Day,
                AckUrl,
                RecipientName,
            ],
            TemplateKind::Escalation => &[
                IncidentId,
                IncidentTitle,
                IncidentSeverity,
                IncidentSeverityName,
                IncidentCategory,
                IncidentPhase,
                IncidentUrl,
                IncidentAwareAt,
                Day,
                AckUrl,
                RecipientName,
                EscalationStep,
                EscalationWaitedMinutes,
            ],
            TemplateKind::ClockDueSoon | TemplateKind::ClockOverdue => &[
                IncidentId,
                IncidentTitle,
                IncidentSeverity,
                IncidentSeverityName,
                IncidentCategory,
                IncidentPhase,
                IncidentUrl,
                IncidentAwareAt,
                Day,
                RecipientName,
                ClockName,
                ClockDueAt,
                ClockTimeLeft,
            ],
            TemplateKind::ActionReminder => &[
                IncidentId,
                IncidentTitle,
                IncidentUrl,
                RecipientName,
                ActionTitle,
                ActionOwner,
                ActionDueDate,
                ActionDays,
            ],
        }
    }

    pub fn has(self, field: Field) -> bool {
        self.fields().contains(&field)
    }
}

impl fmt::Display for TemplateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong at one place in a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("unknown field `{name}`")]
    UnknownField { name: String },
    #[error("the field `{field}` is not available in a {kind} message")]
    NotAvailable { field: Field, kind: TemplateKind },
    #[error("`{{{{` is not closed with `}}}}` on the same line")]
    Unclosed,
    #[error("`{{{{}}}}` names no field")]
    EmptyField,
    #[error("`}}}}` has no matching `{{{{`")]
    StrayClose,
    #[error("a subject must be a single line")]
    LineBreakInSubject,
}

/// A problem with its place, 1-based, counting characters (not bytes) so the editor can put
/// the cursor on it whatever the script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {problem}")]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Field),
}

/// A parsed template: only known, available fields remain, so rendering can fail only for a
/// value the caller forgot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// The values to fill in, already formatted for the reader.
pub type Values = BTreeMap<Field, String>;

/// Rendering needed a value the caller did not supply: a server bug, not an author's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no value for the field `{field}`")]
pub struct RenderError {
    pub field: Field,
}

impl Template {
    /// Parses a template for a message of `kind`, reporting every problem found.
    pub fn parse(source: &str, kind: TemplateKind) -> Result<Template, Vec<SyntaxError>> {
        let chars: Vec<char> = source.chars().collect();
        let mut parts = Vec::new();
        let mut errors = Vec::new();
        let mut text = String::new();
        let (mut line, mut column) = (1usize, 1usize);
        let mut i = 0;
        let at =
            |k: usize, a: char, b: char| chars.get(k) == Some(&a) && chars.get(k + 1) == Some(&b);
        while i < chars.len() {
            if at(i, '{', '{') {
                let (open_line, open_column) = (line, column);
                let error = |problem| SyntaxError {
                    line: open_line,
                    column: open_column,
                    problem,
                };
                // The field ends at the first `}}`, unless a line break or another `{{`
                // comes first: then this one was never closed.
                let mut j = i + 2;
                let mut close = None;
                while j < chars.len() {
                    if at(j, '}', '}') {
                        close = Some(j);
                        break;
                    }
                    if chars[j] == '\n' || at(j, '{', '{') {
                        break;
                    }
                    j += 1;
                }
                let Some(close) = close else {
                    errors.push(error(Problem::Unclosed));
                    // Keep the braces as text and go on, so later mistakes are found too.
                    text.push_str("{{");
                    i += 2;
                    column += 2;
                    continue;
                };
                let name: String = chars[i + 2..close].iter().collect();
                let name = name.trim();
                match Field::from_name(name) {
                    _ if name.is_empty() => errors.push(error(Problem::EmptyField)),
                    None => errors.push(error(Problem::UnknownField {
                        name: name.to_owned(),
                    })),
                    Some(field) if !kind.has(field) => {
                        errors.push(error(Problem::NotAvailable { field, kind }))
                    }
                    Some(field) => {
                        if !text.is_empty() {
                            parts.push(Part::Text(std::mem::take(&mut text)));
                        }
                        parts.push(Part::Field(field));
                    }
                }
                column += close + 2 - i;
                i = close + 2;
                continue;
            }
            if at(i, '}', '}') {
                errors.push(SyntaxError {
                    line,
                    column,
                    problem: Problem::StrayClose,
                });
                text.push_str("}}");
                i += 2;
                column += 2;
                continue;
            }
            let c = chars[i];
            text.push(c);
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
            i += 1;
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        if errors.is_empty() {
            Ok(Template { parts })
        } else {
            Err(errors)
        }
    }

    /// The fields the template shows, in order of first use.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = Vec::new();
        for p in &self.parts {
            if let Part::Field(f) = p
                && !out.contains(f)
            {
                out.push(*f);
            }
        }
        out
    }

    /// Fills in the values as they are.
    pub fn render(&self, values: &Values) -> Result<String, RenderError> {
        self.render_with(values, |v, out| out.push_str(v))
    }

    /// Fills in the values with every control character (line breaks included) turned into a
    /// space: a value put into an e-mail subject must not be able to start a new header.
    pub fn render_line(&self, values: &Values) -> Result<String, RenderError> {
        let mut rendered = self.render_with(values, |v, out| {
            out.extend(v.chars().map(|c| if c.is_control() { ' ' } else { c }))
        })?;
        rendered.retain(|c| c != '\r' && c != '\n');
        Ok(rendered)
    }

    fn render_with(
        &self,
        values: &Values,
        put: impl Fn(&str, &mut String),
    ) -> Result<String, RenderError> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(field) => {
                    let value = values.get(field).ok_or(RenderError { field: *field })?;
                    put(value, &mut out);
                }
            }
        }
        Ok(out)
    }
}

/// Escapes text for an HTML body, attribute values included.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A subject and a body, parsed together as an administrator saves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    pub kind: TemplateKind,
    pub subject: Template,
    pub body: Template,
}

/// The problems in a message template, by part, for the preview to show beside each box.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.subject, .body))]
pub struct TemplateError {
    pub subject: Vec<SyntaxError>,
    pub body: Vec<SyntaxError>,
}

fn describe(subject: &[SyntaxError], body: &[SyntaxError]) -> String {
    subject
        .iter()
        .map(|e| format!("subject: {e}"))
        .chain(body.iter().map(|e| format!("body: {e}")))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<TemplateError> for ValidationError {
    /// So the API answers a broken template like any other bad input, naming the field.
    fn from(e: TemplateError) -> Self {
        let errors = e
            .subject
            .iter()
            .map(|s| FieldError::new("subject", s.to_string()))
            .chain(
                e.body
                    .iter()
                    .map(|s| FieldError::new("body", s.to_string())),
            )
            .collect();
        ValidationError { errors }
    }
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

impl MessageTemplate {
    pub fn parse(
        kind: TemplateKind,
        subject: &str,
        body: &str,
    ) -> Result<MessageTemplate, TemplateError> {
        let mut subject_errors = Vec::new();
        if let Some((line, column)) = first_line_break(subject) {
            subject_errors.push(SyntaxError {
                line,
                column,
                problem: Problem::LineBreakInSubject,
            });
        }
        let subject = Template::parse(subject, kind).map_err(|e| subject_errors.extend(e));
        let body = Template::parse(body, kind);
        match (subject, body) {
            (Ok(subject), Ok(body)) if subject_errors.is_empty() => Ok(MessageTemplate {
                kind,
                subject,
                body,
            }),
            (_, body) => Err(TemplateError {
                subject: subject_errors,
                body: body.err().unwrap_or_default(),
            }),
        }
    }

    /// Renders the subject as one line and the body as written.
    pub fn render(&self, values: &Values) -> Result<Rendered, RenderError> {
        Ok(Rendered {
            subject: self.subject.render_line(values)?,
            body: self.body.render(values)?,
        })
    }

    /// The built-in message of this kind in this language.
    pub fn default_for(
        kind: TemplateKind,
        lang: Language,
    ) -> Result<MessageTemplate, TemplateError> {
        let (subject, body) = default_source(kind, lang);
        MessageTemplate::parse(kind, subject, body)
    }
}

fn first_line_break(s: &str) -> Option<(usize, usize)> {
    s.chars()
        .position(|c| c == '\n' || c == '\r')
        .map(|p| (1, p + 1))
}

/// The source (subject, body) of a built-in template, for the editor to start from.
pub fn default_source(kind: TemplateKind, lang: Language) -> (&'static str, &'static str) {
    match (kind, lang) {
        (TemplateKind::NewIncident, Language::En) => (
            "[Kizuki] Level {{incident.severity}} incident: {{incident.title}}",
            "Hello {{recipient.name}},

A new incident has been opened and you are among the people to be told.

  Title:        {{incident.title}}
  Level:        {{incident.severity}} ({{incident.severity_name}})
  Category:     {{incident.category}}
  Aware since:  {{incident.aware_at}} ({{day}})

Please let us know you have seen this by opening:
{{ack_url}}

The incident page: {{incident.url}}

If you cannot act on it, acknowledge anyway and tell the incident commander.
A message nobody acknowledges is passed on to the next person in the chain.
",
        ),
        (TemplateKind::NewIncident, Language::Ja) => (
            "【Kizuki】レベル{{incident.severity}}のインシデント：{{incident.title}}",
            "{{recipient.name}} さん

新しいインシデントが登録されました。あなたは連絡先に含まれています。

  件名：{{incident.title}}
  レベル：{{incident.severity}}（{{incident.severity_name}}）
  種別：{{incident.category}}
  認知日時：{{incident.aware_at}}（{{day}}）

内容を確認したら、次のリンクを開いてください。
{{ack_url}}

インシデントの画面：{{incident.url}}

ご自身で対応できない場合も、確認のうえインシデント指揮者に伝えてください。
だれも確認しない場合、連絡は次の担当者に回ります。
",
        ),
        (TemplateKind::Escalation, Language::En) => (
            "[Kizuki] Still unacknowledged, now with you: {{incident.title}}",
            "Hello {{recipient.name}},

Nobody has acknowledged this incident in {{escalation.waited_minutes}} minutes, so it
now comes to you (escalation step {{escalation.step}}).

  Title:        {{incident.title}}
  Level:        {{incident.severity}} ({{incident.severity_name}})
  Category:     {{incident.category}}
  Aware since:  {{incident.aware_at}} ({{day}})

Acknowledging stops further escalation:
{{ack_url}}

The incident page: {{incident.url}}
",
        ),
        (TemplateKind::Escalation, Language::Ja) => (
            "【Kizuki】未確認のため連絡します：{{incident.title}}",
            "{{recipient.name}} さん

このインシデントは{{escalation.waited_minutes}}分間だれにも確認されていないため、
あなたに連絡しています（エスカレーション第{{escalation.step}}段階）。

  件名：{{incident.title}}
  レベル：{{incident.severity}}（{{incident.severity_name}}）
  種別：{{incident.category}}
  認知日時：{{incident.aware_at}}（{{day}}）

確認すると、これ以上のエスカレーションは止まります。
{{ack_url}}

インシデントの画面：{{incident.url}}
",
        ),
        (TemplateKind::ClockDueSoon, Language::En) => (
            "[Kizuki] {{clock.name}} due {{clock.due_at}}: {{incident.title}}",
            "Hello {{recipient.name}},

A reporting deadline for this incident is coming up.

  Obligation:  {{clock.name}}
  Due:         {{clock.due_at}} ({{clock.time_left}})
  Incident:    {{incident.title}} (level {{incident.severity}}, {{day}})

Once the report has been made, mark the clock as met on the incident page and
these reminders will stop: {{incident.url}}
",
        ),
        (TemplateKind::ClockDueSoon, Language::Ja) => (
            "【Kizuki】{{clock.name}}の期限が近づいています：{{incident.title}}",
            "{{recipient.name}} さん

このインシデントの報告期限が近づいています。

  義務：{{clock.name}}
  期限：{{clock.due_at}}（{{clock.time_left}}）
  インシデント：{{incident.title}}（レベル{{incident.severity}}、{{day}}）

報告を済ませたら、インシデントの画面で期限を「完了」にしてください。
このお知らせはそこで止まります：{{incident.url}}
",
        ),
        (TemplateKind::ClockOverdue, Language::En) => (
            "[Kizuki] Past due: {{clock.name}} for {{incident.title}}",
            "Hello {{recipient.name}},

The deadline for this report has passed.

  Obligation:  {{clock.name}}
  Was due:     {{clock.due_at}} ({{clock.time_left}})
  Incident:    {{incident.title}} (level {{incident.severity}}, {{day}})

A late report is still better than none; please file it as soon as you can and
note the reason for the delay. If it has already been made, mark the clock as met
on the incident page: {{incident.url}}
",
        ),
        (TemplateKind::ClockOverdue, Language::Ja) => (
            "【Kizuki】期限を過ぎています：{{clock.name}}（{{incident.title}}）",
            "{{recipient.name}} さん

この報告の期限を過ぎました。

  義務：{{clock.name}}
  期限：{{clock.due_at}}（{{clock.time_left}}）
  インシデント：{{incident.title}}（レベル{{incident.severity}}、{{day}}）

遅れても報告しないよりはよいので、できるだけ早く提出し、遅れた理由を記録してください。
すでに報告済みの場合は、インシデントの画面で期限を「完了」にしてください：{{incident.url}}
",
        ),
        (TemplateKind::ActionReminder, Language::En) => (
            "[Kizuki] Corrective action due {{action.due_date}}: {{action.title}}",
            "Hello {{recipient.name}},

A corrective action from the review of \"{{incident.title}}\" is {{action.days}}.

  Action:  {{action.title}}
  Owner:   {{action.owner}}
  Due:     {{action.due_date}}

If it is done, close it on the incident page; if the date no longer fits, agree a
new one there so the plan stays honest: {{incident.url}}
",
        ),
        (TemplateKind::ActionReminder, Language::Ja) => (
            "【Kizuki】是正措置の期限 {{action.due_date}}：{{action.title}}",
            "{{recipient.name}} さん

「{{incident.title}}」の振り返りで決めた是正措置について、{{action.days}}。

  是正措置：{{action.title}}
  担当：{{action.owner}}
  期限：{{action.due_date}}

完了していればインシデントの画面で完了にしてください。期限が合わなくなった場合は、
そこで新しい期限を決めてください：{{incident.url}}
",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(source: &str, kind: TemplateKind) -> Vec<(usize, usize, Problem)> {
        Template::parse(source, kind)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line, e.column, e.problem))
            .collect()
    }

    fn values(pairs: &[(Field, &str)]) -> Values {
        pairs.iter().map(|(f, v)| (*f, (*v).to_owned())).collect()
    }

    #[test]
    fn field_names_round_trip_and_are_unique() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(*f));
        }
        let mut names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Field::ALL.len());
        assert_eq!(Field::from_name("incident.titel"), None);
    }

    #[test]
    fn renders_fields_with_and_without_spaces() {
        let t = Template::parse(
            "{{incident.title}} / {{ incident.severity }} / {single} {{day}}",
            TemplateKind::NewIncident,
        )
        .unwrap();
        let v = values(&[
            (Field::IncidentTitle, "Ransomware at HQ"),
            (Field::IncidentSeverity, "3"),
            (Field::Day, "Day 2"),
        ]);
        assert_eq!(
            t.render(&v).unwrap(),
            "Ransomware at HQ / 3 / {single} Day 2"
        );
        assert_eq!(
            t.fields(),
            vec![Field::IncidentTitle, Field::IncidentSeverity, Field::Day]
        );
    }

    #[test]
    fn values_are_not_parsed_again() {
        // A title that looks like a field must come out literally, not be expanded.
        let t = Template::parse("{{incident.title}}", TemplateKind::NewIncident).unwrap();
        let v = values(&[(Field::IncidentTitle, "{{ack_url}} <b>")]);
        assert_eq!(t.render(&v).unwrap(), "{{ack_url}} <b>");
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        use Problem::*;
        let k = TemplateKind::NewIncident;
        type Case = (&'static str, Vec<(usize, usize, Problem)>);
        let cases: Vec<Case> = vec![
            (
                "Hello {{incident.titel}}",
                vec![(
                    1,
                    7,
                    UnknownField {
                        name: "incident.titel".into(),
                    },
                )],
            ),
            ("line one\n  {{ack_url", vec![(2, 3, Unclosed)]),
            ("{{ack_url\n}}", vec![(1, 1, Unclosed), (2, 1, StrayClose)]),
            ("a {{ {{day}}", vec![(1, 3, Unclosed)]),
            ("{{ }}", vec![(1, 1, EmptyField)]),
            ("{incident.title}}", vec![(1, 16, StrayClose)]),
            (
                "{{clock.due_at}}",
                vec![(
                    1,
                    1,
                    NotAvailable {
                        field: Field::ClockDueAt,
                        kind: k,
                    },
                )],
            ),
            // Columns count characters, so Japanese text does not shift them.
            (
                "件名：{{件名}}",
                vec![(
                    1,
                    4,
                    UnknownField {
                        name: "件名".into(),
                    },
                )],
            ),
            (
                "{{day}} ok\n\nx {{nope}} y {{ack_url}} {{",
                vec![
                    (
                        3,
                        3,
                        UnknownField {
                            name: "nope".into(),
                        },
                    ),
                    (3, 26, Unclosed),
                ],
            ),
        ];
        for (source, expect) in cases {
            assert_eq!(err(source, k), expect, "source: {source:?}");
        }
    }

    #[test]
    fn error_messages_read_well() {
        let e =
            &Template::parse("x\n {{incident.titel}}", TemplateKind::NewIncident).unwrap_err()[0];
        assert_eq!(
            e.to_string(),
            "line 2, column 2: unknown field `incident.titel`"
        );
        let e = &Template::parse("{{x", TemplateKind::NewIncident).unwrap_err()[0];
        assert_eq!(
            e.to_string(),
            "line 1, column 1: `{{` is not closed with `}}` on the same line"
        );
    }

    #[test]
    fn missing_value_is_a_render_error() {
        let t = Template::parse("{{ack_url}}", TemplateKind::NewIncident).unwrap();
        assert_eq!(
            t.render(&Values::new()),
            Err(RenderError {
                field: Field::AckUrl
            })
        );
    }

    #[test]
    fn subject_cannot_be_split_by_a_value_or_by_its_source() {
        let m = MessageTemplate::parse(
            TemplateKind::NewIncident,
            "[K] {{incident.title}}",
            "{{incident.title}}",
        )
        .unwrap();
        let v = values(&[(Field::IncidentTitle, "a\r\nBcc: x@example.com\u{0}")]);
        let r = m.render(&v).unwrap();
        assert_eq!(r.subject, "[K] a  Bcc: x@example.com ");
        assert_eq!(r.body, "a\r\nBcc: x@example.com\u{0}");

        let e = MessageTemplate::parse(TemplateKind::NewIncident, "one\ntwo {{nope}}", "{{day")
            .unwrap_err();
        assert_eq!(e.subject.len(), 2);
        assert_eq!(e.subject[0].problem, Problem::LineBreakInSubject);
        assert_eq!((e.subject[0].line, e.subject[0].column), (1, 4));
        assert_eq!(e.body[0].problem, Problem::Unclosed);
        let v: ValidationError = e.into();
        let fields: Vec<&str> = v.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["subject", "subject", "body"]);
        assert!(v.errors[1].message.contains("`nope`"), "{v}");
    }

    #[test]
    fn html_escape_covers_markup_and_quotes() {
        assert_eq!(
            html_escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(html_escape("ランサムウェア"), "ランサムウェア");
    }

    #[test]
    fn kinds_offer_what_their_messages_need() {
        assert!(TemplateKind::Escalation.has(Field::EscalationStep));
        assert!(!TemplateKind::NewIncident.has(Field::EscalationStep));
        assert!(TemplateKind::ClockOverdue.has(Field::ClockDueAt));
        assert!(!TemplateKind::ClockOverdue.has(Field::AckUrl));
        assert!(TemplateKind::ActionReminder.has(Field::ActionDays));
        // Every field is used by at least one kind, or it should not be on the list.
        for f in Field::ALL {
            assert!(TemplateKind::ALL.iter().any(|k| k.has(*f)), "{f} is unused");
        }
    }

    #[test]
    fn every_default_parses_renders_and_uses_its_key_fields() {
        for kind in TemplateKind::ALL {
            for lang in Language::ALL {
                let m = MessageTemplate::default_for(*kind, *lang)
                    .unwrap_or_else(|e| panic!("{kind} {lang}: {e}"));
                let all: Values = kind
                    .fields()
                    .iter()
                    .map(|f| (*f, format!("<{f}>")))
                    .collect();
                let r = m.render(&all).unwrap();
                assert!(!r.subject.contains('\n'));
                assert!(
                    r.subject.contains("<incident.title>") || r.subject.contains("<action.title>")
                );
                assert!(r.body.contains("<incident.url>"), "{kind} {lang}");
                let needed: &[Field] = match kind {
                    TemplateKind::NewIncident => &[Field::AckUrl],
                    TemplateKind::Escalation => &[Field::AckUrl, Field::EscalationStep],
                    TemplateKind::ClockDueSoon | TemplateKind::ClockOverdue => {
                        &[Field::ClockName, Field::ClockDueAt]
                    }
                    TemplateKind::ActionReminder => &[Field::ActionDueDate, Field::ActionDays],
                };
                for f in needed {
                    assert!(
                        r.body.contains(&format!("<{f}>")),
                        "{kind} {lang} lacks {f}"
                    );
                }
                // Japanese templates are written in Japanese, English ones in English.
                let has_kana = r
                    .body
                    .chars()
                    .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c));
                assert_eq!(has_kana, *lang == Language::Ja, "{kind} {lang}");
            }
        }
    }

    #[test]
    fn the_same_template_in_both_languages_uses_the_same_fields() {
        for kind in TemplateKind::ALL {
            let ja = MessageTemplate::default_for(*kind, Language::Ja).unwrap();
            let en = MessageTemplate::default_for(*kind, Language::En).unwrap();
            let mut a = ja.body.fields();
            let mut b = en.body.fields();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{kind}");
        }
    }
}
