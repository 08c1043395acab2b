//! When to try a Graph or token call again: exponential backoff with jitter, `Retry-After`
//! (delta-seconds or HTTP-date) honoured, all within one time budget (`graph.retry_max_secs`).
//!
//! Pure arithmetic, so the timing rules are unit-tested here; the loops that sleep live in
//! [`super::GraphClient`].

use std::time::{Duration, SystemTime};

use rand::Rng;

/// How a caller retries transient failures (429, 5xx, timeouts, dropped connections).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff delay; each further attempt doubles it (before jitter).
    pub base: Duration,
    /// No single backoff delay (without `Retry-After`) is longer than this.
    pub cap: Duration,
    /// The whole budget: once the next attempt would start later than this after the first
    /// one, the caller gives up (`RejectResult::Failed { retryable: true, .. }`).
    pub max_elapsed: Duration,
}

impl RetryPolicy {
    /// One second doubling up to a minute: Graph's throttling guidance asks for backoff of
    /// seconds, and a minute between attempts keeps a ten-minute budget to about a dozen calls.
    pub fn with_budget(max_elapsed: Duration) -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_elapsed,
        }
    }

    /// The wait before retry number `attempt` (0 = the first retry).
    ///
    /// With `retry_after` the server's wish is honoured as given, plus a little jitter (at most a
    /// quarter of `base`) so that many clients told the same time do not return in the same
    /// millisecond. Without it: "equal jitter", uniformly in `[d/2, d]` where
    /// `d = min(cap, base * 2^attempt)`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let mut rng = rand::rng();
        if let Some(wait) = retry_after {
            let spread = (self.base / 4).as_millis() as u64;
            let jitter = if spread == 0 {
                0
            } else {
                rng.random_range(0..=spread)
            };
            return wait + Duration::from_millis(jitter);
        }
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        let full = self.base.saturating_mul(factor).min(self.cap);
        let full_ms = full.as_millis() as u64;
        if full_ms == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rng.random_range(full_ms / 2..=full_ms))
    }
}

/// Reads a `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date, relative to `now`.
/// A date in the past means "now" (zero); anything unreadable is ignored (`None`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    parse_retry_after_unclamped(value, now).map(|d| d.min(MAX_RETRY_AFTER))
}

/// No server hint is followed beyond a day (the retry budget ends long before); this also keeps
/// a hostile `Retry-After: 18446744073709551615` from overflowing the clock.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

fn parse_retry_after_unclamped(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // Some services send fractional seconds; accept them rather than ignore the hint.
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests;
