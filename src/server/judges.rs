//! Routes: judges (being written).

use axum::Router;

use super::AppState;

/// This module's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
