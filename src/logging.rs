//! The log: `tracing` to standard error, filtered by `RUST_LOG`, and never carrying bytes a
//! library logs from request bodies, whatever level a person asks for.
//!
//! bollard logs every request body at trace (`request: b"..."`): the archive that puts a
//! secret file into a container holds the secret's bytes. `RUST_LOG=trace` is what people
//! turn on to debug, so a body-logging target is capped below trace by a filter of its own
//! that `RUST_LOG` cannot loosen, rather than by a directive a more specific one overrides.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Targets whose events at trace carry request or response bodies.
const BODY_LOGGING_TARGETS: &[&str] = &["bollard"];

/// Whether an event may be logged at all: not a body-logging target's trace.
pub fn may_log(meta: &Metadata<'_>) -> bool {
    !(*meta.level() == Level::TRACE && carries_bodies(meta.target()))
}

fn carries_bodies(target: &str) -> bool {
    BODY_LOGGING_TARGETS.iter().any(|t| {
        target == *t
            || target
                .strip_prefix(t)
                .is_some_and(|rest| rest.starts_with("::"))
    })
}

/// Installs the global subscriber: `RUST_LOG`, or `default` when it is unset or unreadable.
pub fn init(default: &str, json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let filter = filter.and(filter_fn(may_log));
    // Colours only for a person at a terminal: a log file or a journal gets plain text
    // (and `NO_COLOR` turns them off there too).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    if json {
        tracing_subscriber::registry()
            .with(layer.json().with_filter(filter))
            .init();
    } else {
        tracing_subscriber::registry()
            .with(layer.with_filter(filter))
            .init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bollard_and_its_modules_are_body_logging_and_look_alikes_are_not() {
        assert!(carries_bodies("bollard"));
        assert!(carries_bodies("bollard::docker"));
        assert!(!carries_bodies("bollard_stubs"));
        assert!(!carries_bodies("mesos_operator::docker"));
    }
}
