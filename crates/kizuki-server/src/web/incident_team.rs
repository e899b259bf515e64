//! The incident page's header forms: who owns each lane, who is a member, which legal clock
//! was met; and the box that adds an observable. Each handler calls the same shared function
//! as the API, and a refused form comes back filled in on the incident page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use kizuki_domain::access::Action;
use kizuki_domain::observable::{NewObservable, ObservableKind};
use kizuki_domain::timeline::Lane;
use kizuki_domain::user::{LaneOwner, Member, User};
use serde::Deserialize;

use super::WebRequest;
use super::incident_page::{Choice, Ctx, FieldErrors, Forms, back_to, internal, open, read_form};
use super::library::lane_key;
use crate::AppState;
use crate::error::ApiError;
use crate::web::i18n::Tr;

/// The lane-owner and add-member forms as typed. `user` is a user id, or empty for
/// "nobody" (a lane without an owner).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct TeamForm {
    pub lane: String,
    pub user: String,
    pub csrf: String,
}

/// The add-observable form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ObservableForm {
    pub kind: String,
    pub value: String,
    pub note: String,
    pub csrf: String,
}

/// One lane in the header: its name and who owns it.
#[derive(Debug)]
pub struct LaneOwnerView {
    pub lane: String,
    pub owner: Option<String>,
}

/// One member in the header.
#[derive(Debug)]
pub struct MemberView {
    pub user_id: i64,
    pub line: String,
}

/// Everything the header shows about people, and the choices its forms offer.
#[derive(Debug)]
pub struct TeamView {
    pub lanes: Vec<LaneOwnerView>,
    pub members: Vec<MemberView>,
    pub lane_choices: Vec<Choice>,
    /// Active people who can be given a lane (empty for those who may not assign).
    pub owner_choices: Vec<Choice>,
    /// Active people who are not members yet.
    pub member_choices: Vec<Choice>,
}

impl TeamView {
    pub fn new(
        tr: Tr,
        members: &[Member],
        owners: &[LaneOwner],
        people: &[User],
        form: &TeamForm,
    ) -> Self {
        let lanes = Lane::ALL
            .iter()
            .map(|lane| LaneOwnerView {
                lane: tr.t(&lane_key(*lane)),
                owner: owners
                    .iter()
                    .find(|o| o.lane == *lane)
                    .map(|o| o.display_name.clone()),
            })
            .collect();
        let active = || people.iter().filter(|u| u.active);
        let person = |u: &User| Choice {
            value: u.id.to_string(),
            label: tr.with(
                "member-line",
                &[
                    ("name", u.display_name.as_str().into()),
                    ("role", tr.t(&format!("role-{}", u.role.as_str())).into()),
                ],
            ),
            selected: form.user == u.id.to_string(),
        };
        Self {
            lanes,
            members: members
                .iter()
                .map(|m| MemberView {
                    user_id: m.user_id,
                    line: tr.with(
                        "member-line",
                        &[
                            ("name", m.display_name.as_str().into()),
                            ("role", tr.t(&format!("role-{}", m.role.as_str())).into()),
                        ],
                    ),
                })
                .collect(),
            lane_choices: Lane::ALL
                .iter()
                .map(|l| Choice {
                    value: l.as_str().to_owned(),
                    label: tr.t(&lane_key(*l)),
                    selected: form.lane == l.as_str(),
                })
                .collect(),
            owner_choices: active().map(person).collect(),
            member_choices: active()
                .filter(|u| !members.iter().any(|m| m.user_id == u.id))
                .map(person)
                .collect(),
        }
    }
}

/// The user id a form names: `None` for empty ("nobody"), `Err` for anything else that is
/// not a number.
fn chosen_user(raw: &str) -> Result<Option<i64>, ()> {
    match raw.trim() {
        "" => Ok(None),
        id => id.parse().map(Some).map_err(|_| ()),
    }
}

/// Puts an error from a shared function beside the team form, or answers with the page
/// that fits it (404 for an incident that went away, 500 for a failure).
async fn team_refused(
    ctx: &Ctx<'_>,
    incident: kizuki_domain::incident::Incident,
    form: TeamForm,
    error: ApiError,
) -> Response {
    let tr = ctx.req.tr;
    let mut forms = Forms::default();
    match error {
        ApiError::Validation(v) => {
            for e in v.errors {
                forms
                    .team_errors
                    .set("user", tr.t1("field-invalid", "reason", e.message));
            }
        }
        ApiError::NotFound(_) | ApiError::Store(kizuki_store::StoreError::NotFound { .. }) => {
            forms.team_errors.set("user", tr.t("choose-one"));
        }
        e => return internal(ctx.req, &e),
    }
    forms.team = form;
    ctx.again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
        .await
}

/// `POST /incidents/{id}/lane-owners`: gives a lane to a person (who becomes a member), or
/// to nobody.
pub async fn set_lane_owner(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (principal, incident) = match open(&state, &req, Action::ManageMembers).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let ctx = Ctx {
        state: &state,
        req: &req,
        principal: &principal,
    };
    let mut forms = Forms::default();
    let Some(form) = read_form::<TeamForm>(&body) else {
        forms.team_errors.form = Some(tr.t("form-unreadable"));
        return ctx.again(incident, forms, StatusCode::BAD_REQUEST).await;
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let lane = form.lane.parse::<Lane>().ok();
    if lane.is_none() {
        forms.team_errors.set("lane", tr.t("choose-one"));
    }
    let user = chosen_user(&form.user);
    if user.is_err() {
        forms.team_errors.set("user", tr.t("choose-one"));
    }
    let (Some(lane), Ok(user)) = (lane, user) else {
        forms.team = form;
        return ctx
            .again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    match crate::api::members::assign_lane_owner(
        &state,
        &principal,
        &req.addr,
        incident.id,
        lane,
        user,
    )
    .await
    {
        Ok(()) => back_to(incident.id, "team"),
        Err(e) => team_refused(&ctx, incident, form, e).await,
    }
}

/// `POST /incidents/{id}/members`: adds a person to the incident.
pub async fn add_member(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (principal, incident) = match open(&state, &req, Action::ManageMembers).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let ctx = Ctx {
        state: &state,
        req: &req,
        principal: &principal,
    };
    let mut forms = Forms::default();
    let Some(form) = read_form::<TeamForm>(&body) else {
        forms.team_errors.form = Some(tr.t("form-unreadable"));
        return ctx.again(incident, forms, StatusCode::BAD_REQUEST).await;
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let Ok(Some(user_id)) = chosen_user(&form.user) else {
        forms.team_errors.set("member", tr.t("choose-one"));
        forms.team = form;
        return ctx
            .again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    match crate::api::members::add_member(&state, &principal, &req.addr, incident.id, user_id).await
    {
        Ok(()) => back_to(incident.id, "team"),
        Err(e) => team_refused(&ctx, incident, form, e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfOnly {
    csrf: String,
}

/// `POST /incidents/{id}/members/{user_id}/remove`: ends a membership (and the lanes the
/// member owned). Removing someone who already left is not an error worth a page.
pub async fn remove_member(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (principal, incident) = match open(&state, &req, Action::ManageMembers).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Some(user_id) = req.path_number(4) else {
        return req.not_found();
    };
    let form = read_form::<CsrfOnly>(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    match crate::api::members::remove_member(&state, &principal, &req.addr, incident.id, user_id)
        .await
    {
        Ok(()) | Err(ApiError::NotFound(_)) => back_to(incident.id, "team"),
        Err(e) => internal(&req, &e),
    }
}

/// `POST /incidents/{id}/clocks/{clock_id}/met`: PR/legal tick off a legal deadline (the
/// report was filed). Marking a clock twice keeps the first time.
pub async fn mark_clock_met(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (principal, incident) = match open(&state, &req, Action::WriteLegalClocks).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Some(clock_id) = req.path_number(4) else {
        return req.not_found();
    };
    let form = read_form::<CsrfOnly>(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let now = state.clock.now();
    match state
        .store
        .mark_legal_clock_met(incident.id, clock_id, now)
        .await
    {
        Ok(clock) => {
            tracing::info!(
                incident = incident.id,
                clock = clock.id,
                user = principal.user.id,
                "legal clock marked met from the incident page"
            );
            back_to(incident.id, "clocks")
        }
        Err(kizuki_store::StoreError::NotFound { .. }) => {
            let ctx = Ctx {
                state: &state,
                req: &req,
                principal: &principal,
            };
            let mut forms = Forms::default();
            forms.clock_notice = Some(req.tr.t("clock-gone"));
            ctx.again(incident, forms, StatusCode::NOT_FOUND).await
        }
        Err(e) => internal(&req, &e),
    }
}

/// `POST /incidents/{id}/observables`: an indicator seen in this incident; the page then
/// shows which other incidents share it.
pub async fn add_observable(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (principal, incident) = match open(&state, &req, Action::WriteObservables).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let ctx = Ctx {
        state: &state,
        req: &req,
        principal: &principal,
    };
    let mut forms = Forms::default();
    let Some(form) = read_form::<ObservableForm>(&body) else {
        forms.observable_errors.form = Some(tr.t("form-unreadable"));
        return ctx.again(incident, forms, StatusCode::BAD_REQUEST).await;
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let mut errors = FieldErrors::default();
    let kind = form.kind.parse::<ObservableKind>().ok();
    if kind.is_none() {
        errors.set("kind", tr.t("choose-one"));
    }
    if form.value.trim().is_empty() {
        errors.set("value", tr.t("observable-value-required"));
    }
    let (Some(kind), false) = (kind, errors.any()) else {
        forms.observable = form;
        forms.observable_errors = errors;
        return ctx
            .again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    let new = NewObservable {
        kind,
        value: form.value.trim().to_owned(),
        note: form.note.trim().to_owned(),
        first_seen: None,
    };
    match crate::api::observables::add_observable(&state, incident.id, &new).await {
        Ok(observable) => {
            tracing::info!(
                incident = incident.id,
                observable = observable.id,
                user = principal.user.id,
                "observable added from the incident page"
            );
            back_to(incident.id, "observables")
        }
        Err(ApiError::Validation(v)) => {
            for e in v.errors {
                let text = tr.t1("field-invalid", "reason", e.message);
                match e.field.as_str() {
                    "note" => forms.observable_errors.set("note", text),
                    "kind" => forms.observable_errors.set("kind", text),
                    _ => forms.observable_errors.set("value", text),
                }
            }
            forms.observable = form;
            ctx.again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => internal(&req, &e),
    }
}
