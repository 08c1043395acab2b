//! Logging: one `tracing` subscriber on stderr (text or JSON), filtered by `RUST_LOG`, with two
//! guards that hold whatever `RUST_LOG` says:
//!
//! - **Secrets**: async-imap and lettre log every protocol line at TRACE/DEBUG, the LOGIN
//!   command and the AUTH exchange included; their targets ([`PROTOCOL_TARGETS`]) never go below
//!   INFO. The HTTP and TLS stacks (which may show headers at TRACE) never go below DEBUG.
//! - **Floods**: a library's events are rate-limited per library ([`BURST`], [`PER_SECOND`]);
//!   html5ever alone once wrote 300,000 warnings for one 800 KB message. What is dropped is
//!   counted and said once, in our own words, by [`report_suppressed`].
//!
//! Without `RUST_LOG`: our own targets at INFO, every library at WARN, and the HTML parsers
//! (whose warnings describe the sender's markup, not a problem of ours) at ERROR.
//!
//! Colour: the text format is coloured only when stderr is a terminal and `NO_COLOR` is not set
//! ([`colour`]); journald, files and pipes get plain text.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::Metadata;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::layer::{Context, Filter, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Targets that are ours: never capped, never rate-limited.
const OWN_TARGETS: &[&str] = &["reject_bridge", "graph_sim"];

/// Crates that log protocol lines with credentials below INFO.
pub const PROTOCOL_TARGETS: &[&str] = &["async_imap", "imap_proto", "lettre"];

/// Crates that may show request or response headers (bearer tokens) at TRACE.
const WIRE_TARGETS: &[&str] = &[
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "tokio_rustls",
    "tower",
    "tower_http",
];

/// The filter without `RUST_LOG`.
pub const DEFAULT_DIRECTIVES: &str =
    "warn,reject_bridge=info,graph_sim=info,html5ever=error,markup5ever=error,html2text=error";

/// A library may log this many events at once…
pub const BURST: f64 = 20.0;
/// …and this many per second after that.
pub const PER_SECOND: f64 = 2.0;

/// Events dropped by the rate limit since the last [`report_suppressed`].
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);

/// Installs the subscriber for this process (stderr; JSON when `json`).
pub fn init(json: bool) {
    let env =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_DIRECTIVES));
    let filter = env.and(Guard::default());
    let registry = tracing_subscriber::registry();
    let result = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init()
    } else {
        let ansi = colour(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").as_deref(),
        );
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init()
    };
    if let Err(e) = result {
        eprintln!("warning: logging is not set up: {e}");
    }
}

/// Whether the text format colours its lines: only on a terminal, and never when `NO_COLOR`
/// (<https://no-color.org>) is set to anything but the empty string. The library's own default
/// colours whatever stderr is, which leaves escape codes in journald, files and pipes.
pub fn colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// A panic payload in words, on one line of at most 300 characters (a `&str` or `String`
/// message; anything else is unnamed).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

/// Says, once, how many library events the rate limit dropped since the last call (nothing when
/// none were). The pipeline calls it after each message.
pub fn report_suppressed() {
    let n = SUPPRESSED.swap(0, Ordering::Relaxed);
    if n > 0 {
        tracing::warn!(
            suppressed = n,
            "log events from libraries were dropped by the rate limit ({BURST} at once, {PER_SECOND} per second per library)"
        );
    }
}

/// The crate a target belongs to (`html5ever::tree_builder` → `html5ever`).
fn crate_of(target: &str) -> &str {
    target.split("::").next().unwrap_or(target)
}

/// The most verbose level a library's target may log at, whatever `RUST_LOG` says.
pub fn cap_for(target: &str) -> LevelFilter {
    let krate = crate_of(target);
    if PROTOCOL_TARGETS.contains(&krate) {
        LevelFilter::INFO
    } else if WIRE_TARGETS.contains(&krate) {
        LevelFilter::DEBUG
    } else {
        LevelFilter::TRACE
    }
}

fn is_own(target: &str) -> bool {
    OWN_TARGETS.contains(&crate_of(target))
}

/// The caps and the per-library rate limit, as a per-layer filter after `RUST_LOG`'s.
#[derive(Default)]
pub struct Guard {
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Guard {
    /// Whether an event or span with this metadata may be logged; takes a token for a library
    /// event.
    pub fn allow(&self, meta: &Metadata<'_>) -> bool {
        let target = meta.target();
        if is_own(target) {
            return true;
        }
        if *meta.level() > cap_for(target) {
            return false;
        }
        if !meta.is_event() {
            return true;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        let now = Instant::now();
        let bucket = buckets
            .entry(crate_of(target).to_string())
            .or_insert(Bucket {
                tokens: BURST,
                at: now,
            });
        let refill = now.duration_since(bucket.at).as_secs_f64() * PER_SECOND;
        bucket.tokens = (bucket.tokens + refill).min(BURST);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            SUPPRESSED.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

impl<S> Filter<S> for Guard {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        self.allow(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        // Bridged `log` records share callsites across targets, and the rate limit decides per
        // event: only our own callsites can be decided once.
        if is_own(meta.target()) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::sometimes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        // journald, a file, a pipe: plain text whatever NO_COLOR says.
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new("1"))));
    }

    /// Metadata of an event at `target` and `level`, as a macro would make it.
    fn meta_for(target: &'static str, level: Level) -> Metadata<'static> {
        use tracing::callsite::{Callsite, Identifier};
        struct Site;
        impl Callsite for Site {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!("not registered")
            }
        }
        static SITE: Site = Site;
        Metadata::new(
            "event",
            target,
            level,
            None,
            None,
            None,
            tracing::field::FieldSet::new(&[], Identifier(&SITE)),
            tracing::metadata::Kind::EVENT,
        )
    }

    #[test]
    fn protocol_targets_never_log_below_info() {
        let g = Guard::default();
        for target in [
            "async_imap::client",
            "imap_proto::parser",
            "lettre::transport::smtp",
        ] {
            assert!(!g.allow(&meta_for(target, Level::TRACE)), "{target}");
            assert!(!g.allow(&meta_for(target, Level::DEBUG)), "{target}");
            assert!(g.allow(&meta_for(target, Level::INFO)), "{target}");
        }
        assert!(!g.allow(&meta_for("hyper::proto::h1", Level::TRACE)));
        assert!(g.allow(&meta_for("hyper::proto::h1", Level::DEBUG)));
        // Ours are never capped.
        assert!(g.allow(&meta_for("reject_bridge::pipeline", Level::TRACE)));
    }

    #[test]
    fn a_flooding_library_is_rate_limited_and_counted() {
        let g = Guard::default();
        let _ = SUPPRESSED.swap(0, Ordering::Relaxed);
        let allowed = (0..1_000)
            .filter(|_| g.allow(&meta_for("html5ever::tree_builder", Level::WARN)))
            .count();
        assert!(
            (BURST as usize..BURST as usize + 5).contains(&allowed),
            "{allowed} of 1000 let through"
        );
        assert!(SUPPRESSED.load(Ordering::Relaxed) >= 1_000 - allowed as u64);
        // Another library has its own budget; our own events are never limited.
        assert!(g.allow(&meta_for("mail_parser", Level::WARN)));
        assert!((0..1_000).all(|_| g.allow(&meta_for("reject_bridge::read::words", Level::WARN))));
    }

    #[test]
    fn defaults_parse() {
        assert!(EnvFilter::try_new(DEFAULT_DIRECTIVES).is_ok());
    }
}
