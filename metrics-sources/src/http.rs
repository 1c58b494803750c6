//! HTTP for the providers: a small transport trait (so tests can swap the network for an
//! in-memory script on a paused clock), the reqwest transport, and Kayenta's retries.
//!
//! Retries follow Kayenta's `SynchronousQueryProcessor` and `kayenta.metrics.retry.*`
//! defaults: up to 10 attempts in all, a backoff of `2^(retry−1) × 1 s` before retry
//! `retry`, on 5xx, 408, 429 and on I/O errors. kanary adds what Kayenta leaves to Orca: a
//! per-request timeout (30 s), an overall deadline per fetch (2 minutes, Kayenta's fetch
//! stage timeout) and `Retry-After`, which is honoured as a lower bound on the wait.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use tokio::time::Instant;

use crate::error::{Origin, SourceError, display_url};

/// A boxed, sendable future (the trait objects of this crate return these).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One GET request.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The full URL, query included.
    pub url: Url,
    /// Headers; secrets are marked sensitive so that `Debug` never shows them.
    pub headers: HeaderMap,
}

impl HttpRequest {
    /// A GET of `url` with no headers.
    pub fn get(url: Url) -> Self {
        Self {
            url,
            headers: HeaderMap::new(),
        }
    }

    /// Adds a header. A value that is not a valid header value is an error naming the
    /// header only (the value may be a secret).
    pub fn header(
        mut self,
        name: HeaderName,
        value: &str,
        secret: bool,
    ) -> Result<Self, SourceError> {
        let mut v = HeaderValue::from_str(value).map_err(|_| {
            SourceError::Config(format!(
                "the value for the HTTP header {name} contains characters that are not allowed in a header"
            ))
        })?;
        v.set_sensitive(secret);
        self.headers.insert(name, v);
        Ok(self)
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text, lossily, at most `max` bytes (for error messages).
    pub fn body_excerpt(&self, max: usize) -> String {
        let end = self.body.len().min(max);
        let mut s = String::from_utf8_lossy(&self.body[..end])
            .trim()
            .to_string();
        if self.body.len() > max {
            s.push('…');
        }
        s
    }
}

/// Why no response came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The request timed out.
    Timeout,
    /// Connection refused or reset, DNS, TLS, a body cut short: anything Kayenta's OkHttp
    /// would raise as an `IOException`.
    Io(String),
    /// The body is larger than the transport reads (the limit, bytes). Not retried.
    TooLarge(usize),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Timeout => f.write_str("timed out"),
            TransportError::Io(e) => f.write_str(e),
            TransportError::TooLarge(limit) => {
                write!(f, "the response body is larger than {limit} bytes")
            }
        }
    }
}

/// Sends one request and reads the whole response. Implementations do not retry.
pub trait Transport: Send + Sync {
    /// Sends `request`; gives up after `timeout`.
    fn send<'a>(
        &'a self,
        request: &'a HttpRequest,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>>;
}

/// The largest response body kanary reads by default: 256 MiB (11,000 points of a few
/// hundred Prometheus series fit many times over).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The network transport: one shared `reqwest::Client`.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    max_body_bytes: usize,
}

impl ReqwestTransport {
    /// A transport with kanary's client settings (connect timeout 10 s, rustls).
    pub fn new() -> Result<Self, SourceError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(same_origin_redirects())
            .user_agent(concat!("kanary/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self::with_client(client))
    }

    /// A transport over a client the caller built (shared connection pool, own settings).
    pub fn with_client(client: reqwest::Client) -> Self {
        Self {
            client,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Sets the largest response body read; a larger one is an error, not retried.
    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }
}

impl Transport for ReqwestTransport {
    fn send<'a>(
        &'a self,
        request: &'a HttpRequest,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let call = async {
                let response = self
                    .client
                    .get(request.url.clone())
                    .headers(request.headers.clone())
                    .send()
                    .await
                    .map_err(|e| TransportError::Io(describe_reqwest(&e)))?;
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let limit = self.max_body_bytes;
                if response.content_length().is_some_and(|n| n > limit as u64) {
                    return Err(TransportError::TooLarge(limit));
                }
                let mut response = response;
                let mut body = Vec::new();
                while let Some(chunk) = response
                    .chunk()
                    .await
                    .map_err(|e| TransportError::Io(describe_reqwest(&e)))?
                {
                    if body.len() + chunk.len() > limit {
                        return Err(TransportError::TooLarge(limit));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(HttpResponse {
                    status,
                    headers,
                    body,
                })
            };
            match tokio::time::timeout(timeout, call).await {
                Ok(r) => r,
                Err(_) => Err(TransportError::Timeout),
            }
        })
    }
}

/// Follows at most 5 redirects, and only within the same scheme, host and port: the
/// providers' keys travel in custom headers (`DD-API-KEY`) that reqwest would forward to
/// any host a redirect names.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if same_origin {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// reqwest's error as a kind and its causes, without the URL (reqwest's own text includes
/// the URL with its query; callers add a URL without secrets).
fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut text = String::from(if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "error reading the body"
    } else {
        "request failed"
    });
    crate::error::append_causes(&mut text, e);
    text
}

/// Which HTTP statuses are retried: Kayenta's `kayenta.metrics.retry.series` (whole
/// classes such as `SERVER_ERROR`) and `.statuses` (single codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryableStatuses {
    bits: [u64; 10],
}

impl RetryableStatuses {
    /// No status is retried.
    pub const fn none() -> Self {
        Self { bits: [0; 10] }
    }

    /// Kayenta's default: series `SERVER_ERROR` (5xx), statuses `REQUEST_TIMEOUT` (408)
    /// and `TOO_MANY_REQUESTS` (429).
    pub const fn kayenta_default() -> Self {
        Self::none()
            .with_series(5)
            .with_status(408)
            .with_status(429)
    }

    /// Adds a whole class: `series` 1..=5 for 1xx..5xx.
    pub const fn with_series(mut self, series: u16) -> Self {
        if series >= 1 && series <= 5 {
            let mut code = series * 100;
            while code < series * 100 + 100 {
                self = self.with_status(code);
                code += 1;
            }
        }
        self
    }

    /// Adds one status code (100..=639; others are ignored).
    pub const fn with_status(mut self, status: u16) -> Self {
        let i = status as usize;
        if i < 640 {
            self.bits[i / 64] |= 1 << (i % 64);
        }
        self
    }

    /// Whether `status` is retried.
    pub const fn contains(&self, status: u16) -> bool {
        let i = status as usize;
        i < 640 && self.bits[i / 64] & (1 << (i % 64)) != 0
    }
}

impl Default for RetryableStatuses {
    fn default() -> Self {
        Self::kayenta_default()
    }
}

/// Retry settings. `Default` is Kayenta's production setting plus kanary's timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests in all, the first included (Kayenta: 10).
    pub attempts: u32,
    /// The first backoff; retry `r` waits `2^(r−1)` times this (Kayenta: 1 s).
    pub backoff: Duration,
    /// The longest single backoff (so a large `attempts` cannot overflow).
    pub max_backoff: Duration,
    /// Timeout of each request.
    pub request_timeout: Duration,
    /// Overall deadline of one fetch, all attempts and waits included.
    pub deadline: Duration,
    /// The statuses that are retried (I/O errors and timeouts always are).
    pub retryable: RetryableStatuses,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 10,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(120),
            retryable: RetryableStatuses::kayenta_default(),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `retry` (1-based): `2^(retry−1) × backoff`, capped.
    pub fn backoff_before(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// Whether Kayenta's default policy retries this status: 5xx (`SERVER_ERROR`), 408, 429.
pub fn is_retryable_status(status: u16) -> bool {
    RetryableStatuses::kayenta_default().contains(status)
}

/// `Retry-After` as a duration: delay-seconds, or an HTTP-date relative to `now`.
pub fn retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        // Any number of seconds parses; a day is longer than any fetch deadline.
        return Some(Duration::from_secs(secs.min(86_400)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// A transport with a retry policy: what each provider holds.
#[derive(Clone)]
pub struct HttpClient {
    transport: Arc<dyn Transport>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client over `transport` with `policy`.
    pub fn new(transport: Arc<dyn Transport>, policy: RetryPolicy) -> Self {
        Self { transport, policy }
    }

    /// A network client with the default policy.
    pub fn reqwest() -> Result<Self, SourceError> {
        Ok(Self::new(
            Arc::new(ReqwestTransport::new()?),
            RetryPolicy::default(),
        ))
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Starts one fetch: its requests share the overall deadline.
    pub fn session(&self, origin: Origin) -> Session<'_> {
        Session {
            client: self,
            origin,
            deadline: Instant::now() + self.policy.deadline,
        }
    }
}

/// The requests of one fetch, sharing one deadline.
pub struct Session<'a> {
    client: &'a HttpClient,
    origin: Origin,
    deadline: Instant,
}

impl Session<'_> {
    /// Who is asked.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Sends `request` with Kayenta's retries. Returns the response of the first attempt
    /// that is not retried (any status), or the last response once the attempts are
    /// used up; an error when no response came at all, or the deadline passed.
    pub async fn get(&self, request: &HttpRequest) -> Result<HttpResponse, SourceError> {
        let policy = &self.client.policy;
        let attempts = policy.attempts.max(1);
        let url = display_url(&request.url);
        let mut last_failure = String::from("no attempt was made");
        let mut last_response: Option<HttpResponse> = None;
        for attempt in 1..=attempts {
            let now = Instant::now();
            if now >= self.deadline {
                return Err(self.deadline_error(&url, attempt - 1, last_failure));
            }
            let budget = policy.request_timeout.min(self.deadline - now);
            // The transport applies the timeout too; this bounds a transport that does not.
            let outcome =
                match tokio::time::timeout(budget, self.client.transport.send(request, budget))
                    .await
                {
                    Ok(r) => r,
                    Err(_) => Err(TransportError::Timeout),
                };
            let mut server_wait = None;
            match outcome {
                Ok(resp) if !policy.retryable.contains(resp.status) => return Ok(resp),
                Ok(resp) => {
                    tracing::warn!(
                        service = self.origin.service,
                        account = %self.origin.account,
                        url = %url,
                        status = resp.status,
                        attempt,
                        "retryable HTTP status"
                    );
                    last_failure = format!("HTTP {}: {}", resp.status, resp.body_excerpt(200));
                    server_wait = retry_after(&resp.headers, chrono::Utc::now());
                    last_response = Some(resp);
                }
                Err(TransportError::TooLarge(limit)) => {
                    return Err(SourceError::Response {
                        service: self.origin.service,
                        account: self.origin.account.clone(),
                        url,
                        detail: format!("the response body is larger than {limit} bytes"),
                    });
                }
                Err(e) => {
                    tracing::warn!(
                        service = self.origin.service,
                        account = %self.origin.account,
                        url = %url,
                        error = %e,
                        attempt,
                        "request failed"
                    );
                    last_failure = if e == TransportError::Timeout {
                        format!("no answer within {:?}", budget)
                    } else {
                        e.to_string()
                    };
                    last_response = None;
                }
            }
            if attempt == attempts {
                break;
            }
            let wait = policy
                .backoff_before(attempt)
                .max(server_wait.unwrap_or(Duration::ZERO));
            // `checked_add`: a server's `Retry-After` can be any number of seconds.
            if Instant::now()
                .checked_add(wait)
                .is_none_or(|t| t >= self.deadline)
            {
                // Waiting would outlast the deadline: say so now rather than sleep in vain.
                return Err(self.deadline_error(&url, attempt, last_failure));
            }
            tokio::time::sleep(wait).await;
        }
        match last_response {
            Some(resp) => Ok(resp),
            None => Err(SourceError::Unreachable {
                service: self.origin.service,
                account: self.origin.account.clone(),
                url,
                attempts,
                detail: last_failure,
            }),
        }
    }

    fn deadline_error(&self, url: &str, attempts: u32, detail: String) -> SourceError {
        SourceError::Deadline {
            service: self.origin.service,
            account: self.origin.account.clone(),
            url: url.to_string(),
            deadline: self.client.policy.deadline,
            attempts,
            detail,
        }
    }
}
