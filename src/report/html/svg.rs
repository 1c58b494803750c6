//! The inline SVG charts of the HTML report: series over time, box plots, the shift
//! interval against the decision band, and the score per interval of an analysis.
//!
//! Coordinates are written with one decimal and every label goes through [`esc`], so the
//! same input gives the same bytes and no string from a config or a pair reaches the markup
//! unescaped. No `xmlns`: inline SVG in HTML needs none, and the report holds no URL.

use super::esc;
use crate::report::number::compact;
use std::fmt::Write;

/// Most points drawn per line; longer series are downsampled to min/max per bucket.
pub(crate) const MAX_POINTS: usize = 500;

/// Width and height of the series chart (the box plots share its height and y scale).
const SERIES_W: f64 = 640.0;
const CHART_H: f64 = 220.0;
const BOX_W: f64 = 170.0;
const PAD_L: f64 = 58.0;
const PAD_R: f64 = 10.0;
const PAD_T: f64 = 10.0;
const PAD_B: f64 = 30.0;

/// Baseline and canary colours (colour-blind safe pair).
pub(crate) const BASELINE: &str = "#3b6fb6";
pub(crate) const CANARY: &str = "#e07b00";

/// One side of a pair as drawn: its raw values and its time axis.
pub(crate) struct Side<'a> {
    pub(crate) values: &'a [f64],
    /// Milliseconds between points (absent: one unit per point).
    pub(crate) step_millis: Option<i64>,
}

/// A vertical value range shared by the series chart and the box plots.
#[derive(Clone, Copy)]
pub(crate) struct YRange {
    lo: f64,
    hi: f64,
}

impl YRange {
    /// The finite values of all `sides`, padded by 5 %; `None` when there is none.
    pub(crate) fn of(sides: &[&[f64]]) -> Option<YRange> {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for x in sides
            .iter()
            .flat_map(|s| s.iter())
            .filter(|x| x.is_finite())
        {
            lo = lo.min(*x);
            hi = hi.max(*x);
        }
        if lo > hi {
            return None;
        }
        let span = hi - lo;
        let pad = if span > 0.0 && span.is_finite() {
            span * 0.05
        } else if lo != 0.0 {
            lo.abs() * 0.1
        } else {
            1.0
        };
        // Non-negative data (rates, latencies, counts) keeps a floor of 0, not a
        // negative axis label.
        let floor = if lo >= 0.0 { 0.0 } else { f64::NEG_INFINITY };
        let (lo, hi) = ((lo - pad).max(floor), hi + pad);
        if !(lo.is_finite() && hi.is_finite() && hi > lo) {
            return None;
        }
        Some(YRange { lo, hi })
    }

    fn y(&self, v: f64) -> f64 {
        let frac = (v - self.lo) / (self.hi - self.lo);
        PAD_T + (1.0 - frac) * (CHART_H - PAD_T - PAD_B)
    }
}

/// `(index, value)` points of a side, at most [`MAX_POINTS`]: long series are cut into
/// `MAX_POINTS / 2` buckets, each drawn as its minimum then its maximum (spikes stay
/// visible). NaN (and infinite) values are gaps. Returns the points and whether it
/// downsampled.
pub(crate) fn downsample(values: &[f64]) -> (Vec<(f64, f64)>, bool) {
    let n = values.len();
    if n <= MAX_POINTS {
        let points = values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64, if v.is_finite() { *v } else { f64::NAN }))
            .collect();
        return (points, false);
    }
    let buckets = MAX_POINTS / 2;
    let mut points = Vec::with_capacity(MAX_POINTS);
    for b in 0..buckets {
        let start = b * n / buckets;
        let end = ((b + 1) * n / buckets).max(start + 1).min(n);
        let mut min = (f64::NAN, f64::INFINITY);
        let mut max = (f64::NAN, f64::NEG_INFINITY);
        for (i, v) in values[start..end].iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let at = (start + i) as f64;
            if *v < min.1 {
                min = (at, *v);
            }
            if *v > max.1 {
                max = (at, *v);
            }
        }
        if min.0.is_nan() {
            points.push((start as f64, f64::NAN));
            continue;
        }
        // In time order, so the line does not run backwards.
        if min.0 <= max.0 {
            points.push(min);
            points.push(max);
        } else {
            points.push(max);
            points.push(min);
        }
    }
    (points, true)
}

/// An SVG path through `points` (x already in pixels), breaking at NaN. An isolated
/// point becomes a zero-length segment, which the round line cap draws as a dot.
fn path(points: &[(f64, f64)]) -> String {
    let mut d = String::new();
    let mut open = false;
    let mut run = 0;
    for (x, y) in points {
        if y.is_nan() {
            if open && run == 1 {
                d.push_str("h0");
            }
            open = false;
            continue;
        }
        let _ = write!(d, "{}{:.1} {:.1}", if open { "L" } else { "M" }, x, y);
        run = if open { run + 1 } else { 1 };
        open = true;
    }
    if open && run == 1 {
        d.push_str("h0");
    }
    d
}

/// Axis label for an elapsed time in milliseconds.
fn elapsed(ms: f64) -> String {
    if ms >= 3_600_000.0 * 2.0 {
        format!("{} h", compact(ms / 3_600_000.0))
    } else if ms >= 120_000.0 {
        format!("{} min", compact(ms / 60_000.0))
    } else {
        format!("{} s", compact(ms / 1000.0))
    }
}

/// Both sides over time, x as the time since each side's own start (the baseline of a
/// control offset ran earlier; overlaying by elapsed time compares like with like).
pub(crate) fn series(
    metric: &str,
    control: &Side<'_>,
    experiment: &Side<'_>,
    y: Option<YRange>,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart series\" data-metric=\"{}\" viewBox=\"0 0 {SERIES_W} {CHART_H}\" width=\"{SERIES_W}\" height=\"{CHART_H}\" role=\"img\" aria-label=\"baseline and canary over time\">",
        esc(metric)
    );
    frame(&mut s, SERIES_W);
    let Some(y) = y else {
        no_data(&mut s, SERIES_W);
        s.push_str("</svg>");
        return s;
    };
    y_ticks(&mut s, y);
    // x: the longer side's span, in the sides' own units.
    let unit = |side: &Side<'_>| side.step_millis.filter(|m| *m > 0).map(|m| m as f64);
    let span =
        |side: &Side<'_>| side.values.len().saturating_sub(1) as f64 * unit(side).unwrap_or(1.0);
    let total = span(control).max(span(experiment)).max(1.0);
    let plot_w = SERIES_W - PAD_L - PAD_R;
    for (frac, anchor) in [(0.0, "start"), (0.5, "middle"), (1.0, "end")] {
        let x = PAD_L + frac * plot_w;
        let label = if unit(control).is_some() || unit(experiment).is_some() {
            elapsed(frac * total)
        } else {
            format!("#{}", compact((frac * total).round()))
        };
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            CHART_H - 10.0,
            esc(&label)
        );
    }
    for (side, class, colour) in [
        (control, "baseline", BASELINE),
        (experiment, "canary", CANARY),
    ] {
        let (points, _) = downsample(side.values);
        let step = unit(side).unwrap_or(1.0);
        let px: Vec<(f64, f64)> = points
            .iter()
            .map(|(i, v)| {
                let x = PAD_L + i * step / total * plot_w;
                (x, if v.is_nan() { f64::NAN } else { y.y(*v) })
            })
            .collect();
        let drawn = px.iter().filter(|p| !p.1.is_nan()).count();
        let _ = write!(
            s,
            "<path class=\"line {class}\" data-side=\"{class}\" data-points=\"{drawn}\" stroke=\"{colour}\" d=\"{}\"/>",
            path(&px)
        );
    }
    s.push_str("</svg>");
    s
}

/// The five numbers of a box plot, plus the mean.
pub(crate) struct BoxStats {
    pub(crate) min: f64,
    pub(crate) q1: f64,
    pub(crate) median: f64,
    pub(crate) q3: f64,
    pub(crate) max: f64,
    pub(crate) mean: f64,
}

impl BoxStats {
    /// Of the judged values (R type 7 quartiles, as the judge's percentiles); `None` when
    /// there is no finite value.
    pub(crate) fn of(values: &[f64]) -> Option<BoxStats> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_unstable_by(f64::total_cmp);
        let q = |p| kanary_judge::stats::percentile_sorted(&sorted, p);
        Some(BoxStats {
            min: sorted[0],
            q1: q(25.0),
            median: q(50.0),
            q3: q(75.0),
            max: sorted[sorted.len() - 1],
            mean: kanary_judge::stats::mean(&sorted),
        })
    }
}

/// Baseline and canary box plots side by side, on the series chart's y scale.
pub(crate) fn boxes(
    metric: &str,
    control: Option<&BoxStats>,
    experiment: Option<&BoxStats>,
    y: Option<YRange>,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart boxes\" data-metric=\"{}\" viewBox=\"0 0 {BOX_W} {CHART_H}\" width=\"{BOX_W}\" height=\"{CHART_H}\" role=\"img\" aria-label=\"distributions of the judged values\">",
        esc(metric)
    );
    let top = PAD_T;
    let bottom = CHART_H - PAD_B;
    let _ = write!(
        s,
        "<path class=\"axis\" d=\"M10 {top:.1}V{bottom:.1}H{:.1}\"/>",
        BOX_W - 4.0
    );
    let Some(y) = y else {
        s.push_str("</svg>");
        return s;
    };
    for (stats, centre, class, colour, label) in [
        (control, 55.0, "baseline", BASELINE, "baseline"),
        (experiment, 125.0, "canary", CANARY, "canary"),
    ] {
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            CHART_H - 10.0
        );
        let Some(b) = stats else {
            let _ = write!(
                s,
                "<text class=\"tick\" x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no data</text>",
                CHART_H / 2.0
            );
            continue;
        };
        let half = 22.0;
        let (l, r) = (centre - half, centre + half);
        let _ = write!(
            s,
            "<path class=\"whisker {class}\" stroke=\"{colour}\" d=\"M{centre:.1} {:.1}V{:.1}M{centre:.1} {:.1}V{:.1}M{:.1} {:.1}H{:.1}M{:.1} {:.1}H{:.1}\"/>",
            y.y(b.max),
            y.y(b.q3),
            y.y(b.q1),
            y.y(b.min),
            centre - 10.0,
            y.y(b.max),
            centre + 10.0,
            centre - 10.0,
            y.y(b.min),
            centre + 10.0,
        );
        // The box is a path too (at least 1 px tall, so a constant side still shows).
        let (box_top, box_bottom) = (y.y(b.q3), y.y(b.q1).max(y.y(b.q3) + 1.0));
        let _ = write!(
            s,
            "<path class=\"box {class}\" stroke=\"{colour}\" fill=\"{colour}\" d=\"M{l:.1} {box_top:.1}H{r:.1}V{box_bottom:.1}H{l:.1}Z\"/>",
        );
        let _ = write!(
            s,
            "<path class=\"median\" stroke=\"{colour}\" d=\"M{l:.1} {:.1}H{r:.1}\"/>",
            y.y(b.median)
        );
        let _ = write!(
            s,
            "<circle class=\"mean\" cx=\"{centre:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>mean {}</title></circle>",
            y.y(b.mean),
            esc(&compact(b.mean))
        );
    }
    s.push_str("</svg>");
    s
}

const SHIFT_W: f64 = 640.0;
const SHIFT_H: f64 = 74.0;

/// The interval of the shift (canary − baseline) against the no-change band
/// `±band` (Kayenta: tolerance × |estimate|), with the estimate as a dot.
pub(crate) fn shift(
    metric: &str,
    lower: f64,
    upper: f64,
    estimate: Option<f64>,
    band: Option<f64>,
    colour: &str,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart shift\" data-metric=\"{}\" viewBox=\"0 0 {SHIFT_W} {SHIFT_H}\" width=\"{SHIFT_W}\" height=\"{SHIFT_H}\" role=\"img\" aria-label=\"interval of the shift against the decision band\">",
        esc(metric)
    );
    let band = band.filter(|b| b.is_finite());
    let mut lo = lower.min(0.0);
    let mut hi = upper.max(0.0);
    if let Some(b) = band {
        lo = lo.min(-b);
        hi = hi.max(b);
    }
    if !(lo.is_finite() && hi.is_finite()) {
        s.push_str("</svg>");
        return s;
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (lo, hi) = (lo - span * 0.08, hi + span * 0.08);
    let x = |v: f64| PAD_L + (v - lo) / (hi - lo) * (SHIFT_W - PAD_L - PAD_R);
    let mid = 32.0;
    let _ = write!(
        s,
        "<path class=\"axis\" d=\"M{PAD_L:.1} {mid:.1}H{:.1}\"/>",
        SHIFT_W - PAD_R
    );
    if let Some(b) = band {
        let (l, r) = (x(-b), x(b));
        let _ = write!(
            s,
            // No <title> child: Chromium then paints the band over the later interval.
            "<path class=\"band\" d=\"M{l:.1} 14H{:.1}V50H{l:.1}Z\"/>",
            r.max(l + 1.0),
        );
    }
    let _ = write!(
        s,
        "<path class=\"zero\" d=\"M{0:.1} 10V54\"/><text class=\"tick\" x=\"{0:.1}\" y=\"9\" text-anchor=\"middle\">0</text>",
        x(0.0)
    );
    let (l, r) = (x(lower), x(upper));
    let _ = write!(
        s,
        "<path class=\"interval\" stroke=\"{colour}\" d=\"M{l:.1} {mid:.1}H{:.1}M{l:.1} 24V40M{r:.1} 24V40\"/>",
        r.max(l + 0.5)
    );
    if let Some(e) = estimate.filter(|e| e.is_finite()) {
        let _ = write!(
            s,
            "<circle class=\"estimate\" cx=\"{:.1}\" cy=\"{mid:.1}\" r=\"4\" fill=\"{colour}\"/>",
            x(e)
        );
    }
    for (v, anchor) in [(lower, "end"), (upper, "start")] {
        let dx = if anchor == "end" { -4.0 } else { 4.0 };
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{:.1}\" y=\"68\" text-anchor=\"{anchor}\">{}</text>",
            x(v) + dx,
            esc(&compact(v))
        );
    }
    let _ = write!(
        s,
        "<text class=\"tick\" x=\"4\" y=\"{:.1}\">shift</text>",
        mid + 4.0
    );
    s.push_str("</svg>");
    s
}

/// kanary-v1's decision picture, on the scale of the relative change (canary / baseline − 1):
/// the one-sided bounds of the change with the estimate as a dot, the no-harm margin
/// `[margin.0, margin.1]` as the grey band (Pass when both bounds lie inside it), and the
/// effect gates as dashed lines (High / Low need the change beyond them). An infinite
/// bound is drawn to the edge and labelled ±∞.
pub(crate) fn change(
    metric: &str,
    lower: f64,
    upper: f64,
    estimate: Option<f64>,
    margin: (f64, f64),
    gates: &[f64],
    colour: &str,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart shift change\" data-metric=\"{}\" viewBox=\"0 0 {SHIFT_W} {SHIFT_H}\" width=\"{SHIFT_W}\" height=\"{SHIFT_H}\" role=\"img\" aria-label=\"bounds of the change against the no-harm margin and the effect gates\">",
        esc(metric)
    );
    let finite = |v: f64| v.is_finite().then_some(v);
    let mut lo = 0.0f64.min(margin.0);
    let mut hi = 0.0f64.max(margin.1);
    for v in [finite(lower), finite(upper), estimate.and_then(finite)]
        .into_iter()
        .flatten()
        .chain(gates.iter().copied().filter(|g| g.is_finite()))
    {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !(lo.is_finite() && hi.is_finite()) || lower.is_nan() || upper.is_nan() {
        s.push_str("</svg>");
        return s;
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (lo, hi) = (lo - span * 0.08, hi + span * 0.08);
    let x = |v: f64| PAD_L + (v.clamp(lo, hi) - lo) / (hi - lo) * (SHIFT_W - PAD_L - PAD_R);
    let mid = 32.0;
    let _ = write!(
        s,
        "<path class=\"axis\" d=\"M{PAD_L:.1} {mid:.1}H{:.1}\"/>",
        SHIFT_W - PAD_R
    );
    let (l, r) = (x(margin.0), x(margin.1));
    let _ = write!(
        s,
        "<path class=\"band\" d=\"M{l:.1} 14H{:.1}V50H{l:.1}Z\"/>",
        r.max(l + 1.0),
    );
    for g in gates.iter().filter(|g| g.is_finite()) {
        let _ = write!(
            s,
            "<path class=\"gate\" d=\"M{0:.1} 12V52\" stroke=\"#616161\" stroke-dasharray=\"3 2\"/>",
            x(*g)
        );
    }
    let _ = write!(
        s,
        "<path class=\"zero\" d=\"M{0:.1} 10V54\"/><text class=\"tick\" x=\"{0:.1}\" y=\"9\" text-anchor=\"middle\">0</text>",
        x(0.0)
    );
    let (l, r) = (x(lower), x(upper));
    let _ = write!(
        s,
        "<path class=\"interval\" stroke=\"{colour}\" d=\"M{l:.1} {mid:.1}H{:.1}M{l:.1} 24V40M{r:.1} 24V40\"/>",
        r.max(l + 0.5)
    );
    if let Some(e) = estimate.filter(|e| e.is_finite()) {
        let _ = write!(
            s,
            "<circle class=\"estimate\" cx=\"{:.1}\" cy=\"{mid:.1}\" r=\"4\" fill=\"{colour}\"/>",
            x(e)
        );
    }
    for (v, anchor) in [(lower, "end"), (upper, "start")] {
        let dx = if anchor == "end" { -4.0 } else { 4.0 };
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{:.1}\" y=\"68\" text-anchor=\"{anchor}\">{}</text>",
            x(v) + dx,
            esc(&percent(v))
        );
    }
    let _ = write!(
        s,
        "<text class=\"tick\" x=\"4\" y=\"{:.1}\">change</text>",
        mid + 4.0
    );
    s.push_str("</svg>");
    s
}

/// A relative change as a signed percent: "+12.3 %", "+∞".
pub(crate) fn percent(v: f64) -> String {
    if v.is_nan() {
        "undefined".to_string()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+∞".into()
        } else {
            "−∞".into()
        }
    } else {
        format!("{:+.1} %", v * 100.0)
    }
}

const INTERVALS_W: f64 = 720.0;
const INTERVALS_H: f64 = 220.0;

/// One judgement of an analysis as drawn.
pub(crate) struct IntervalPoint {
    pub(crate) score: f64,
    pub(crate) colour: &'static str,
    pub(crate) label: String,
}

/// The score of each interval against the pass and marginal lines; a dashed line where
/// the analysis stopped early (`stopped_at`, 1-based).
pub(crate) fn intervals(
    points: &[IntervalPoint],
    pass: f64,
    marginal: f64,
    stopped_at: Option<usize>,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart intervals\" viewBox=\"0 0 {INTERVALS_W} {INTERVALS_H}\" width=\"{INTERVALS_W}\" height=\"{INTERVALS_H}\" role=\"img\" aria-label=\"score per interval\">"
    );
    let (top, bottom) = (PAD_T, INTERVALS_H - PAD_B);
    let y = |v: f64| bottom - v.clamp(0.0, 100.0) / 100.0 * (bottom - top);
    let plot_w = INTERVALS_W - PAD_L - 110.0;
    let n = points.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            PAD_L + plot_w / 2.0
        } else {
            PAD_L + i as f64 / (n - 1) as f64 * plot_w
        }
    };
    let _ = write!(
        s,
        "<path class=\"axis\" d=\"M{PAD_L:.1} {top:.1}V{bottom:.1}H{:.1}\"/>",
        PAD_L + plot_w
    );
    for v in [0.0, 50.0, 100.0] {
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
            PAD_L - 6.0,
            y(v) + 4.0
        );
    }
    for (v, class, label) in [
        (pass, "pass-line", "pass"),
        (marginal, "marginal-line", "marginal"),
    ] {
        if !v.is_finite() {
            continue;
        }
        let _ = write!(
            s,
            "<path class=\"{class}\" d=\"M{PAD_L:.1} {:.1}H{:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{label} {}</text>",
            y(v),
            PAD_L + plot_w,
            PAD_L + plot_w + 6.0,
            y(v) + 4.0,
            esc(&compact(v))
        );
    }
    if let Some(at) = stopped_at.filter(|a| *a >= 1 && *a <= points.len()) {
        let sx = x(at - 1);
        // The label sits low and left of the line, clear of the threshold labels.
        let _ = write!(
            s,
            "<path class=\"stopped\" d=\"M{sx:.1} {top:.1}V{bottom:.1}\"/><text class=\"tick stopped-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">stopped early</text>",
            sx - 6.0,
            bottom - 8.0
        );
    }
    let line: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                x(i),
                if p.score.is_finite() {
                    y(p.score)
                } else {
                    f64::NAN
                },
            )
        })
        .collect();
    let _ = write!(s, "<path class=\"line scores\" d=\"{}\"/>", path(&line));
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            s,
            "<circle class=\"score\" data-interval=\"{}\" data-score=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"{}\"><title>{}</title></circle><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            i + 1,
            super::num(p.score),
            x(i),
            if p.score.is_finite() {
                y(p.score)
            } else {
                bottom
            },
            p.colour,
            esc(&p.label),
            x(i),
            INTERVALS_H - 10.0,
            i + 1
        );
    }
    s.push_str("</svg>");
    s
}

fn frame(s: &mut String, w: f64) {
    let _ = write!(
        s,
        "<path class=\"axis\" d=\"M{PAD_L:.1} {PAD_T:.1}V{:.1}H{:.1}\"/>",
        CHART_H - PAD_B,
        w - PAD_R
    );
}

fn no_data(s: &mut String, w: f64) {
    let _ = write!(
        s,
        "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no values on either side</text>",
        w / 2.0,
        CHART_H / 2.0
    );
}

fn y_ticks(s: &mut String, y: YRange) {
    for frac in [0.0, 0.5, 1.0] {
        let v = y.lo + frac * (y.hi - y.lo);
        let py = y.y(v);
        let _ = write!(
            s,
            "<path class=\"grid\" d=\"M{PAD_L:.1} {py:.1}H{:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            SERIES_W - PAD_R,
            PAD_L - 6.0,
            py + 4.0,
            esc(&compact(v))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_are_drawn_point_for_point() {
        let (points, down) = downsample(&[1.0, f64::NAN, 3.0]);
        assert!(!down);
        assert_eq!(points.len(), 3);
        assert!(points[1].1.is_nan());
    }

    #[test]
    fn long_series_keep_at_most_max_points_and_their_extremes() {
        let mut values: Vec<f64> = (0..10_000).map(|i| (i % 7) as f64).collect();
        values[5_000] = 1e6;
        let (points, down) = downsample(&values);
        assert!(down);
        assert!(points.len() <= MAX_POINTS, "{}", points.len());
        assert!(points.iter().any(|p| p.1 == 1e6), "the spike is kept");
        assert!(points.windows(2).all(|w| w[0].0 <= w[1].0), "time order");
    }

    #[test]
    fn paths_break_at_gaps_and_dot_isolated_points() {
        let d = path(&[(0.0, 1.0), (1.0, 2.0), (2.0, f64::NAN), (3.0, 4.0)]);
        assert_eq!(d, "M0.0 1.0L1.0 2.0M3.0 4.0h0");
    }

    #[test]
    fn ranges_of_constant_and_empty_data() {
        assert!(YRange::of(&[&[f64::NAN]]).is_none());
        let r = YRange::of(&[&[5.0, 5.0]]).expect("range");
        assert!(r.lo < 5.0 && r.hi > 5.0);
        let r = YRange::of(&[&[0.0]]).expect("range");
        assert_eq!((r.lo, r.hi), (0.0, 1.0));
        let r = YRange::of(&[&[-2.0, -1.0]]).expect("range");
        assert!(r.lo < -2.0 && r.hi > -1.0);
    }
}
