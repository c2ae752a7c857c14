//! `octo-oidc-http`: what the HTTP clients (Octopus, Entra/Graph/ARM, and the AWS adapter's
//! retry loop) share, written once:
//!
//! - [`TokioTimer`]: the tokio clock, sleep and jitter source the core's retry loop
//!   ([`octo_oidc_core::retry::run`]) is driven with;
//! - [`CallLoop`]: one client's retry settings, progress sink, cancel token and timer, and
//!   the core's loop run with them (every client's `reporting_to` / `cancelled_by`);
//! - [`exchange`]: one request sent and its body read up to the cap, transport failures as
//!   [`ExchangeError`] for the client to put in its own error type, run [`in_own_task`] (a
//!   tokio task of its own, aborted with its future); [`json_body`] for the
//!   body, [`json_string`] / [`json_strings`] for its members, and [`error_text`] / [`body_text`] for the messages of error envelopes;
//! - [`JsonTransport`]: one JSON API call (Azure's Entra/Graph/ARM, Google Cloud) through the
//!   loop: the shared client, request timeout, body cap, the builder methods, and error answers
//!   sorted by body shape ([`ErrorAnswer`]); each provider's [`JsonApi`] names its services and
//!   maps failures into its own error (module `json_api`);
//! - [`status_code`] / [`oauth_unavailable`]: the codes an error answer gets from its HTTP
//!   status and from an OAuth `error` about the service, for the clients' own mappings;
//! - [`interrupted_hint`]: what to tell the user when a call ran out of time or was cancelled;
//! - [`build_client`]: the reqwest client (rustls, optional private CA bundle merged with the
//!   platform roots, timeouts, no redirects unless asked; certificate checks never off), one
//!   per configuration and process, with the platform's roots read once and HTTP/2 offered
//!   (module `client`);
//! - [`retry_after`]: `Retry-After` in its seconds and HTTP-date forms;
//! - [`read_body`]: a response body streamed up to a cap ([`DEFAULT_BODY_CAP`]), refused
//!   beyond it;
//! - [`NextLinks`]: the paging rule — a next link is followed only on the API's own origin
//!   (so a bearer token never leaves it) and only up to a page cap;
//! - [`server_text`]: a server's message cut to a length fit for a `Problem`;
//! - [`is_name_resolution_failure`] and [`describe_error_chain`] for transport errors.
//!
//! Deliberately absent: retry decisions (the core's loop and each client's classifier) and
//! anything service-specific (error envelopes, authentication headers).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use octo_oidc_core::ErrorCode;
use octo_oidc_core::events::{NoProgress, ProgressEvent, ProgressSink};
use octo_oidc_core::retry::{
    self, CancelToken, Interrupted, Operation, Retry, RetrySettings, RetryableFailure, Timer,
};
use serde_json::Value;
use url::Url;

mod client;
mod json_api;

pub use json_api::{ClientFailure, ErrorAnswer, ErrorBody, JsonApi, JsonReply, JsonTransport};

pub use client::{
    ClientSettings, ClientSetupError, MAX_CACHED_CLIENTS, build_client, debug_ca_bundle,
    debug_dns_resolver,
};

/// The largest response body a client reads unless it says otherwise: 8 MiB.
pub const DEFAULT_BODY_CAP: usize = 8 * 1024 * 1024;

/// The most pages a client follows through next links unless it says otherwise.
pub const DEFAULT_MAX_PAGES: usize = 200;

/// The longest server message put into an error, in characters.
pub const MAX_SERVER_TEXT: usize = 500;

/// The core's [`Timer`] on tokio: `Instant` for the clock, `tokio::time::sleep`, `rand` for
/// jitter.
#[derive(Debug, Clone, Copy)]
pub struct TokioTimer {
    origin: Instant,
}

impl Default for TokioTimer {
    fn default() -> Self {
        TokioTimer {
            origin: Instant::now(),
        }
    }
}

impl Timer for TokioTimer {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn jitter(&self) -> f64 {
        rand::random()
    }
}

/// A progress sink that also writes each retry to the `tracing` log (debug level; events carry
/// no secrets) before passing it on. The clients hand this to the core's loop.
pub struct LoggedProgress<'a>(pub &'a dyn ProgressSink);

impl std::fmt::Debug for LoggedProgress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoggedProgress")
    }
}

impl ProgressSink for LoggedProgress<'_> {
    fn emit(&self, event: ProgressEvent) {
        if let ProgressEvent::Retrying {
            service,
            operation,
            attempt,
            wait_ms,
            code,
            reason,
        } = &event
        {
            tracing::debug!(%service, %operation, attempt, wait_ms, %code, %reason, "retrying");
        }
        self.0.emit(event);
    }
}

/// The core's retry loop as one client runs it: its settings (policies, deadline), the sink its
/// retries are reported on, the token that cancels its calls, and the tokio timer. Cheap to
/// clone; a connected client gets a new sink or token per step.
#[derive(Clone)]
pub struct CallLoop {
    /// Policies and the deadline of one call.
    pub settings: RetrySettings,
    progress: Arc<dyn ProgressSink>,
    cancel: Option<CancelToken>,
    timer: TokioTimer,
}

impl std::fmt::Debug for CallLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLoop")
            .field("settings", &self.settings)
            .field("cancellable", &self.cancel.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for CallLoop {
    fn default() -> Self {
        CallLoop::new(RetrySettings::default())
    }
}

impl CallLoop {
    /// `settings`, no progress reporting, no cancellation.
    pub fn new(settings: RetrySettings) -> CallLoop {
        CallLoop {
            settings,
            progress: Arc::new(NoProgress),
            cancel: None,
            timer: TokioTimer::default(),
        }
    }

    /// The same loop reporting retries (and notices) to `progress`.
    pub fn reporting_to(&self, progress: Arc<dyn ProgressSink>) -> CallLoop {
        CallLoop {
            progress,
            ..self.clone()
        }
    }

    /// The same loop whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: CancelToken) -> CallLoop {
        CallLoop {
            cancel: Some(cancel),
            ..self.clone()
        }
    }

    /// Shows a notice to the user on the progress channel (e.g. an address to open by hand).
    pub fn notify(&self, message: String) {
        self.progress.emit(ProgressEvent::Info { message });
    }

    /// [`retry::run`] over `attempt` with this loop's settings, sink (logged) and token.
    pub async fn run<T, E, Fut>(
        &self,
        service: &str,
        name: &str,
        classify: impl Fn(&E) -> Retry,
        attempt: impl FnMut() -> Fut,
    ) -> Result<T, E>
    where
        E: RetryableFailure + From<Interrupted>,
        Fut: Future<Output = Result<T, E>>,
    {
        let operation = Operation {
            service,
            name,
            settings: &self.settings,
            timer: &self.timer,
            progress: &LoggedProgress(self.progress.as_ref()),
            cancel: self.cancel.as_ref(),
        };
        // Boxed: the loop's state (attempt, waits, deadline race) lives on the heap, so a
        // use case awaiting many calls in a row does not grow its stack with each client layer.
        Box::pin(retry::run(operation, classify, attempt)).await
    }
}

/// What to tell the user when a call to `service` (e.g. `Azure`) was interrupted.
pub fn interrupted_hint(interrupted: &Interrupted, service: &str) -> String {
    match interrupted {
        Interrupted::DeadlineExceeded { .. } => {
            format!("{service} did not answer in time; check the network and try again.")
        }
        Interrupted::Cancelled { .. } => "Start the step again when you are ready.".to_owned(),
    }
}

/// A response as read by [`exchange`]: status, headers, the capped body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body, at most the cap.
    pub body: Bytes,
}

/// Why [`exchange`] got no usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExchangeError {
    /// No usable HTTP response (connection refused or dropped, DNS, TLS, timeout).
    #[error("{message}")]
    Transport {
        /// The error and its sources in one line.
        message: String,
        /// Whether the request timed out.
        timed_out: bool,
        /// Whether the connection was never made (nothing reached the server).
        before_sending: bool,
        /// Whether the host name did not resolve.
        name_not_resolved: bool,
    },
    /// The body is larger than the cap.
    #[error("{0}")]
    TooLarge(String),
}

impl ExchangeError {
    /// The stable code: `timeout` for a request that timed out, `remote_unavailable` for
    /// other transport failures (both retried), `internal` for a body over the cap.
    pub fn code(&self) -> ErrorCode {
        match self {
            ExchangeError::Transport {
                timed_out: true, ..
            } => ErrorCode::Timeout,
            ExchangeError::Transport { .. } => ErrorCode::RemoteUnavailable,
            ExchangeError::TooLarge(_) => ErrorCode::Internal,
        }
    }

    /// Whether the host name did not resolve (worth one more attempt at most).
    pub fn name_not_resolved(&self) -> bool {
        matches!(
            self,
            ExchangeError::Transport {
                name_not_resolved: true,
                ..
            }
        )
    }
}

impl From<reqwest::Error> for ExchangeError {
    fn from(error: reqwest::Error) -> Self {
        ExchangeError::Transport {
            message: describe_error_chain(&error),
            timed_out: error.is_timeout(),
            before_sending: error.is_connect(),
            name_not_resolved: is_name_resolution_failure(&error),
        }
    }
}

/// Sends `request` and reads its body up to `cap` bytes; any status is an [`Answer`]. The
/// exchange runs [`in_own_task`].
pub async fn exchange(
    request: reqwest::RequestBuilder,
    cap: usize,
) -> Result<Answer, ExchangeError> {
    in_own_task(send_and_read(request, cap))
        .await
        .unwrap_or_else(|cancelled| {
            Err(ExchangeError::Transport {
                message: cancelled.to_string(),
                timed_out: false,
                before_sending: false,
                name_not_resolved: false,
            })
        })
}

/// The runtime stopped a task [`in_own_task`] started before it ended.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request was cancelled: the runtime is shutting down")]
pub struct TaskCancelled;

/// Runs `work` (one request and its answer) as a tokio task of its own when called on a
/// runtime, so its CPU work (a TLS handshake, the crypto library's first seeding) never holds
/// up the other requests a use case polls beside it. Dropping the returned future aborts the
/// task, exactly as dropping `work` would; a panic in it resumes in the caller. Off a runtime
/// `work` runs in place.
pub async fn in_own_task<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, TaskCancelled> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return Ok(work.await);
    };
    let mut task = AbortOnDrop(runtime.spawn(work));
    match (&mut task.0).await {
        Ok(done) => Ok(done),
        Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        Err(_) => Err(TaskCancelled),
    }
}

/// A spawned task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn send_and_read(
    request: reqwest::RequestBuilder,
    cap: usize,
) -> Result<Answer, ExchangeError> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = read_body(response, cap).await.map_err(|e| match e {
        BodyError::Transport(e) => ExchangeError::from(e),
        too_large @ BodyError::TooLarge { .. } => ExchangeError::TooLarge(too_large.to_string()),
    })?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A body as JSON: `Null` when empty, a string when not JSON.
pub fn json_body(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
    }
}

/// The string member `key` of `value`; empty when it is absent or not a string.
pub fn json_string(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

/// The strings in the array member `key` of `value`; none when it is absent.
pub fn json_strings(value: &Value, key: &str) -> Vec<String> {
    value[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The string member `key` of an error envelope, cut by [`server_text`] (empty when absent).
pub fn error_text(envelope: &Value, key: &str) -> String {
    server_text(
        envelope
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
}

/// The message of an error body that is no known envelope: its text, cut by [`server_text`].
pub fn body_text(body: Value) -> String {
    match body {
        Value::String(text) => server_text(&text),
        Value::Null => String::new(),
        other => server_text(&other.to_string()),
    }
}

/// The stable code of an error answer by its HTTP status alone, for an API whose body named
/// nothing finer (Graph/ARM and Google fall back on it).
pub fn status_code(status: u16) -> ErrorCode {
    match status {
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::PermissionDenied,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::Conflict,
        429 => ErrorCode::RateLimited,
        408 => ErrorCode::Timeout,
        500..=599 => ErrorCode::RemoteUnavailable,
        _ => ErrorCode::InvalidInput,
    }
}

/// What an OAuth error answer (`{"error": …}` from a token endpoint) says about the service
/// rather than the request: throttled (429) or unavailable (5xx, `temporarily_unavailable`).
/// `None`: the answer is about the request, which the caller's own rule classifies.
pub fn oauth_unavailable(status: u16, error: &str) -> Option<ErrorCode> {
    if status == 429 {
        Some(ErrorCode::RateLimited)
    } else if status >= 500 || error == "temporarily_unavailable" {
        Some(ErrorCode::RemoteUnavailable)
    } else {
        None
    }
}

/// The `Retry-After` header: delay-seconds, or an HTTP-date (as a delay from now; a date in
/// the past is no delay).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// [`retry_after`] for a header value, relative to `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than the cap.
    #[error("the response body is larger than the {} limit", describe_size(*cap))]
    TooLarge {
        /// The cap in bytes.
        cap: usize,
    },
    /// The connection failed while reading.
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
}

/// `8 MiB`, `64 KiB`, `100 bytes`.
pub fn describe_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads the body chunk by chunk and stops as soon as it passes `cap` bytes (a declared
/// `Content-Length` above the cap is refused before reading).
pub async fn read_body(mut response: reqwest::Response, cap: usize) -> Result<Bytes, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Why a next link was not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NextLinkRefused {
    /// The link points away from the API's origin.
    #[error(
        "the next-page link points to {found}, not to the API at {expected}; it was not followed"
    )]
    ForeignOrigin {
        /// The link's origin.
        found: String,
        /// The API's origin.
        expected: String,
    },
    /// The link is not a URL.
    #[error("the next-page link is not a URL: {0}")]
    Invalid(String),
    /// More pages than the cap.
    #[error("the listing has more than {max_pages} pages; stopped reading")]
    TooManyPages {
        /// The cap.
        max_pages: usize,
    },
}

/// The paging rule for APIs that answer with a link to the next page (`@odata.nextLink`,
/// ARM's `nextLink`): same origin (scheme, host and port) as the API, at most `max_pages`.
#[derive(Debug, Clone)]
pub struct NextLinks {
    origin: url::Origin,
    max_pages: usize,
    pages: usize,
}

impl NextLinks {
    /// Links for the API at `api` (any URL on it), up to `max_pages` pages in all.
    pub fn new(api: &Url, max_pages: usize) -> NextLinks {
        NextLinks {
            origin: api.origin(),
            max_pages,
            pages: 1,
        }
    }

    /// Checks the next link after a page was read; `Ok(url)` to follow it.
    pub fn follow(&mut self, link: &str) -> Result<Url, NextLinkRefused> {
        let url = Url::parse(link).map_err(|_| NextLinkRefused::Invalid(server_text(link)))?;
        if url.origin() != self.origin {
            return Err(NextLinkRefused::ForeignOrigin {
                found: url.origin().ascii_serialization(),
                expected: self.origin.ascii_serialization(),
            });
        }
        if self.pages >= self.max_pages {
            return Err(NextLinkRefused::TooManyPages {
                max_pages: self.max_pages,
            });
        }
        self.pages += 1;
        Ok(url)
    }
}

impl NextLinks {
    /// Every item of a paged listing: `fetch` reads a page (`first`, then each next link
    /// [`NextLinks::follow`] allows); a page's items are its `value` array and its next link
    /// the string member `link_key` (absent or empty on the last page).
    pub async fn read_all<E, Fut>(
        mut self,
        first: String,
        link_key: &str,
        mut fetch: impl FnMut(String) -> Fut,
        refused: impl Fn(NextLinkRefused) -> E,
    ) -> Result<Vec<Value>, E>
    where
        Fut: Future<Output = Result<Value, E>>,
    {
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(page) = next {
            let body = fetch(page).await?;
            items.extend(body["value"].as_array().cloned().unwrap_or_default());
            next = match body[link_key].as_str().filter(|link| !link.is_empty()) {
                Some(link) => Some(self.follow(link).map_err(&refused)?.into()),
                None => None,
            };
        }
        Ok(items)
    }
}

/// A server's message fit for an error: trimmed, at most [`MAX_SERVER_TEXT`] characters (cut
/// ones end with `…`).
pub fn server_text(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_SERVER_TEXT {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_SERVER_TEXT).collect();
    cut.push('…');
    cut
}

/// Whether an error (or one of its sources) is a failed host-name lookup: reqwest's DNS
/// error, or hyper's connector saying `dns error` (what the AWS SDK's client reports).
pub fn is_name_resolution_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(inner) = current {
        if let Some(reqwest_error) = inner.downcast_ref::<reqwest::Error>()
            && reqwest_error.is_dns()
        {
            return true;
        }
        let text = inner.to_string();
        if text == "dns error" || text.starts_with("dns error:") || text == "error resolving DNS" {
            return true;
        }
        current = inner.source();
    }
    false
}

/// The error and its sources in one line (a top-level transport message alone is vague).
pub fn describe_error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = httpdate::parse_http_date("Tue, 01 Dec 2026 10:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn next_links_stay_on_the_origin_and_under_the_page_cap() {
        let api = Url::parse("https://graph.example.com/v1.0/applications").unwrap();
        let mut links = NextLinks::new(&api, 2);
        assert!(matches!(
            links.follow("https://evil.example.com/v1.0/applications?$skiptoken=1"),
            Err(NextLinkRefused::ForeignOrigin { .. })
        ));
        assert!(matches!(
            links.follow("http://graph.example.com/v1.0/applications?$skiptoken=1"),
            Err(NextLinkRefused::ForeignOrigin { .. })
        ));
        assert!(matches!(
            links.follow("https://graph.example.com:8443/x"),
            Err(NextLinkRefused::ForeignOrigin { .. })
        ));
        assert!(
            links
                .follow("https://graph.example.com/v1.0/applications?$skiptoken=1")
                .is_ok()
        );
        assert_eq!(
            links.follow("https://graph.example.com/v1.0/applications?$skiptoken=2"),
            Err(NextLinkRefused::TooManyPages { max_pages: 2 })
        );
    }

    #[test]
    fn server_text_is_cut_on_characters() {
        let long = "é".repeat(MAX_SERVER_TEXT + 10);
        let cut = server_text(&long);
        assert_eq!(cut.chars().count(), MAX_SERVER_TEXT + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(server_text("  short  "), "short");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(describe_size(DEFAULT_BODY_CAP), "8 MiB");
        assert_eq!(describe_size(64 * 1024), "64 KiB");
        assert_eq!(describe_size(100), "100 bytes");
    }
}
