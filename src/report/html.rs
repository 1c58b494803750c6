//! The HTML report of a judgement or an analysis (issue 7): one self-contained file with
//! inline CSS and SVG and a few lines of inline script for the filter; no URL at all, so
//! it opens offline.
//!
//! What it shows: the verdict, score, thresholds and reason; for an analysis the score per
//! interval against the pass and marginal lines and where it stopped early; the group
//! scores; per metric (failing first) both series over time, their distributions, the
//! interval of the shift against Kayenta's decision band (for kanary-v1: the bounds of the
//! change against its no-harm margin and effect gates), the classification in colour,
//! the ratio, counts, the query of each side and warnings.
//!
//! Every string from a config, a pair or a result goes through [`esc`]. Figures are shown
//! with 4 significant digits and carried at full precision in `data-value` attributes
//! (`data-field` names the figure), which tests read back. The same input gives the same
//! bytes: no clock, maps in key order.

mod svg;

use crate::analysis::{CanaryAnalysisExecutionResult, MIN_DATA_POINTS};
use crate::report::number::{compact, score as score_text};
use kanary_judge::kanary_v1::{KANARY_V1_JUDGE, V1MetricSettings};
use kanary_judge::transforms::preprocess;
use kanary_judge::{
    CanaryAnalysisResult, CanaryConfig, Direction, JudgeSettings, MetricClassification,
    MetricSetPair, MetricSettings, NETFLIX_ACA_JUDGE, ScoreThresholds,
};
use kanary_scoring::{CanaryJudgeResult, SummaryClassification};
use std::collections::BTreeSet;
use std::fmt::Write;
use svg::{BoxStats, IntervalPoint, Side, YRange};

/// What the report shows.
pub(crate) struct HtmlReport<'a> {
    /// The canary config that was judged.
    pub(crate) config: &'a CanaryConfig,
    /// The (last) judgement; absent when an analysis judged nothing.
    pub(crate) result: Option<&'a CanaryJudgeResult>,
    /// The pairs of that judgement (empty when they are not known: charts are left out).
    pub(crate) pairs: &'a [MetricSetPair],
    /// The judgement's score thresholds.
    pub(crate) thresholds: ScoreThresholds,
    /// For a multi-interval analysis: its result and where it stopped early.
    pub(crate) analysis: Option<AnalysisPart<'a>>,
}

/// The multi-interval part of an analysis report.
pub(crate) struct AnalysisPart<'a> {
    /// Kayenta's result object (scores, executions, the message).
    pub(crate) result: &'a CanaryAnalysisExecutionResult,
    /// The 1-based judgement whose score ended the analysis early, if one did.
    pub(crate) stopped_early_at: Option<usize>,
}

/// HTML-escapes text and attribute values (`&<>"'`).
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number at full precision for `data-value` (Rust's shortest round-trip form; `NaN`,
/// `inf`, `-inf`), which `f64::from_str` reads back exactly.
pub(crate) fn num(x: f64) -> String {
    format!("{x}")
}

const CSS: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/filter.js");

/// The whole document.
pub(crate) fn render(report: &HtmlReport<'_>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = match (&report.analysis, report.result) {
        (Some(a), _) => format!(
            "kanary analysis: {}",
            if a.result.did_pass_thresholds {
                "passed"
            } else {
                "failed"
            }
        ),
        (None, Some(r)) => format!(
            "kanary judgement: {} ({})",
            r.score.classification.as_str(),
            score_text(r.score.score)
        ),
        (None, None) => "kanary report".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    if let Some(a) = &report.analysis {
        analysis_section(&mut out, a, report.thresholds);
    }
    match report.result {
        Some(result) => {
            let heading = report.analysis.as_ref().map(|a| {
                let n = a.result.canary_execution_results.len();
                format!("Last judgement (#{n} of the analysis)")
            });
            verdict(&mut out, report, result, heading.as_deref());
            groups(&mut out, report.config, result);
            metrics(&mut out, report, result);
        }
        None => out.push_str("<p class=\"note\">No judgement to show.</p>\n"),
    }
    let _ = write!(out, "<script>\n{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn summary_colour(c: SummaryClassification) -> &'static str {
    match c {
        SummaryClassification::Pass => "pass",
        SummaryClassification::Marginal => "marginal",
        SummaryClassification::Fail
        | SummaryClassification::Nodata
        | SummaryClassification::Error => "fail",
    }
}

fn verdict(
    out: &mut String,
    report: &HtmlReport<'_>,
    result: &CanaryJudgeResult,
    heading: Option<&str>,
) {
    let t = report.thresholds;
    let c = result.score.classification;
    let _ = writeln!(
        out,
        "<header class=\"verdict {}\" data-classification=\"{}\" data-score=\"{}\" data-pass=\"{}\" data-marginal=\"{}\">",
        summary_colour(c),
        c.as_str(),
        num(result.score.score),
        num(t.pass),
        num(t.marginal)
    );
    if let Some(h) = heading {
        let _ = writeln!(out, "<p class=\"kicker\">{}</p>", esc(h));
    }
    let _ = writeln!(
        out,
        "<h1><span class=\"label\">{}</span> <span class=\"score\">score {}</span></h1>",
        c.as_str(),
        esc(&score_text(result.score.score))
    );
    let _ = write!(
        out,
        "<p class=\"thresholds\">pass ≥ {}, marginal ≥ {} · judge {}",
        esc(&compact(t.pass)),
        esc(&compact(t.marginal)),
        esc(&result.judge_name)
    );
    if let Some(name) = report.config.name.as_deref().filter(|n| !n.is_empty()) {
        let _ = write!(out, " · config {}", esc(name));
    }
    out.push_str("</p>\n");
    if !result.score.classification_reason.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"reason\">{}</p>",
            esc(&result.score.classification_reason)
        );
    }
    // Counts by classification, in a fixed order.
    let mut counts = Vec::new();
    for c in CLASSIFICATIONS {
        let n = result
            .results
            .iter()
            .filter(|r| r.classification == c)
            .count();
        if n > 0 {
            counts.push(format!("{n} {}", c.as_str()));
        }
    }
    let muted = result.results.iter().filter(|r| r.muted).count();
    if muted > 0 {
        counts.push(format!("{muted} muted"));
    }
    let _ = writeln!(
        out,
        "<p class=\"counts\">{} metric{}: {}</p>\n</header>",
        result.results.len(),
        if result.results.len() == 1 { "" } else { "s" },
        esc(&counts.join(", "))
    );
}

const CLASSIFICATIONS: [MetricClassification; 7] = [
    MetricClassification::High,
    MetricClassification::Low,
    MetricClassification::NodataFailMetric,
    MetricClassification::Error,
    MetricClassification::Nodata,
    MetricClassification::Inconclusive,
    MetricClassification::Pass,
];

/// The analysis' verdict and the score per interval.
fn analysis_section(out: &mut String, a: &AnalysisPart<'_>, t: ScoreThresholds) {
    let r = a.result;
    let last = r.canary_scores.last().copied();
    let _ = writeln!(
        out,
        "<header class=\"verdict analysis {}\" data-did-pass=\"{}\" data-score=\"{}\" data-intervals=\"{}\"{}>",
        if r.did_pass_thresholds {
            "pass"
        } else {
            "fail"
        },
        r.did_pass_thresholds,
        last.map(num).unwrap_or_default(),
        r.canary_scores.len(),
        a.stopped_early_at
            .map(|i| format!(" data-stopped-early-at=\"{i}\""))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "<h1><span class=\"label\">Analysis {}</span> <span class=\"score\">{}</span></h1>",
        if r.did_pass_thresholds {
            "passed"
        } else {
            "failed"
        },
        last.map(|s| format!("last score {}", esc(&score_text(s))))
            .unwrap_or_else(|| "no score".to_string())
    );
    let _ = writeln!(
        out,
        "<p class=\"thresholds\">pass ≥ {}, marginal ≥ {} · {} judgement{}{}</p>",
        esc(&compact(t.pass)),
        esc(&compact(t.marginal)),
        r.canary_scores.len(),
        if r.canary_scores.len() == 1 { "" } else { "s" },
        match a.stopped_early_at {
            Some(i) => format!(" · stopped early after judgement #{i}"),
            None => String::new(),
        }
    );
    if let Some(m) = r.canary_score_message.as_deref().filter(|m| !m.is_empty()) {
        let _ = writeln!(out, "<p class=\"reason\">{}</p>", esc(m));
    }
    out.push_str("</header>\n<section class=\"intervals\">\n<h2>Score per interval</h2>\n");
    let points: Vec<IntervalPoint> = r
        .canary_scores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let execution = r.canary_execution_results.get(i);
            let status = execution.map_or("", |e| e.execution_status.as_str());
            let window = execution
                .and_then(|e| {
                    e.judgement_start_time_iso
                        .as_deref()
                        .zip(e.judgement_end_time_iso.as_deref())
                })
                .map(|(a, b)| format!(" ({a} – {b})"))
                .unwrap_or_default();
            IntervalPoint {
                score: *s,
                colour: if status == "TERMINAL" {
                    MAGENTA
                } else {
                    score_colour(*s, t)
                },
                label: format!("#{}: {} {status}{window}", i + 1, score_text(*s)),
            }
        })
        .collect();
    out.push_str(&svg::intervals(
        &points,
        t.pass,
        t.marginal,
        a.stopped_early_at,
    ));
    out.push_str("\n<table class=\"list\"><thead><tr><th>#</th><th>window</th><th>status</th><th>score</th><th>warnings</th></tr></thead><tbody>\n");
    for (i, e) in r.canary_execution_results.iter().enumerate() {
        let s = r.canary_scores.get(i).copied();
        let window = match (&e.judgement_start_time_iso, &e.judgement_end_time_iso) {
            (Some(a), Some(b)) => format!("{a} – {b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "<tr data-interval=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td data-field=\"interval.score\" data-value=\"{}\">{}</td><td>{}</td></tr>",
            i + 1,
            i + 1,
            esc(&window),
            esc(&e.execution_status),
            s.map(num).unwrap_or_default(),
            s.map(|s| esc(&score_text(s))).unwrap_or_default(),
            esc(&e.warnings.join(" "))
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

const GREEN: &str = "#2e7d32";
const RED: &str = "#c62828";
const AMBER: &str = "#b26a00";
const MAGENTA: &str = "#8e24aa";
const GREY: &str = "#757575";

fn score_colour(s: f64, t: ScoreThresholds) -> &'static str {
    if s >= t.pass {
        GREEN
    } else if s >= t.marginal {
        AMBER
    } else {
        RED
    }
}

fn groups(out: &mut String, config: &CanaryConfig, result: &CanaryJudgeResult) {
    if result.group_scores.is_empty() {
        return;
    }
    let weights = config.group_weights();
    let configured: f64 = weights.values().sum();
    let unweighted = result
        .group_scores
        .iter()
        .filter(|g| !weights.contains_key(&g.name))
        .count();
    let share = (100.0 - configured) / unweighted.max(1) as f64;
    out.push_str("<section class=\"groups\">\n<h2>Groups</h2>\n<table class=\"list\"><thead><tr><th>group</th><th>score</th><th></th><th>weight</th></tr></thead><tbody>\n");
    for g in &result.group_scores {
        let weight = weights.get(&g.name).copied().unwrap_or(share);
        let width = if g.score.is_finite() {
            g.score.clamp(0.0, 100.0)
        } else {
            0.0
        };
        let colour = if g.score >= 100.0 {
            GREEN
        } else if g.score > 0.0 {
            AMBER
        } else {
            RED
        };
        let _ = writeln!(
            out,
            "<tr data-group=\"{}\"><td>{}</td><td data-field=\"group.score\" data-value=\"{}\">{}</td>\
             <td><span class=\"bar\"><span style=\"width:{width:.1}%;background:{colour}\"></span></span></td>\
             <td data-field=\"group.weight\" data-value=\"{}\">{}</td></tr>",
            esc(&g.name),
            esc(&g.name),
            num(g.score),
            esc(&compact(g.score)),
            num(weight),
            esc(&compact(weight))
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// Failing first: critical failures, other scored failures, errors, missing data,
/// muted failures, then passes; the judge's order within each rank.
fn rank(r: &CanaryAnalysisResult) -> u8 {
    use MetricClassification::*;
    let failing = matches!(r.classification, High | Low | NodataFailMetric);
    match (r.muted, r.classification) {
        (false, _) if r.critical && failing => 0,
        (false, Nodata) if r.critical => 0,
        (false, _) if failing => 1,
        (_, Error) => 2,
        (_, Nodata | Inconclusive) => 3,
        (true, _) if failing => 4,
        _ => 5,
    }
}

fn class_colour(r: &CanaryAnalysisResult) -> &'static str {
    use MetricClassification::*;
    if r.muted {
        return GREY;
    }
    match r.classification {
        Pass => GREEN,
        High | Low | NodataFailMetric => RED,
        Nodata | Inconclusive => AMBER,
        Error => MAGENTA,
    }
}

/// `name`, or `name{k=v,…}` for a tagged series.
fn label(r: &CanaryAnalysisResult) -> String {
    if r.tags.is_empty() {
        return r.name.clone();
    }
    let tags: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}{{{}}}", r.name, tags.join(","))
}

/// The pair a result was judged from: the same position when it matches (the judges keep
/// pair order), else the first with the same name and tags.
fn pair_of<'a>(
    pairs: &'a [MetricSetPair],
    i: usize,
    r: &CanaryAnalysisResult,
) -> Option<&'a MetricSetPair> {
    let same = |p: &&MetricSetPair| p.name == r.name && p.tags == r.tags;
    pairs
        .get(i)
        .filter(same)
        .or_else(|| pairs.iter().find(same))
}

fn metrics(out: &mut String, report: &HtmlReport<'_>, result: &CanaryJudgeResult) {
    let groups: BTreeSet<&str> = result
        .results
        .iter()
        .flat_map(|r| r.groups.iter().map(String::as_str))
        .collect();
    let groups: Vec<&str> = groups.into_iter().collect();
    let present: Vec<MetricClassification> = CLASSIFICATIONS
        .into_iter()
        .filter(|c| result.results.iter().any(|r| r.classification == *c))
        .collect();
    out.push_str("<section class=\"metrics\">\n<h2>Metrics</h2>\n<form class=\"filter\" id=\"filter\">\n<label>group <select id=\"f-group\"><option value=\"\">all</option>");
    for (i, g) in groups.iter().enumerate() {
        let _ = write!(out, "<option value=\"{i}\">{}</option>", esc(g));
    }
    out.push_str("</select></label>\n<label>classification <select id=\"f-class\"><option value=\"\">all</option><option value=\"failing\">failing (scored)</option>");
    for c in &present {
        let _ = write!(out, "<option value=\"{0}\">{0}</option>", c.as_str());
    }
    let _ = writeln!(
        out,
        "<option value=\"muted\">muted</option></select></label>\n<span id=\"f-count\">{} shown</span>\n</form>",
        result.results.len()
    );
    let legend = format!(
        "<p class=\"legend\"><span class=\"key\" style=\"background:{}\"></span>baseline (control) <span class=\"key\" style=\"background:{}\"></span>canary (experiment)</p>",
        svg::BASELINE,
        svg::CANARY
    );
    out.push_str(&legend);
    out.push('\n');
    let judge = JudgeSettings::from_config(report.config).unwrap_or_default();
    let band_applies = result.judge_name == NETFLIX_ACA_JUDGE;
    let kanary_v1 = result.judge_name == KANARY_V1_JUDGE;
    let mut order: Vec<usize> = (0..result.results.len()).collect();
    order.sort_by_key(|i| rank(&result.results[*i]));
    for i in order {
        let r = &result.results[i];
        let pair = pair_of(report.pairs, i, r);
        let group_ids: Vec<String> = r
            .groups
            .iter()
            .filter_map(|g| groups.iter().position(|x| x == g))
            .map(|p| p.to_string())
            .collect();
        metric(
            out,
            &MetricView {
                index: i,
                result: r,
                pair,
                config: report.config,
                judge,
                band_applies,
                kanary_v1,
                group_ids: group_ids.join(" "),
            },
        );
    }
    out.push_str("</section>\n");
}

struct MetricView<'a> {
    index: usize,
    result: &'a CanaryAnalysisResult,
    pair: Option<&'a MetricSetPair>,
    config: &'a CanaryConfig,
    judge: JudgeSettings,
    band_applies: bool,
    /// The judge is kanary-v1: its margin and gates, not Kayenta's band.
    kanary_v1: bool,
    group_ids: String,
}

fn metric(out: &mut String, v: &MetricView<'_>) {
    let r = v.result;
    let name = label(r);
    let colour = class_colour(r);
    let failing = !r.muted
        && matches!(
            r.classification,
            MetricClassification::High
                | MetricClassification::Low
                | MetricClassification::NodataFailMetric
        );
    let _ = writeln!(
        out,
        "<article class=\"metric\" id=\"m{}\" data-metric=\"{}\" data-classification=\"{}\" data-groups=\" {} \" data-failing=\"{failing}\" data-critical=\"{}\" data-muted=\"{}\" style=\"border-left-color:{colour}\">",
        v.index,
        esc(&name),
        r.classification.as_str(),
        v.group_ids,
        r.critical,
        r.muted
    );
    let mut badge = r.classification.as_str().to_string();
    if r.critical {
        badge.push_str(" · critical");
    }
    if r.muted {
        badge.push_str(" · muted");
    }
    let _ = writeln!(
        out,
        "<h3><span class=\"badge\" style=\"background:{colour}\">{}</span> <span class=\"name\">{}</span> <span class=\"groups\">{}</span></h3>",
        esc(&badge),
        esc(&name),
        esc(&r.groups.join(", "))
    );
    if let Some(reason) = r.classification_reason.as_deref().filter(|s| !s.is_empty()) {
        let _ = writeln!(out, "<p class=\"reason\">{}</p>", esc(reason));
    }

    // The judge's view of the data: its settings and both sides after its transforms.
    let settings = v
        .config
        .metric(&r.name)
        .and_then(|m| MetricSettings::from_metric(m).ok());
    let judged = v.pair.map(|p| {
        let s = settings.clone().unwrap_or_default();
        (
            preprocess(&p.values.control, &s),
            preprocess(&p.values.experiment, &s),
        )
    });

    out.push_str("<div class=\"figures\">\n");
    stats_table(out, r, judged.as_ref().map(|(c, e)| (&c.0[..], &e.0[..])));
    if v.kanary_v1 {
        v1_change_block(out, v, colour);
    } else {
        shift_block(out, v, settings.as_ref(), colour);
    }
    out.push_str("</div>\n");

    match v.pair {
        Some(pair) => charts(out, &name, pair, judged.as_ref()),
        None => out.push_str(
            "<p class=\"note\">The series of this metric are not available; no chart.</p>\n",
        ),
    }

    // Warnings.
    let mut warnings = Vec::new();
    let (cc, ec) = (
        r.control_metadata.stats.count,
        r.experiment_metadata.stats.count,
    );
    if cc < MIN_DATA_POINTS || ec < MIN_DATA_POINTS {
        warnings.push(format!(
            "fewer than {MIN_DATA_POINTS} data points (baseline {cc}, canary {ec}): less confidence in the result"
        ));
    }
    if let Some(((_, c), (_, e))) = judged.as_ref() {
        let replace = settings
            .as_ref()
            .is_some_and(|s| s.nan_strategy == kanary_judge::NanStrategy::Replace);
        if c.nans + e.nans > 0 {
            warnings.push(format!(
                "NaN {} (baseline {}, canary {})",
                if replace {
                    "replaced with 0"
                } else {
                    "removed"
                },
                c.nans,
                e.nans
            ));
        }
        if c.outliers + e.outliers > 0 {
            warnings.push(format!(
                "outliers removed (baseline {}, canary {})",
                c.outliers, e.outliers
            ));
        }
    }
    if !warnings.is_empty() {
        out.push_str("<ul class=\"warnings\">");
        for w in &warnings {
            let _ = write!(out, "<li>{}</li>", esc(w));
        }
        out.push_str("</ul>\n");
    }

    // Queries.
    if let Some(pair) = v.pair {
        let query = |side: &str| {
            pair.attributes
                .get(side)
                .and_then(|a| a.get("query"))
                .map(String::as_str)
        };
        let (cq, eq) = (query("control"), query("experiment"));
        if cq.is_some() || eq.is_some() {
            out.push_str("<dl class=\"queries\">");
            for (side, q) in [("baseline", cq), ("canary", eq)] {
                if let Some(q) = q {
                    let _ = write!(
                        out,
                        "<dt>{side} query</dt><dd><code data-field=\"query.{side}\">{}</code></dd>",
                        esc(q)
                    );
                }
            }
            out.push_str("</dl>\n");
        }
    }
    out.push_str("</article>\n");
}

/// A `<td>` with the figure at 4 significant digits and at full precision.
fn cell(field: &str, x: Option<f64>) -> String {
    match x {
        Some(x) => format!(
            "<td data-field=\"{field}\" data-value=\"{}\">{}</td>",
            num(x),
            esc(&compact(x))
        ),
        None => format!("<td data-field=\"{field}\">–</td>"),
    }
}

fn stats_table(out: &mut String, r: &CanaryAnalysisResult, judged: Option<(&[f64], &[f64])>) {
    let (c, e) = (&r.control_metadata.stats, &r.experiment_metadata.stats);
    let medians = judged.map(|(c, e)| {
        (
            BoxStats::of(c).map(|b| b.median),
            BoxStats::of(e).map(|b| b.median),
        )
    });
    out.push_str("<table class=\"stats\"><thead><tr><th></th><th>baseline</th><th>canary</th></tr></thead><tbody>\n");
    let _ = writeln!(
        out,
        "<tr><th>count</th><td data-field=\"control.count\" data-value=\"{0}\">{0}</td><td data-field=\"experiment.count\" data-value=\"{1}\">{1}</td></tr>",
        c.count, e.count
    );
    // A side without values has zeros in the result: shown as absent.
    let have = |count: u64, x: f64| (count > 0).then_some(x);
    for (field, cx, ex) in [
        ("mean", c.mean, e.mean),
        ("min", c.min, e.min),
        ("max", c.max, e.max),
        ("std", c.std, e.std),
    ] {
        let _ = writeln!(
            out,
            "<tr><th>{field}</th>{}{}</tr>",
            cell(&format!("control.{field}"), have(c.count, cx)),
            cell(&format!("experiment.{field}"), have(e.count, ex))
        );
    }
    if let Some((cm, em)) = medians {
        let _ = writeln!(
            out,
            "<tr><th>median</th>{}{}</tr>",
            cell("control.median", cm),
            cell("experiment.median", em)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn shift_block(
    out: &mut String,
    v: &MetricView<'_>,
    settings: Option<&MetricSettings>,
    colour: &str,
) {
    let r = v.result;
    let meta = r.result_metadata.as_ref();
    out.push_str("<div class=\"shift-block\">\n<table class=\"stats\"><tbody>\n");
    let _ = writeln!(
        out,
        "<tr><th>ratio canary/baseline</th>{}</tr>",
        cell("ratio", meta.map(|m| m.ratio))
    );
    let interval = meta.and_then(|m| m.lower_confidence.zip(m.upper_confidence));
    let estimate = meta.and_then(|m| m.estimate);
    let _ = writeln!(
        out,
        "<tr><th>shift lower</th>{}</tr><tr><th>shift estimate</th>{}</tr><tr><th>shift upper</th>{}</tr>",
        cell("lower", interval.map(|i| i.0)),
        cell("estimate", estimate),
        cell("upper", interval.map(|i| i.1))
    );
    let band = if v.band_applies {
        estimate.map(|e| v.judge.tolerance * e.abs())
    } else {
        None
    };
    if let Some(b) = band {
        let _ = writeln!(
            out,
            "<tr><th>no-change band ±</th>{}</tr>",
            cell("band", Some(b))
        );
    }
    if let Some(p) = meta.and_then(|m| m.p_value) {
        let _ = writeln!(out, "<tr><th>p-value</th>{}</tr>", cell("pValue", Some(p)));
    }
    out.push_str("</tbody></table>\n");
    match interval {
        Some((lower, upper)) => {
            out.push_str(&svg::shift(&label(r), lower, upper, estimate, band, colour));
            let mut rule = format!(
                "{}% interval of the shift canary − baseline",
                compact(v.judge.conf_level * 100.0)
            );
            if let Some(b) = band {
                let _ = write!(
                    rule,
                    "; grey: no-change band ±{} ({} × |estimate|)",
                    compact(b),
                    compact(v.judge.tolerance)
                );
            }
            if let Some(s) = settings {
                let mut parts = Vec::new();
                if matches!(s.direction, Direction::Increase | Direction::Either) {
                    parts.push(format!(
                        "High when the interval lies above the band and the ratio ≥ {}",
                        compact(s.allowed_increase)
                    ));
                }
                if matches!(s.direction, Direction::Decrease | Direction::Either) {
                    parts.push(format!(
                        "Low when below it and the ratio ≤ {}",
                        compact(s.allowed_decrease)
                    ));
                }
                if v.band_applies && !parts.is_empty() {
                    let _ = write!(rule, ". {}", parts.join("; "));
                }
            }
            let _ = writeln!(out, "<p class=\"caption\">{}</p>", esc(&rule));
        }
        None => out.push_str(
            "<p class=\"caption\">No interval: the comparison did not run (see the reason).</p>\n",
        ),
    }
    out.push_str("</div>\n");
}

/// kanary-v1's figures and decision picture: the bounds of the change (ratio − 1) at the
/// family's one-sided level against the no-harm margin (Pass when both bounds lie inside)
/// and the effect gates (High / Low need a significant change beyond them), from the
/// metric's kanary-v1 settings (`margin`, `effectSize`, `direction`, the result's `scale`).
fn v1_change_block(out: &mut String, v: &MetricView<'_>, colour: &str) {
    let r = v.result;
    let meta = r.result_metadata.as_ref();
    let settings = v
        .config
        .metric(&r.name)
        .and_then(|m| V1MetricSettings::from_metric(m).ok());
    out.push_str("<div class=\"shift-block\">\n<table class=\"stats\"><tbody>\n");
    let _ = writeln!(
        out,
        "<tr><th>mean ratio canary/baseline</th>{}</tr>",
        cell("ratio", meta.map(|m| m.ratio))
    );
    let interval = meta.and_then(|m| m.lower_confidence.zip(m.upper_confidence));
    let estimate = meta.and_then(|m| m.estimate);
    let _ = writeln!(
        out,
        "<tr><th>change ratio lower</th>{}</tr><tr><th>change ratio estimate</th>{}</tr><tr><th>change ratio upper</th>{}</tr>",
        cell("lower", interval.map(|i| i.0)),
        cell("estimate", estimate),
        cell("upper", interval.map(|i| i.1))
    );
    if let Some(s) = settings.as_ref() {
        let _ = writeln!(
            out,
            "<tr><th>no-harm margin ±</th>{}</tr>",
            cell("margin", Some(s.margin))
        );
    }
    if let Some(p) = meta.and_then(|m| m.p_value) {
        let _ = writeln!(out, "<tr><th>p-value</th>{}</tr>", cell("pValue", Some(p)));
    }
    if let Some(p) = meta.and_then(|m| m.adjusted_p_value) {
        let _ = writeln!(
            out,
            "<tr><th>adjusted p-value</th>{}</tr>",
            cell("adjustedPValue", Some(p))
        );
    }
    out.push_str("</tbody></table>\n");
    let conf = meta
        .and_then(|m| m.extra.get("confLevel"))
        .and_then(serde_json::Value::as_f64);
    let linear = meta
        .and_then(|m| m.extra.get("scale"))
        .and_then(serde_json::Value::as_str)
        == Some("linear");
    match (interval, settings) {
        (Some((lower, upper)), Some(s)) => {
            // The margin as kanary-v1 applies it (classify.rs `decide`): log scale
            // [1/(1 + m), 1 + m] on the ratio, linear scale ±m around the baseline median.
            let margin = if linear {
                (-s.margin, s.margin)
            } else {
                (1.0 / (1.0 + s.margin) - 1.0, s.margin)
            };
            let up = matches!(s.base.direction, Direction::Increase | Direction::Either);
            let down = matches!(s.base.direction, Direction::Decrease | Direction::Either);
            let mut gates = Vec::new();
            if up {
                gates.push(s.base.allowed_increase - 1.0);
            }
            if down {
                gates.push(s.base.allowed_decrease - 1.0);
            }
            out.push_str(&svg::change(
                &label(r),
                lower - 1.0,
                upper - 1.0,
                estimate.map(|e| e - 1.0),
                margin,
                &gates,
                colour,
            ));
            let mut rule = match conf {
                Some(c) => format!(
                    "{} % one-sided bounds of the change canary/baseline − 1",
                    compact(c * 100.0)
                ),
                None => "bounds of the change canary/baseline − 1".to_string(),
            };
            let _ = write!(
                rule,
                "; grey: no-harm margin {} to {} (Pass when the bounds in each watched direction lie inside)",
                svg::percent(margin.0),
                svg::percent(margin.1)
            );
            let mut parts = Vec::new();
            if up {
                parts.push(format!(
                    "High when the adjusted p-value < alpha and the change ≥ {}",
                    svg::percent(s.base.allowed_increase - 1.0)
                ));
            }
            if down {
                parts.push(format!(
                    "Low when the adjusted p-value < alpha and the change ≤ {}",
                    svg::percent(s.base.allowed_decrease - 1.0)
                ));
            }
            if !parts.is_empty() {
                let _ = write!(rule, "; dashed: effect gates. {}", parts.join("; "));
            }
            let _ = write!(rule, "; otherwise Inconclusive");
            let _ = writeln!(out, "<p class=\"caption\">{}</p>", esc(&rule));
        }
        _ => out.push_str(
            "<p class=\"caption\">No bounds: the comparison did not run (see the reason).</p>\n",
        ),
    }
    out.push_str("</div>\n");
}

type Judged = (
    (Vec<f64>, kanary_judge::transforms::TransformCounts),
    (Vec<f64>, kanary_judge::transforms::TransformCounts),
);

fn charts(out: &mut String, name: &str, pair: &MetricSetPair, judged: Option<&Judged>) {
    let scope = |side: &str| pair.scopes.get(side);
    let step = |side: &str| scope(side).and_then(|s| s.step_millis);
    let control = Side {
        values: &pair.values.control,
        step_millis: step("control"),
    };
    let experiment = Side {
        values: &pair.values.experiment,
        step_millis: step("experiment"),
    };
    let y = YRange::of(&[&pair.values.control, &pair.values.experiment]);
    out.push_str("<div class=\"charts\">\n");
    out.push_str(&svg::series(name, &control, &experiment, y));
    let (cb, eb) = match judged {
        Some(((c, _), (e, _))) => (BoxStats::of(c), BoxStats::of(e)),
        None => (None, None),
    };
    out.push_str(&svg::boxes(name, cb.as_ref(), eb.as_ref(), y));
    out.push_str("\n</div>\n");
    let start = |side: &str| {
        let s = scope(side)?;
        s.start_time_iso.clone().or_else(|| {
            s.start_time_millis
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        })
    };
    let mut caption =
        String::from("Left: both series as fetched, x = time since each side's start");
    for (side, label) in [("control", "baseline"), ("experiment", "canary")] {
        let n = if side == "control" {
            pair.values.control.len()
        } else {
            pair.values.experiment.len()
        };
        let _ = write!(caption, "; {label} {n} points");
        if let Some(s) = start(side) {
            let _ = write!(caption, " from {s}");
        }
        if let Some(st) = step(side) {
            let _ = write!(caption, " every {} s", compact(st as f64 / 1000.0));
        }
    }
    let longest = pair.values.control.len().max(pair.values.experiment.len());
    if longest > svg::MAX_POINTS {
        let _ = write!(
            caption,
            "; downsampled to at most {} points per line (min and max of each of {} buckets)",
            svg::MAX_POINTS,
            svg::MAX_POINTS / 2
        );
    }
    caption.push_str(". Right: the values the judge compared (after NaN and outlier removal): box = quartiles, whiskers = min and max, dot = mean.");
    let _ = writeln!(out, "<p class=\"caption\">{}</p>", esc(&caption));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    fn example(name: &str) -> (CanaryConfig, Vec<MetricSetPair>, CanaryJudgeResult) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/examples")
            .join(name);
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("example file");
        let config: CanaryConfig = serde_json::from_str(&read("config.json")).expect("config");
        let pairs: Vec<MetricSetPair> = serde_json::from_str(&read("pairs.json")).expect("pairs");
        let result = kanary_scoring::judge(&config, &pairs, ScoreThresholds::default(), None)
            .expect("judged");
        (config, pairs, result)
    }

    fn analysis(scores: &[f64], judge: &CanaryJudgeResult) -> CanaryAnalysisExecutionResult {
        use crate::analysis::{CanaryExecutionResult, CanaryResult};
        let execution = |i: usize, status: &str, with_result: bool| CanaryExecutionResult {
            execution_id: format!("a-{i}"),
            execution_status: status.into(),
            exception: None,
            result: with_result.then(|| CanaryResult {
                judge_result: Some(judge.clone()),
                canary_duration: None,
            }),
            judgement_start_time_iso: Some("2024-05-21T13:30:00Z".into()),
            judgement_start_time_millis: None,
            judgement_end_time_iso: Some("2024-05-21T14:30:00Z".into()),
            judgement_end_time_millis: None,
            warnings: Vec::new(),
            metric_set_pair_list_id: None,
            build_time_millis: None,
            build_time_iso: None,
            start_time_millis: None,
            start_time_iso: None,
            end_time_millis: None,
            end_time_iso: None,
            storage_account_name: None,
            configuration_account_name: None,
        };
        CanaryAnalysisExecutionResult {
            did_pass_thresholds: false,
            has_warnings: false,
            canary_score_message: Some("<Canary> score is not above the marginal".into()),
            canary_scores: scores.to_vec(),
            canary_execution_results: scores
                .iter()
                .enumerate()
                .map(|(i, _)| execution(i + 1, "SUCCEEDED", true))
                .collect(),
            build_time_iso: None,
            start_time_iso: None,
            end_time_iso: None,
        }
    }

    #[test]
    fn an_analysis_shows_each_interval_score_and_where_it_stopped() {
        let (config, pairs, judged) = example("latency-regression");
        let result = analysis(&[100.0, 96.5, 50.0], &judged);
        let html = render(&HtmlReport {
            config: &config,
            result: Some(&judged),
            pairs: &pairs,
            thresholds: ScoreThresholds::default(),
            analysis: Some(AnalysisPart {
                result: &result,
                stopped_early_at: Some(3),
            }),
        });
        assert!(html.contains("data-did-pass=\"false\""));
        assert!(html.contains("data-stopped-early-at=\"3\""));
        for (i, s) in ["100", "96.5", "50"].iter().enumerate() {
            let point = format!("data-interval=\"{}\" data-score=\"{s}\"", i + 1);
            assert!(html.contains(&point), "{point}");
        }
        assert!(html.contains("class=\"pass-line\""));
        assert!(html.contains("class=\"marginal-line\""));
        assert!(html.contains("class=\"stopped\""));
        assert!(html.contains("stopped early after judgement #3"));
        assert!(
            html.contains("&lt;Canary&gt; score"),
            "the message is escaped"
        );
        assert!(html.contains("Last judgement (#3 of the analysis)"));
        assert_eq!(html.matches("<article class=\"metric\"").count(), 6);
    }

    #[test]
    fn an_analysis_without_any_judgement_still_renders() {
        let config = CanaryConfig::default();
        let (_, _, judged) = example("healthy");
        let mut result = analysis(&[0.0], &judged);
        result.canary_execution_results[0].execution_status = "TERMINAL".into();
        result.canary_execution_results[0].result = None;
        let html = render(&HtmlReport {
            config: &config,
            result: None,
            pairs: &[],
            thresholds: ScoreThresholds::default(),
            analysis: Some(AnalysisPart {
                result: &result,
                stopped_early_at: None,
            }),
        });
        assert!(html.contains("No judgement to show."));
        assert!(html.contains("data-interval=\"1\" data-score=\"0\""));
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn without_pairs_the_figures_stay_and_the_charts_go() {
        let (config, _, judged) = example("healthy");
        let html = render(&HtmlReport {
            config: &config,
            result: Some(&judged),
            pairs: &[],
            thresholds: ScoreThresholds::default(),
            analysis: None,
        });
        assert!(!html.contains("chart series"));
        assert!(html.contains("not available; no chart"));
        assert!(html.contains("data-field=\"ratio\""));
    }

    #[test]
    fn failing_metrics_rank_first() {
        let (_, _, judged) = example("muted-failing");
        let mut r = judged.results[0].clone();
        let rank_of = |r: &CanaryAnalysisResult| rank(r);
        r.muted = false;
        r.critical = true;
        r.classification = MetricClassification::High;
        assert_eq!(rank_of(&r), 0);
        r.critical = false;
        assert_eq!(rank_of(&r), 1);
        r.classification = MetricClassification::Error;
        assert_eq!(rank_of(&r), 2);
        r.classification = MetricClassification::Nodata;
        assert_eq!(rank_of(&r), 3);
        r.classification = MetricClassification::Low;
        r.muted = true;
        assert_eq!(rank_of(&r), 4);
        r.classification = MetricClassification::Pass;
        assert_eq!(rank_of(&r), 5);
    }

    #[test]
    fn numbers_round_trip() {
        for x in [0.1, 1.3598384126376146, 60.0, 6.8e-5, 1e300, -0.0] {
            assert_eq!(num(x).parse::<f64>().expect("parses"), x);
        }
        assert_eq!(num(f64::NAN), "NaN");
    }
}
