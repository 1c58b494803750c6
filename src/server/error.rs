//! Errors and extractors that answer as Kayenta does: `{"message": "..."}` with 400 or
//! 404 for what the client can fix, 413 above the body limit, and 500 with a generic body
//! (the detail goes to the log) for what it cannot.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::store::StoreError;

/// An HTTP error with Kayenta's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// The message the client sees.
    pub message: String,
}

impl ApiError {
    /// 400 (Kayenta's `IllegalArgumentException`).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 (Kayenta's `NotFoundException`).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 409: the request conflicts with work in progress.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            message: message.into(),
        }
    }

    /// 500: the detail is logged, the client sees a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "Internal error; the server log has the details.".into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "message": self.message })),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ApiError::not_found(m),
            StoreError::Conflict(m) => ApiError::bad_request(m),
            StoreError::AlreadyComplete(_) | StoreError::LeaseLost(_) => {
                ApiError::bad_request(e.to_string())
            }
            StoreError::Backend(_) => ApiError::internal(e),
        }
    }
}

/// A JSON body read with Kayenta's leniency (unknown fields ignored, as the types
/// declare) and errors that name the field: `400 {"message": "invalid JSON body at
/// metrics[0].query: ..."}`; 413 above the body limit.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError {
                    status,
                    message: "The request body is larger than the server accepts (--max-body)."
                        .into(),
                }
            } else {
                ApiError {
                    status,
                    message: format!("cannot read the request body: {e}"),
                }
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body with errors that name the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "the request body is empty; a JSON body is required",
        ));
    }
    // Plain serde_json first: tracking the path costs about 40 % of the parse, and only a
    // failure needs it (to name the field). The second pass fails the same way.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        // serde_path_to_error writes `?` for a position it cannot name (a syntax error).
        if path.is_empty() || path == "." || path == "?" {
            ApiError::bad_request(format!("invalid JSON body: {}", e.inner()))
        } else {
            ApiError::bad_request(format!("invalid JSON body at {path}: {}", e.inner()))
        }
    })
}

/// The query string as ordered pairs, with repeated keys kept (`?application=a&application=b`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    /// The first value of `name`, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`, comma-separated values split (Spring binds both
    /// `?a=x&a=y` and `?a=x,y` to a list).
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// A number, or 400 naming the parameter.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "query parameter '{name}' is not a number: '{v}'"
                    ))
                })
            })
            .transpose()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryParams(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_the_field_or_the_position() {
        let e = parse_json::<kanary_judge::CanaryConfig>(b"{bad").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            e.message,
            "invalid JSON body: key must be a string at line 1 column 2"
        );
        let e =
            parse_json::<kanary_judge::CanaryConfig>(br#"{"metrics": [{"name": 5}]}"#).unwrap_err();
        assert!(
            e.message
                .starts_with("invalid JSON body at metrics[0].name: "),
            "{}",
            e.message
        );
        let e = parse_json::<kanary_judge::CanaryConfig>(b"  ").unwrap_err();
        assert_eq!(
            e.message,
            "the request body is empty; a JSON body is required"
        );
    }
}
