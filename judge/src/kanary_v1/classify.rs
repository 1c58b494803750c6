//! One metric under kanary-v1: Kayenta's first steps (no data, identical, single value),
//! then the data prepared for its test (paired or unpaired gauge, counter), the test run
//! at the family's level, and the outcome from the adjusted p-value and the bounds.

use super::binomial::{
    Dispersion, binom_test_p, clopper_pearson, quasi_dispersion, quasi_poisson_dispersion,
};
use super::pnorm::{pnorm_lower, pt_upper, qt_upper};
use super::rank_sum::{Alternative, rank_sum_test};
use super::settings::{MetricKind, Scale, V1MetricSettings};
use super::signed_rank::{SerialCorrection, signed_rank_test_serial};
use super::spread::{SpreadResult, combine, median, spread_test, spread_test_serial};
use crate::model::{MetricClassification, MetricSetPair};
use crate::normal::qnorm;
use crate::outliers::IqrDetector;
use crate::settings::NanStrategy;

/// What a metric's first steps decided, or the data for its test.
#[derive(Debug, Clone)]
pub(crate) enum Prepared {
    /// Decided without a test (Kayenta's no data / identical / single value, or an error).
    Settled {
        classification: MetricClassification,
        reason: Option<String>,
        critical: bool,
    },
    /// A gauge: values on the comparison scale.
    Gauge(GaugeData),
    /// A counter: event totals and exposures.
    Counter(CounterData),
}

#[derive(Debug, Clone)]
pub(crate) struct GaugeData {
    /// Canary and baseline on the comparison scale (the kept timestamps when paired).
    pub(crate) canary: Vec<f64>,
    pub(crate) baseline: Vec<f64>,
    /// Per-timestamp differences canary − baseline when paired.
    pub(crate) paired: Option<Vec<f64>>,
    pub(crate) log: bool,
    /// The baseline median on the original scale (linear scale's reference).
    pub(crate) baseline_median: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct CounterData {
    canary_events: f64,
    baseline_events: f64,
    canary_exposure: f64,
    baseline_exposure: f64,
    dispersion: Dispersion,
}

/// The largest event total a counter may hold.
const MAX_EVENTS: f64 = 1e15;

/// The per-side values after kanary-v1's transforms, for the statistics in the result.
pub(crate) struct Sides {
    pub(crate) control: Vec<f64>,
    pub(crate) experiment: Vec<f64>,
}

fn settled(
    classification: MetricClassification,
    reason: Option<String>,
    critical: bool,
) -> Prepared {
    Prepared::Settled {
        classification,
        reason,
        critical,
    }
}

fn error(detail: &str) -> Prepared {
    settled(
        MetricClassification::Error,
        Some(format!("Metric Classification Failed: {detail}")),
        false,
    )
}

/// Per side, which values to keep: NaN dropped (gauges always; counters unless
/// `nanStrategy: replace`, which makes them 0), then IQR outliers (gauges) when asked.
fn keep_flags(values: &[f64], s: &V1MetricSettings) -> (Vec<f64>, Vec<bool>) {
    let replace = s.kind == MetricKind::Counter && s.base.nan_strategy == NanStrategy::Replace;
    let vals: Vec<f64> = values
        .iter()
        .map(|v| if v.is_nan() && replace { 0.0 } else { *v })
        .collect();
    let mut keep: Vec<bool> = vals.iter().map(|v| !v.is_nan()).collect();
    if s.kind == MetricKind::Gauge && s.base.remove_outliers {
        let kept: Vec<f64> = vals.iter().copied().filter(|v| !v.is_nan()).collect();
        let flags = IqrDetector {
            factor: s.base.outlier_factor,
            reduce_sensitivity: true,
        }
        .detect(&kept);
        let mut f = flags.into_iter();
        for k in keep.iter_mut().filter(|k| **k) {
            if f.next().unwrap_or(false) {
                *k = false;
            }
        }
    }
    (vals, keep)
}

fn kept(vals: &[f64], keep: &[bool]) -> Vec<f64> {
    vals.iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(v, _)| *v)
        .collect()
}

/// Kayenta's first steps and the data for the test.
pub(crate) fn prepare(
    name: &str,
    pair: &MetricSetPair,
    s: &V1MetricSettings,
    denominator: Option<&MetricSetPair>,
) -> (Sides, Prepared) {
    let (cv, ck) = keep_flags(&pair.values.control, s);
    let (ev, ek) = keep_flags(&pair.values.experiment, s);
    let sides = Sides {
        control: kept(&cv, &ck),
        experiment: kept(&ev, &ek),
    };
    let prepared = prepare_sides(name, pair, s, denominator, &sides, (&cv, &ck), (&ev, &ek));
    (sides, prepared)
}

fn prepare_sides(
    name: &str,
    pair: &MetricSetPair,
    s: &V1MetricSettings,
    denominator: Option<&MetricSetPair>,
    sides: &Sides,
    (cv, ck): (&[f64], &[bool]),
    (ev, ek): (&[f64], &[bool]),
) -> Prepared {
    use MetricClassification::*;
    let (c, e) = (&sides.control, &sides.experiment);
    // 1. No data (Kayenta's MannWhitneyClassifier, step 1).
    if c.is_empty() || e.is_empty() {
        let replace = s.kind == MetricKind::Counter && s.base.nan_strategy == NanStrategy::Replace;
        if replace {
            return settled(Pass, None, false);
        }
        let reason = Some(format!("Missing data for {name}"));
        return if s.base.must_have_data && !s.base.critical {
            settled(NodataFailMetric, reason, false)
        } else {
            settled(Nodata, reason, s.base.critical)
        };
    }
    // 2. Identical data; 3. a single value on both sides.
    let mut sc = c.clone();
    let mut se = e.clone();
    sc.sort_by(f64::total_cmp);
    se.sort_by(f64::total_cmp);
    if sc.len() == se.len() && sc.iter().zip(&se).all(|(a, b)| a == b) {
        return settled(
            Pass,
            Some("The Canary and Baseline data are identical".to_string()),
            false,
        );
    }
    if sc[0] == sc[sc.len() - 1] && se[0] == se[se.len() - 1] && sc[0] == se[0] {
        return settled(Pass, None, false);
    }
    if c.iter().chain(e).any(|v| !v.is_finite()) {
        return error("the data holds infinite values");
    }
    let aligned = pair.is_aligned();
    match s.kind {
        MetricKind::Gauge => prepare_gauge(s, aligned, sides, (cv, ck), (ev, ek)),
        MetricKind::Counter => prepare_counter(aligned, sides, (cv, ck), (ev, ek), denominator),
    }
}

fn prepare_gauge(
    s: &V1MetricSettings,
    aligned: bool,
    sides: &Sides,
    (cv, ck): (&[f64], &[bool]),
    (ev, ek): (&[f64], &[bool]),
) -> Prepared {
    // Pairs: the timestamps where both sides kept a value.
    let both: Vec<usize> = if aligned {
        (0..cv.len().min(ev.len()))
            .filter(|&i| ck[i] && ek[i])
            .collect()
    } else {
        Vec::new()
    };
    let paired = !both.is_empty();
    let (canary, baseline): (Vec<f64>, Vec<f64>) = if paired {
        (
            both.iter().map(|&i| ev[i]).collect(),
            both.iter().map(|&i| cv[i]).collect(),
        )
    } else {
        (sides.experiment.clone(), sides.control.clone())
    };
    let all_positive = canary.iter().chain(&baseline).all(|v| *v > 0.0);
    let log = match s.scale {
        Scale::Log if !all_positive => {
            return error("scale \"log\" needs positive values; use \"linear\" or \"auto\"");
        }
        Scale::Log => true,
        Scale::Linear => false,
        Scale::Auto => all_positive,
    };
    let baseline_median = median(&baseline);
    let f = |v: &f64| if log { v.ln() } else { *v };
    let canary: Vec<f64> = canary.iter().map(f).collect();
    let baseline: Vec<f64> = baseline.iter().map(f).collect();
    let paired = paired.then(|| {
        canary
            .iter()
            .zip(&baseline)
            .map(|(a, b)| a - b)
            .collect::<Vec<f64>>()
    });
    if paired
        .as_ref()
        .is_some_and(|d| d.iter().any(|v| !v.is_finite()))
    {
        return error("the differences overflow");
    }
    Prepared::Gauge(GaugeData {
        canary,
        baseline,
        paired,
        log,
        baseline_median,
    })
}

fn prepare_counter(
    aligned: bool,
    sides: &Sides,
    (cv, ck): (&[f64], &[bool]),
    (ev, ek): (&[f64], &[bool]),
    denominator: Option<&MetricSetPair>,
) -> Prepared {
    if sides
        .control
        .iter()
        .chain(&sides.experiment)
        .any(|v| *v < 0.0)
    {
        return error("counter values must be non-negative event counts");
    }
    let steps: Vec<usize> = if aligned {
        (0..cv.len().min(ev.len()))
            .filter(|&i| ck[i] && ek[i])
            .collect()
    } else {
        Vec::new()
    };
    let (canary, baseline): (Vec<f64>, Vec<f64>) = if aligned {
        (
            steps.iter().map(|&i| ev[i]).collect(),
            steps.iter().map(|&i| cv[i]).collect(),
        )
    } else {
        (sides.experiment.clone(), sides.control.clone())
    };
    let (c_sum, b_sum) = (canary.iter().sum::<f64>(), baseline.iter().sum::<f64>());
    // Exact integer counts in a double (and an O(√T) tail sum) end near 2^53.
    let events = c_sum + b_sum;
    if events.is_nan() || events > MAX_EVENTS {
        return error("more than 1e15 events: counts this large are not event counts");
    }
    let (canary_exposure, baseline_exposure) = match denominator {
        Some(d) => {
            let total = |v: &[f64]| v.iter().filter(|x| x.is_finite()).sum::<f64>();
            let (dc, db) = if aligned && d.values.control.len() == cv.len() {
                (
                    steps
                        .iter()
                        .map(|&i| d.values.experiment.get(i).copied().unwrap_or(f64::NAN))
                        .filter(|x| x.is_finite())
                        .sum::<f64>(),
                    steps
                        .iter()
                        .map(|&i| d.values.control.get(i).copied().unwrap_or(f64::NAN))
                        .filter(|x| x.is_finite())
                        .sum::<f64>(),
                )
            } else {
                (total(&d.values.experiment), total(&d.values.control))
            };
            if !(dc > 0.0 && db > 0.0) {
                return error("the denominator has no positive total on both sides");
            }
            (dc, db)
        }
        None => (canary.len() as f64, baseline.len() as f64),
    };
    if canary_exposure <= 0.0 || baseline_exposure <= 0.0 {
        return error("no step where both sides have a value");
    }
    let phi = if aligned {
        let totals: Vec<f64> = canary.iter().zip(&baseline).map(|(a, b)| a + b).collect();
        quasi_dispersion(&canary, &totals)
    } else {
        quasi_poisson_dispersion(&canary, &baseline)
    };
    Prepared::Counter(CounterData {
        canary_events: c_sum,
        baseline_events: b_sum,
        canary_exposure,
        baseline_exposure,
        dispersion: phi,
    })
}

/// How precisely a metric's data measure the change: what an Inconclusive reason reports
/// (the smallest change that could have been detected, and how much data would show no
/// harm within the margin).
#[derive(Debug, Clone)]
pub(crate) struct Precision {
    /// Standard error of the change on the additive scale (log ratio, or linear shift),
    /// NaN when the data cannot say (no events, degenerate interval).
    se: f64,
    /// Degrees of freedom of the reference (∞: normal).
    df: f64,
    /// The amount of data `se` rests on (points, or events), and its unit.
    count: f64,
    unit: &'static str,
}

/// A test's outcome, the change on an additive scale (log ratio, or shift on linear).
#[derive(Debug, Clone)]
pub(crate) struct Tested {
    /// The metric's p-value (location and spread combined).
    pub(crate) p_value: f64,
    p_location: f64,
    spread: Option<SpreadResult>,
    spread_share: f64,
    /// Change estimate and one-sided bounds at the family level, additive units.
    estimate: f64,
    lower: f64,
    upper: f64,
    /// Linear scale: the baseline median (ratio = (b̃ + change) / b̃); None: log units.
    linear_reference: Option<f64>,
    pub(crate) test: String,
    /// What the data held, for reasons: "60 paired points", "4 canary events against 0".
    pub(crate) amount: String,
    /// How precisely the data measure the change, for Inconclusive reasons.
    precision: Precision,
    pub(crate) extra: Vec<(&'static str, serde_json::Value)>,
}

impl Tested {
    /// An additive change as a ratio.
    pub(crate) fn ratio(&self, v: f64) -> f64 {
        match self.linear_reference {
            None => v.exp(),
            Some(b) => (b + v) / b,
        }
    }
    pub(crate) fn estimate_ratio(&self) -> f64 {
        self.ratio(self.estimate)
    }
    pub(crate) fn lower_ratio(&self) -> f64 {
        self.ratio(self.lower)
    }
    pub(crate) fn upper_ratio(&self) -> f64 {
        self.ratio(self.upper)
    }
    /// A ratio gate or margin as an additive change.
    fn additive(&self, ratio: f64) -> f64 {
        match self.linear_reference {
            None => ratio.ln(),
            Some(b) => (ratio - 1.0) * b.abs(),
        }
    }
}

fn alternative(s: &V1MetricSettings) -> Alternative {
    match (
        s.base.direction.allows_increase(),
        s.base.direction.allows_decrease(),
    ) {
        (true, false) => Alternative::Greater,
        (false, true) => Alternative::Less,
        _ => Alternative::TwoSided,
    }
}

/// Runs the metric's test; `conf` is the one-sided level of each bound (1 − alpha/m).
pub(crate) fn run_test(prepared: &Prepared, s: &V1MetricSettings, conf: f64) -> Option<Tested> {
    let alt = alternative(s);
    match prepared {
        Prepared::Settled { .. } => None,
        Prepared::Gauge(g) => {
            let (t, test, amount, serial, unit, count) = match &g.paired {
                Some(d) => {
                    let (t, sc) = signed_rank_test_serial(d, alt, conf);
                    (
                        t,
                        "wilcoxon-signed-rank",
                        format!("{} paired points{}", d.len(), serial_text(&sc)),
                        sc,
                        "paired points",
                        d.len() as f64,
                    )
                }
                // Unpaired: the values' order carries no time (the sides share no grid), and
                // the verdict must not depend on it, so no serial correction.
                None => {
                    let sc = SerialCorrection::none(g.canary.len() + g.baseline.len(), f64::NAN);
                    (
                        rank_sum_test(&g.canary, &g.baseline, alt, conf),
                        "wilcoxon-rank-sum",
                        format!(
                            "{} canary and {} baseline points",
                            g.canary.len(),
                            g.baseline.len()
                        ),
                        sc,
                        "points a side",
                        g.canary.len().min(g.baseline.len()) as f64,
                    )
                }
            };
            let spread = (s.spread_share > 0.0).then(|| {
                if g.paired.is_some() {
                    spread_test_serial(&g.canary, &g.baseline)
                } else {
                    spread_test(&g.canary, &g.baseline)
                }
            });
            let p_value = combine(t.p_value, spread.map(|r| r.p_value), s.spread_share);
            let mut extra = vec![
                ("locationPValue", serde_json::json!(json_num(t.p_value))),
                (
                    "scale",
                    serde_json::json!(if g.log { "log" } else { "linear" }),
                ),
                ("exact", serde_json::json!(t.exact)),
                (
                    "lag1Autocorrelation",
                    serde_json::json!(json_num(serial.rho)),
                ),
                ("serialCorrection", serde_json::json!(serial.applied)),
                (
                    "effectiveN",
                    serde_json::json!(json_num(serial.effective_n)),
                ),
            ];
            if let Some(r) = spread {
                extra.push(("spreadPValue", serde_json::json!(json_num(r.p_value))));
                extra.push(("spreadRatio", serde_json::json!(json_num(r.ratio))));
            }
            // The interval's half-width over its quantile: the change's standard error.
            let df = if serial.applied {
                serial.degrees_of_freedom_for(t.n as f64, 1.0)
            } else {
                f64::INFINITY
            };
            let q = if df.is_finite() {
                qt_upper(1.0 - conf, df)
            } else {
                -qnorm(1.0 - conf)
            };
            let se = (t.upper - t.lower) / (2.0 * q);
            Some(Tested {
                p_value,
                p_location: t.p_value,
                spread,
                spread_share: s.spread_share,
                estimate: t.estimate,
                lower: t.lower,
                upper: t.upper,
                linear_reference: (!g.log).then_some(g.baseline_median),
                test: if spread.is_some() {
                    format!("{test}+spread")
                } else {
                    test.to_string()
                },
                amount,
                precision: Precision {
                    se: if se.is_finite() && se > 0.0 {
                        se
                    } else {
                        f64::NAN
                    },
                    df,
                    count,
                    unit,
                },
                extra,
            })
        }
        Prepared::Counter(c) => {
            let p0 = c.canary_exposure / (c.canary_exposure + c.baseline_exposure);
            let Dispersion { phi, df } = c.dispersion;
            // Non-integer counts (Prometheus' increase() extrapolates) are rounded.
            let events = (c.canary_events + c.baseline_events) / phi;
            let total = events.round().max(0.0) as u64;
            let canary = ((c.canary_events / phi).round().max(0.0) as u64).min(total);
            let (p_value, share_lo, share_hi) = if total == 0 {
                (1.0, 0.0, 1.0)
            } else {
                // With φ̂ estimated (df finite), each bound at the level whose normal quantile
                // is t_{df}'s at `conf`.
                let conf_used = if df.is_finite() {
                    pnorm_lower(-qt_upper(conf, df))
                } else {
                    conf
                };
                let (lo, hi) = clopper_pearson(canary, total, conf_used);
                (
                    quasi_p(binom_test_p(canary, total, p0, alt), alt, df),
                    lo,
                    hi,
                )
            };
            // Share → log rate ratio: ln(s / (1 − s)) − ln(p0 / (1 − p0)).
            let odds0 = (p0 / (1.0 - p0)).ln();
            let log_rr = |share: f64| (share / (1.0 - share)).ln() - odds0;
            let estimate = (c.canary_events / c.canary_exposure).ln()
                - (c.baseline_events / c.baseline_exposure).ln();
            let estimate = if estimate.is_nan() { 0.0 } else { estimate };
            let test = if phi > 1.0 {
                "quasi-binomial"
            } else {
                "binomial"
            };
            let all = c.canary_events + c.baseline_events;
            // The null standard error of the log rate ratio from T events at share p0:
            // √(φ / (T p0 (1 − p0))) (the binomial's Fisher information for the log odds).
            let se = (phi / (all * p0 * (1.0 - p0))).sqrt();
            Some(Tested {
                p_value,
                p_location: p_value,
                spread: None,
                spread_share: 0.0,
                estimate,
                lower: log_rr(share_lo),
                upper: log_rr(share_hi),
                linear_reference: None,
                test: test.to_string(),
                amount: format!(
                    "{} canary events against {} baseline events",
                    compact(c.canary_events),
                    compact(c.baseline_events)
                ),
                precision: Precision {
                    se: if se.is_finite() && se > 0.0 {
                        se
                    } else {
                        f64::NAN
                    },
                    df,
                    count: all,
                    unit: "events in all",
                },
                extra: vec![
                    ("dispersion", serde_json::json!(json_num(phi))),
                    (
                        "dispersionDf",
                        if df.is_finite() {
                            serde_json::json!(df)
                        } else {
                            serde_json::Value::Null
                        },
                    ),
                    ("canaryEvents", serde_json::json!(json_num(c.canary_events))),
                    (
                        "baselineEvents",
                        serde_json::json!(json_num(c.baseline_events)),
                    ),
                    ("canaryShareUnderNull", serde_json::json!(json_num(p0))),
                ],
            })
        }
    }
}

/// The quasi-binomial p-value: the exact binomial p-value of the φ-scaled counts, read as a
/// normal deviate and referred to Student's t on the dispersion's `df` degrees of freedom
/// (R: `summary.glm` with an estimated dispersion uses t on `df.residual`; McCullagh &
/// Nelder, *Generalized Linear Models*, 2nd ed., §9.2.4). With `df` = ∞ (φ̂ = 1) the exact
/// p-value is returned unchanged.
fn quasi_p(exact: f64, alt: Alternative, df: f64) -> f64 {
    if !df.is_finite() {
        return exact;
    }
    match alt {
        Alternative::TwoSided => (2.0 * pt_upper(-qnorm(exact / 2.0), df)).min(1.0),
        _ => pt_upper(-qnorm(exact), df),
    }
}

/// ", effective 20 after lag-1 autocorrelation 0.45" when the serial correction applied.
fn serial_text(sc: &SerialCorrection) -> String {
    if sc.applied {
        format!(
            ", effective {:.0} after lag-1 autocorrelation {:.2}",
            sc.effective_n, sc.rho
        )
    } else {
        String::new()
    }
}

/// A finite number as JSON, non-finite values as Kayenta's strings.
pub(crate) fn json_num(v: f64) -> serde_json::Value {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Infinity".into()
    } else if v == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        serde_json::json!(v)
    }
}

fn compact(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

/// A ratio as a signed percent change: "+12.3 %".
pub(crate) fn percent(ratio: f64) -> String {
    if ratio.is_nan() {
        "undefined".to_string()
    } else if ratio.is_infinite() {
        if ratio > 0.0 {
            "+∞".into()
        } else {
            "−∞".into()
        }
    } else {
        format!("{:+.1} %", (ratio - 1.0) * 100.0)
    }
}

/// The outcome of a tested metric.
pub(crate) struct Outcome {
    pub(crate) classification: MetricClassification,
    pub(crate) reason: Option<String>,
    pub(crate) critical: bool,
}

/// High / Low when the adjusted p-value is below alpha in a watched direction and the change
/// is beyond the effect gate; Pass when the bounds stay within the margin; else Inconclusive.
pub(crate) fn decide(
    name: &str,
    t: &Tested,
    adjusted: f64,
    alpha: f64,
    s: &V1MetricSettings,
    conf: f64,
) -> Outcome {
    use MetricClassification::*;
    let up = s.base.direction.allows_increase();
    let down = s.base.direction.allows_decrease();
    // Each component's share of the adjusted p-value (weighted Bonferroni, then the family).
    let factor = if t.p_value > 0.0 {
        adjusted / t.p_value
    } else {
        1.0
    };
    let loc_weight = if t.spread.is_some() {
        1.0 - t.spread_share
    } else {
        1.0
    };
    let loc_adjusted = (factor * t.p_location / loc_weight).min(1.0);
    let gate_up = t.additive(s.base.allowed_increase);
    let gate_down = t.additive(s.base.allowed_decrease);
    let ratio = t.estimate_ratio();
    let mut flagged: Option<(MetricClassification, String, f64)> = None;
    if loc_adjusted < alpha {
        if up && t.estimate > 0.0 && (t.estimate >= gate_up || gate_up.is_nan()) {
            flagged = Some((
                High,
                format!(
                    "{name} was classified as High: {} (adjusted p = {}, {})",
                    percent(ratio),
                    p_text(loc_adjusted),
                    t.test
                ),
                ratio,
            ));
        } else if down && t.estimate < 0.0 && (t.estimate <= gate_down || gate_down.is_nan()) {
            flagged = Some((
                Low,
                format!(
                    "{name} was classified as Low: {} (adjusted p = {}, {})",
                    percent(ratio),
                    p_text(loc_adjusted),
                    t.test
                ),
                ratio,
            ));
        }
    }
    if flagged.is_none() {
        if let Some(sp) = t.spread {
            let spread_adjusted = (factor * sp.p_value / t.spread_share).min(1.0);
            if spread_adjusted < alpha && (sp.ratio >= s.base.allowed_increase || sp.ratio.is_nan())
            {
                flagged = Some((
                    High,
                    format!(
                        "{name} was classified as High: its spread grew ×{:.2} (adjusted p = {})",
                        sp.ratio,
                        p_text(spread_adjusted)
                    ),
                    sp.ratio,
                ));
            }
        }
    }
    if let Some((class, reason, effect)) = flagged {
        let escalate = s.base.critical
            && match class {
                High => effect.is_nan() || effect >= s.base.critical_increase,
                _ => effect.is_nan() || effect <= s.base.critical_decrease,
            };
        return if escalate {
            Outcome {
                classification: class,
                reason: Some(format!(
                    "The metric {name} was classified as {class} (Critical)"
                )),
                critical: true,
            }
        } else {
            Outcome {
                classification: class,
                reason: Some(reason),
                critical: false,
            }
        };
    }
    // No harm shown? The one-sided bounds within the margin in each watched direction.
    let margin_up = t.additive(1.0 + s.margin);
    let margin_down = match t.linear_reference {
        None => -(1.0 + s.margin).ln(),
        Some(b) => -s.margin * b.abs(),
    };
    let up_ok = !up || t.upper <= margin_up;
    let down_ok = !down || t.lower >= margin_down;
    if up_ok && down_ok {
        return Outcome {
            classification: Pass,
            reason: None,
            critical: false,
        };
    }
    let mut missing = Vec::new();
    if !up_ok {
        missing.push(format!(
            "an increase up to {} (the {:.1} % bound) cannot be excluded",
            percent(t.upper_ratio()),
            conf * 100.0
        ));
    }
    if !down_ok {
        missing.push(format!(
            "a decrease down to {} (the {:.1} % bound) cannot be excluded",
            percent(t.lower_ratio()),
            conf * 100.0
        ));
    }
    Outcome {
        classification: Inconclusive,
        reason: Some(format!(
            "{name} is Inconclusive: no harm shown (change {}, adjusted p = {}), and {}, \
             beyond the margin of ±{:.0} %; more data needed ({}{})",
            percent(ratio),
            p_text(adjusted),
            missing.join(" and "),
            s.margin * 100.0,
            t.amount,
            detectability(
                t,
                s,
                conf,
                (!up_ok).then_some(margin_up - t.estimate),
                (!down_ok).then_some(t.estimate - margin_down),
            )
        )),
        critical: false,
    }
}

/// ": the smallest change they could detect is ±23 %; about 64 paired points would show
/// no harm within ±10 % if the change stays near +2.0 %", from the change's standard
/// error `se` (additive scale) and the room left between the estimate and the margin in
/// each direction that failed (`room_up`, `room_down`):
///
/// - the smallest detectable change is (q_flag + z_0.8)·se, the usual minimum detectable
///   effect at 80 % power (Cohen, *Statistical Power Analysis for the Behavioral Sciences*,
///   2nd ed., 1988, §12.1; for the normal approximation of the test), q_flag the reference
///   quantile at the per-metric level of the location test at Holm's first step,
///   α·(1 − spreadShare)/m, halved when both directions are watched;
/// - the data that would show no harm: the bound at `conf` lies q_conf·se from the
///   estimate and se falls as 1/√count, so if the estimate stays where it is the bound
///   comes within the margin with count·(q_conf·se / room)² of the same (points, or
///   events); with no room left (the estimate itself is beyond the margin) no amount does.
fn detectability(
    t: &Tested,
    s: &V1MetricSettings,
    conf: f64,
    room_up: Option<f64>,
    room_down: Option<f64>,
) -> String {
    let pr = &t.precision;
    if !(pr.se.is_finite() && pr.se > 0.0) {
        return ": the data cannot bound the change yet".to_string();
    }
    let quantile = |upper: f64| {
        if pr.df.is_finite() {
            qt_upper(upper, pr.df)
        } else {
            -qnorm(upper)
        }
    };
    let sides = if s.base.direction.allows_increase() && s.base.direction.allows_decrease() {
        2.0
    } else {
        1.0
    };
    let location_share = if t.spread.is_some() {
        1.0 - t.spread_share
    } else {
        1.0
    };
    let level = (1.0 - conf) * location_share / sides;
    let mde = (quantile(level) + quantile(0.2)) * pr.se;
    let room = [room_up, room_down]
        .into_iter()
        .flatten()
        .fold(f64::INFINITY, f64::min);
    let needed = pr.count * (quantile(1.0 - conf) * pr.se / room).powi(2);
    let data = if room.is_nan() || room <= 0.0 {
        format!(
            "; while the change stays near {} no amount of data shows no harm within ±{:.0} %",
            percent(t.estimate_ratio()),
            s.margin * 100.0
        )
    } else if needed.is_finite() {
        format!(
            "; about {} {} would show no harm within ±{:.0} % if the change stays near {}",
            compact(needed.ceil()),
            pr.unit,
            s.margin * 100.0,
            percent(t.estimate_ratio())
        )
    } else {
        String::new()
    };
    format!(
        ": the smallest change they could detect is ±{:.0} %{}",
        (t.ratio(mde) - 1.0).abs() * 100.0,
        data
    )
}

fn p_text(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}
