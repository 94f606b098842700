//! The `paf-stress` command: see the crate documentation.
#![forbid(unsafe_code)]

use std::{io::Write, path::Path, process::ExitCode};

use clap::Parser;
use paf_stress::{plot, stats::with_causes, Args, Interrupt, Report};

/// Exit status when any request failed.
const FAILED: u8 = 1;
/// Exit status when the run could not start or its output not be written.
const UNUSABLE: u8 = 2;
/// Exit status on a second Ctrl-C, which quits without a report (128 +
/// SIGINT, as shells report a process killed by it).
const QUIT: i32 = 130;

fn main() -> ExitCode {
    let args = Args::parse();
    let interrupt = Interrupt::new();
    // Without Ctrl-C handling the run still works; Ctrl-C then kills it as
    // it would any program.
    if let Err(e) = stop_on_ctrl_c(interrupt.clone()) {
        eprintln!("paf-stress: Ctrl-C will not print a report: {e}");
    }
    let report = match paf_stress::run_with_interrupt(&args, &interrupt) {
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

/// The first Ctrl-C (SIGINT) stops the run, which then reports what it did
/// and writes its files, as oha does; a second one quits at once. The
/// handler is in place when this returns, so a Ctrl-C during the run is
/// never the default one that kills the process without a report.
fn stop_on_ctrl_c(interrupt: Interrupt) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut ctrl_c = {
        let _context = runtime.enter();
        CtrlC::listen()?
    };
    std::thread::Builder::new()
        .name("paf-stress-ctrl-c".into())
        .spawn(move || {
            runtime.block_on(async move {
                if !ctrl_c.next().await {
                    return;
                }
                interrupt.trigger();
                eprintln!("paf-stress: interrupted: reporting what was done (Ctrl-C again quits)");
                if ctrl_c.next().await {
                    std::process::exit(QUIT);
                }
            });
        })?;
    Ok(())
}

/// Ctrl-C: SIGINT on Unix, listened to from the moment it is made.
#[cfg(unix)]
struct CtrlC(tokio::signal::unix::Signal);

#[cfg(unix)]
impl CtrlC {
    fn listen() -> std::io::Result<CtrlC> {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).map(CtrlC)
    }

    /// True on the next Ctrl-C; false when none can come any more.
    async fn next(&mut self) -> bool {
        self.0.recv().await.is_some()
    }
}

/// Ctrl-C elsewhere: listened to from the first wait on.
#[cfg(not(unix))]
struct CtrlC;

#[cfg(not(unix))]
impl CtrlC {
    fn listen() -> std::io::Result<CtrlC> {
        Ok(CtrlC)
    }

    /// True on the next Ctrl-C; false when none can come any more.
    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

fn write_outputs(args: &Args, report: &Report) -> Result<(), String> {
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    // With the JSON on standard output, the summary moves out of its way.
    // The files come first: a closed pipe (`| head`) must not lose them.
    if let Some(path) = args.json.as_deref().filter(|_| !json_to_stdout) {
        write_file(path, &report.to_json())?;
    }
    if let Some(path) = &args.plot {
        let svg = plot::svg(report).map_err(|e| format!("cannot draw the plot: {e}"))?;
        write_file(path, &svg)?;
    }
    let summary = report.to_string();
    if json_to_stdout {
        write_quietly(&mut std::io::stderr().lock(), &summary);
        let json = format!("{}\n", report.to_json());
        let mut out = std::io::stdout().lock();
        out.write_all(json.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write the JSON: {e}"))?;
    } else {
        write_quietly(&mut std::io::stdout().lock(), &summary);
    }
    Ok(())
}

/// Writes the text summary; a reader that went away (`| head`) is no error
/// worth reporting, and never a panic as `print!` would make it.
fn write_quietly(out: &mut impl Write, text: &str) {
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
