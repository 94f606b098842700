//! The `paf-stress` command: see the crate documentation.
#![forbid(unsafe_code)]

use std::{io::Write, path::Path, process::ExitCode};

use clap::Parser;
use paf_stress::{plot, stats::with_causes, Args, Report};

/// Exit status when any request failed.
const FAILED: u8 = 1;
/// Exit status when the run could not start or its output not be written.
const UNUSABLE: u8 = 2;

fn main() -> ExitCode {
    let args = Args::parse();
    let report = match paf_stress::run(&args) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("paf-stress: {}", with_causes(&e));
            return ExitCode::from(UNUSABLE);
        }
    };
    if let Err(message) = write_outputs(&args, &report) {
        eprintln!("paf-stress: {message}");
        return ExitCode::from(UNUSABLE);
    }
    if report.failed() {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_outputs(args: &Args, report: &Report) -> Result<(), String> {
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    // With the JSON on standard output, the summary moves out of its way.
    if json_to_stdout {
        eprint!("{report}");
    } else {
        print!("{report}");
    }
    if let Some(path) = &args.json {
        let json = report.to_json();
        if json_to_stdout {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{json}").map_err(|e| format!("cannot write the JSON: {e}"))?;
        } else {
            write_file(path, &json)?;
        }
    }
    if let Some(path) = &args.plot {
        let svg = plot::svg(report).map_err(|e| format!("cannot draw the plot: {e}"))?;
        write_file(path, &svg)?;
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
