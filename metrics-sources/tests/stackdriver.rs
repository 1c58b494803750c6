//! Cloud Monitoring (Stackdriver) against a stand-in server on 127.0.0.1 that serves the
//! documented `projects.timeSeries.list` shapes (fixtures in `testdata/stackdriver/`), and
//! Kayenta's filter rules and template vectors.
//!
//! The stand-in picks its behaviour from the project in the path
//! (`/v3/projects/<scenario>/timeSeries`), so each test names its scenario through the
//! account's project.

use std::collections::{BTreeMap, HashMap};
use std::future::IntoFuture;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricQuery, MetricSet};
use kanary_metrics_sources::http::ReqwestTransport;
use kanary_metrics_sources::stackdriver::{
    MAX_PAGES, MONITORING_READ_SCOPE, Stackdriver, StackdriverAccount, StackdriverCredentials,
};
use kanary_metrics_sources::template::{PROMETHEUS_BASE_ATTRIBUTES, expand_custom_filter};
use kanary_metrics_sources::{CanaryScope, HttpClient, MetricsSource, RetryPolicy, SourceError};

const PAGE_1: &str = include_str!("../../testdata/stackdriver/page-1.json");
const PAGE_2_EMPTY: &str = include_str!("../../testdata/stackdriver/page-2-empty.json");
const PAGE_3: &str = include_str!("../../testdata/stackdriver/page-3.json");
const DISTRIBUTION: &str = include_str!("../../testdata/stackdriver/distribution.json");
const ERROR_400: &str = include_str!("../../testdata/stackdriver/error-400.json");
const ERROR_403: &str = include_str!("../../testdata/stackdriver/error-403.json");
const ERROR_404: &str = include_str!("../../testdata/stackdriver/error-404.json");
const ERROR_429: &str = include_str!("../../testdata/stackdriver/error-429.json");
const TEST_ONLY_KEY: &str =
    include_str!("../../testdata/stackdriver/TEST-ONLY-service-account-key.pem");
const VECTORS: &str =
    include_str!("../../testdata/kayenta_vectors/stackdriver_query_config_spec.json");

const METRIC_TYPE: &str = "loadbalancing.googleapis.com/https/request_count";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TEST_CLIENT_EMAIL: &str = "kanary-test@kanary-test.iam.gserviceaccount.invalid";

// ---------------------------------------------------------------------------------------
// The stand-in server
// ---------------------------------------------------------------------------------------

/// One `timeSeries.list` request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    project: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
}

impl Seen {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn params(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[derive(Default)]
struct Log {
    lists: Vec<Seen>,
    /// The form fields of each token request.
    tokens: Vec<Vec<(String, String)>>,
    hits: HashMap<String, usize>,
}

#[derive(Clone, Default)]
struct Stand {
    log: Arc<Mutex<Log>>,
}

impl Stand {
    fn lists(&self, project: &str) -> Vec<Seen> {
        let log = self.log.lock().expect("log");
        log.lists
            .iter()
            .filter(|s| s.project == project)
            .cloned()
            .collect()
    }

    fn tokens(&self) -> Vec<Vec<(String, String)>> {
        self.log.lock().expect("log").tokens.clone()
    }
}

fn parse_pairs(text: &str) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://x/?{text}")).expect("query");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn list(
    State(stand): State<Stand>,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = parse_pairs(raw.as_deref().unwrap_or(""));
    let seen = Seen {
        project: project.clone(),
        query,
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let page_token = seen.param("pageToken").map(str::to_string);
    let hit = {
        let mut log = stand.log.lock().expect("log");
        log.lists.push(seen);
        let n = log.hits.entry(project.clone()).or_insert(0);
        *n += 1;
        *n
    };
    match project.as_str() {
        "paged" => match page_token.as_deref() {
            None => json(StatusCode::OK, PAGE_1),
            Some("page-2") => json(StatusCode::OK, PAGE_2_EMPTY),
            Some("page-3") => json(StatusCode::OK, PAGE_3),
            Some(_) => json(StatusCode::BAD_REQUEST, ERROR_400),
        },
        "empty" => json(StatusCode::OK, "{}"),
        "status-400" => json(StatusCode::BAD_REQUEST, ERROR_400),
        "status-403" => json(StatusCode::FORBIDDEN, ERROR_403),
        "status-404" => json(StatusCode::NOT_FOUND, ERROR_404),
        "throttled" if hit == 1 => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::RETRY_AFTER, "0"),
            ],
            ERROR_429,
        )
            .into_response(),
        "flaky" if hit == 1 => (StatusCode::INTERNAL_SERVER_ERROR, "backend error").into_response(),
        "throttled" | "flaky" => json(StatusCode::OK, PAGE_3),
        "hang" => std::future::pending().await,
        "garbage" => json(StatusCode::OK, "{\"timeSeries\": [{\"points\": ["),
        "not-a-list" => json(StatusCode::OK, "{\"timeSeries\": 7}"),
        "token-loop" => json(StatusCode::OK, "{\"nextPageToken\": \"again\"}"),
        // A new token every time: only the page limit ends this listing.
        "endless" => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"nextPageToken": format!("t{hit}")})),
        )
            .into_response(),
        "distribution" => json(StatusCode::OK, DISTRIBUTION),
        "unauthenticated-once" if hit == 1 => json(
            StatusCode::UNAUTHORIZED,
            "{\"error\": {\"code\": 401, \"message\": \"Request had invalid authentication credentials.\", \"status\": \"UNAUTHENTICATED\"}}",
        ),
        "unauthenticated-once" => json(StatusCode::OK, "{}"),
        _ => json(StatusCode::NOT_FOUND, ERROR_404),
    }
}

/// `projects.metricDescriptors.list`: two pages for `paged`, Google's 403 for
/// `status-403`.
async fn descriptors(
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    assert!(
        headers.get(header::AUTHORIZATION).is_some(),
        "no token sent"
    );
    let query = parse_pairs(raw.as_deref().unwrap_or(""));
    let token = query
        .iter()
        .find(|(k, _)| k == "pageToken")
        .map(|(_, v)| v.clone());
    match (project.as_str(), token.as_deref()) {
        ("paged", None) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({
                "metricDescriptors": [
                    {"name": "projects/paged/metricDescriptors/compute.googleapis.com/instance/cpu/utilization",
                     "type": "compute.googleapis.com/instance/cpu/utilization",
                     "metricKind": "GAUGE", "valueType": "DOUBLE", "unit": "10^2.%"},
                    {"name": "projects/paged/metricDescriptors/kubernetes.io/container/restart_count",
                     "type": "kubernetes.io/container/restart_count",
                     "metricKind": "CUMULATIVE", "valueType": "INT64"}
                ],
                "nextPageToken": "d2"
            })),
        )
            .into_response(),
        ("paged", Some("d2")) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({
                "metricDescriptors": [
                    {"name": "projects/paged/metricDescriptors/kubernetes.io/container/cpu/core_usage_time",
                     "type": "kubernetes.io/container/cpu/core_usage_time",
                     "metricKind": "CUMULATIVE", "valueType": "DOUBLE", "unit": "s"}
                ]
            })),
        )
            .into_response(),
        ("status-403", _) => json(StatusCode::FORBIDDEN, ERROR_403),
        _ => json(StatusCode::NOT_FOUND, ERROR_404),
    }
}

async fn token(State(stand): State<Stand>, body: String) -> Response {
    let form = parse_pairs(&body);
    let n = {
        let mut log = stand.log.lock().expect("log");
        log.tokens.push(form);
        log.tokens.len()
    };
    let body = serde_json::json!({
        "access_token": format!("sa-token-{n}"),
        "expires_in": 3599,
        "token_type": "Bearer",
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

async fn token_refused() -> Response {
    json(
        StatusCode::BAD_REQUEST,
        "{\"error\": \"invalid_grant\", \"error_description\": \"Invalid JWT Signature.\"}",
    )
}

/// Starts the stand-in on 127.0.0.1; returns its base URL.
async fn serve(stand: Stand) -> String {
    let app = Router::new()
        .route("/v3/projects/{project}/timeSeries", get(list))
        .route("/v3/projects/{project}/metricDescriptors", get(descriptors))
        .route("/token", post(token))
        .route("/token-refused", post(token_refused))
        .with_state(stand);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(axum::serve(listener, app).into_future());
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Short waits so that retries do not slow the tests down.
fn policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        request_timeout: Duration::from_secs(10),
        deadline: Duration::from_secs(30),
        ..RetryPolicy::default()
    }
}

fn http(policy: RetryPolicy) -> HttpClient {
    HttpClient::new(
        Arc::new(ReqwestTransport::new().expect("transport")),
        policy,
    )
}

fn source(base: &str, project: &str) -> Stackdriver {
    source_with(base, project, policy())
}

fn source_with(base: &str, project: &str, policy: RetryPolicy) -> Stackdriver {
    let account = StackdriverAccount::new(
        "my-google-account",
        base,
        project,
        StackdriverCredentials::BearerToken("test-bearer-token".into()),
    )
    .expect("account");
    Stackdriver::new(account, http(policy)).expect("source")
}

fn metric(query: MetricQuery) -> CanaryMetricConfig {
    CanaryMetricConfig {
        name: Some("requests".into()),
        query: Some(query),
        ..Default::default()
    }
}

fn sd_query(resource_type: Option<&str>) -> MetricQuery {
    MetricQuery {
        kind: Some("stackdriver".into()),
        metric_type: Some(METRIC_TYPE.into()),
        resource_type: resource_type.map(str::to_string),
        ..Default::default()
    }
}

fn time(text: &str) -> chrono::DateTime<chrono::Utc> {
    text.parse().expect("time")
}

/// 10:00 to 10:05 at one minute: five alignment periods.
fn window_scope() -> CanaryScope {
    CanaryScope::new(
        "myapp-canary-v001",
        time("2026-11-30T10:00:00Z"),
        time("2026-11-30T10:05:00Z"),
        60,
    )
}

fn scope_with(params: &[(&str, &str)]) -> CanaryScope {
    let mut scope = window_scope();
    scope.location = "us-central1".into();
    for (k, v) in params {
        scope
            .extended_scope_params
            .insert(k.to_string(), v.to_string());
    }
    scope
}

fn tags(set: &MetricSet) -> Vec<(&str, &str)> {
    set.tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn assert_values(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (a.is_nan() && e.is_nan()) || a == e,
            "{actual:?} vs {expected:?}"
        );
    }
}

/// Base64url without padding, decoded (enough to read a JWT in a test).
fn base64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64url") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

/// A service-account key file whose `token_uri` is `token_uri`, written under the
/// target's temporary directory.
fn key_file(name: &str, token_uri: &str) -> PathBuf {
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "kanary-test",
        "private_key_id": "test-only",
        "private_key": TEST_ONLY_KEY,
        "client_email": TEST_CLIENT_EMAIL,
        "client_id": "1",
        "token_uri": token_uri,
    });
    write_tmp(name, &key.to_string())
}

fn write_tmp(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stackdriver-tests");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write key");
    path
}

fn key_source(base: &str, project: &str, path: PathBuf) -> Result<Stackdriver, SourceError> {
    let account = StackdriverAccount::new(
        "sa-account",
        base,
        project,
        StackdriverCredentials::ServiceAccountKey(path),
    )?;
    Stackdriver::new(account, http(policy()))
}

// ---------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------

fn filter_of(
    query: MetricQuery,
    scope: &CanaryScope,
    config: &CanaryConfig,
) -> Result<String, SourceError> {
    source("http://127.0.0.1:9", "account-project").build_query(config, &metric(query), scope)
}

/// A resource type, the scope's extended parameters, the filter after `resource.type=`.
type FilterCase = (&'static str, Vec<(&'static str, &'static str)>, String);

#[test]
fn filters_per_resource_type_follow_kayenta() {
    let head = format!("metric.type=\"{METRIC_TYPE}\" AND resource.type=");
    let none = CanaryConfig::default();
    let cases: Vec<FilterCase> = vec![
        (
            "gce_instance",
            vec![],
            "gce_instance AND project=account-project AND metadata.user_labels.\"spinnaker-region\"=us-central1 AND metadata.user_labels.\"spinnaker-server-group\"=myapp-canary-v001".into(),
        ),
        (
            "gce_instance",
            vec![("project", "scope-project")],
            "gce_instance AND project=scope-project AND metadata.user_labels.\"spinnaker-region\"=us-central1 AND metadata.user_labels.\"spinnaker-server-group\"=myapp-canary-v001".into(),
        ),
        (
            "aws_ec2_instance",
            vec![],
            "aws_ec2_instance AND resource.labels.region=\"aws:us-central1\" AND metadata.user_labels.\"aws:autoscaling:groupname\"=myapp-canary-v001".into(),
        ),
        (
            "gae_app",
            vec![],
            "gae_app AND project=account-project AND resource.labels.version_id=myapp-canary-v001".into(),
        ),
        (
            "gae_app",
            vec![("service", "default")],
            "gae_app AND project=account-project AND resource.labels.version_id=myapp-canary-v001 AND resource.labels.module_id=default".into(),
        ),
        ("k8s_container", vec![], "k8s_container AND project=account-project".into()),
        (
            "k8s_container",
            vec![
                ("namespace_name", "prod"),
                ("location", "us-central1-a"),
                ("cluster_name", "c1"),
                ("container_name", "web"),
                ("pod_name", "web-abc"),
                ("node_name", "n1"),
                ("user_labels.app", "myapp"),
                ("user_labels.version", "canary"),
                ("zone", "ignored-for-k8s"),
            ],
            "k8s_container AND project=account-project AND resource.labels.location=us-central1-a AND resource.labels.node_name=n1 AND resource.labels.cluster_name=c1 AND resource.labels.pod_name=web-abc AND resource.labels.container_name=web AND resource.labels.namespace_name=prod AND metadata.user_labels.\"app\"=\"myapp\" AND metadata.user_labels.\"version\"=\"canary\"".into(),
        ),
        (
            "k8s_pod",
            vec![("cluster_name", "c1")],
            "k8s_pod AND project=account-project AND resource.labels.cluster_name=c1".into(),
        ),
        (
            "k8s_node",
            vec![("node_name", "n1"), ("project", "p2")],
            "k8s_node AND project=p2 AND resource.labels.node_name=n1".into(),
        ),
        (
            "gke_container",
            vec![
                ("zone", "us-central1-a"),
                ("pod_id", "p"),
                ("instance_id", "i"),
                ("namespace_id", "ns"),
                ("cluster_name", "c1"),
                ("container_name", "web"),
                ("namespace_name", "ignored-for-gke"),
                ("user_labels.team", "core"),
            ],
            "gke_container AND project=account-project AND resource.labels.cluster_name=c1 AND resource.labels.namespace_id=ns AND resource.labels.instance_id=i AND resource.labels.pod_id=p AND resource.labels.container_name=web AND resource.labels.zone=us-central1-a AND metadata.user_labels.\"team\"=\"core\"".into(),
        ),
        ("global", vec![("location", "x")], "global".into()),
    ];
    for (resource_type, params, expected) in cases {
        let scope = scope_with(&params);
        let got = filter_of(sd_query(Some(resource_type)), &scope, &none)
            .unwrap_or_else(|e| panic!("{resource_type} {params:?}: {e}"));
        assert_eq!(
            got,
            format!("{head}{expected}"),
            "{resource_type} {params:?}"
        );
    }
}

#[test]
fn the_resource_type_comes_from_the_query_then_the_scope() {
    let none = CanaryConfig::default();
    let scope = scope_with(&[("resourceType", "global")]);
    assert_eq!(
        filter_of(sd_query(None), &scope, &none).expect("filter"),
        format!("metric.type=\"{METRIC_TYPE}\" AND resource.type=global")
    );
    assert!(
        filter_of(sd_query(Some("k8s_pod")), &scope, &none)
            .expect("filter")
            .ends_with("resource.type=k8s_pod AND project=account-project")
    );
    let e = filter_of(sd_query(None), &scope_with(&[]), &none).expect_err("no type");
    assert_eq!(
        e,
        SourceError::InvalidQuery("Resource type is required.".into())
    );
}

#[test]
fn a_custom_filter_replaces_the_resource_clauses() {
    let mut config = CanaryConfig::default();
    config.templates.insert(
        "by-group".into(),
        "metadata.user_labels.\"group\"=\"${scope}\" AND resource.labels.zone=starts_with(\"${location}\")".into(),
    );
    let mut query = sd_query(Some("gce_instance"));
    query.custom_filter_template = Some("by-group".into());
    // No location needed for gce_instance once a custom filter is given.
    let mut scope = window_scope();
    scope.location = "europe-west1".into();
    assert_eq!(
        filter_of(query.clone(), &scope, &config).expect("filter"),
        format!(
            "metric.type=\"{METRIC_TYPE}\" AND resource.type=gce_instance AND metadata.user_labels.\"group\"=\"myapp-canary-v001\" AND resource.labels.zone=starts_with(\"europe-west1\")"
        )
    );
    // Any resource type is allowed with a custom filter; Orca's escaped form works too.
    let mut query = sd_query(Some("cloud_run_revision"));
    query.custom_inline_template = Some("resource.labels.service_name=\"$\\{scope}\"".into());
    assert_eq!(
        filter_of(query, &scope, &config).expect("filter"),
        format!(
            "metric.type=\"{METRIC_TYPE}\" AND resource.type=cloud_run_revision AND resource.labels.service_name=\"myapp-canary-v001\""
        )
    );
}

#[test]
fn filter_errors_carry_kayentas_messages() {
    let none = CanaryConfig::default();
    let invalid = |q: MetricQuery, scope: &CanaryScope| match filter_of(q, scope, &none) {
        Err(SourceError::InvalidQuery(m)) => m,
        other => panic!("expected an invalid query, got {other:?}"),
    };
    let mut no_location = scope_with(&[]);
    no_location.location.clear();
    let mut no_scope = scope_with(&[]);
    no_scope.scope.clear();
    assert_eq!(
        invalid(sd_query(Some("gce_instance")), &no_location),
        "Location (i.e. region) is required when resourceType is 'gce_instance'."
    );
    assert_eq!(
        invalid(sd_query(Some("gce_instance")), &no_scope),
        "Scope is required when resourceType is 'gce_instance'."
    );
    assert_eq!(
        invalid(sd_query(Some("aws_ec2_instance")), &no_location),
        "Location (i.e. region) is required when resourceType is 'aws_ec2_instance'."
    );
    assert_eq!(
        invalid(sd_query(Some("aws_ec2_instance")), &no_scope),
        "Scope is required when resourceType is 'aws_ec2_instance'."
    );
    assert_eq!(
        invalid(sd_query(Some("gae_app")), &no_scope),
        "Scope is required when resourceType is 'gae_app'."
    );
    assert_eq!(
        invalid(sd_query(Some("cloud_run_revision")), &scope_with(&[])),
        "Resource type 'cloud_run_revision' not yet explicitly supported. If you employ a custom filter, you may use any resource type you like."
    );
    let mut no_type = sd_query(Some("global"));
    no_type.metric_type = None;
    assert!(invalid(no_type, &scope_with(&[])).contains("metricType is required"));
    let mut deprecated = sd_query(Some("global"));
    deprecated.custom_filter = Some("x".into());
    assert!(invalid(deprecated, &scope_with(&[])).contains("customFilter is deprecated"));
    let mut missing = sd_query(Some("global"));
    missing.custom_filter_template = Some("nope".into());
    assert_eq!(
        invalid(missing, &scope_with(&[])),
        "Custom filter template 'nope' was referenced, but no templates were defined."
    );
    let no_query = CanaryMetricConfig {
        name: Some("requests".into()),
        ..Default::default()
    };
    assert!(
        source("http://127.0.0.1:9", "p")
            .build_query(&none, &no_query, &scope_with(&[]))
            .is_err()
    );
}

/// Kayenta's `StackdriverCanaryMetricSetQueryConfigSpec`, through the template expansion
/// the Stackdriver filter uses.
#[test]
fn kayenta_stackdriver_template_vectors() {
    let vectors: Vec<serde_json::Value> = serde_json::from_str(VECTORS).expect("vectors");
    assert_eq!(vectors.len(), 23);
    for (i, v) in vectors.iter().enumerate() {
        let input = &v["input"];
        let mut config = CanaryConfig::default();
        if let Some(templates) = input["templates"].as_object() {
            for (k, t) in templates {
                config
                    .templates
                    .insert(k.clone(), t.as_str().expect("template").to_string());
            }
        }
        let query = MetricQuery {
            custom_filter_template: input["customFilterTemplate"].as_str().map(str::to_string),
            custom_inline_template: input["customInlineTemplate"].as_str().map(str::to_string),
            ..Default::default()
        };
        let mut scope = window_scope();
        scope.scope.clear();
        let (params, attributes): (&serde_json::Value, &[&str]) =
            if let Some(s) = input.get("scope") {
                scope.scope = s["scope"].as_str().expect("scope").to_string();
                scope.location = s["location"].as_str().expect("location").to_string();
                for key in ["project", "resourceType"] {
                    scope
                        .extended_scope_params
                        .insert(key.to_string(), s[key].as_str().expect(key).to_string());
                }
                (&s["extendedScopeParams"], PROMETHEUS_BASE_ATTRIBUTES)
            } else if input["function"] == "expandCustomFilter (no base attributes)" {
                (&input["extendedScopeParams"], &[])
            } else {
                (&input["extendedScopeParams"], PROMETHEUS_BASE_ATTRIBUTES)
            };
        if let Some(params) = params.as_object() {
            for (k, p) in params {
                scope
                    .extended_scope_params
                    .insert(k.clone(), p.as_str().expect("param").to_string());
            }
        }
        let got = expand_custom_filter(&config, &query, &scope, attributes);
        let name = v["name"].as_str().unwrap_or("?");
        match v["expected"].get("result").and_then(|r| r.as_str()) {
            Some(expected) => assert_eq!(
                got.unwrap_or_else(|e| panic!("vector {i} ({name}): {e}")),
                Some(expected.to_string()),
                "vector {i} ({name})"
            ),
            None => {
                assert_eq!(v["expected"]["throws"], "IllegalArgumentException");
                assert!(
                    matches!(got, Err(SourceError::InvalidQuery(_))),
                    "vector {i} ({name}): {got:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn reads_every_page_and_puts_series_on_the_grid() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    let src = source(&base, "paged");
    let mut query = sd_query(Some("gce_instance"));
    query.group_by_fields = Some(vec![
        "resource.labels.zone".into(),
        "metric.labels.response_code".into(),
    ]);
    let scope = scope_with(&[]);
    let sets = src
        .query_metrics(&CanaryConfig::default(), &metric(query), &scope)
        .await
        .expect("sets");

    // Three requests: the first without a page token, then each page's token; the empty
    // middle page did not end the listing.
    let seen = stand.lists("paged");
    let tokens: Vec<Option<&str>> = seen.iter().map(|s| s.param("pageToken")).collect();
    assert_eq!(tokens, vec![None, Some("page-2"), Some("page-3")]);
    let expected_filter = format!(
        "metric.type=\"{METRIC_TYPE}\" AND resource.type=gce_instance AND project=paged AND metadata.user_labels.\"spinnaker-region\"=us-central1 AND metadata.user_labels.\"spinnaker-server-group\"=myapp-canary-v001"
    );
    for s in &seen {
        assert_eq!(s.param("filter"), Some(expected_filter.as_str()));
        assert_eq!(s.param("interval.startTime"), Some("2026-11-30T10:00:00Z"));
        assert_eq!(s.param("interval.endTime"), Some("2026-11-30T10:05:00Z"));
        assert_eq!(s.param("aggregation.alignmentPeriod"), Some("60s"));
        assert_eq!(s.param("aggregation.perSeriesAligner"), Some("ALIGN_MEAN"));
        assert_eq!(
            s.param("aggregation.crossSeriesReducer"),
            Some("REDUCE_MEAN")
        );
        assert_eq!(
            s.params("aggregation.groupByFields"),
            vec!["resource.labels.zone", "metric.labels.response_code"]
        );
        assert_eq!(s.authorization.as_deref(), Some("Bearer test-bearer-token"));
    }

    assert_eq!(sets.len(), 3);
    for set in &sets {
        assert_eq!(set.name, "requests");
        assert_eq!(
            set.start_time_millis,
            time("2026-11-30T10:00:00Z").timestamp_millis()
        );
        assert_eq!(set.start_time_iso.as_deref(), Some("2026-11-30T10:00:00Z"));
        assert_eq!(set.step_millis, 60_000);
        assert_eq!(set.end_time_millis, set.start_time_millis + 5 * 60_000);
        assert_eq!(set.end_time_iso.as_deref(), Some("2026-11-30T10:05:00Z"));
        assert_eq!(set.expected_data_points(), 5);
        assert!(set.is_aligned());
        assert_eq!(set.attributes["query"], expected_filter);
        assert_eq!(set.attributes["crossSeriesReducer"], "REDUCE_MEAN");
        assert_eq!(set.attributes["perSeriesAligner"], "ALIGN_MEAN");
        assert!(!set.tags.contains_key("project_id"));
    }
    // INT64 strings, newest first, the 10:03 period missing -> NaN at index 2.
    assert_eq!(
        tags(&sets[0]),
        vec![
            ("instance_id", "111"),
            ("response_code", "200"),
            ("zone", "us-central1-a")
        ]
    );
    assert_values(&sets[0].values, &[10.0, 20.0, f64::NAN, 40.0, 50.0]);
    // DOUBLE numbers and the "NaN" string.
    assert_eq!(sets[1].tags["instance_id"], "222");
    assert_values(&sets[1].values, &[0.125, 2.0, 0.25, f64::NAN, 0.5]);
    // The third page: a value above 2^53 becomes the nearest double, as Kayenta's cast.
    assert_eq!(sets[2].tags["instance_id"], "333");
    assert_values(
        &sets[2].values,
        &[1.0, 2.0, 3.0, -4.0, 9_007_199_254_740_992.0],
    );
}

#[tokio::test]
async fn no_series_gives_one_placeholder_on_the_grid_and_overrides_reach_the_request() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    let src = source(&base, "empty");
    let mut query = sd_query(Some("global"));
    query.per_series_aligner = Some("ALIGN_RATE".into());
    let scope = scope_with(&[
        ("crossSeriesReducer", "REDUCE_SUM"),
        ("perSeriesAligner", "ALIGN_MAX"),
    ]);
    let sets = src
        .query_metrics(&CanaryConfig::default(), &metric(query), &scope)
        .await
        .expect("sets");
    assert_eq!(sets.len(), 1);
    let p = &sets[0];
    assert!(p.tags.is_empty());
    assert_eq!(p.values.len(), 5);
    assert!(p.values.iter().all(|v| v.is_nan()));
    assert_eq!(p.expected_data_points(), 5);
    assert!(p.is_aligned());
    assert_eq!(p.attributes["perSeriesAligner"], "ALIGN_RATE");
    assert_eq!(p.attributes["crossSeriesReducer"], "REDUCE_SUM");

    let seen = stand.lists("empty");
    assert_eq!(seen.len(), 1);
    // The query's aligner wins over the scope's; the scope's reducer over the default.
    assert_eq!(
        seen[0].param("aggregation.perSeriesAligner"),
        Some("ALIGN_RATE")
    );
    assert_eq!(
        seen[0].param("aggregation.crossSeriesReducer"),
        Some("REDUCE_SUM")
    );
    assert!(seen[0].params("aggregation.groupByFields").is_empty());
    assert_eq!(seen[0].param("pageToken"), None);

    // Without a query aligner the scope's is used.
    let sets = src
        .query_metrics(
            &CanaryConfig::default(),
            &metric(sd_query(Some("global"))),
            &scope,
        )
        .await
        .expect("sets");
    assert_eq!(sets[0].attributes["perSeriesAligner"], "ALIGN_MAX");
    assert_eq!(
        stand.lists("empty")[1].param("aggregation.perSeriesAligner"),
        Some("ALIGN_MAX")
    );
}

#[tokio::test]
async fn google_errors_become_status_errors_with_googles_message() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    let cases = [
        (
            "status-400",
            400,
            "Field aggregation.perSeriesAligner had an invalid value of \"ALIGN_BOGUS\": The aligner is not known. (INVALID_ARGUMENT)",
        ),
        (
            "status-403",
            403,
            "Permission monitoring.timeSeries.list denied (or the resource may not exist). (PERMISSION_DENIED)",
        ),
        (
            "status-404",
            404,
            "Requested entity was not found. (NOT_FOUND)",
        ),
    ];
    for (project, code, text) in cases {
        let e = source(&base, project)
            .query_metrics(
                &CanaryConfig::default(),
                &metric(sd_query(Some("global"))),
                &window_scope(),
            )
            .await
            .expect_err("error");
        match &e {
            SourceError::Status {
                service,
                account,
                url,
                status,
                message,
            } => {
                assert_eq!(*service, "stackdriver");
                assert_eq!(account, "my-google-account");
                assert_eq!(url, &format!("{base}/v3/projects/{project}/timeSeries"));
                assert_eq!(*status, code);
                assert_eq!(message, text);
            }
            other => panic!("{project}: expected a status error, got {other:?}"),
        }
        // Not retried: one request each.
        assert_eq!(stand.lists(project).len(), 1, "{project}");
        // The filter travels in the query string, which errors leave out.
        assert!(!e.to_string().contains("metric.type"), "{e}");
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    for project in ["throttled", "flaky"] {
        let sets = source(&base, project)
            .query_metrics(
                &CanaryConfig::default(),
                &metric(sd_query(Some("global"))),
                &window_scope(),
            )
            .await
            .unwrap_or_else(|e| panic!("{project}: {e}"));
        assert_eq!(stand.lists(project).len(), 2, "{project}");
        assert_eq!(sets.len(), 1);
        assert_values(
            &sets[0].values,
            &[1.0, 2.0, 3.0, -4.0, 9_007_199_254_740_992.0],
        );
    }
}

#[tokio::test]
async fn a_server_that_never_answers_is_an_error_naming_account_and_url() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    let short = RetryPolicy {
        attempts: 2,
        request_timeout: Duration::from_millis(100),
        ..policy()
    };
    let e = source_with(&base, "hang", short)
        .query_metrics(
            &CanaryConfig::default(),
            &metric(sd_query(Some("global"))),
            &window_scope(),
        )
        .await
        .expect_err("error");
    assert!(
        matches!(e, SourceError::Unreachable { attempts: 2, .. }),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(text.contains("'my-google-account'"), "{text}");
    assert!(
        text.contains(&format!("{base}/v3/projects/hang/timeSeries")),
        "{text}"
    );
    assert!(!text.contains("test-bearer-token"), "{text}");
}

#[tokio::test]
async fn unreadable_answers_are_response_errors() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    let run = |project: &'static str| {
        let base = base.clone();
        async move {
            source(&base, project)
                .query_metrics(
                    &CanaryConfig::default(),
                    &metric(sd_query(Some("global"))),
                    &window_scope(),
                )
                .await
                .expect_err("error")
        }
    };
    for (project, needle) in [
        ("garbage", "not a timeSeries.list response"),
        ("not-a-list", "not a timeSeries.list response"),
        ("token-loop", "repeats an earlier nextPageToken"),
        ("distribution", "valueType DISTRIBUTION"),
    ] {
        let e = run(project).await;
        match &e {
            SourceError::Response {
                service,
                account,
                url,
                detail,
            } => {
                assert_eq!(*service, "stackdriver");
                assert_eq!(account, "my-google-account");
                assert_eq!(url, &format!("{base}/v3/projects/{project}/timeSeries"));
                assert!(detail.contains(needle), "{project}: {detail}");
            }
            other => panic!("{project}: expected a response error, got {other:?}"),
        }
    }
    // The loop guard stopped at the first repeat: two requests.
    assert_eq!(stand.lists("token-loop").len(), 2);
}

#[tokio::test]
async fn a_listing_that_never_ends_stops_at_the_page_limit() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    let e = source(&base, "endless")
        .query_metrics(
            &CanaryConfig::default(),
            &metric(sd_query(Some("global"))),
            &window_scope(),
        )
        .await
        .expect_err("error");
    match &e {
        SourceError::Response { detail, .. } => {
            assert!(
                detail.contains(&format!("more than {MAX_PAGES} pages")),
                "{detail}"
            )
        }
        other => panic!("expected a response error, got {other:?}"),
    }
    assert_eq!(stand.lists("endless").len(), MAX_PAGES);
}

// ---------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_service_account_key_is_exchanged_once_and_the_token_is_shared() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    let token_uri = format!("{base}/token");
    let path = key_file("exchange.json", &token_uri);
    let src = key_source(&base, "empty", path).expect("source");
    let config = CanaryConfig::default();
    let m = metric(sd_query(Some("global")));
    let scope = window_scope();
    // Two concurrent queries, then a third: one token request in all.
    let (a, b) = futures_util::future::join(
        src.query_metrics(&config, &m, &scope),
        src.query_metrics(&config, &m, &scope),
    )
    .await;
    a.expect("first");
    b.expect("second");
    src.query_metrics(&config, &m, &scope).await.expect("third");

    let tokens = stand.tokens();
    assert_eq!(tokens.len(), 1, "one token request: {tokens:?}");
    let lists = stand.lists("empty");
    assert_eq!(lists.len(), 3);
    for l in &lists {
        assert_eq!(l.authorization.as_deref(), Some("Bearer sa-token-1"));
    }

    // The JWT-bearer grant, with an RS256 assertion for the key's account.
    let form: BTreeMap<&str, &str> = tokens[0]
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(form.get("grant_type"), Some(&JWT_BEARER));
    let assertion = form.get("assertion").expect("assertion");
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    let header: serde_json::Value =
        serde_json::from_slice(&base64url_decode(parts[0])).expect("JWT header");
    assert_eq!(header["alg"], "RS256");
    let claims: serde_json::Value =
        serde_json::from_slice(&base64url_decode(parts[1])).expect("JWT claims");
    assert_eq!(claims["iss"], TEST_CLIENT_EMAIL);
    assert_eq!(claims["aud"], token_uri.as_str());
    assert_eq!(claims["scope"], MONITORING_READ_SCOPE);
    let iat = claims["iat"].as_i64().expect("iat");
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > iat && exp - iat <= 3600, "{claims}");
    // A 2048-bit RSA signature is 256 bytes.
    assert_eq!(base64url_decode(parts[2]).len(), 256);
}

#[tokio::test]
async fn a_401_drops_the_cached_token_so_the_next_query_gets_a_new_one() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    let path = key_file("revoked.json", &format!("{base}/token"));
    let src = key_source(&base, "unauthenticated-once", path).expect("source");
    let config = CanaryConfig::default();
    let m = metric(sd_query(Some("global")));
    let e = src
        .query_metrics(&config, &m, &window_scope())
        .await
        .expect_err("401");
    assert!(
        matches!(&e, SourceError::Status { status: 401, message, .. } if message.contains("UNAUTHENTICATED")),
        "{e:?}"
    );
    src.query_metrics(&config, &m, &window_scope())
        .await
        .expect("second query");
    let auth: Vec<Option<String>> = stand
        .lists("unauthenticated-once")
        .into_iter()
        .map(|s| s.authorization)
        .collect();
    assert_eq!(
        auth,
        vec![
            Some("Bearer sa-token-1".to_string()),
            Some("Bearer sa-token-2".to_string())
        ]
    );
    assert_eq!(stand.tokens().len(), 2);
}

#[tokio::test]
async fn a_refused_token_exchange_is_an_error_naming_the_key_and_endpoint() {
    let stand = Stand::default();
    let base = serve(stand.clone()).await;
    let token_uri = format!("{base}/token-refused");
    let path = key_file("refused.json", &token_uri);
    let src = key_source(&base, "empty", path.clone()).expect("source");
    let e = src
        .query_metrics(
            &CanaryConfig::default(),
            &metric(sd_query(Some("global"))),
            &window_scope(),
        )
        .await
        .expect_err("error");
    let text = e.to_string();
    assert!(matches!(e, SourceError::Config(_)), "{e:?}");
    assert!(text.contains("'sa-account'"), "{text}");
    assert!(text.contains(&token_uri), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    // Nothing was listed without a token.
    assert!(stand.lists("empty").is_empty());
}

#[test]
fn bad_key_files_fail_when_the_source_is_built_naming_the_file() {
    let base = "http://127.0.0.1:9";
    let config_error = |path: PathBuf| match key_source(base, "p", path) {
        Err(SourceError::Config(m)) => m,
        other => panic!("expected a config error, got {other:?}"),
    };
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-key.json");
    let m = config_error(missing.clone());
    assert!(m.contains(&missing.display().to_string()), "{m}");

    let path = write_tmp(
        "malformed.json",
        "{\"private_key\": \"-----BEGIN PRIVATE KEY-----",
    );
    let m = config_error(path.clone());
    assert!(
        m.contains(&path.display().to_string()) && m.contains("not valid JSON"),
        "{m}"
    );
    assert!(!m.contains("BEGIN PRIVATE KEY"), "{m}");

    let path = write_tmp(
        "no-token-uri.json",
        &serde_json::json!({"type": "service_account", "client_email": "a@b", "private_key": TEST_ONLY_KEY})
            .to_string(),
    );
    let m = config_error(path);
    assert!(m.contains("has no 'token_uri'"), "{m}");

    let path = write_tmp(
        "user-credentials.json",
        &serde_json::json!({"type": "authorized_user", "client_id": "x", "refresh_token": "y"})
            .to_string(),
    );
    let m = config_error(path);
    assert!(m.contains("'authorized_user'"), "{m}");
    assert!(!m.contains("\"y\""), "{m}");

    let path = write_tmp(
        "bad-private-key.json",
        &serde_json::json!({"type": "service_account", "client_email": "a@b",
            "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "token_uri": "http://127.0.0.1:9/token"})
        .to_string(),
    );
    let m = config_error(path.clone());
    assert!(m.contains("cannot be used"), "{m}");
    assert!(m.contains(&path.display().to_string()), "{m}");

    let path = write_tmp(
        "ftp-token-uri.json",
        &serde_json::json!({"type": "service_account", "client_email": "a@b",
            "private_key": TEST_ONLY_KEY, "token_uri": "ftp://example.invalid/token"})
        .to_string(),
    );
    assert!(config_error(path).contains("not an http(s) URL"));
}

#[test]
fn an_empty_bearer_token_is_refused_and_credentials_never_print() {
    let account = StackdriverAccount::new(
        "a",
        "http://127.0.0.1:9",
        "p",
        StackdriverCredentials::BearerToken("  ".into()),
    )
    .expect("account");
    assert!(matches!(
        Stackdriver::new(account, http(policy())),
        Err(SourceError::Config(_))
    ));
    let src = source("http://127.0.0.1:9", "p");
    let shown = format!("{src:?}");
    assert!(!shown.contains("test-bearer-token"), "{shown}");
}

#[tokio::test]
async fn metadata_lists_every_page_of_metric_descriptors_filtered_by_type() {
    let base = serve(Stand::default()).await;
    let sd = source(&base, "paged");
    let all = sd.metadata(None).await.expect("descriptors");
    let types: Vec<&str> = all.iter().filter_map(|d| d["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "compute.googleapis.com/instance/cpu/utilization",
            "kubernetes.io/container/restart_count",
            "kubernetes.io/container/cpu/core_usage_time"
        ]
    );
    // Google's objects are passed on whole (Kayenta returns MetricDescriptor objects).
    assert_eq!(all[0]["metricKind"], "GAUGE");
    assert_eq!(all[0]["unit"], "10^2.%");
    let cpu = sd.metadata(Some(" CPU ")).await.expect("descriptors");
    assert_eq!(cpu.len(), 2);
    assert!(
        cpu.iter()
            .all(|d| d["type"].as_str().unwrap_or_default().contains("cpu"))
    );
    let e = source(&base, "status-403")
        .metadata(None)
        .await
        .expect_err("403");
    let text = e.to_string();
    assert!(text.contains("403"), "{text}");
    assert!(
        text.contains("/v3/projects/status-403/metricDescriptors"),
        "{text}"
    );
}
