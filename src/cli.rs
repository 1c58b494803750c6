//! The command line: clap types only. Parsing lives here, behaviour in `commands`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Automated canary analysis: judge a canary against its baseline as Spinnaker's Kayenta does.
#[derive(Debug, Clone, Parser)]
#[command(name = "kanary", version, about, propagate_version = true)]
pub struct Cli {
    /// When to colour the output: auto (only a terminal, and only when NO_COLOR is unset),
    /// always, never.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value_t = ColorChoice::Auto,
        global = true,
        hide_possible_values = true
    )]
    pub color: ColorChoice,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Judge a recorded canary run offline and print the verdict.
    #[command(long_about = JUDGE_LONG_ABOUT, after_help = JUDGE_AFTER_HELP)]
    Judge(JudgeArgs),
    /// Check canary configs for mistakes before Kayenta or kanary runs them.
    #[command(long_about = VALIDATE_LONG_ABOUT, after_help = VALIDATE_AFTER_HELP)]
    Validate(ValidateArgs),
}

const JUDGE_LONG_ABOUT: &str = "\
Judge a recorded canary run offline and print the verdict.

Runs the judge named by the config (Kayenta's NetflixACAJudge-v1.0 when it names none) on \
every metric-set pair, scores the results with the config's group weights and classifies \
the score against the thresholds, exactly as Kayenta's judge stage does. No network.

DIR holds the recorded run:
  config.json      the canary config (as stored by Kayenta's /canaryConfig)
  pairs.json       the metric-set pair list, a JSON array, as served by
                   GET /metricSetPairList/{id}
  thresholds.json  optional: {\"pass\": 95, \"marginal\": 75}

--config and --pairs replace the files of DIR; DIR may be left out when both are given. \
Thresholds come from --pass/--marginal, else thresholds.json, else 95 and 75.";

const JUDGE_AFTER_HELP: &str = "\
Exit status:
  0  Pass      (score >= pass)
  3  Marginal  (marginal <= score < pass)
  1  Fail      (score < marginal; a failing critical metric forces the score to 0)
  2  unusable input: a missing file, invalid JSON, a pair whose metric is not in the
     config, an unknown judge, a setting of the wrong type, marginal > pass

Examples:
  kanary judge testdata/examples/latency-regression
  kanary judge --config canary.json --pairs run-42.json --pass 90 --marginal 70
  kanary judge testdata/examples/healthy --format json | jq .score";

const VALIDATE_LONG_ABOUT: &str = "\
Check canary configs for mistakes before Kayenta or kanary runs them.

Every problem is printed with the file and its JSON path, for example
  canary.json: $.metrics[2].name: duplicated metric name 'latency' (Kayenta: ...)
  canary.json: warning: $.metrics[0].analysisConfigurations.canary.direction: ...

Errors are what Kayenta rejects (when storing or running the config) or what cannot work: \
wrong JSON types, missing or duplicated metric names, a missing query type or scopeName, \
an unknown filter template, the deprecated customFilter, an unknown judge, bad judge or \
metric settings, negative weights, marginal > pass. Warnings are what Kayenta accepts but \
is almost always a typo or has no effect: an unknown direction, nanStrategy, outlier \
strategy or effect-size measure, weights summing over 100, a muted critical metric. \
Notes explain how the config will be scored.";

const VALIDATE_AFTER_HELP: &str = "\
Exit status:
  0  every file is valid (warnings and notes allowed); each prints `FILE: ok`
  2  some file has an error, cannot be read, or is not JSON

Example:
  kanary validate canary-configs/*.json";

/// `kanary judge`.
#[derive(Debug, Clone, Args)]
pub struct JudgeArgs {
    /// Folder with config.json, pairs.json and optionally thresholds.json.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The canary config (default: DIR/config.json).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The metric-set pair list, a JSON array (default: DIR/pairs.json).
    #[arg(long, value_name = "FILE")]
    pub pairs: Option<PathBuf>,
    /// Score thresholds `{"pass": N, "marginal": N}` (default: DIR/thresholds.json if present).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// A score at or above this passes (overrides the thresholds file; default 95).
    #[arg(long, value_name = "N")]
    pub pass: Option<f64>,
    /// A score at or above this, and below pass, is marginal (overrides the thresholds file;
    /// default 75).
    #[arg(long, value_name = "N")]
    pub marginal: Option<f64>,
    /// Run this judge instead of the config's `judge.name` (Kayenta's overrideJudgeName),
    /// e.g. `NetflixACAJudge-v1.0` or `dredd-v1.0`.
    #[arg(long, value_name = "NAME")]
    pub judge: Option<String>,
    /// `text`: a table for people; `json`: Kayenta's CanaryJudgeResult.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `kanary validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Canary config files (JSON).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// How `judge` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// An aligned table, the group scores and the verdict.
    Text,
    /// The `CanaryJudgeResult` as pretty JSON, as Kayenta writes it.
    Json,
}

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour, given whether stdout is a terminal and whether `NO_COLOR` is set
    /// (<https://no-color.org>: any non-empty value disables colour).
    pub fn enabled(self, stdout_is_terminal: bool, no_color: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_terminal && !no_color,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn auto_colours_only_a_terminal_without_no_color() {
        assert!(ColorChoice::Auto.enabled(true, false));
        assert!(!ColorChoice::Auto.enabled(true, true));
        assert!(!ColorChoice::Auto.enabled(false, false));
        assert!(ColorChoice::Always.enabled(false, true));
        assert!(!ColorChoice::Never.enabled(true, false));
    }
}
