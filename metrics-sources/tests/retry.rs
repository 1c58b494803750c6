//! Kayenta's retry schedule (`SynchronousQueryProcessor`, `kayenta.metrics.retry.*`) on a
//! paused tokio clock with an in-memory transport: no socket is opened, so the paused
//! clock can jump ahead through every backoff without waiting.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kanary_metrics_sources::http::{
    BoxFuture, HttpRequest, HttpResponse, Transport, TransportError,
};
use kanary_metrics_sources::{HttpClient, Origin, RetryPolicy, RetryableStatuses, SourceError};
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use tokio::time::Instant;

/// One scripted outcome of a request.
#[derive(Clone)]
enum Step {
    Status(u16),
    StatusRetryAfter(u16, &'static str),
    Io,
    Hang,
}

/// Plays `script` in order, repeating the last step forever; records when each request
/// arrived, in seconds since the transport was made.
struct Scripted {
    script: Mutex<VecDeque<Step>>,
    calls: Mutex<Vec<f64>>,
    origin: Instant,
}

impl Scripted {
    fn new(steps: &[Step]) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(steps.iter().cloned().collect()),
            calls: Mutex::new(Vec::new()),
            origin: Instant::now(),
        })
    }

    fn calls(&self) -> Vec<f64> {
        self.calls.lock().unwrap().clone()
    }
}

impl Transport for Scripted {
    fn send<'a>(
        &'a self,
        _request: &'a HttpRequest,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>> {
        let at = self.origin.elapsed().as_secs_f64();
        self.calls.lock().unwrap().push(at);
        let step = {
            let mut script = self.script.lock().unwrap();
            if script.len() > 1 {
                script.pop_front().unwrap()
            } else {
                script.front().cloned().unwrap()
            }
        };
        Box::pin(async move {
            let response = |status: u16, headers: HeaderMap| HttpResponse {
                status,
                headers,
                body: format!("status {status}").into_bytes(),
            };
            match step {
                Step::Status(s) => Ok(response(s, HeaderMap::new())),
                Step::StatusRetryAfter(s, after) => {
                    let mut h = HeaderMap::new();
                    h.insert(RETRY_AFTER, HeaderValue::from_static(after));
                    Ok(response(s, h))
                }
                Step::Io => Err(TransportError::Io("connection refused".into())),
                Step::Hang => std::future::pending().await,
            }
        })
    }
}

fn client(transport: Arc<Scripted>, policy: RetryPolicy) -> HttpClient {
    HttpClient::new(transport, policy)
}

fn request() -> HttpRequest {
    HttpRequest::get(
        "http://127.0.0.1:9/api/v1/query_range?query=up"
            .parse()
            .unwrap(),
    )
}

fn no_deadline() -> RetryPolicy {
    RetryPolicy {
        deadline: Duration::from_secs(100_000),
        ..RetryPolicy::default()
    }
}

#[tokio::test(start_paused = true)]
async fn server_errors_back_off_one_two_four_seconds_then_succeed() {
    let t = Scripted::new(&[
        Step::Status(500),
        Step::Status(502),
        Step::Status(503),
        Step::Status(200),
    ]);
    let c = client(t.clone(), RetryPolicy::default());
    let resp = c
        .session(Origin::new("prometheus", "p"))
        .get(&request())
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(t.calls(), vec![0.0, 1.0, 3.0, 7.0]);
}

#[tokio::test(start_paused = true)]
async fn ten_attempts_with_doubling_backoff_then_the_last_response() {
    let t = Scripted::new(&[Step::Status(500)]);
    let c = client(t.clone(), no_deadline());
    let resp = c
        .session(Origin::new("prometheus", "p"))
        .get(&request())
        .await
        .unwrap();
    assert_eq!(
        resp.status, 500,
        "the last response is returned for the provider to report"
    );
    assert_eq!(
        t.calls(),
        vec![0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 127.0, 255.0, 511.0]
    );
}

#[tokio::test(start_paused = true)]
async fn the_two_minute_deadline_stops_the_schedule_before_a_wait_that_would_pass_it() {
    let t = Scripted::new(&[Step::Status(503)]);
    let c = client(t.clone(), RetryPolicy::default());
    let start = Instant::now();
    let err = c
        .session(Origin::new("datadog", "dd"))
        .get(&request())
        .await
        .unwrap_err();
    // 0, 1, 3, 7, 15, 31, 63; the next wait (64 s) would end at 127 s > 120 s.
    assert_eq!(t.calls(), vec![0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0]);
    assert_eq!(start.elapsed(), Duration::from_secs(63), "no sleep in vain");
    match err {
        SourceError::Deadline {
            service,
            account,
            url,
            attempts,
            deadline,
            detail,
        } => {
            assert_eq!((service, account.as_str()), ("datadog", "dd"));
            assert_eq!(url, "http://127.0.0.1:9/api/v1/query_range");
            assert_eq!(attempts, 7);
            assert_eq!(deadline, Duration::from_secs(120));
            assert!(detail.contains("HTTP 503"), "{detail}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_a_lower_bound_on_the_wait() {
    let t = Scripted::new(&[
        Step::StatusRetryAfter(429, "5"),
        Step::StatusRetryAfter(429, "0"),
        Step::Status(200),
    ]);
    let c = client(t.clone(), RetryPolicy::default());
    let resp = c
        .session(Origin::new("datadog", "dd"))
        .get(&request())
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    // Retry-After 5 s beats the 1 s backoff; Retry-After 0 does not shorten the 2 s one.
    assert_eq!(t.calls(), vec![0.0, 5.0, 7.0]);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_the_deadline_fails_at_once() {
    let t = Scripted::new(&[Step::StatusRetryAfter(429, "3600"), Step::Status(200)]);
    let c = client(t.clone(), RetryPolicy::default());
    let err = c
        .session(Origin::new("datadog", "dd"))
        .get(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::Deadline { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(t.calls(), vec![0.0]);
}

#[tokio::test(start_paused = true)]
async fn an_absurd_retry_after_is_an_error_not_a_panic() {
    let t = Scripted::new(&[Step::StatusRetryAfter(503, "10000000000000000000")]);
    let c = client(t.clone(), RetryPolicy::default());
    let err = c
        .session(Origin::new("datadog", "dd"))
        .get(&request())
        .await
        .unwrap_err();
    // Read as a day (no overflow), which is past the deadline: fail at once.
    assert!(
        matches!(err, SourceError::Deadline { attempts: 1, .. }),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn request_timeouts_are_retried_and_bounded_by_the_deadline() {
    let t = Scripted::new(&[Step::Hang]);
    let c = client(t.clone(), RetryPolicy::default());
    let start = Instant::now();
    let err = c
        .session(Origin::new("stackdriver", "g"))
        .get(&request())
        .await
        .unwrap_err();
    // 30 s timeout, wait 1 s, 30 s, wait 2 s, 30 s (ends at 93 s), the wait of 4 s then
    // leaves 23 s: the 4th attempt is cut at the deadline.
    assert_eq!(t.calls(), vec![0.0, 31.0, 63.0, 97.0]);
    assert_eq!(start.elapsed(), Duration::from_secs(120));
    match err {
        SourceError::Deadline {
            attempts, detail, ..
        } => {
            assert_eq!(attempts, 4);
            assert!(detail.contains("no answer within 23s"), "{detail}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_not_retried() {
    for status in [400, 401, 403, 404, 422] {
        let t = Scripted::new(&[Step::Status(status), Step::Status(200)]);
        let c = client(t.clone(), RetryPolicy::default());
        let resp = c
            .session(Origin::new("prometheus", "p"))
            .get(&request())
            .await
            .unwrap();
        assert_eq!(resp.status, status);
        assert_eq!(t.calls().len(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn io_errors_use_every_attempt_then_name_account_and_url() {
    let t = Scripted::new(&[Step::Io]);
    let policy = RetryPolicy {
        attempts: 5,
        ..no_deadline()
    };
    let c = client(t.clone(), policy);
    let err = c
        .session(Origin::new("prometheus", "prod"))
        .get(&request())
        .await
        .unwrap_err();
    assert_eq!(t.calls().len(), 5);
    assert_eq!(
        err.to_string(),
        "prometheus account 'prod' at http://127.0.0.1:9/api/v1/query_range is unreachable after 5 attempt(s): connection refused"
    );
}

/// `testdata/kayenta_vectors/synchronous_query_processor.json`: Kayenta's own retry
/// cases (attempts 5; series SERVER_ERROR and REDIRECTION; status LOCKED 423).
#[tokio::test(start_paused = true)]
async fn kayenta_synchronous_query_processor_vectors() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/kayenta_vectors/synchronous_query_processor.json"
    ))
    .unwrap();
    let vectors: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(vectors.len(), 6);
    let policy = RetryPolicy {
        attempts: 5,
        retryable: RetryableStatuses::none()
            .with_series(5)
            .with_series(3)
            .with_status(423),
        ..no_deadline()
    };
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let responses: Vec<&str> = v["input"]["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let steps: Vec<Step> = responses
            .iter()
            .map(|r| match r.split_whitespace().next().unwrap() {
                "success" => Step::Status(200),
                "IOException" | "network" => Step::Io,
                code => Step::Status(code.parse().unwrap()),
            })
            .collect();
        let t = Scripted::new(&steps);
        let c = client(t.clone(), policy);
        let outcome = c
            .session(Origin::new("prometheus", "p"))
            .get(&request())
            .await;
        let expected_calls = v["expected"]["queryMetricsCalls"].as_u64().unwrap() as usize;
        assert_eq!(t.calls().len(), expected_calls, "{name}");
        let succeeded = matches!(&outcome, Ok(r) if r.is_success());
        let stored = v["expected"]["outcome"]
            .as_str()
            .unwrap()
            .contains("stored once");
        assert_eq!(succeeded, stored, "{name}: {outcome:?}");
    }
}

#[test]
fn backoff_is_capped_and_never_overflows() {
    let p = RetryPolicy::default();
    assert_eq!(p.backoff_before(1), Duration::from_secs(1));
    assert_eq!(p.backoff_before(9), Duration::from_secs(256));
    assert_eq!(p.backoff_before(10), Duration::from_secs(300));
    assert_eq!(p.backoff_before(200), Duration::from_secs(300));
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    use kanary_metrics_sources::http::retry_after;
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Mon, 30 Nov 2026 10:00:42 GMT"),
    );
    assert_eq!(retry_after(&h, now), Some(Duration::from_secs(42)));
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Mon, 30 Nov 2026 09:00:00 GMT"),
    );
    assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
    h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
    assert_eq!(retry_after(&h, now), None);
}
