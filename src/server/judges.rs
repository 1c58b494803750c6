//! Judges, as Kayenta's `CanaryJudgesController` and its `RemoteJudge`:
//!
//! - `GET /judges`: the registered judges with their visibility (Kayenta's Jackson view
//!   of its judge beans: `NetflixACAJudge-v1.0` visible, `dredd-v1.0` not);
//! - `POST /judges/judge?canaryConfigId=&metricSetPairListId=&passThreshold=&marginalThreshold=`
//!   (plus `configurationAccountName`, `storageAccountName`): re-judges a stored pair list
//!   with a stored config, synchronously, and answers the `CanaryJudgeResult`;
//! - `POST /judge`: the contract of Kayenta's `RemoteJudge-v1.0` (`RemoteJudgeRequest`
//!   `{canaryConfig, scoreThresholds, metricSetPairList}` in, `CanaryJudgeResult` out), so
//!   that a running Kayenta with `kayenta.remote-judge.enabled` and
//!   `endpoint.baseUrl: http://kanary:8090` delegates its judging to kanary.
//!
//! A config that selects `RemoteJudge-v1.0` (that is how Kayenta routes a judgement to
//! kanary) is judged with kanary's default judge; any other unknown judge name is a 400
//! `Unable to resolve canary judge '<name>'.`, as in Kayenta.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kanary_judge::{CanaryConfig, JudgeKind, MetricSetPair, NETFLIX_ACA_JUDGE, ScoreThresholds};
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::{configuration_account, load_config};
use super::storage::{load_pairs, storage_account};
use super::{ApiError, ApiJson, AppState, QueryParams};

/// The name under which Kayenta registers its remote judge.
pub(super) const REMOTE_JUDGE: &str = "RemoteJudge-v1.0";

/// This module's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/judges", get(list_judges))
        .route("/judges/judge", post(judge_stored))
        .route("/judge", post(remote_judge))
}

async fn list_judges() -> Response {
    let judges: Vec<Value> = JudgeKind::ALL
        .iter()
        .map(|(kind, visible)| json!({"name": kind.name(), "visible": visible}))
        .collect();
    axum::Json(judges).into_response()
}

/// Judges with kanary's scorer; judge errors (an unknown judge, a pair whose metric is
/// not in the config, a setting of the wrong type) are the client's to fix: 400.
fn judge(
    config: &CanaryConfig,
    pairs: &[MetricSetPair],
    thresholds: ScoreThresholds,
) -> Result<Response, ApiError> {
    let override_judge = (config.judge_name() == Some(REMOTE_JUDGE)).then_some(NETFLIX_ACA_JUDGE);
    let result = kanary_scoring::judge(config, pairs, thresholds, override_judge)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(axum::Json(result).into_response())
}

/// `POST /judges/judge`.
async fn judge_stored(State(state): State<AppState>, q: QueryParams) -> Result<Response, ApiError> {
    // Spring's `@RequestParam` (required): every missing one is named.
    let required = [
        ("canaryConfigId", "String"),
        ("metricSetPairListId", "String"),
        ("passThreshold", "Double"),
        ("marginalThreshold", "Double"),
    ];
    let missing: Vec<String> = required
        .iter()
        .filter(|(name, _)| q.get(name).is_none())
        .map(|(name, ty)| format!("'{name}' ({ty})"))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Required request parameter{} {} not present",
            if missing.len() > 1 { "s" } else { "" },
            if missing.len() > 1 {
                format!("{} are", missing.join(", "))
            } else {
                format!("{} is", missing[0])
            }
        )));
    }
    let pass = threshold(&q, "passThreshold")?;
    let marginal = threshold(&q, "marginalThreshold")?;
    configuration_account(&state, &q)?;
    storage_account(&state, q.get("storageAccountName"))?;
    let config_id = q.get("canaryConfigId").unwrap_or_default();
    let list_id = q.get("metricSetPairListId").unwrap_or_default();
    let config = load_config(&state, config_id).await?;
    let pairs = load_pairs(&state, list_id).await?;
    judge(&config, &pairs, ScoreThresholds { pass, marginal })
}

fn threshold(q: &QueryParams, name: &str) -> Result<f64, ApiError> {
    let value: f64 = q.number(name)?.unwrap_or(f64::NAN);
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ApiError::bad_request(format!(
            "query parameter '{name}' must be a finite number"
        )))
    }
}

/// Kayenta's `RemoteJudgeRequest`: every field is `@NotNull`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoteJudgeRequest {
    canary_config: CanaryConfig,
    score_thresholds: ScoreThresholds,
    metric_set_pair_list: Vec<MetricSetPair>,
}

/// `POST /judge`: Kayenta's `RemoteJudge-v1.0` contract.
async fn remote_judge(ApiJson(request): ApiJson<RemoteJudgeRequest>) -> Result<Response, ApiError> {
    judge(
        &request.canary_config,
        &request.metric_set_pair_list,
        request.score_thresholds,
    )
}
