//! Extractors that turn every kind of bad request into a problem naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::access::Principal;
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

/// Deserialises JSON, reporting the path of the field that failed. The whole body must be one
/// JSON value: trailing bytes are an error, not something to ignore.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            // Where parsing stopped says nothing about which field is wrong.
            return ApiError::BadJson {
                field: String::new(),
                message: inner.to_string(),
            };
        }
        let field = if path == "." { String::new() } else { path };
        let message = inner.to_string();
        // serde reports a missing field at the parent; name the field itself.
        let field = match (field.is_empty(), missing_field(&message)) {
            (true, Some(name)) => name.to_owned(),
            (false, Some(name)) => format!("{field}.{name}"),
            _ => field,
        };
        ApiError::BadJson { field, message }
    })?;
    de.end().map_err(|e| ApiError::BadJson {
        field: String::new(),
        message: format!("unexpected data after the JSON value ({e})"),
    })?;
    Ok(value)
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
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Deserialises a query string, naming the parameter that failed.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = if path == "." {
            missing_field(&message)
                .or_else(|| unknown_field(&message))
                .unwrap_or_default()
                .to_owned()
        } else {
            path
        };
        ApiError::BadQuery { field, message }
    })
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// The signed-in user of a request (placed there by [`crate::access::guard`]).
#[derive(Debug, Clone)]
pub struct AuthUser(pub kizuki_domain::user::User);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .map(|p| AuthUser(p.user.clone()))
            .ok_or(ApiError::Unauthorized)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(ApiError::Unauthorized)
    }
}

/// The caller if signed in, for routes open to anyone (the report form).
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybePrincipal(parts.extensions.get::<Principal>().cloned()))
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
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        let names: Vec<String> = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(|m| {
                m.as_str()
                    .split('/')
                    .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(ApiPath(p.0)),
            Err(rejection) => {
                let message = rejection.body_text();
                let field = match &rejection {
                    PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
                        ErrorKind::ParseErrorAtKey { key, .. }
                        | ErrorKind::InvalidUtf8InPathParam { key }
                        | ErrorKind::DeserializeError { key, .. } => key.clone(),
                        ErrorKind::ParseErrorAtIndex { index, .. } => {
                            names.get(*index).cloned().unwrap_or_default()
                        }
                        _ => names.first().cloned().unwrap_or_default(),
                    },
                    _ => String::new(),
                };
                Err(ApiError::BadPath { field, message })
            }
        }
    }
}
