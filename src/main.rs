//! The `kanary` binary: parses the command line, runs it, maps the outcome to an exit code.

use clap::Parser;
use kanary::{Cli, Command, ExitStatus, LogFormat, Output};
use std::io::{BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // https://no-color.org: a set, non-empty NO_COLOR disables colour.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    init_tracing(&cli, no_color);
    let stdout = std::io::stdout();
    let color = cli.color.enabled(stdout.is_terminal(), no_color);
    let mut stdout = BufWriter::new(stdout.lock());
    // Not locked for the whole run: `kanary serve` logs to stderr from the runtime's
    // worker threads, and a lock held by the main thread would block each of them at its
    // first log line (the server then hangs). `Stderr` locks per write.
    let mut stderr = std::io::stderr();
    let result = {
        let mut output = Output {
            stdout: &mut stdout,
            stderr: &mut stderr,
            color,
        };
        kanary::run(&cli, &mut output)
    }
    .and_then(|status| {
        stdout.flush()?;
        Ok(status)
    });
    match result {
        Ok(status) => status.into(),
        // The reader went away (`kanary judge ... | head`): nothing left to tell anyone.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Nothing sensible is left to do if stderr itself fails.
            let _ = writeln!(stderr, "kanary: {e:#}");
            ExitStatus::Unusable.into()
        }
    }
}

/// Logs go to stderr, filtered by `KANARY_LOG` (`EnvFilter` syntax; invalid directives
/// are skipped). `serve` logs `info` by default, in `--log-format` (`KANARY_LOG_FORMAT`);
/// the one-shot commands print their own messages and log nothing unless `KANARY_LOG`
/// asks for it.
fn init_tracing(cli: &Cli, no_color: bool) {
    let (default, format) = match &cli.command {
        Command::Serve(args) => (LevelFilter::INFO, args.log_format),
        _ => {
            let json = std::env::var("KANARY_LOG_FORMAT").is_ok_and(|f| f == "json");
            let format = if json {
                LogFormat::Json
            } else {
                LogFormat::Text
            };
            (LevelFilter::OFF, format)
        }
    };
    let filter = EnvFilter::builder()
        .with_default_directive(default.into())
        .with_env_var("KANARY_LOG")
        .from_env_lossy();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init`: only fails when a subscriber is set already, which nothing else does.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal() && !no_color)
            .try_init(),
    };
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
