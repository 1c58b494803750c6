//! `kanary judge`: judge a recorded canary run offline, as Kayenta's judge stage does.

use crate::cli::{JudgeArgs, OutputFormat};
use crate::commands::thresholds;
use crate::report::html::{self, HtmlReport};
use crate::report::text::{self, TextReport};
use crate::{ExitStatus, Output, input, json_path};
use anyhow::{Context, anyhow, bail};
use kanary_judge::{CanaryConfig, JudgeError, JudgeKind, MetricSetPair};
use kanary_scoring::{CanaryJudgeResult, SummaryClassification};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The files of one run.
struct CaseFiles {
    config: PathBuf,
    pairs: PathBuf,
    thresholds: Option<PathBuf>,
}

impl CaseFiles {
    /// `--config`/`--pairs`/`--thresholds` over the files of DIR; `thresholds.json` of DIR
    /// is optional, every other named file must exist (reading it says so otherwise).
    fn resolve(args: &JudgeArgs) -> anyhow::Result<CaseFiles> {
        if let Some(dir) = &args.dir {
            if !dir.is_dir() {
                let what = if dir.exists() {
                    "not a directory; expected a folder with config.json and pairs.json"
                } else {
                    "no such directory"
                };
                bail!("{}: {what}", dir.display());
            }
        }
        let in_dir = |name: &str, flag: &Option<PathBuf>| -> anyhow::Result<PathBuf> {
            match (flag, &args.dir) {
                (Some(path), _) => Ok(path.clone()),
                (None, Some(dir)) => Ok(dir.join(name)),
                (None, None) => Err(anyhow!(
                    "no run to judge: give a folder DIR with config.json and pairs.json, \
                     or both --config and --pairs"
                )),
            }
        };
        let thresholds = match (&args.thresholds, &args.dir) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(dir)) => Some(dir.join("thresholds.json")).filter(|p| p.exists()),
            (None, None) => None,
        };
        Ok(CaseFiles {
            config: in_dir("config.json", &args.config)?,
            pairs: in_dir("pairs.json", &args.pairs)?,
            thresholds,
        })
    }
}

pub(crate) fn run(args: &JudgeArgs, out: &mut Output<'_>) -> anyhow::Result<ExitStatus> {
    let files = CaseFiles::resolve(args)?;
    let config_text = input::read_text(&files.config)?;
    let config: CanaryConfig = input::parse_json(&files.config, &config_text)?;
    let pairs = read_pairs(&files.pairs)?;
    let thresholds = thresholds::resolve(files.thresholds.as_deref(), args.pass, args.marginal)?;

    if config.metrics.is_empty() {
        // Kayenta refuses such a config when the run starts.
        bail!(
            "{}: $.metrics: The canary config must specify at least one metric. \
             Otherwise we're not analyzing anything. :)",
            files.config.display()
        );
    }
    if pairs.is_empty() {
        bail!(
            "{}: no metric-set pairs (an empty list): nothing to judge",
            files.pairs.display()
        );
    }
    let result = kanary_scoring::judge(&config, &pairs, thresholds, args.judge.as_deref())
        .map_err(|e| explain(e, &files, &config, &pairs, args.judge.as_deref()))?;

    // A config metric without data is not judged at all (Kayenta judges the pairs), which
    // a person re-judging a run should know about.
    let paired: BTreeSet<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
    let mut warned = BTreeSet::new();
    for metric in &config.metrics {
        let name = metric.name();
        if !name.is_empty() && !paired.contains(name) && warned.insert(name) {
            writeln!(
                out.stderr,
                "kanary: warning: metric '{name}' has no metric-set pair in {}; it is not judged",
                files.pairs.display()
            )?;
        }
    }

    if let Some(path) = &args.report {
        let html = html::render(&HtmlReport {
            config: &config,
            result: Some(&result),
            pairs: &pairs,
            thresholds,
            analysis: None,
        });
        write_report(path, &html)?;
    }

    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out.stdout, &result)
                .context("cannot write the result")?;
            writeln!(out.stdout)?;
        }
        OutputFormat::Text => {
            let report = TextReport {
                result: &result,
                config: &config,
                thresholds,
            };
            out.stdout
                .write_all(text::render(&report, out.color).as_bytes())?;
        }
    }
    Ok(status(&result))
}

/// Writes the HTML report, naming the file when it cannot.
pub(crate) fn write_report(path: &Path, html: &str) -> anyhow::Result<()> {
    std::fs::write(path, html)
        .with_context(|| format!("{}: cannot write the report", path.display()))
}

/// Pass 0, Marginal 3, Fail 1 (and the labels the judges never produce count as Fail).
fn status(result: &CanaryJudgeResult) -> ExitStatus {
    match result.score.classification {
        SummaryClassification::Pass => ExitStatus::Success,
        SummaryClassification::Marginal => ExitStatus::Marginal,
        SummaryClassification::Fail
        | SummaryClassification::Nodata
        | SummaryClassification::Error => ExitStatus::Fail,
    }
}

/// Reads the pair list, saying what is expected when the file is not a JSON array.
fn read_pairs(path: &Path) -> anyhow::Result<Vec<MetricSetPair>> {
    let text = input::read_text(path)?;
    match serde_json::from_str::<Vec<MetricSetPair>>(&text) {
        Ok(pairs) => Ok(pairs),
        Err(e) => {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
                if !value.is_array() {
                    bail!(
                        "{}: expected a JSON array of metric-set pairs (as \
                         GET /metricSetPairList/{{id}} serves it), got {}",
                        path.display(),
                        crate::validate::describe(&value)
                    );
                }
            }
            Err(input::json_error(path, &text, &e))
        }
    }
}

/// Turns the judge's error into one line naming the file and the JSON path.
fn explain(
    e: JudgeError,
    files: &CaseFiles,
    config: &CanaryConfig,
    pairs: &[MetricSetPair],
    override_judge: Option<&str>,
) -> anyhow::Error {
    let config_file = files.config.display();
    match &e {
        JudgeError::UnknownMetric(name) => {
            let at = pairs.iter().position(|p| &p.name == name).unwrap_or(0);
            let known: Vec<String> = config
                .metrics
                .iter()
                .map(|m| format!("'{}'", m.name()))
                .collect();
            anyhow!(
                "{}: pair {} ('{name}'): {e} (the metrics of {config_file} are {})",
                files.pairs.display(),
                json_path::index("$", at),
                known.join(", ")
            )
        }
        JudgeError::UnknownJudge(_) => {
            let known: Vec<&str> = JudgeKind::ALL.iter().map(|(k, _)| k.name()).collect();
            let source = match override_judge.filter(|n| !n.is_empty()) {
                Some(_) => "--judge".to_string(),
                None => format!("{config_file}: $.judge.name"),
            };
            anyhow!("{source}: {e} (known judges: {})", known.join(", "))
        }
        JudgeError::InvalidSetting {
            metric,
            field,
            problem,
        } => {
            let at = config
                .metrics
                .iter()
                .position(|m| m.name() == metric)
                .unwrap_or(0);
            let path = json_path::dotted(&json_path::index("$.metrics", at), field);
            anyhow!("{config_file}: {path} (metric '{metric}'): {problem}")
        }
        JudgeError::InvalidJudgeSetting { field, problem } => {
            anyhow!(
                "{config_file}: {}: {problem}",
                json_path::dotted("$", field)
            )
        }
    }
}
