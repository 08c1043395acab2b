//! Unit tests of the backoff arithmetic and `Retry-After`.

use super::*;

#[test]
fn huge_retry_after_is_clamped() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let d = parse_retry_after("18446744073709551615", now).unwrap();
    assert_eq!(d, MAX_RETRY_AFTER);
    let p = RetryPolicy::with_budget(Duration::from_secs(600));
    assert!(p.delay(1, Some(d)) >= MAX_RETRY_AFTER);
}

#[test]
fn retry_after_seconds_and_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("1.5", now),
        Some(Duration::from_millis(1500))
    );
    let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
    assert_eq!(
        parse_retry_after(&later, now),
        Some(Duration::from_secs(30))
    );
    let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
    assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-3", now), None);
}

#[test]
fn backoff_grows_with_jitter_and_stops_at_the_cap() {
    let p = RetryPolicy {
        base: Duration::from_millis(100),
        cap: Duration::from_millis(1000),
        max_elapsed: Duration::from_secs(10),
    };
    for _ in 0..50 {
        let d0 = p.delay(0, None);
        assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
        let d3 = p.delay(3, None);
        assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
        let d30 = p.delay(30, None);
        assert!(d30 >= Duration::from_millis(500) && d30 <= Duration::from_millis(1000));
    }
}

#[test]
fn retry_after_is_honoured_not_shortened() {
    let p = RetryPolicy::with_budget(Duration::from_secs(600));
    for attempt in [0, 5, 30] {
        let d = p.delay(attempt, Some(Duration::from_secs(3)));
        assert!(d >= Duration::from_secs(3), "{d:?}");
        assert!(d <= Duration::from_millis(3250), "{d:?}");
    }
}
