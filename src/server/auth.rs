//! Bearer-token auth for the API.
//!
//! Kayenta has no auth of its own (it relies on Gate and the network); kanary can be
//! exposed directly, so [`protect`] wraps every API route except `/health`, `/livez`,
//! `/readyz` and `/metrics` (which never show a secret):
//!
//! | token configured | `allow_anonymous` | no `Authorization` | right token | wrong token |
//! |------------------|-------------------|--------------------|-------------|-------------|
//! | yes              | no                | 401                | pass        | 401         |
//! | yes              | yes               | pass               | pass        | 401         |
//! | no               | yes or no         | pass               | pass        | pass        |
//!
//! Without a token the API is open whatever `allow_anonymous` says: what protects it then
//! is `kanary serve` refusing to listen beyond loopback unless `--allow-anonymous` is
//! given (the opt-in for a network that is protected otherwise). `allow_anonymous` exists
//! because Argo Rollouts' Kayenta provider sends no `Authorization` header; a client that
//! does send one with a wrong token has a mistake worth reporting, so it is still refused.
//!
//! The check is a route layer: a path that matches no route is a 404 whether or not the
//! request is authorized (axum's recommended placement for auth; Kayenta's paths are
//! public knowledge anyway).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;

/// Wraps the protected routes with the auth check.
pub(super) fn protect(api: Router<AppState>, state: &AppState) -> Router<AppState> {
    let Some(token) = state.settings.auth_token.clone() else {
        return api;
    };
    // `route_layer` refuses a router without routes (a layer that would do nothing).
    if !api.has_routes() {
        return api;
    }
    let policy = Arc::new(Policy {
        token,
        allow_anonymous: state.settings.allow_anonymous,
    });
    api.route_layer(middleware::from_fn_with_state(policy, check))
}

struct Policy {
    token: String,
    allow_anonymous: bool,
}

/// Why a request was refused; the message never repeats what the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Missing,
    Malformed,
    Wrong,
}

async fn check(State(policy): State<Arc<Policy>>, request: Request, next: Next) -> Response {
    match authorize(&policy, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::debug!(?refusal, path = request.uri().path(), "request refused");
            let message = match refusal {
                Refusal::Missing => {
                    "Authentication required: send `Authorization: Bearer <token>`."
                }
                Refusal::Malformed => {
                    "Unsupported Authorization header: send `Authorization: Bearer <token>`."
                }
                Refusal::Wrong => "Invalid bearer token.",
            };
            let mut response = ApiError {
                status: StatusCode::UNAUTHORIZED,
                message: message.to_string(),
            }
            .into_response();
            // RFC 6750 §3: a 401 names the scheme (and the error when a token was sent).
            let challenge = match refusal {
                Refusal::Missing => r#"Bearer realm="kanary""#,
                Refusal::Malformed | Refusal::Wrong => {
                    r#"Bearer realm="kanary", error="invalid_token""#
                }
            };
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            response
        }
    }
}

fn authorize(policy: &Policy, headers: &HeaderMap) -> Result<(), Refusal> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        // No header at all; two headers are ambiguous and refused like a malformed one.
        return if headers.contains_key(AUTHORIZATION) {
            Err(Refusal::Malformed)
        } else if policy.allow_anonymous {
            Ok(())
        } else {
            Err(Refusal::Missing)
        };
    };
    let value = value.as_bytes();
    // RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: one space, then the
    // token (extra spaces are tolerated).
    let scheme = b"bearer ";
    if value.len() < scheme.len() || !value[..scheme.len()].eq_ignore_ascii_case(scheme) {
        return Err(Refusal::Malformed);
    }
    let given = value[scheme.len()..].trim_ascii();
    if constant_time_eq(given, policy.token.as_bytes()) {
        Ok(())
    } else {
        Err(Refusal::Wrong)
    }
}

/// Compares in a time that depends only on the expected token's length, so that response
/// times do not reveal how much of a guess was right.
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        diff |= given.get(i).copied().unwrap_or(0) ^ e;
    }
    // Keeps the optimizer from turning the loop into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::accounts::Accounts;
    use crate::server::ServerSettings;
    use crate::store::MemoryStore;
    use axum::body::Body;
    use axum::routing::get;
    use serde_json::Value;
    use tower::ServiceExt;

    const TOKEN: &str = "correct-horse-battery-staple";

    fn state(token: Option<&str>, allow_anonymous: bool) -> AppState {
        let mut state = AppState::new(Arc::new(MemoryStore::new()), Accounts::default());
        state.settings = Arc::new(ServerSettings {
            auth_token: token.map(str::to_string),
            allow_anonymous,
            ..ServerSettings::default()
        });
        state
    }

    fn router(state: &AppState) -> Router {
        let api = Router::new().route("/secret", get(|| async { "the secret" }));
        Router::new()
            .merge(protect(api, state))
            .route("/open", get(|| async { "open" }))
            .with_state(state.clone())
    }

    /// Status, body, WWW-Authenticate.
    async fn call(state: &AppState, path: &str, auth: &[&str]) -> (StatusCode, String, String) {
        let mut request = Request::get(path);
        for value in auth {
            request = request.header(AUTHORIZATION, *value);
        }
        let response = router(state)
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap(), challenge)
    }

    fn message(body: &str) -> String {
        let json: Value = serde_json::from_str(body).unwrap();
        json["message"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn token_required_without_allow_anonymous() {
        let state = state(Some(TOKEN), false);
        let (status, body, challenge) = call(&state, "/secret", &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            message(&body),
            "Authentication required: send `Authorization: Bearer <token>`."
        );
        assert_eq!(challenge, r#"Bearer realm="kanary""#);

        let (status, body, challenge) = call(&state, "/secret", &["Bearer guessed"]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(message(&body), "Invalid bearer token.");
        assert!(!body.contains("guessed"));
        assert_eq!(challenge, r#"Bearer realm="kanary", error="invalid_token""#);

        let right = format!("Bearer {TOKEN}");
        let (status, body, _) = call(&state, "/secret", &[&right]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "the secret"));
        // The scheme is case-insensitive (RFC 7235).
        let lower = format!("bearer {TOKEN}");
        assert_eq!(call(&state, "/secret", &[&lower]).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn near_misses_are_refused() {
        let state = state(Some(TOKEN), false);
        let prefix = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
        let longer = format!("Bearer {TOKEN}x");
        let basic = format!("Basic {TOKEN}");
        let bare = TOKEN.to_string();
        for (auth, expected) in [
            (prefix.as_str(), "Invalid bearer token."),
            (longer.as_str(), "Invalid bearer token."),
            ("Bearer ", "Invalid bearer token."),
            (
                basic.as_str(),
                "Unsupported Authorization header: send `Authorization: Bearer <token>`.",
            ),
            (
                bare.as_str(),
                "Unsupported Authorization header: send `Authorization: Bearer <token>`.",
            ),
        ] {
            let (status, body, _) = call(&state, "/secret", &[auth]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth}");
            assert_eq!(message(&body), expected, "{auth}");
        }
        // Two Authorization headers, even if one is right, are ambiguous.
        let right = format!("Bearer {TOKEN}");
        let (status, _, _) = call(&state, "/secret", &[&right, "Bearer other"]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn allow_anonymous_passes_only_requests_without_a_header() {
        let state = state(Some(TOKEN), true);
        let (status, body, _) = call(&state, "/secret", &[]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "the secret"));
        let right = format!("Bearer {TOKEN}");
        assert_eq!(call(&state, "/secret", &[&right]).await.0, StatusCode::OK);
        let (status, body, _) = call(&state, "/secret", &["Bearer wrong"]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(message(&body), "Invalid bearer token.");
    }

    #[tokio::test]
    async fn no_token_is_open_with_or_without_allow_anonymous() {
        for allow_anonymous in [false, true] {
            let state = state(None, allow_anonymous);
            assert_eq!(call(&state, "/secret", &[]).await.0, StatusCode::OK);
            assert_eq!(
                call(&state, "/secret", &["Bearer any"]).await.0,
                StatusCode::OK
            );
        }
    }

    #[tokio::test]
    async fn unprotected_and_unknown_routes() {
        let state = state(Some(TOKEN), false);
        let (status, body, _) = call(&state, "/open", &[]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "open"));
        // Route layer: an unknown path is a 404 before any auth.
        assert_eq!(call(&state, "/nowhere", &[]).await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn an_empty_api_is_left_alone() {
        // `route_layer` on a router without routes would panic.
        let state = state(Some(TOKEN), false);
        let app = protect(Router::new(), &state).with_state(state.clone());
        let response = app
            .oneshot(Request::get("/x").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn health_endpoints_stay_open_in_the_whole_app() {
        let state = state(Some(TOKEN), false);
        for path in ["/livez", "/readyz", "/health", "/metrics"] {
            let response = crate::server::app(state.clone())
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abc\0", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
        assert!(constant_time_eq(b"", b""));
    }
}
