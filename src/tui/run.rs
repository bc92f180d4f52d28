//! A milestone run started from the TUI, its output streamed into a pane.
//!
//! The TUI does not call the runner in its own process: it starts
//! `roadmap run PHASE [ARGS]` (this same binary, with the same database,
//! learner, roadmap and folders) as a child with its output piped. So the run
//! is recorded by exactly the code the CLI uses (`src/cli/run.rs`: inserted as
//! `running`, judged against the criteria, recorded in one transaction), and
//! cancelling sends the child SIGINT, which its Ctrl-C handler turns into an
//! `interrupted` run exactly as when the learner presses Ctrl-C in a shell.
//! Output is read line by line on two threads (stdout, stderr) and handed to
//! the UI thread over a channel; `\r`-redrawn progress lines keep their last
//! state.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// How to start `roadmap run`: this binary and the global flags that make the
/// child use the same database, learner, roadmap and folders as the TUI.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub exe: PathBuf,
    pub global_args: Vec<OsString>,
}

/// One line of the child's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub stderr: bool,
    pub text: String,
}

/// The run pane's state.
pub struct RunPane {
    pub phase: String,
    pub args: Vec<String>,
    child: Option<Child>,
    rx: Receiver<OutputLine>,
    pub lines: Vec<OutputLine>,
    started: Instant,
    /// Wall time when the child exited (frozen elapsed time).
    ended: Option<Duration>,
    /// Seconds the previous finished run of this phase took: the progress
    /// bar's yardstick (none: the bar shows elapsed time only).
    pub estimate: Option<f64>,
    pub exit: Option<ExitStatus>,
    /// Set when the learner cancelled (SIGINT sent).
    pub cancelled: bool,
    /// Runs of any phase with a larger id than this are this pane's run.
    pub after_run_id: i64,
    /// The recorded run, once finished: (id, status), read back from the database.
    pub recorded: Option<(i64, String)>,
    /// Lines scrolled up from the bottom.
    pub scroll: usize,
}

impl Launcher {
    /// Starts `roadmap <globals> run PHASE ARGS...`.
    pub fn spawn(
        &self,
        phase: &str,
        args: &[String],
        estimate: Option<f64>,
        after_run_id: i64,
    ) -> Result<RunPane> {
        let mut child = Command::new(&self.exe)
            .args(&self.global_args)
            .arg("run")
            .arg(phase)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", self.exe.display()))?;
        let (tx, rx) = channel();
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        pump(out, false, tx.clone());
        pump(err, true, tx);
        Ok(RunPane {
            phase: phase.to_string(),
            args: args.to_vec(),
            child: Some(child),
            rx,
            lines: Vec::new(),
            started: Instant::now(),
            ended: None,
            estimate,
            exit: None,
            cancelled: false,
            after_run_id,
            recorded: None,
            scroll: 0,
        })
    }
}

/// Reads `r` line by line (a `\r` also ends a line: progress redraws) into `tx`.
fn pump(r: impl Read + Send + 'static, stderr: bool, tx: Sender<OutputLine>) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    let text = text.trim_end_matches(['\n', '\r']);
                    let last = text.rsplit('\r').next().unwrap_or("");
                    let line = OutputLine {
                        stderr,
                        text: last.to_string(),
                    };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

impl RunPane {
    pub fn running(&self) -> bool {
        self.exit.is_none()
    }

    pub fn elapsed(&self) -> Duration {
        self.ended.unwrap_or_else(|| self.started.elapsed())
    }

    /// The progress bar's fraction: elapsed over the previous run's duration,
    /// held below 1 until the run ends (an estimate, labelled as such).
    pub fn fraction(&self) -> Option<f64> {
        if !self.running() {
            return Some(1.0);
        }
        self.estimate
            .filter(|e| *e > 0.0)
            .map(|e| (self.elapsed().as_secs_f64() / e).min(0.99))
    }

    /// Takes new output and notices the child's exit; returns true when the
    /// child has just exited (the caller then reloads the database).
    pub fn poll(&mut self) -> bool {
        while let Ok(line) = self.rx.try_recv() {
            self.lines.push(line);
        }
        if self.exit.is_some() {
            return false;
        }
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        match child.try_wait() {
            Ok(Some(status)) => {
                // The reader threads end at EOF; take what they still hold.
                std::thread::sleep(Duration::from_millis(20));
                while let Ok(line) = self.rx.try_recv() {
                    self.lines.push(line);
                }
                self.exit = Some(status);
                self.ended = Some(self.started.elapsed());
                true
            }
            _ => false,
        }
    }

    /// Cancels the run the way Ctrl-C in a shell does: SIGINT to the child,
    /// whose handler records the run as `interrupted` and exits.
    pub fn cancel(&mut self) {
        if let (Some(child), true) = (&self.child, self.running()) {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
            self.cancelled = true;
        }
    }

    /// Waits up to `timeout` for the child to exit; true if it did.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.poll() || !self.running() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for RunPane {
    /// Leaving the TUI mid-run interrupts the run (recorded as such) rather
    /// than leaving an orphan writing to the learner's database.
    fn drop(&mut self) {
        if self.running() {
            self.cancel();
            if !self.wait(Duration::from_secs(10)) {
                if let Some(child) = self.child.as_mut() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }
}
