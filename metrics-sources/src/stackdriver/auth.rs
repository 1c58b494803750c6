//! Access tokens for Cloud Monitoring: a ready bearer token, or a service-account key
//! exchanged for tokens with the OAuth2 JWT-bearer flow (RFC 7523) at the key's
//! `token_uri`, as Kayenta's `GoogleCredentials.fromStream(jsonPath)` does.
//!
//! The exchange itself is `gcp_auth`'s `CustomServiceAccount`: it signs the RS256
//! assertion (aws-lc-rs, the crypto stack reqwest already uses), posts it to the key's
//! `token_uri` (plain `http://` too, which the tests' stand-in needs) and retries a failed
//! exchange a few times. kanary adds a per-exchange timeout and one shared cache in front
//! of it, held under a `tokio::sync::Mutex` across the exchange, so that many concurrent
//! queries wait for one token request instead of each sending their own. A 401 from Cloud
//! Monitoring drops the token and the exchanger (whose own cache cannot be cleared), so the
//! next query asks for a new token.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gcp_auth::{CustomServiceAccount, Token, TokenProvider};
use tokio::sync::Mutex;

use crate::{Origin, SourceError, display_url};

use super::StackdriverCredentials;

/// Read-only access to Cloud Monitoring, the narrowest scope `timeSeries.list` accepts
/// (Kayenta asks for `MonitoringScopes.all()`, which includes write access it never uses).
pub const MONITORING_READ_SCOPE: &str = "https://www.googleapis.com/auth/monitoring.read";

/// Where a request's `Authorization` header comes from.
#[derive(Clone)]
pub(super) enum Auth {
    /// A fixed token.
    Bearer(Arc<str>),
    /// A service-account key and its token cache.
    ServiceAccount(Arc<ServiceAccount>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::ServiceAccount(sa) => f
                .debug_struct("ServiceAccount")
                .field("path", &sa.path)
                .field("client_email", &sa.client_email)
                .field("token_uri", &sa.token_uri)
                .finish_non_exhaustive(),
        }
    }
}

/// A service-account key, read and checked, with the cached token.
pub(super) struct ServiceAccount {
    path: PathBuf,
    client_email: String,
    /// The key's `token_uri` as errors show it (no query string).
    token_uri: String,
    /// The key file's text, to build a fresh provider after a 401 (gcp_auth's own token
    /// cache cannot be cleared). Never printed.
    key_json: String,
    state: Mutex<TokenState>,
}

/// The exchanger and the token it gave, behind one lock.
struct TokenState {
    provider: CustomServiceAccount,
    cached: Option<Arc<Token>>,
    /// Set by a 401: the next exchange starts from a new provider.
    stale: bool,
}

impl Auth {
    /// Reads and checks the credentials (a key file is read here, so that a missing or
    /// malformed file fails when the source is built, naming the file).
    pub(super) fn new(credentials: &StackdriverCredentials) -> Result<Self, SourceError> {
        match credentials {
            StackdriverCredentials::BearerToken(token) => {
                let token = token.trim();
                if token.is_empty() {
                    return Err(SourceError::Config(
                        "the Stackdriver bearer token is empty".to_string(),
                    ));
                }
                Ok(Auth::Bearer(Arc::from(token)))
            }
            StackdriverCredentials::ServiceAccountKey(path) => {
                Ok(Auth::ServiceAccount(Arc::new(ServiceAccount::read(path)?)))
            }
        }
    }

    /// The `Authorization` header value for the next request.
    pub(super) async fn authorization(
        &self,
        origin: &Origin,
        timeout: Duration,
    ) -> Result<String, SourceError> {
        match self {
            Auth::Bearer(token) => Ok(format!("Bearer {token}")),
            Auth::ServiceAccount(sa) => {
                let token = sa.token(origin, timeout).await?;
                Ok(format!("Bearer {}", token.as_str()))
            }
        }
    }

    /// Forgets the cached token (after a 401, so that the next query gets a fresh one).
    pub(super) async fn invalidate(&self) {
        if let Auth::ServiceAccount(sa) = self {
            let mut state = sa.state.lock().await;
            state.cached = None;
            state.stale = true;
        }
    }
}

impl ServiceAccount {
    fn read(path: &Path) -> Result<Self, SourceError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| {
            SourceError::Config(format!(
                "cannot read the Google service-account key file {shown}: {e}"
            ))
        })?;
        // Parse to a plain value first: serde's typed errors quote the offending value,
        // and this file holds a private key.
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            SourceError::Config(format!(
                "the Google service-account key file {shown} is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let field = |name: &str| -> Result<String, SourceError> {
            match json.get(name) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                _ => Err(SourceError::Config(format!(
                    "the Google service-account key file {shown} has no '{name}' (a service-account key has 'client_email', 'private_key' and 'token_uri')"
                ))),
            }
        };
        if let Some(kind) = json.get("type").and_then(|t| t.as_str()) {
            if kind != "service_account" {
                return Err(SourceError::Config(format!(
                    "the Google credentials file {shown} is of type '{kind}'; kanary needs a service-account key (type 'service_account')"
                )));
            }
        }
        let client_email = field("client_email")?;
        field("private_key")?;
        let token_uri = field("token_uri")?;
        let token_url = reqwest::Url::parse(&token_uri)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                SourceError::Config(format!(
                    "the 'token_uri' of the Google service-account key file {shown} is not an http(s) URL"
                ))
            })?;
        let provider = provider(path, &text)?;
        Ok(Self {
            path: path.to_path_buf(),
            client_email,
            token_uri: display_url(&token_url),
            key_json: text,
            state: Mutex::new(TokenState {
                provider,
                cached: None,
                stale: false,
            }),
        })
    }

    /// The cached token, or a new one. The lock is held across the exchange, so
    /// concurrent callers share one token request.
    async fn token(&self, origin: &Origin, timeout: Duration) -> Result<Arc<Token>, SourceError> {
        let mut state = self.state.lock().await;
        if let Some(token) = state.cached.as_ref() {
            // `has_expired` keeps a 20 s margin: a token is renewed shortly before it ends.
            if !token.has_expired() {
                return Ok(Arc::clone(token));
            }
        }
        if state.stale {
            state.provider = provider(&self.path, &self.key_json)?;
            state.stale = false;
        }
        tracing::debug!(
            account = %origin.account,
            token_uri = %self.token_uri,
            client_email = %self.client_email,
            "exchanging the service-account key for an access token"
        );
        let token = match tokio::time::timeout(
            timeout,
            state.provider.token(&[MONITORING_READ_SCOPE]),
        )
        .await
        {
            Ok(Ok(token)) => token,
            Ok(Err(e)) => {
                return Err(SourceError::Config(format!(
                    "{} account '{}': the service-account key {} could not be exchanged for an access token at {}: {}",
                    origin.service,
                    origin.account,
                    self.path.display(),
                    self.token_uri,
                    crate::error::error_chain(&e)
                )));
            }
            Err(_) => {
                return Err(SourceError::Unreachable {
                    service: origin.service,
                    account: origin.account.clone(),
                    url: self.token_uri.clone(),
                    attempts: 1,
                    detail: format!("no access token within {timeout:?}"),
                });
            }
        };
        state.cached = Some(Arc::clone(&token));
        Ok(token)
    }
}

/// gcp_auth's exchanger for the key text of `path`.
fn provider(path: &Path, key_json: &str) -> Result<CustomServiceAccount, SourceError> {
    CustomServiceAccount::from_json(key_json).map_err(|e| {
        SourceError::Config(format!(
            "the Google service-account key file {} cannot be used: {}",
            path.display(),
            crate::error::error_chain(&e)
        ))
    })
}
