//! A clock whose sleeps return at once and move its time forward, for the analysis runner
//! in tests. Include it with `#[path = "support/clock.rs"] mod clock;`.
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use kanary::analysis::Clock;
use kanary_metrics_sources::http::BoxFuture;

/// Fake time: `sleep` advances it and returns at once.
pub struct FakeClock(pub Mutex<DateTime<Utc>>);

impl FakeClock {
    /// A clock standing at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("lock")
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        *self.0.lock().expect("lock") += TimeDelta::from_std(duration).expect("duration");
        Box::pin(async {})
    }
}
