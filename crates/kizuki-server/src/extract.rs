//! Extractors that turn every kind of bad request into a problem naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The largest JSON body the API accepts. Bulk data (logs, evidence files) has its own routes.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// JSON body whose errors name the field (`options[1].label`), not just a line and column.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge { limit: BODY_LIMIT }
            } else {
                ApiError::BadJson {
                    field: String::new(),
                    message: rejection.body_text(),
                }
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Deserialises JSON, reporting the path of the field that failed.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = if path == "." { String::new() } else { path };
        let message = inner.to_string();
        // serde reports a missing field at the parent; name the field itself.
        let field = match (field.is_empty(), missing_field(&message)) {
            (true, Some(name)) => name.to_owned(),
            (false, Some(name)) => format!("{field}.{name}"),
            _ => field,
        };
        ApiError::BadJson { field, message }
    })
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// Query string whose errors name the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_deserializer(query);
        de.map(ApiQuery)
    }
}

fn serde_urlencoded_deserializer<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    // axum's Query extractor uses serde_urlencoded; reuse it through axum to keep one parser.
    axum::extract::Query::<T>::try_from_uri(&format!("/?{query}").parse().map_err(|_| {
        ApiError::BadQuery {
            field: String::new(),
            message: "unreadable query string".into(),
        }
    })?)
    .map(|q| q.0)
    .map_err(|e| {
        let message = e.body_text();
        let field = message
            .split('`')
            .nth(1)
            .map(str::to_owned)
            .unwrap_or_default();
        ApiError::BadQuery { field, message }
    })
}

/// The user behind the request's bearer token.
#[derive(Debug, Clone)]
pub struct AuthUser(pub kizuki_domain::user::User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let (scheme, token) = header.split_once(' ').ok_or(ApiError::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::Unauthorized);
        }
        let hash = kizuki_domain::user::token_hash(token.trim());
        let user = state
            .store
            .user_by_token_hash(&hash, state.clock.now())
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(AuthUser(user))
    }
}

/// Path parameters whose errors are problem+json too (`/incidents/abc`).
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::BadPath {
                message: e.body_text(),
            })
    }
}
