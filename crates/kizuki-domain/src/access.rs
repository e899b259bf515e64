//! Who may do what, and who may see which incident.
//!
//! Two questions are kept apart. *May this role perform this action at all?* is the permission
//! matrix below ([`Role::may`]), one table the docs reproduce and one test checks route by
//! route. *May this person see this incident?* is need-to-know ([`Viewer`]): a restricted
//! incident, and everything under it, exists only for its members and its creator; a
//! reporter sees only what they reported; an external responder sees only the incidents
//! they were made a member of. Storage applies the same rule in its queries, so lists,
//! searches, counts and correlations never reveal an incident the viewer may not see.

use serde::{Deserialize, Serialize};

use crate::incident::Incident;
use crate::string_enum;
use crate::user::Role;

string_enum! {
    /// Everything a request can ask to do. Routes map onto one action each.
    pub enum Action: "action" {
        /// Read incidents and everything under them (subject to need-to-know).
        ReadIncidents => "read_incidents",
        /// File a suspicion report (the one thing a reporter may do). Everyone may; the form
        /// is open even without an account unless an administrator closes it.
        FileReport => "file_report",
        /// Open an incident with full details.
        CreateIncident => "create_incident",
        /// Change an incident's fields, phase, severity.
        UpdateIncident => "update_incident",
        /// Add timeline entries.
        WriteTimeline => "write_timeline",
        /// Apply playbooks, complete and skip tasks.
        WriteTasks => "write_tasks",
        /// Open decisions with their options.
        ProposeDecision => "propose_decision",
        /// Record which option was chosen.
        Decide => "decide",
        /// Add and edit parties and contacts.
        WriteParties => "write_parties",
        /// Add evidence and custody events.
        WriteEvidence => "write_evidence",
        /// Add observables and sweep logs with them.
        WriteObservables => "write_observables",
        /// Add legal clocks and mark them met.
        WriteLegalClocks => "write_legal_clocks",
        /// Export an incident (a copy leaves Kizuki).
        Export => "export",
        /// Add and remove an incident's members.
        ManageMembers => "manage_members",
        /// Create users, change roles, reset MFA.
        ManageUsers => "manage_users",
        /// Read and verify the audit log.
        ReadAudit => "read_audit",
        /// Read the reference library, playbooks and settings.
        ReadReference => "read_reference",
        /// Write the after-action review: its narrative, lessons and corrective actions.
        WriteReview => "write_review",
        /// Start, pace and end tabletop exercises (the facilitator's part; participants
        /// record their moves with `WriteTimeline`).
        RunExercise => "run_exercise",
    }
}

impl Role {
    /// The permission matrix. `docs/SECURITY.md` reproduces it; change both together.
    pub fn may(self, action: Action) -> bool {
        use Action as A;
        use Role as R;
        match self {
            R::Admin => true,
            R::IncidentCommander => !matches!(action, A::ManageUsers | A::ReadAudit),
            R::Responder => !matches!(
                action,
                A::Decide | A::ManageMembers | A::ManageUsers | A::ReadAudit
            ),
            R::Executive => matches!(
                action,
                A::ReadIncidents
                    | A::FileReport
                    | A::WriteTimeline
                    | A::ProposeDecision
                    | A::Decide
                    | A::Export
                    | A::ReadReference
                    | A::WriteReview
            ),
            R::PrLegal => matches!(
                action,
                A::ReadIncidents
                    | A::FileReport
                    | A::WriteTimeline
                    | A::ProposeDecision
                    | A::WriteParties
                    | A::WriteLegalClocks
                    | A::Export
                    | A::ReadReference
                    | A::WriteReview
            ),
            R::BusinessUnit => matches!(
                action,
                A::ReadIncidents | A::FileReport | A::WriteTimeline | A::ReadReference
            ),
            R::Reporter => matches!(action, A::ReadIncidents | A::FileReport),
            R::ExternalResponder => matches!(
                action,
                A::ReadIncidents
                    | A::FileReport
                    | A::WriteTimeline
                    | A::WriteTasks
                    | A::WriteEvidence
                    | A::WriteObservables
                    | A::ReadReference
            ),
        }
    }

    /// Roles that must have a second factor before they can do anything else.
    pub fn requires_mfa(self) -> bool {
        matches!(self, Role::Admin | Role::IncidentCommander)
    }

    /// Which incidents this role can see at most.
    pub fn incident_scope(self) -> IncidentScope {
        match self {
            Role::Reporter => IncidentScope::OwnReports,
            Role::ExternalResponder => IncidentScope::MemberOnly,
            _ => IncidentScope::Organisation,
        }
    }
}

/// The widest set of incidents a viewer could see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IncidentScope {
    /// Every unrestricted incident, plus restricted ones the viewer created or is a member of.
    Organisation,
    /// Only incidents the viewer is a member of.
    MemberOnly,
    /// Only incidents the viewer created (their own reports).
    OwnReports,
}

/// The person a query is answered for. Storage filters by it; `None` means "the system"
/// (the CLI run by the operator, background jobs) and sees everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Viewer {
    pub user_id: i64,
    pub scope: IncidentScope,
}

impl Viewer {
    pub fn new(user_id: i64, role: Role) -> Self {
        Self {
            user_id,
            scope: role.incident_scope(),
        }
    }

    /// Whether the viewer may see `incident`, given whether they are one of its members.
    /// The same rule as the storage queries (the shared store story checks they agree).
    pub fn can_see(&self, incident: &Incident, is_member: bool) -> bool {
        let created = incident.created_by == Some(self.user_id);
        match self.scope {
            IncidentScope::Organisation => !incident.restricted || created || is_member,
            IncidentScope::MemberOnly => is_member,
            IncidentScope::OwnReports => created,
        }
    }

    /// Whether `can_see` could depend on membership (so the caller must look it up).
    pub fn needs_membership(&self, incident: &Incident) -> bool {
        let created = incident.created_by == Some(self.user_id);
        match self.scope {
            IncidentScope::Organisation => incident.restricted && !created,
            IncidentScope::MemberOnly => true,
            IncidentScope::OwnReports => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_users_and_read_the_audit_log() {
        for role in Role::ALL {
            assert_eq!(
                role.may(Action::ManageUsers),
                *role == Role::Admin,
                "{role}"
            );
            assert_eq!(role.may(Action::ReadAudit), *role == Role::Admin, "{role}");
        }
    }

    #[test]
    fn a_reporter_can_only_report_and_read_their_own() {
        let allowed: Vec<_> = Action::ALL
            .iter()
            .filter(|a| Role::Reporter.may(**a))
            .collect();
        assert_eq!(allowed, [&Action::ReadIncidents, &Action::FileReport]);
        assert_eq!(Role::Reporter.incident_scope(), IncidentScope::OwnReports);
    }

    #[test]
    fn mfa_is_mandatory_for_admins_and_commanders_only() {
        let with: Vec<_> = Role::ALL.iter().filter(|r| r.requires_mfa()).collect();
        assert_eq!(with, [&Role::Admin, &Role::IncidentCommander]);
    }
}
