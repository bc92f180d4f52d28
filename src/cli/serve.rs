//! `roadmap serve`: the phase-2 sentiment model over HTTP (phase 3).
//!
//! Resolves the model (a directory, a model name in the progress database, or
//! by default the newest passed phase-2 model), installs JSON logging filtered
//! by `RUST_LOG`, and runs the `roadmap-serve` server until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use roadmap_serve::{Classifier, SentimentClassifier, ServerConfig};

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model: a saved model directory, or a model name from the progress database
    /// [default: the newest model of a passed `roadmap run phase2`].
    #[arg(long, env = "ROADMAP_SERVE_MODEL", value_name = "NAME|DIR")]
    model: Option<String>,
    /// Address to listen on. Keep 127.0.0.1 unless you mean to expose the service
    /// (a container needs 0.0.0.0).
    #[arg(long, env = "ROADMAP_SERVE_ADDR", default_value = "127.0.0.1:8000")]
    addr: SocketAddr,
    /// Single texts up to this many bytes are classified on the async worker;
    /// longer ones and batches on a blocking thread.
    #[arg(long, default_value_t = ServerConfig::default().inline_max_bytes, value_name = "BYTES")]
    inline_max_bytes: usize,
}

fn model_dir(model: Option<&str>, g: &Globals) -> Result<PathBuf> {
    match model {
        Some(m) if std::path::Path::new(m).is_dir() => Ok(PathBuf::from(m)),
        Some(name) => g.open_db()?.latest_model(name)?.with_context(|| {
            format!("`{name}` is neither a model directory nor a model name with a passed run in the progress database")
        }),
        None => g
            .open_db()?
            .latest_model("sentiment")?
            .context("no trained sentiment model: run `roadmap run phase2` first (or pass --model DIR)"),
    }
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let dir = model_dir(args.model.as_deref(), g)?;
    let classifier = SentimentClassifier::load(&dir)
        .with_context(|| format!("cannot load the sentiment model from {}", dir.display()))?;
    let info = classifier.info();
    if let Err(e) = roadmap_serve::init_json_logging() {
        eprintln!("warning: logging not initialised: {e}");
    }
    let config = ServerConfig {
        inline_max_bytes: args.inline_max_bytes,
        ..ServerConfig::default()
    };
    roadmap_serve::run_until_signal(Arc::new(classifier), args.addr, config, |addr| {
        eprintln!(
            "serving {} {} from {} on http://{addr} (API docs: http://{addr}/docs/; Ctrl-C stops)",
            info.name,
            info.version,
            dir.display()
        );
    })?;
    Ok(ExitCode::SUCCESS)
}
