//! The `kanary` binary: parses the command line, runs it, maps the outcome to an exit code.

use clap::Parser;
use kanary::{Cli, ExitStatus, Output};
use std::io::{BufWriter, IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    // https://no-color.org: a set, non-empty NO_COLOR disables colour.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = cli.color.enabled(stdout.is_terminal(), no_color);
    let mut stdout = BufWriter::new(stdout.lock());
    let mut stderr = std::io::stderr().lock();
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

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
