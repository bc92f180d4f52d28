//! Capstone part `deploy` (issue 16): the containerized service.
//!
//! First the Docker engine is asked for its version (`docker version`, bounded
//! in time). Without an answer the part is skipped, saying what was tried and
//! what came back. With an engine it is still skipped while this build has no
//! RAG HTTP service: the deployment check runs the service's workload against
//! the container, and there is no service image to build without it
//! (`.ci/deploy-e2e` checks the images and the stack from a source checkout).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{Ran, Reporter, Settings};

pub const METRICS: &[&str] = &[];

/// How long the engine may take to answer `docker version`.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(_s: &Settings, rep: &mut Reporter) -> Result<Ran> {
    rep.progress("asking the Docker engine for its version");
    match engine_version(ENGINE_TIMEOUT) {
        Err(why) => Ok(Ran::Skipped(format!(
            "no Docker engine answers ({why}); start one (for example `sudo systemctl start docker`) \
             to check the deployment"
        ))),
        Ok(version) => Ok(Ran::Skipped(format!(
            "a Docker engine answers (server {version}), but this build of roadmap has no RAG HTTP \
             service to containerize and drive; `.ci/deploy-e2e` checks the images from a source checkout"
        ))),
    }
}

/// The engine's server version, or why there is none.
pub fn engine_version(timeout: Duration) -> Result<String, String> {
    let mut child = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `docker`: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`docker version` did not answer within {}s",
                    timeout.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for `docker version`: {e}")),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("reading `docker version`: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() && !stdout.is_empty() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        Err(format!("`docker version`: {}", last.trim()))
    }
}
