//! The network transport against a stand-in server on 127.0.0.1: body size limit and
//! same-origin redirects.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use kanary_metrics_sources::http::{HttpRequest, ReqwestTransport};
use kanary_metrics_sources::{HttpClient, Origin, RetryPolicy, SourceError};
use reqwest::header::HeaderName;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        backoff: Duration::from_millis(1),
        ..RetryPolicy::default()
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_once_not_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/big",
        get(move || {
            h.fetch_add(1, Ordering::SeqCst);
            async { "x".repeat(1000) }
        }),
    );
    let base = serve(app).await;
    let transport = ReqwestTransport::new().unwrap().with_max_body_bytes(100);
    let client = HttpClient::new(Arc::new(transport), quick());
    let err = client
        .session(Origin::new("prometheus", "p"))
        .get(&HttpRequest::get(format!("{base}/big").parse().unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::Response { detail, .. } if detail.contains("larger than 100 bytes")),
        "{err:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirects_are_followed_within_the_origin_only() {
    let other = serve(Router::new().route(
        "/leak",
        get(|headers: HeaderMap| async move {
            // Reaching here with the key would be a leak.
            format!("{:?}", headers.get("dd-api-key"))
        }),
    ))
    .await;
    let target = format!("{other}/leak");
    let app = Router::new()
        .route(
            "/same",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/final")]) }),
        )
        .route("/final", get(|| async { "arrived" }))
        .route(
            "/away",
            get(move || {
                let t = target.clone();
                async move { (StatusCode::FOUND, [(header::LOCATION, t)]) }
            }),
        );
    let base = serve(app).await;
    let client = HttpClient::new(Arc::new(ReqwestTransport::new().unwrap()), quick());
    let session = client.session(Origin::new("datadog", "dd"));
    let resp = session
        .get(&HttpRequest::get(format!("{base}/same").parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        (resp.status, resp.body.as_slice()),
        (200, b"arrived".as_slice())
    );
    let request = HttpRequest::get(format!("{base}/away").parse().unwrap())
        .header(HeaderName::from_static("dd-api-key"), "secret-key", true)
        .unwrap();
    let resp = session.get(&request).await.unwrap();
    // The cross-origin redirect is not followed: the 302 comes back to the provider.
    assert_eq!(resp.status, 302);
}
