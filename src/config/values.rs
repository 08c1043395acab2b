//! Small checks and conversions the sections share: loopback hosts (the only ones where plain
//! connections are accepted), bare addresses as written in the file, seconds as a `Duration`.

use std::time::Duration;

/// True for `localhost`, `127.0.0.0/8` and `::1`: the only hosts where `tls = "none"` is accepted.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// A number of seconds from the file as a `Duration` (a negative one as zero).
pub(super) fn duration_secs(n: i64) -> Duration {
    Duration::from_secs(n.max(0) as u64)
}

/// A bare e-mail address as written in the config: something@domain, no spaces.
pub(super) fn plausible_address(a: &str) -> bool {
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !a.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
        }
        None => false,
    }
}
