//! The clock seam: the wall clock the loop reads (a step's start, a window's start, how
//! long a member has been unhealthy), passed in so that the loop runs under tokio's paused
//! clock in tests. The core never reads a clock: it is given `now`.

/// Seconds since the epoch.
pub trait Clock: Send + Sync + 'static {
    /// Now, in seconds since the epoch.
    fn now(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        seconds_since_epoch()
    }
}

/// Wall time that moves with tokio's clock from a fixed start: under a paused clock it
/// advances only as tokio's does, so a test's hours pass in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start_secs: u64,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `start_secs` now.
    pub fn starting_at(start_secs: u64) -> TokioClock {
        TokioClock {
            start_secs,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> u64 {
        self.start_secs + self.start.elapsed().as_secs()
    }
}

/// The system's wall clock in seconds since the epoch (0 before 1970: never in practice).
pub fn seconds_since_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds since the epoch as RFC 3339, as status and events write times.
pub fn rfc3339(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_moves_only_with_tokio_s_time() {
        let c = TokioClock::starting_at(1_000);
        assert_eq!(c.now(), 1_000);
        tokio::time::advance(std::time::Duration::from_secs(90)).await;
        assert_eq!(c.now(), 1_090);
    }

    #[test]
    fn times_are_written_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
