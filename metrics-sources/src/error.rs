//! The one error type of the crate.

use std::time::Duration;

/// Why a metric could not be fetched or paired.
///
/// Messages that Kayenta users know (query building, templates, the mixer) are Kayenta's
/// own, verbatim; network errors name the service, the account and the URL (never a
/// secret: keys travel in headers, and URLs are shown without their query string).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The query could not be built (Kayenta's `IllegalArgumentException` messages, e.g.
    /// `Metric Name is required when query type is Default.`).
    #[error("{0}")]
    InvalidQuery(String),
    /// The mixer could not pair control and experiment sets (Kayenta's messages).
    #[error("{0}")]
    Mixer(String),
    /// The account or its credentials are unusable (bad URL, unreadable key file, ...).
    #[error("{0}")]
    Config(String),
    /// The store answered with an error status that is not retried, or still failed after
    /// the retries; `message` is the store's own message when it sent one.
    #[error("{service} account '{account}' at {url} answered HTTP {status}: {message}")]
    Status {
        /// `prometheus`, `datadog` or `stackdriver`.
        service: &'static str,
        /// The metrics account name.
        account: String,
        /// The URL without its query string.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The store's error message, or the start of its body.
        message: String,
    },
    /// No answer could be had: connection refused, reset, DNS, or each attempt timed out.
    #[error(
        "{service} account '{account}' at {url} is unreachable after {attempts} attempt(s): {detail}"
    )]
    Unreachable {
        /// `prometheus`, `datadog` or `stackdriver`.
        service: &'static str,
        /// The metrics account name.
        account: String,
        /// The URL without its query string.
        url: String,
        /// How many requests were sent.
        attempts: u32,
        /// The last transport error.
        detail: String,
    },
    /// The overall deadline of one fetch passed before an answer came.
    #[error(
        "{service} account '{account}' at {url} gave no usable answer within the fetch deadline of {deadline:?} ({attempts} attempt(s)): {detail}"
    )]
    Deadline {
        /// `prometheus`, `datadog` or `stackdriver`.
        service: &'static str,
        /// The metrics account name.
        account: String,
        /// The URL without its query string.
        url: String,
        /// The deadline that passed.
        deadline: Duration,
        /// How many requests were sent.
        attempts: u32,
        /// The last failure seen.
        detail: String,
    },
    /// The store answered 2xx with a body that is not what its API documents.
    #[error("{service} account '{account}' at {url} sent a response kanary cannot read: {detail}")]
    Response {
        /// `prometheus`, `datadog` or `stackdriver`.
        service: &'static str,
        /// The metrics account name.
        account: String,
        /// The URL without its query string.
        url: String,
        /// What is wrong with the body.
        detail: String,
    },
}

/// Who is being asked: used to name the service, account and URL in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `prometheus`, `datadog` or `stackdriver`.
    pub service: &'static str,
    /// The metrics account name.
    pub account: String,
}

impl Origin {
    /// A new origin.
    pub fn new(service: &'static str, account: impl Into<String>) -> Self {
        Self {
            service,
            account: account.into(),
        }
    }

    /// A [`SourceError::Response`] for this origin.
    pub fn bad_response(&self, url: &reqwest::Url, detail: impl Into<String>) -> SourceError {
        SourceError::Response {
            service: self.service,
            account: self.account.clone(),
            url: display_url(url),
            detail: detail.into(),
        }
    }

    /// A [`SourceError::Status`] for this origin.
    pub fn status(
        &self,
        url: &reqwest::Url,
        status: u16,
        message: impl Into<String>,
    ) -> SourceError {
        SourceError::Status {
            service: self.service,
            account: self.account.clone(),
            url: display_url(url),
            status,
            message: message.into(),
        }
    }
}

/// A URL as errors and logs show it: without user info and without the query string
/// (which may be long, and is where some APIs put keys).
pub fn display_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    // Setting an empty user name and no password cannot fail on an http(s) URL.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// An error and its causes, `: `-separated, each cause once.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    append_causes(&mut text, e);
    text
}

/// Appends `e`'s causes to `text`, `: `-separated, skipping any already in it.
pub(crate) fn append_causes(text: &mut String, e: &dyn std::error::Error) {
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
}

/// URL text as typed, with any user info (`user:password@`) replaced by `***@`, for
/// messages about a URL that could not be parsed.
pub(crate) fn redact_url_text(text: &str) -> String {
    let after_scheme = text.find("://").map_or(0, |i| i + 3);
    let authority_end = text[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| after_scheme + i);
    match text[after_scheme..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..after_scheme], &text[after_scheme + at..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_redacted() {
        assert_eq!(
            redact_url_text("http://u:p@host:x/a@b"),
            "http://***@host:x/a@b"
        );
        assert_eq!(redact_url_text("u:p@host"), "***@host");
        assert_eq!(redact_url_text("http://host/p"), "http://host/p");
        assert_eq!(redact_url_text(""), "");
    }
}
