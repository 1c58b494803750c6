//! The documented `projects.timeSeries.list` response (Monitoring API v3, JSON form of the
//! `ListTimeSeriesResponse` proto) and its conversion to metric sets on the requested
//! grid, after Kayenta's `StackdriverMetricsService.queryMetrics`.

use std::collections::BTreeMap;

use kanary_judge::{ALIGNED_ATTRIBUTE, MetricSet};
use serde::Deserialize;
use serde_json::Value;

use crate::TimeGrid;
use crate::scope::iso_millis;

/// One page of `timeSeries.list`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListPage {
    /// Absent (proto3 JSON omits empty lists) or null when the page has none.
    #[serde(default)]
    pub time_series: Option<Vec<TimeSeries>>,
    /// Absent or empty on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// A page of a Google list call: its items and the next page's token.
pub(super) trait Paged: serde::de::DeserializeOwned {
    /// One listed item.
    type Item;
    /// The API method, for messages.
    const METHOD: &'static str;
    /// The items and `nextPageToken`.
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>);
}

impl Paged for ListPage {
    type Item = TimeSeries;
    const METHOD: &'static str = "timeSeries.list";
    fn into_parts(self) -> (Vec<TimeSeries>, Option<String>) {
        (self.time_series.unwrap_or_default(), self.next_page_token)
    }
}

/// A `projects.metricDescriptors.list` page; the descriptors are passed on as Google
/// wrote them (Kayenta's metadata endpoint returns the `MetricDescriptor` objects).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescriptorPage {
    /// Absent when the page has none.
    #[serde(default)]
    pub metric_descriptors: Option<Vec<serde_json::Value>>,
    /// Absent or empty on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

impl Paged for DescriptorPage {
    type Item = serde_json::Value;
    const METHOD: &'static str = "metricDescriptors.list";
    fn into_parts(self) -> (Vec<serde_json::Value>, Option<String>) {
        (
            self.metric_descriptors.unwrap_or_default(),
            self.next_page_token,
        )
    }
}

/// One `TimeSeries`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TimeSeries {
    #[serde(default)]
    metric: Option<Labelled>,
    #[serde(default)]
    resource: Option<Labelled>,
    /// `INT64`, `DOUBLE`, `BOOL`, `STRING`, `DISTRIBUTION`, `MONEY`.
    #[serde(default)]
    value_type: Option<String>,
    /// Newest first, per the API.
    #[serde(default)]
    points: Option<Vec<Point>>,
}

/// `Metric` or `MonitoredResource`: only the labels are read.
#[derive(Debug, Default, Deserialize)]
struct Labelled {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
struct Point {
    #[serde(default)]
    interval: Option<Interval>,
    #[serde(default)]
    value: Option<TypedValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Interval {
    #[serde(default)]
    end_time: Option<String>,
}

/// `TypedValue`: a oneof; the proto3 JSON mapping writes int64 as a string, and a double
/// as a number or one of the strings `NaN`, `Infinity`, `-Infinity`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedValue {
    #[serde(default)]
    int64_value: Option<Value>,
    #[serde(default)]
    double_value: Option<Value>,
}

/// What every metric set of one fetch shares.
pub(super) struct Shape<'a> {
    /// The metric name.
    pub name: &'a str,
    /// The requested grid: `ceil((end − start) / step)` alignment periods from the scope
    /// start (Kayenta's `numIntervals`).
    pub grid: TimeGrid,
    /// The requested `interval.endTime`, epoch milliseconds.
    pub end_ms: i64,
    /// `query`, `crossSeriesReducer`, `perSeriesAligner`, `aligned`.
    pub attributes: BTreeMap<String, String>,
}

impl Shape<'_> {
    fn metric_set(&self, tags: BTreeMap<String, String>, values: Vec<f64>) -> MetricSet {
        MetricSet {
            name: self.name.to_string(),
            tags,
            start_time_millis: self.grid.start_ms(),
            start_time_iso: Some(iso_millis(self.grid.start_ms())),
            end_time_millis: self.grid.end_ms(),
            end_time_iso: Some(iso_millis(self.grid.end_ms())),
            step_millis: self.grid.step_ms(),
            values,
            attributes: self.attributes.clone(),
        }
    }

    /// The placeholder for a fetch without series: no tags, NaN at every grid instant.
    pub(super) fn placeholder(&self) -> MetricSet {
        self.metric_set(BTreeMap::new(), vec![f64::NAN; self.grid.len()])
    }

    /// One series on the grid; `index` is its position in the whole answer (for errors).
    ///
    /// **Which point goes where.** An aligned series has one point per alignment period,
    /// stamped with the period's *end* (`interval.endTime`; for a GAUGE result
    /// `startTime` equals it, so only `endTime` identifies the period), and the periods
    /// are counted back from the request's `interval.endTime`. Grid index `k` stands for
    /// the `k`-th period of the window, which begins at `start + k·step` (that is the
    /// instant the metric set reports for it). So a point stamped `T` goes to the index
    /// `n − 1 − (end − T)/step`, rounded to the nearest index: when `end − start` is a
    /// multiple of the step this is simply `T − step = start + k·step`. Kayenta instead
    /// lists the points as they come (reversed) and starts the series at the first
    /// point's `startTime`, so a missing period shifts every later value; here it is NaN.
    pub(super) fn series(&self, index: usize, ts: TimeSeries) -> Result<MetricSet, String> {
        let mut tags = BTreeMap::new();
        if let Some(labels) = ts.resource.and_then(|r| r.labels) {
            // Kayenta means to drop `project_id` (its `!=` compares references, so it only
            // sometimes does): the project differs between accounts, not between canary
            // and baseline, and it would only split otherwise identical series.
            tags.extend(labels.into_iter().filter(|(k, _)| k != "project_id"));
        }
        if let Some(labels) = ts.metric.and_then(|m| m.labels) {
            tags.extend(labels);
        }
        let mut points = ts.points.unwrap_or_default();
        // The API lists points newest first; walk them oldest first (Kayenta reverses them
        // too) so that of two points for one period the newer one wins.
        points.reverse();
        let count = points.len();
        let value_kind = ValueKind::of(index, ts.value_type.as_deref())?;
        // Shift from the end-anchored periods to the grid's frame (see above).
        let shift = self.grid.end_ms() - self.end_ms - self.grid.step_ms();
        let mut placed = Vec::with_capacity(count);
        for (j, point) in points.into_iter().enumerate() {
            // `j` counts oldest first; errors name the position in the API's order.
            let at = format!("timeSeries[{index}].points[{}]", count - 1 - j);
            let end_time = point
                .interval
                .and_then(|i| i.end_time)
                .ok_or_else(|| format!("{at}.interval.endTime is missing"))?;
            let t = chrono::DateTime::parse_from_rfc3339(&end_time)
                .map_err(|e| format!("{at}.interval.endTime '{end_time}' is not a timestamp: {e}"))?
                .timestamp_millis();
            let value = point
                .value
                .ok_or_else(|| format!("{at}.value is missing"))
                .and_then(|v| value_kind.read(&at, v))?;
            placed.push((t.saturating_add(shift), value));
        }
        let values = self.grid.place(placed);
        if count != self.grid.len() {
            // Kayenta logs the same: Google omits periods without data.
            tracing::debug!(
                expected = self.grid.len(),
                received = count,
                series = index,
                "a Stackdriver series does not cover every alignment period"
            );
        }
        Ok(self.metric_set(tags, values))
    }
}

/// Which field of `TypedValue` holds the number.
#[derive(Debug, Clone, Copy)]
enum ValueKind {
    Int64,
    Double,
    /// No `valueType` (the API always sends one; Kayenta returns no values then): read
    /// whichever numeric field the point carries, as the value names its own type.
    FromPoint,
}

impl ValueKind {
    fn of(index: usize, value_type: Option<&str>) -> Result<Self, String> {
        match value_type {
            Some("INT64") => Ok(ValueKind::Int64),
            Some("DOUBLE") => Ok(ValueKind::Double),
            None | Some("") | Some("VALUE_TYPE_UNSPECIFIED") => Ok(ValueKind::FromPoint),
            // Kayenta reads `doubleValue` for these and gets nulls; a judge cannot compare
            // them, so say which aligner turns them into numbers.
            Some(other) => Err(format!(
                "timeSeries[{index}] has valueType {other}; canary analysis needs INT64 or DOUBLE values: choose a perSeriesAligner that yields numbers (e.g. ALIGN_FRACTION_TRUE for BOOL, ALIGN_PERCENTILE_99 or ALIGN_DELTA with a reducer for DISTRIBUTION)"
            )),
        }
    }

    fn read(self, at: &str, value: TypedValue) -> Result<f64, String> {
        match self {
            ValueKind::Int64 => value
                .int64_value
                .as_ref()
                .ok_or_else(|| format!("{at}.value.int64Value is missing (valueType INT64)"))
                .and_then(|v| int64(at, v)),
            ValueKind::Double => value
                .double_value
                .as_ref()
                .ok_or_else(|| format!("{at}.value.doubleValue is missing (valueType DOUBLE)"))
                .and_then(|v| double(at, v)),
            ValueKind::FromPoint => match (&value.int64_value, &value.double_value) {
                (Some(v), _) => int64(at, v),
                (None, Some(v)) => double(at, v),
                (None, None) => Err(format!(
                    "{at}.value has neither int64Value nor doubleValue (and the series has no valueType)"
                )),
            },
        }
    }
}

/// An `int64Value`: a decimal string per the proto3 JSON mapping, or a JSON integer.
fn int64(at: &str, v: &Value) -> Result<f64, String> {
    let n = match v {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    // As Kayenta: `(double) getInt64Value()`; above 2^53 the nearest double is taken.
    n.map(|n| n as f64)
        .ok_or_else(|| format!("{at}.value.int64Value {v} is not a 64-bit integer"))
}

/// A `doubleValue`: a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"` (proto3 JSON),
/// or a number written as a string (which the mapping also accepts).
fn double(at: &str, v: &Value) -> Result<f64, String> {
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.trim() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse::<f64>().ok().filter(|x| x.is_finite()),
        },
        _ => None,
    };
    x.ok_or_else(|| format!("{at}.value.doubleValue {v} is not a number"))
}

/// Kayenta's `attributes` plus `aligned`.
pub(super) fn attributes(filter: &str, reducer: &str, aligner: &str) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("query".to_string(), filter.to_string());
    a.insert("crossSeriesReducer".to_string(), reducer.to_string());
    a.insert("perSeriesAligner".to_string(), aligner.to_string());
    a.insert(ALIGNED_ATTRIBUTE.to_string(), "true".to_string());
    a
}

/// The grid of a request: from `start`, `ceil((end − start) / step)` periods (Kayenta's
/// `numIntervals`, its expected point count), so that it covers `[start, end)` and
/// `endTimeMillis = start + len·step`.
pub(super) fn grid(
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
) -> Result<TimeGrid, crate::SourceError> {
    if step_ms <= 0 {
        return Err(crate::SourceError::InvalidQuery(format!(
            "step must be positive, got {step_ms} ms"
        )));
    }
    if end_ms < start_ms {
        return Err(crate::SourceError::InvalidQuery(format!(
            "window end {} is before its start {}",
            iso_millis(end_ms),
            iso_millis(start_ms)
        )));
    }
    let span = end_ms - start_ms;
    let len = span / step_ms + i64::from(span % step_ms != 0);
    TimeGrid::new(
        start_ms,
        step_ms,
        usize::try_from(len).unwrap_or(usize::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn shape(start: i64, end: i64) -> Shape<'static> {
        Shape {
            name: "m",
            grid: grid(start, end, MIN).expect("grid"),
            end_ms: end,
            attributes: attributes("f", "REDUCE_MEAN", "ALIGN_MEAN"),
        }
    }

    fn series(value_type: &str, points: Value) -> TimeSeries {
        serde_json::from_value(serde_json::json!({
            "valueType": value_type, "points": points,
        }))
        .expect("series")
    }

    fn point(end_ms: i64, value: Value) -> Value {
        serde_json::json!({"interval": {"endTime": iso_millis(end_ms)}, "value": value})
    }

    #[test]
    fn grid_covers_start_inclusive_to_end_exclusive() {
        let g = grid(0, 5 * MIN, MIN).expect("grid");
        assert_eq!((g.len(), g.end_ms()), (5, 5 * MIN));
        let g = grid(0, 5 * MIN + 1, MIN).expect("grid");
        assert_eq!((g.len(), g.end_ms()), (6, 6 * MIN));
        assert_eq!(grid(0, 0, MIN).expect("grid").len(), 0);
        assert!(grid(0, MIN, 0).is_err());
        assert!(grid(MIN, 0, MIN).is_err());
    }

    #[test]
    fn points_are_placed_by_their_period_with_nan_for_gaps() {
        // Window 0..5 min: periods end at 1..5 min. Newest first, the 3-min one missing.
        let s = series(
            "INT64",
            serde_json::json!([
                point(5 * MIN, serde_json::json!({"int64Value": "50"})),
                point(4 * MIN, serde_json::json!({"int64Value": 40})),
                point(2 * MIN, serde_json::json!({"int64Value": "20"})),
                point(MIN, serde_json::json!({"int64Value": "10"})),
            ]),
        );
        let set = shape(0, 5 * MIN).series(0, s).expect("set");
        assert_eq!(set.values.len(), 5);
        assert_eq!(set.values[0], 10.0);
        assert_eq!(set.values[1], 20.0);
        assert!(set.values[2].is_nan());
        assert_eq!(&set.values[3..], &[40.0, 50.0]);
        assert_eq!(set.start_time_millis, 0);
        assert_eq!(set.end_time_millis, 5 * MIN);
        assert_eq!(set.expected_data_points(), 5);
        assert!(set.is_aligned());
    }

    #[test]
    fn periods_are_counted_back_from_the_requested_end() {
        // Window 0..4.5 min: 5 periods ending at 0.5, 1.5, .., 4.5 min.
        let end = 4 * MIN + MIN / 2;
        let s = series(
            "DOUBLE",
            serde_json::json!([
                point(end, serde_json::json!({"doubleValue": 4.5})),
                point(end - 4 * MIN, serde_json::json!({"doubleValue": "NaN"})),
                point(
                    end - 3 * MIN,
                    serde_json::json!({"doubleValue": "Infinity"})
                ),
            ]),
        );
        let set = shape(0, end).series(0, s).expect("set");
        assert_eq!(set.values.len(), 5);
        assert!(set.values[0].is_nan());
        assert_eq!(set.values[1], f64::INFINITY);
        assert!(set.values[2].is_nan() && set.values[3].is_nan());
        assert_eq!(set.values[4], 4.5);
    }

    #[test]
    fn bad_values_are_errors_naming_the_field() {
        let bad = |value_type: &str, value: Value| {
            shape(0, MIN)
                .series(
                    3,
                    series(value_type, serde_json::json!([point(MIN, value)])),
                )
                .expect_err("error")
        };
        let e = bad("INT64", serde_json::json!({"int64Value": "1.5"}));
        assert!(
            e.contains("timeSeries[3].points[0].value.int64Value"),
            "{e}"
        );
        let e = bad("DOUBLE", serde_json::json!({"doubleValue": "lots"}));
        assert!(e.contains("doubleValue"), "{e}");
        let e = bad("DOUBLE", serde_json::json!({"int64Value": "1"}));
        assert!(e.contains("doubleValue is missing"), "{e}");
        let e = bad("DISTRIBUTION", serde_json::json!({"distributionValue": {}}));
        assert!(e.contains("valueType DISTRIBUTION"), "{e}");
        let e = bad("BOOL", serde_json::json!({"boolValue": true}));
        assert!(e.contains("ALIGN_FRACTION_TRUE"), "{e}");
        let s: TimeSeries = serde_json::from_value(serde_json::json!({
            "valueType": "DOUBLE", "points": [{"value": {"doubleValue": 1}}],
        }))
        .expect("series");
        let e = shape(0, MIN).series(0, s).expect_err("error");
        assert!(e.contains("interval.endTime is missing"), "{e}");
    }

    #[test]
    fn a_missing_value_type_reads_the_field_the_point_has() {
        let s: TimeSeries = serde_json::from_value(serde_json::json!({
            "points": [point(2 * MIN, serde_json::json!({"doubleValue": 2.5})),
                       point(MIN, serde_json::json!({"int64Value": "7"}))],
        }))
        .expect("series");
        let set = shape(0, 2 * MIN).series(0, s).expect("set");
        assert_eq!(set.values, vec![7.0, 2.5]);
    }

    #[test]
    fn tags_are_resource_and_metric_labels_without_project_id() {
        let s: TimeSeries = serde_json::from_value(serde_json::json!({
            "resource": {"type": "gce_instance", "labels": {"project_id": "p", "zone": "z", "shared": "r"}},
            "metric": {"type": "x", "labels": {"code": "200", "shared": "m"}},
            "valueType": "DOUBLE",
        }))
        .expect("series");
        let set = shape(0, MIN).series(0, s).expect("set");
        let tags: Vec<(&str, &str)> = set
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(tags, vec![("code", "200"), ("shared", "m"), ("zone", "z")]);
        assert_eq!(set.values.len(), 1);
        assert!(set.values[0].is_nan());
    }
}
