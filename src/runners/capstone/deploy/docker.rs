//! The Docker command line, bounded in time: every call of the deploy part
//! goes through [`docker`], which gives up (and kills the client) past its
//! limit, so a stuck engine cannot hang `roadmap run phase6`.
//!
//! Output goes to files in the run's scratch folder rather than pipes: a pipe
//! that fills while the caller waits would block the client (`docker build`
//! writes a lot), a file never does.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// What a finished `docker` call printed.
pub struct Output {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The last non-empty line of stderr (the client's error), or a stand-in.
    pub fn error_line(&self) -> String {
        self.stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output")
            .trim()
            .to_string()
    }

    /// The last `n` lines of stdout and stderr together.
    pub fn tail(&self, n: usize) -> String {
        let all: Vec<&str> = self
            .stdout
            .lines()
            .chain(self.stderr.lines())
            .filter(|l| !l.trim().is_empty())
            .collect();
        all[all.len().saturating_sub(n)..].join("\n")
    }
}

/// Runs `docker ARGS` with `scratch` for its output files; errors only when
/// the client cannot be started or does not finish within `timeout`.
pub fn docker(scratch: &Path, args: &[&str], timeout: Duration) -> Result<Output> {
    run(scratch, "docker", args, timeout)
}

/// Runs `program ARGS` the same way (the base-image script goes through here too).
pub fn run(scratch: &Path, program: &str, args: &[&str], timeout: Duration) -> Result<Output> {
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out_path = scratch.join(format!("cmd-{n}.out"));
    let err_path = scratch.join(format!("cmd-{n}.err"));
    let out_file = std::fs::File::create(&out_path)
        .with_context(|| format!("cannot create {}", out_path.display()))?;
    let err_file = std::fs::File::create(&err_path)
        .with_context(|| format!("cannot create {}", err_path.display()))?;
    let shown = format!("`{program} {}`", args.first().copied().unwrap_or_default());
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(err_file)
        .spawn()
        .with_context(|| format!("cannot run {shown}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("waiting for {shown}"))?
        {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{shown} did not finish within {} s ({})",
                timeout.as_secs(),
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let output = Output {
        ok: status.success(),
        code: status.code(),
        stdout: read(&out_path),
        stderr: read(&err_path),
    };
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    Ok(output)
}

/// The engine's server version, or why there is none.
pub fn engine_version(scratch: &Path, timeout: Duration) -> Result<String, String> {
    match docker(
        scratch,
        &["version", "--format", "{{.Server.Version}}"],
        timeout,
    ) {
        Err(e) => Err(format!("{e:#}")),
        Ok(o) if o.ok && !o.stdout.trim().is_empty() => Ok(o.stdout.trim().to_string()),
        Ok(o) => Err(format!("`docker version`: {}", o.error_line())),
    }
}
