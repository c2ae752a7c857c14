//! The one retry mechanism every client uses: the policy (exponential backoff with jitter,
//! honouring the server's `Retry-After`, a bounded total wait), and the loop around one remote
//! operation ([`run`]) with an overall deadline, cancellation and a progress event per retry.
//!
//! The loop is pure: the host passes in a [`Timer`] (its clock, its sleep and its random
//! source for jitter) and the progress sink for this call, so the core stays free of any
//! runtime. Which failures are worth another attempt is the caller's call, made per failure
//! by a classifier returning [`Retry`]: transient failures (throttling, 5xx, dropped
//! connections) use the transient policy, a cloud's known propagation errors the patient
//! propagation policy, a failure that is most likely permanent (a host name that did not
//! resolve) gets at most one more attempt, and a call that must not be resent (a non-idempotent
//! request) is classified [`Retry::Never`].
//!
//! A hung attempt does not hang the operation: every attempt is raced against the deadline and
//! the cancellation, and losing that race ends the operation with [`Interrupted`], which each
//! client turns into its own error (code `timeout` naming the operation and the deadline, or
//! `cancelled`).
//!
//! Deliberately absent: sleeping, clocks and randomness of its own (the core does no IO).

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::error::ErrorCode;
use crate::events::{ProgressEvent, ProgressSink};

/// How long to wait between attempts and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry (doubled for each further one).
    pub initial_delay: Duration,
    /// Upper bound for one delay (before a `Retry-After` is honored).
    pub max_delay: Duration,
    /// Upper bound for all delays of one operation together.
    pub max_total_wait: Duration,
    /// Upper bound for the number of retries (not counting the first attempt).
    pub max_retries: u32,
}

impl Default for RetryPolicy {
    /// Suits API throttling and 5xx: 0.5 s, 1 s, 2 s, … up to 20 s each, 2 minutes in all.
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_total_wait: Duration::from_secs(120),
            max_retries: 8,
        }
    }
}

impl RetryPolicy {
    /// For cloud propagation delays (new principals, new roles): patient, up to 3 minutes.
    pub fn propagation() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(15),
            max_total_wait: Duration::from_secs(180),
            max_retries: 30,
        }
    }

    /// Tiny delays for tests against the local sandbox.
    pub fn fast() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_total_wait: Duration::from_secs(5),
            max_retries: 8,
        }
    }

    /// The delay before retry number `attempt` (1 for the first retry), or `None` to give up.
    ///
    /// `waited` is the total already waited for this operation; `retry_after` is the server's
    /// hint, which wins over the computed backoff (a server that asks for more than the
    /// remaining budget makes us give up rather than hammer it); `jitter` in `0.0..=1.0`
    /// spreads the computed delay over its upper half ("equal jitter").
    pub fn next_delay(
        &self,
        attempt: u32,
        waited: Duration,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if attempt == 0 || attempt > self.max_retries {
            return None;
        }
        let remaining = self.max_total_wait.checked_sub(waited)?;
        let delay = match retry_after {
            Some(hint) => hint,
            None => {
                let exponent = (attempt - 1).min(30);
                let backoff = self
                    .initial_delay
                    .saturating_mul(1u32 << exponent)
                    .min(self.max_delay);
                let jitter = jitter.clamp(0.0, 1.0);
                backoff.mul_f64(0.5 + 0.5 * jitter)
            }
        };
        if delay > remaining || remaining.is_zero() {
            return None;
        }
        Some(delay)
    }
}

/// The policies and the deadline of one client's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// For throttling, 5xx, dropped connections and timeouts.
    pub transient: RetryPolicy,
    /// For a cloud's eventual consistency (new principals, new roles, new providers).
    pub propagation: RetryPolicy,
    /// The most one operation may take, every attempt and every wait together. An attempt
    /// still running when it passes is abandoned.
    pub deadline: Duration,
}

impl Default for RetrySettings {
    /// The default policies and a 5-minute deadline (the propagation policy's 3 minutes of
    /// waiting plus the attempts themselves).
    fn default() -> Self {
        RetrySettings {
            transient: RetryPolicy::default(),
            propagation: RetryPolicy::propagation(),
            deadline: Duration::from_secs(300),
        }
    }
}

impl RetrySettings {
    /// Tiny delays and a 30-second deadline, for tests against the local sandbox.
    pub fn fast() -> Self {
        RetrySettings {
            transient: RetryPolicy::fast(),
            propagation: RetryPolicy::fast(),
            deadline: Duration::from_secs(30),
        }
    }
}

/// What the host lends the loop: a monotonic clock, a sleep and a random source.
pub trait Timer: Send + Sync {
    /// Time since an arbitrary fixed origin; never goes backwards.
    fn now(&self) -> Duration;
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
    /// A random sample in `0.0..=1.0`, for jitter.
    fn jitter(&self) -> f64;
}

/// How a failed attempt is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Give up and return the failure (permanent errors, non-idempotent calls).
    Never,
    /// Try again under the transient policy.
    Transient,
    /// Try again under the propagation policy; reported as `propagation_pending`.
    Propagation,
    /// Most likely permanent (a host name that did not resolve): at most one more attempt.
    Once,
}

impl Retry {
    /// The class most failures get, the same in every client: a host name that did not
    /// resolve once more at most, a transient code under the transient policy, anything
    /// else never. A client's classifier adds only what it alone knows (propagation errors,
    /// requests that must not be resent).
    pub fn by_code(code: ErrorCode, name_not_resolved: bool) -> Retry {
        if name_not_resolved {
            Retry::Once
        } else if code.is_transient() {
            Retry::Transient
        } else {
            Retry::Never
        }
    }
}

/// What the loop needs to know about a failure.
pub trait RetryableFailure: fmt::Display {
    /// The failure's stable code (reported in the progress event).
    fn code(&self) -> ErrorCode;
    /// The server's `Retry-After`, if it sent one.
    fn retry_after(&self) -> Option<Duration>;
}

/// Why an operation ended without a result of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interrupted {
    /// The operation's deadline passed (an attempt hung, or waits used it up).
    DeadlineExceeded {
        /// The service, e.g. `octopus`.
        service: String,
        /// The operation, e.g. `GET /api/spaces`.
        operation: String,
        /// The deadline that passed.
        deadline: Duration,
    },
    /// The caller cancelled the operation.
    Cancelled {
        /// The service.
        service: String,
        /// The operation.
        operation: String,
    },
}

impl Interrupted {
    /// `timeout` or `cancelled`.
    pub fn code(&self) -> ErrorCode {
        match self {
            Interrupted::DeadlineExceeded { .. } => ErrorCode::Timeout,
            Interrupted::Cancelled { .. } => ErrorCode::Cancelled,
        }
    }

    /// The operation that was interrupted.
    pub fn operation(&self) -> &str {
        match self {
            Interrupted::DeadlineExceeded { operation, .. }
            | Interrupted::Cancelled { operation, .. } => operation,
        }
    }
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interrupted::DeadlineExceeded {
                service,
                operation,
                deadline,
            } => write!(
                f,
                "{service} {operation} did not finish within its deadline of {}",
                describe(*deadline)
            ),
            Interrupted::Cancelled { service, operation } => {
                write!(f, "{service} {operation} was cancelled")
            }
        }
    }
}

impl std::error::Error for Interrupted {}

fn describe(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// A cancellation signal shared between whoever may cancel and the operations that honour it.
/// Cheap to clone; cancelling is permanent.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    state: Arc<CancelState>,
}

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    waiting: Mutex<Vec<Waker>>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        CancelToken::default()
    }

    /// Cancels every operation holding this token (at its next await point).
    pub fn cancel(&self) {
        self.state.cancelled.store(true, Ordering::SeqCst);
        let waiting = std::mem::take(&mut *lock(&self.state.waiting));
        for waker in waiting {
            waker.wake();
        }
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::SeqCst)
    }

    /// A future that completes once the token is cancelled.
    pub async fn cancelled(&self) {
        poll_fn(|cx| {
            if self.is_cancelled() {
                return Poll::Ready(());
            }
            {
                let mut waiting = lock(&self.state.waiting);
                if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
                    waiting.push(cx.waker().clone());
                }
            }
            // Cancelled between the check and the registration: do not miss it.
            if self.is_cancelled() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One operation for [`run`]: what it is called and what it may use.
#[derive(Clone, Copy)]
pub struct Operation<'a> {
    /// The service, e.g. `octopus`, `graph`, `iam` (progress events, errors).
    pub service: &'a str,
    /// The operation, e.g. `GET /api/spaces`, `CreateRole`.
    pub name: &'a str,
    /// Policies and deadline.
    pub settings: &'a RetrySettings,
    /// Clock, sleep and jitter.
    pub timer: &'a dyn Timer,
    /// Where this call reports its retries.
    pub progress: &'a dyn ProgressSink,
    /// Ends the operation early when cancelled.
    pub cancel: Option<&'a CancelToken>,
}

impl fmt::Debug for Operation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("service", &self.service)
            .field("name", &self.name)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Operation<'_> {
    fn interrupted(&self, cancelled: bool) -> Interrupted {
        if cancelled {
            Interrupted::Cancelled {
                service: self.service.to_owned(),
                operation: self.name.to_owned(),
            }
        } else {
            Interrupted::DeadlineExceeded {
                service: self.service.to_owned(),
                operation: self.name.to_owned(),
                deadline: self.settings.deadline,
            }
        }
    }
}

enum Raced<T> {
    Done(T),
    Deadline,
    Cancelled,
}

/// Runs `work` until it completes, the deadline's sleep completes, or `cancel` fires.
async fn race<T>(
    work: impl Future<Output = T>,
    deadline: Pin<Box<dyn Future<Output = ()> + Send>>,
    cancel: Option<&CancelToken>,
) -> Raced<T> {
    let mut work = pin!(work);
    let mut deadline = deadline;
    let cancelled = async {
        match cancel {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let mut cancelled = pin!(cancelled);
    poll_fn(|cx| {
        if cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Raced::Cancelled);
        }
        if let Poll::Ready(value) = work.as_mut().poll(cx) {
            return Poll::Ready(Raced::Done(value));
        }
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Raced::Deadline);
        }
        Poll::Pending
    })
    .await
}

/// Runs one remote operation: `attempt` is called for each try; a failure is classified by
/// `classify` and, if the policy allows, retried after a reported wait. Returns the first
/// success, the last failure, or the client's error for an [`Interrupted`] operation.
pub async fn run<T, E, F, Fut>(
    operation: Operation<'_>,
    classify: impl Fn(&E) -> Retry,
    mut attempt: F,
) -> Result<T, E>
where
    E: RetryableFailure + From<Interrupted>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let timer = operation.timer;
    let deadline_at = timer.now().saturating_add(operation.settings.deadline);
    let remaining = || deadline_at.saturating_sub(timer.now());
    let mut retries = 0u32;
    let mut once_used = false;
    let mut waited = Duration::ZERO;
    loop {
        if operation.cancel.is_some_and(CancelToken::is_cancelled) {
            return Err(operation.interrupted(true).into());
        }
        let left = remaining();
        if left.is_zero() {
            return Err(operation.interrupted(false).into());
        }
        let failure = match race(attempt(), timer.sleep(left), operation.cancel).await {
            Raced::Done(Ok(value)) => return Ok(value),
            Raced::Done(Err(failure)) => failure,
            Raced::Deadline => return Err(operation.interrupted(false).into()),
            Raced::Cancelled => return Err(operation.interrupted(true).into()),
        };
        let (policy, code) = match classify(&failure) {
            Retry::Never => return Err(failure),
            Retry::Once if once_used => return Err(failure),
            Retry::Once => {
                once_used = true;
                (&operation.settings.transient, failure.code())
            }
            Retry::Transient => (&operation.settings.transient, failure.code()),
            Retry::Propagation => (
                &operation.settings.propagation,
                ErrorCode::PropagationPending,
            ),
        };
        retries += 1;
        let Some(wait) = policy.next_delay(retries, waited, failure.retry_after(), timer.jitter())
        else {
            return Err(failure);
        };
        // A wait that would end past the deadline only delays the same answer.
        if wait >= remaining() {
            return Err(failure);
        }
        operation.progress.emit(ProgressEvent::Retrying {
            service: operation.service.to_owned(),
            operation: operation.name.to_owned(),
            attempt: retries,
            wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            code,
            reason: failure.to_string(),
        });
        match race(
            timer.sleep(wait),
            timer.sleep(remaining()),
            operation.cancel,
        )
        .await
        {
            Raced::Done(()) => {}
            Raced::Deadline => return Err(failure),
            Raced::Cancelled => return Err(operation.interrupted(true).into()),
        }
        waited += wait;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_stays_in_the_upper_half() {
        let policy = RetryPolicy::default();
        let at = |n| policy.next_delay(n, Duration::ZERO, None, 1.0);
        assert_eq!(at(1), Some(Duration::from_millis(500)));
        assert_eq!(at(2), Some(Duration::from_secs(1)));
        assert_eq!(at(3), Some(Duration::from_secs(2)));
        assert_eq!(at(8), Some(Duration::from_secs(20)));
        assert_eq!(at(9), None, "max_retries");
        let low = policy.next_delay(3, Duration::ZERO, None, 0.0);
        assert_eq!(low, Some(Duration::from_secs(1)));
    }

    #[test]
    fn retry_after_wins_but_never_beyond_the_budget() {
        let policy = RetryPolicy::default();
        let hint = Some(Duration::from_secs(7));
        assert_eq!(
            policy.next_delay(1, Duration::ZERO, hint, 0.3),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            policy.next_delay(1, Duration::from_secs(115), hint, 0.3),
            None
        );
        assert_eq!(
            policy.next_delay(2, Duration::from_secs(120), None, 0.3),
            None
        );
    }
}

#[cfg(test)]
mod loop_tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    /// Virtual time: a sleep completes at once and moves the clock.
    #[derive(Default)]
    struct VirtualTimer {
        now: Arc<Mutex<Duration>>,
    }

    impl Timer for VirtualTimer {
        fn now(&self) -> Duration {
            *lock(&self.now)
        }
        fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            let now = self.now.clone();
            Box::pin(async move {
                *lock(&now) += duration;
            })
        }
        fn jitter(&self) -> f64 {
            1.0
        }
    }

    #[derive(Debug)]
    enum TestError {
        Status(u16),
        Interrupted(Interrupted),
    }

    impl fmt::Display for TestError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TestError::Status(s) => write!(f, "HTTP {s}"),
                TestError::Interrupted(i) => i.fmt(f),
            }
        }
    }

    impl RetryableFailure for TestError {
        fn code(&self) -> ErrorCode {
            match self {
                TestError::Status(429) => ErrorCode::RateLimited,
                TestError::Status(_) => ErrorCode::RemoteUnavailable,
                TestError::Interrupted(i) => i.code(),
            }
        }
        fn retry_after(&self) -> Option<Duration> {
            None
        }
    }

    impl From<Interrupted> for TestError {
        fn from(value: Interrupted) -> Self {
            TestError::Interrupted(value)
        }
    }

    /// An operation `s op` with these settings on this timer, no progress, no cancellation.
    fn operation<'a>(settings: &'a RetrySettings, timer: &'a VirtualTimer) -> Operation<'a> {
        Operation {
            service: "s",
            name: "op",
            settings,
            timer,
            progress: &crate::events::NoProgress,
            cancel: None,
        }
    }

    fn block_on<T>(future: impl Future<Output = T>) -> T {
        let mut future = pin!(future);
        let mut cx = std::task::Context::from_waker(Waker::noop());
        for _ in 0..10_000 {
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
        }
        panic!("the future never completed");
    }

    fn events() -> (Arc<Mutex<Vec<ProgressEvent>>>, impl ProgressSink) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let seen = seen.clone();
            move |event: ProgressEvent| lock(&seen).push(event)
        };
        (seen, sink)
    }

    #[test]
    fn transient_failures_are_retried_and_each_retry_is_reported() {
        let timer = VirtualTimer::default();
        let settings = RetrySettings::default();
        let (seen, sink) = events();
        let calls = AtomicU32::new(0);
        let op = Operation {
            service: "octopus",
            name: "GET /api",
            progress: &sink,
            ..operation(&settings, &timer)
        };
        let result: Result<u32, TestError> = block_on(run(
            op,
            |_| Retry::Transient,
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 2 {
                    Err(TestError::Status(503))
                } else {
                    Ok(n)
                }
            },
        ));
        assert_eq!(result.expect("third attempt succeeds"), 2);
        let seen = lock(&seen);
        assert_eq!(seen.len(), 2);
        assert!(matches!(
            &seen[1],
            ProgressEvent::Retrying { attempt: 2, wait_ms: 1000, code: ErrorCode::RemoteUnavailable, operation, .. } if operation == "GET /api"
        ));
    }

    #[test]
    fn never_and_once_bound_the_attempts() {
        let timer = VirtualTimer::default();
        let settings = RetrySettings::default();
        for (class, expected) in [(Retry::Never, 1), (Retry::Once, 2), (Retry::Transient, 9)] {
            let calls = AtomicU32::new(0);
            let op = operation(&settings, &timer);
            let result: Result<(), TestError> = block_on(run(
                op,
                |_| class,
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(TestError::Status(500))
                },
            ));
            assert!(matches!(result, Err(TestError::Status(500))));
            assert_eq!(calls.load(Ordering::SeqCst), expected, "{class:?}");
        }
    }

    #[test]
    fn a_hung_attempt_ends_at_the_deadline_with_a_timeout_naming_it() {
        let timer = VirtualTimer::default();
        let settings = RetrySettings {
            deadline: Duration::from_secs(7),
            ..RetrySettings::default()
        };
        let op = Operation {
            service: "graph",
            name: "GET applications",
            ..operation(&settings, &timer)
        };
        let result: Result<(), TestError> = block_on(run(
            op,
            |_| Retry::Transient,
            std::future::pending::<Result<(), TestError>>,
        ));
        let Err(TestError::Interrupted(interrupted)) = result else {
            panic!("expected the deadline, got {result:?}");
        };
        assert_eq!(interrupted.code(), ErrorCode::Timeout);
        assert_eq!(
            interrupted.to_string(),
            "graph GET applications did not finish within its deadline of 7 s"
        );
        assert_eq!(timer.now(), Duration::from_secs(7));
    }

    #[test]
    fn waits_stop_at_the_deadline_with_the_last_failure() {
        let timer = VirtualTimer::default();
        let settings = RetrySettings {
            deadline: Duration::from_secs(3),
            ..RetrySettings::default()
        };
        let calls = AtomicU32::new(0);
        let op = operation(&settings, &timer);
        let result: Result<(), TestError> = block_on(run(
            op,
            |_| Retry::Transient,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(TestError::Status(429))
            },
        ));
        assert!(matches!(result, Err(TestError::Status(429))));
        // 0.5 s + 1 s waited; the next 2 s wait would pass the 3 s deadline.
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn cancellation_ends_a_running_attempt() {
        let timer = VirtualTimer::default();
        let settings = RetrySettings::default();
        let token = CancelToken::new();
        let op = Operation {
            service: "iam",
            name: "CreateRole",
            cancel: Some(&token),
            ..operation(&settings, &timer)
        };
        // The sleep of the deadline would complete at once on the virtual clock, so the
        // attempt cancels before it is first pending.
        let result: Result<(), TestError> = block_on(run(
            op,
            |_| Retry::Transient,
            || {
                token.cancel();
                std::future::pending::<Result<(), TestError>>()
            },
        ));
        let Err(TestError::Interrupted(interrupted)) = result else {
            panic!("expected cancellation, got {result:?}");
        };
        assert_eq!(interrupted.code(), ErrorCode::Cancelled);
    }
}
