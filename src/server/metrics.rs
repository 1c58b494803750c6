//! `/metrics` and request instrumentation (being written).

use axum::Router;

use super::AppState;

/// Adds `/metrics` and the HTTP instrumentation.
pub(super) fn instrument(router: Router<AppState>, _state: &AppState) -> Router<AppState> {
    router
}
