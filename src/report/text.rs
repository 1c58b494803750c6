//! The text report of `kanary judge`: one row per metric-set pair, the group scores, the
//! verdict.

use crate::report::number::{compact, score};
use crate::report::style::{Style, paint};
use crate::report::table::{Align, Cell, Table};
use kanary_judge::{CanaryAnalysisResult, CanaryConfig, MetricClassification, ScoreThresholds};
use kanary_scoring::{CanaryJudgeResult, SummaryClassification};

/// What the report shows.
pub(crate) struct TextReport<'a> {
    pub(crate) result: &'a CanaryJudgeResult,
    pub(crate) config: &'a CanaryConfig,
    pub(crate) thresholds: ScoreThresholds,
}

/// The whole report, `\n`-terminated.
pub(crate) fn render(report: &TextReport<'_>, color: bool) -> String {
    let result = report.result;
    let mut out = String::new();
    let pairs = result.results.len();
    out.push_str(&format!(
        "Judged {pairs} metric-set pair{} with {}{}\n\n",
        if pairs == 1 { "" } else { "s" },
        result.judge_name,
        report
            .config
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .map(|n| format!(" (config '{n}')"))
            .unwrap_or_default()
    ));
    out.push_str(&metrics_table(&result.results).render(color));
    if !result.group_scores.is_empty() {
        out.push('\n');
        out.push_str(&groups_table(report).render(color));
    }
    out.push('\n');
    out.push_str(&verdict(result, report.thresholds, color));
    out.push('\n');
    out
}

fn metrics_table(results: &[CanaryAnalysisResult]) -> Table {
    let mut table = Table::new(&[
        ("metric", Align::Left),
        ("groups", Align::Left),
        ("classification", Align::Left),
        ("baseline mean", Align::Right),
        ("canary mean", Align::Right),
        ("ratio", Align::Right),
        ("interval", Align::Left),
        ("count b/c", Align::Right),
        ("reason", Align::Left),
    ]);
    for r in results {
        let control = &r.control_metadata.stats;
        let experiment = &r.experiment_metadata.stats;
        // A side without values has mean 0 in the result; show it as absent.
        let mean = |count: u64, mean: f64| {
            if count == 0 {
                "-".to_string()
            } else {
                compact(mean)
            }
        };
        let meta = r.result_metadata.as_ref();
        let interval = match meta.map(|m| (m.lower_confidence, m.upper_confidence)) {
            Some((Some(lower), Some(upper))) => format!("[{}, {}]", compact(lower), compact(upper)),
            _ => "-".to_string(),
        };
        table.row(vec![
            Cell::plain(metric_label(r)),
            Cell::plain(if r.groups.is_empty() {
                "-".to_string()
            } else {
                r.groups.join(",")
            }),
            classification_cell(r),
            Cell::plain(mean(control.count, control.mean)),
            Cell::plain(mean(experiment.count, experiment.mean)),
            Cell::plain(meta.map_or_else(|| "-".to_string(), |m| compact(m.ratio))),
            Cell::plain(interval),
            Cell::plain(format!("{}/{}", control.count, experiment.count)),
            Cell::plain(r.classification_reason.clone().unwrap_or_default()),
        ]);
    }
    table
}

/// `name`, or `name{k=v,k2=v2}` for a tagged series.
fn metric_label(r: &CanaryAnalysisResult) -> String {
    if r.tags.is_empty() {
        return r.name.clone();
    }
    let tags: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}{{{}}}", r.name, tags.join(","))
}

fn classification_cell(r: &CanaryAnalysisResult) -> Cell {
    use MetricClassification::*;
    let mut text = r.classification.as_str().to_string();
    if r.critical {
        text.push_str(" (critical)");
    }
    if r.muted {
        text.push_str(" (muted)");
    }
    let style = if r.muted {
        Style::Dim
    } else if r.critical {
        Style::BoldRed
    } else {
        match r.classification {
            Pass => Style::Green,
            High | Low | NodataFailMetric => Style::Red,
            Nodata | Inconclusive => Style::Yellow,
            Error => Style::Magenta,
        }
    };
    Cell::styled(text, Some(style))
}

/// Group scores with the weight each carries in the summary (`WeightedSumScorer`: groups
/// without a weight share `100 − Σ weights` equally).
fn groups_table(report: &TextReport<'_>) -> Table {
    let weights = report.config.group_weights();
    let configured: f64 = weights.values().sum();
    let groups = &report.result.group_scores;
    let unweighted = groups
        .iter()
        .filter(|g| !weights.contains_key(&g.name))
        .count();
    let share = (100.0 - configured) / unweighted.max(1) as f64;
    let mut table = Table::new(&[
        ("group", Align::Left),
        ("score", Align::Right),
        ("weight", Align::Right),
        ("", Align::Left),
    ]);
    for g in groups {
        let (weight, mut note) = match weights.get(&g.name) {
            Some(w) => (compact(*w), String::new()),
            None => (
                compact(share),
                "no weight: shares the remainder".to_string(),
            ),
        };
        if !counted(&report.result.results, &g.name) {
            let sep = if note.is_empty() { "" } else { "; " };
            note = format!("{note}{sep}only Nodata/Error: counts as 100");
        }
        table.row(vec![
            Cell::plain(g.name.clone()),
            Cell::plain(compact(g.score)),
            Cell::plain(weight),
            Cell::styled(note, Some(Style::Dim)),
        ]);
    }
    table
}

/// Whether the group has a scored (not muted) Pass, High, Low or NodataFailMetric result.
fn counted(results: &[CanaryAnalysisResult], group: &str) -> bool {
    use MetricClassification::*;
    results.iter().any(|r| {
        !r.muted
            && r.groups.iter().any(|g| g == group)
            && matches!(r.classification, Pass | High | Low | NodataFailMetric)
    })
}

/// `Verdict: Fail (score 50.0; pass >= 95, marginal >= 75)`, then `: <reason>` if any.
fn verdict(result: &CanaryJudgeResult, t: ScoreThresholds, color: bool) -> String {
    let label = result.score.classification;
    let style = match label {
        SummaryClassification::Pass => Style::BoldGreen,
        SummaryClassification::Marginal => Style::BoldYellow,
        SummaryClassification::Fail
        | SummaryClassification::Nodata
        | SummaryClassification::Error => Style::BoldRed,
    };
    let mut line = format!(
        "Verdict: {} (score {}; pass >= {}, marginal >= {})",
        paint(label.as_str(), Some(style), color),
        score(result.score.score),
        t.pass,
        t.marginal
    );
    if !result.score.classification_reason.is_empty() {
        line.push_str(": ");
        line.push_str(&result.score.classification_reason);
    }
    line
}
