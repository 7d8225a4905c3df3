//! Clocks a guest reads, injectable so that a host can run a guest deterministically.

use std::time::Duration;

use cap_std::time::{MonotonicClock, SystemClock};
use cap_time_ext::{MonotonicClockExt, SystemClockExt};

/// The wall clock (`clock_time_get(realtime)`): time since the Unix epoch.
pub trait WallClock: Send + Sync {
    /// The time since 1970-01-01 00:00:00 UTC.
    fn now(&self) -> Duration;
    /// The clock's resolution.
    fn resolution(&self) -> Duration;
}

/// The monotonic clock (`clock_time_get(monotonic)`): never goes back.
pub trait MonotonicTime: Send + Sync {
    /// Nanoseconds since an arbitrary fixed point.
    fn now(&self) -> u64;
    /// The clock's resolution.
    fn resolution(&self) -> Duration;
}

/// The host's wall clock, through cap-std's capability for it.
pub(crate) struct HostWallClock(SystemClock);

impl HostWallClock {
    pub(crate) fn new() -> Self {
        HostWallClock(SystemClock::new(cap_std::ambient_authority()))
    }
}

impl WallClock for HostWallClock {
    fn now(&self) -> Duration {
        self.0
            .now()
            .duration_since(SystemClock::UNIX_EPOCH)
            .unwrap_or_default()
    }

    fn resolution(&self) -> Duration {
        SystemClockExt::resolution(&self.0)
    }
}

/// The host's monotonic clock, counted from the context's creation.
pub(crate) struct HostMonotonicClock {
    clock: MonotonicClock,
    start: cap_std::time::Instant,
}

impl HostMonotonicClock {
    pub(crate) fn new() -> Self {
        let clock = MonotonicClock::new(cap_std::ambient_authority());
        let start = clock.now();
        HostMonotonicClock { clock, start }
    }
}

impl MonotonicTime for HostMonotonicClock {
    fn now(&self) -> u64 {
        let elapsed = self.clock.now().duration_since(self.start);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    fn resolution(&self) -> Duration {
        MonotonicClockExt::resolution(&self.clock)
    }
}
