//! Bearer-token auth for the API (being written).

use axum::Router;

use super::AppState;

/// Wraps the protected routes with the auth check.
pub(super) fn protect(api: Router<AppState>, _state: &AppState) -> Router<AppState> {
    api
}
