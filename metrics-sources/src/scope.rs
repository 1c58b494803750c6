//! What to fetch: Kayenta's `CanaryScope`, and the time grid a fetched series lies on.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::SourceError;

/// Kayenta's `CanaryScope`: which servers (`scope`, `location`), which window (`start`,
/// `end`), at which resolution (`step`, seconds), plus free-form `extendedScopeParams`
/// (Prometheus and Stackdriver read `project` and `resourceType` from them; templates
/// read all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryScope {
    /// The server group, e.g. `myapp-baseline`.
    #[serde(default)]
    pub scope: String,
    /// The region or zone, e.g. `us-central1`.
    #[serde(default)]
    pub location: String,
    /// Window start.
    pub start: DateTime<Utc>,
    /// Window end.
    pub end: DateTime<Utc>,
    /// Step in seconds (Kayenta's default is 60).
    #[serde(default = "default_step")]
    pub step: i64,
    /// Extra parameters for templates and providers.
    #[serde(default)]
    pub extended_scope_params: BTreeMap<String, String>,
}

fn default_step() -> i64 {
    60
}

impl CanaryScope {
    /// A scope over `[start, end]` at `step` seconds with no location and no parameters.
    pub fn new(
        scope: impl Into<String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: i64,
    ) -> Self {
        Self {
            scope: scope.into(),
            location: String::new(),
            start,
            end,
            step,
            extended_scope_params: BTreeMap::new(),
        }
    }

    /// A non-empty `extendedScopeParams` value.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.extended_scope_params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The grid this scope asks for (see [`TimeGrid::inclusive`]).
    pub fn grid(&self) -> Result<TimeGrid, SourceError> {
        TimeGrid::inclusive(
            self.start.timestamp_millis(),
            self.end.timestamp_millis(),
            self.step.saturating_mul(1000),
        )
    }
}

/// Kayenta's pairing of a control and an experiment scope under one scope name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryScopePair {
    /// The baseline.
    pub control_scope: CanaryScope,
    /// The canary.
    pub experiment_scope: CanaryScope,
}

/// A regular time grid: `len` instants `start + k × step`, `k = 0..len`.
///
/// kanary puts every fetched series on the grid it asked for, so that baseline and canary
/// can be compared timestamp by timestamp; a sample the store does not have is NaN at its
/// timestamp instead of being dropped (Kayenta's Prometheus reader shortens the series).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeGrid {
    start_ms: i64,
    step_ms: i64,
    len: usize,
}

/// The most points one grid may hold (a day at one second is 86,401).
pub const MAX_GRID_POINTS: usize = 1_000_000;

/// The most values one fetch (one metric, one scope, all its series) may hold: 20 million
/// doubles, 160 MB. A store that answers with more series than that is refused rather
/// than allowed to exhaust memory.
pub const MAX_VALUES_PER_FETCH: usize = 20_000_000;

/// Checks that `series` series of `len` values each fit in [`MAX_VALUES_PER_FETCH`].
pub fn check_fetch_size(series: usize, len: usize) -> Result<(), String> {
    match series.checked_mul(len) {
        Some(total) if total <= MAX_VALUES_PER_FETCH => Ok(()),
        _ => Err(format!(
            "{series} series of {len} points exceed the limit of {MAX_VALUES_PER_FETCH} values per fetch; narrow the query or use a larger step"
        )),
    }
}

impl TimeGrid {
    /// The instants of `[start, end]` at `step`, both ends included when `end` falls on
    /// the grid: what Prometheus's `query_range` and Datadog's point walk return.
    pub fn inclusive(start_ms: i64, end_ms: i64, step_ms: i64) -> Result<Self, SourceError> {
        if step_ms <= 0 {
            return Err(SourceError::InvalidQuery(format!(
                "step must be positive, got {step_ms} ms"
            )));
        }
        if end_ms < start_ms {
            return Err(SourceError::InvalidQuery(format!(
                "window end {} is before its start {}",
                iso_millis(end_ms),
                iso_millis(start_ms)
            )));
        }
        let len = (end_ms - start_ms) / step_ms + 1;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        Self::new(start_ms, step_ms, len)
    }

    /// `len` instants from `start_ms` at `step_ms`.
    pub fn new(start_ms: i64, step_ms: i64, len: usize) -> Result<Self, SourceError> {
        if step_ms <= 0 {
            return Err(SourceError::InvalidQuery(format!(
                "step must be positive, got {step_ms} ms"
            )));
        }
        if len > MAX_GRID_POINTS {
            return Err(SourceError::InvalidQuery(format!(
                "the window holds {len} steps; at most {MAX_GRID_POINTS} points per series are supported, use a larger step"
            )));
        }
        Ok(Self {
            start_ms,
            step_ms,
            len,
        })
    }

    /// First instant, epoch milliseconds.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Spacing, milliseconds.
    pub fn step_ms(&self) -> i64 {
        self.step_ms
    }

    /// Number of instants.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the grid has no instant.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Kayenta's `endTimeMillis` for a full series on this grid: `start + len × step`, so
    /// that `expectedDataPoints()` equals `len`.
    pub fn end_ms(&self) -> i64 {
        let len = i64::try_from(self.len).unwrap_or(i64::MAX);
        self.start_ms
            .saturating_add(len.saturating_mul(self.step_ms))
    }

    /// The instant of index `k`, epoch milliseconds.
    pub fn instant_ms(&self, k: usize) -> i64 {
        let k = i64::try_from(k).unwrap_or(i64::MAX);
        self.start_ms.saturating_add(k.saturating_mul(self.step_ms))
    }

    /// The index of the grid instant nearest to `t_ms`, if it lies within half a step of
    /// the grid.
    pub fn index_of(&self, t_ms: i64) -> Option<usize> {
        let offset = t_ms.checked_sub(self.start_ms)?;
        let half = self.step_ms / 2;
        let k = offset.checked_add(half)?.div_euclid(self.step_ms);
        if offset + half < 0 {
            return None;
        }
        usize::try_from(k).ok().filter(|&k| k < self.len)
    }

    /// One value per instant: each `(timestamp ms, value)` goes to its nearest instant
    /// (a later sample for the same instant wins); instants without a sample are NaN;
    /// samples off the grid are ignored.
    pub fn place(&self, points: impl IntoIterator<Item = (i64, f64)>) -> Vec<f64> {
        let mut values = vec![f64::NAN; self.len];
        for (t, v) in points {
            if let Some(k) = self.index_of(t) {
                values[k] = v;
            }
        }
        values
    }
}

/// An epoch-millisecond instant as Kayenta writes it (`Instant.toString()`: ISO-8601 in
/// UTC with `Z`, fractional seconds only when non-zero).
pub fn iso_millis(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => iso(&t),
        None => ms.to_string(),
    }
}

/// An instant as Kayenta writes it (`Instant.toString()`).
pub fn iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusive_grid_counts_both_ends() {
        let g = TimeGrid::inclusive(0, 240_000, 60_000).expect("grid");
        assert_eq!(g.len(), 5);
        assert_eq!(g.end_ms(), 300_000);
        assert_eq!(g.instant_ms(4), 240_000);
        let g = TimeGrid::inclusive(0, 239_999, 60_000).expect("grid");
        assert_eq!(g.len(), 4);
    }

    #[test]
    fn place_puts_values_at_their_instants_and_nan_elsewhere() {
        let g = TimeGrid::new(1_000, 1_000, 4).expect("grid");
        let v = g.place([
            (1_000, 1.0),
            (3_001, 3.0),
            (9_000, 9.0),
            (-5, 7.0),
            (4_400, 4.0),
        ]);
        assert_eq!(v[0], 1.0);
        assert!(v[1].is_nan());
        assert_eq!(v[2], 3.0);
        assert_eq!(v[3], 4.0);
    }

    #[test]
    fn bad_grids_are_errors() {
        assert!(TimeGrid::inclusive(0, 10, 0).is_err());
        assert!(TimeGrid::inclusive(10, 0, 1).is_err());
        assert!(TimeGrid::inclusive(0, 10_000_000, 1).is_err());
        assert!(
            TimeGrid::new(i64::MIN, 1, 3)
                .expect("grid")
                .index_of(i64::MAX)
                .is_none()
        );
    }

    #[test]
    fn iso_is_java_instant_text() {
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_millis(1_500), "1970-01-01T00:00:01.500Z");
    }
}
