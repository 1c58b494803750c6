//! kanary, the application: the command line behind the `kanary` binary.
//!
//! The judging itself lives in the pure crates `kanary-judge` (per-metric classification)
//! and `kanary-scoring` (group scores, summary score, verdict); this crate reads the files a
//! person points it at, calls them, and prints what they found:
//!
//! - `kanary judge DIR` judges a recorded canary run (`config.json`, `pairs.json`, optionally
//!   `thresholds.json`) offline, prints a table or Kayenta's `CanaryJudgeResult` JSON, and
//!   exits 0 on Pass, 3 on Marginal, 1 on Fail, 2 on unusable input;
//! - `kanary validate FILE...` checks canary configs and prints every problem with its JSON
//!   path;
//! - `kanary analyze` runs Kayenta's standalone canary analysis against Prometheus, Datadog
//!   or Cloud Monitoring: a judgement every interval, an early stop at or below the marginal
//!   threshold, the decision on the last score (exit 0 pass, 1 fail, 2 error). Its runner,
//!   [`analysis::run`], is independent of the command line;
//! - `kanary serve` runs the Kayenta-compatible service: the REST API ([`server::app`],
//!   [`server::serve`]) and the background [`executor`] over one [`store`].
//!
//! `main.rs` only parses the command line and maps the outcome to an exit code; embedders and
//! tests call [`run`] with their own writers:
//!
//! ```
//! use clap::Parser;
//! use kanary::{Cli, ExitStatus, Output};
//!
//! let cli = Cli::try_parse_from([
//!     "kanary", "judge", "testdata/examples/latency-regression", "--format", "json",
//! ])?;
//! let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
//! let mut output = Output { stdout: &mut stdout, stderr: &mut stderr, color: false };
//! let status = kanary::run(&cli, &mut output)?;
//!
//! // The canary's latency rose by 40 %: the latency group (weight 50) scores 0.
//! assert_eq!(status, ExitStatus::Fail);
//! assert_eq!(status.code(), 1);
//! let result: kanary_scoring::CanaryJudgeResult = serde_json::from_slice(&stdout)?;
//! assert_eq!(result.score.score, 50.0);
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```

pub mod accounts;
pub mod analysis;
mod cli;
mod commands;
pub mod executor;
mod input;
mod json_path;
mod report;
pub mod server;
pub mod stage;
pub mod store;
mod validate;

pub use cli::{
    AnalyzeArgs, CanaryArgs, Cli, ColorChoice, Command, JudgeArgs, LogFormat, OutputFormat,
    ServeArgs, SourceArgs, ValidateArgs, parse_byte_size,
};

use std::io::Write;
use std::process::ExitCode;

/// Where a command writes, and whether it may colour what it writes to `stdout`.
pub struct Output<'a> {
    /// The result: the table, the JSON, the validation report.
    pub stdout: &'a mut dyn Write,
    /// Warnings (`kanary: warning: ...`).
    pub stderr: &'a mut dyn Write,
    /// Colour `stdout` with ANSI escapes.
    pub color: bool,
}

/// How a command ended; [`ExitStatus::code`] is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the canary passed, or every validated file is valid.
    Success,
    /// 1: the canary failed.
    Fail,
    /// 2: the input could not be used (`run` returns an error instead when it has a message
    /// to print), or a validated file has errors.
    Unusable,
    /// 3: the canary is marginal.
    Marginal,
}

impl ExitStatus {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Fail => 1,
            ExitStatus::Unusable => 2,
            ExitStatus::Marginal => 3,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// Runs a parsed command line.
///
/// An `Err` means the input is unusable (exit code 2); its `{:#}` rendering is one line that
/// names the file and what is wrong with it.
pub fn run(cli: &Cli, output: &mut Output<'_>) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Judge(args) => commands::judge::run(args, output),
        Command::Validate(args) => commands::validate::run(args, output),
        Command::Analyze(args) => commands::analyze::run(args, output),
        Command::Serve(args) => commands::serve::run(args, output),
        Command::Canary(args) => commands::canary::run(args, output),
    }
}
