//! `roadmap dashboard [--db A.db --db B.db ...] [--addr 127.0.0.1:8090] [--token T]`:
//! the mentor's read-only web dashboard ([`crate::dashboard`]).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use super::Globals;
use crate::dashboard::{self, Dashboard};
use crate::db::Db;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen; port 0 picks a free port (the address is printed)
    #[arg(long, default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// Require this token (16+ URL-safe characters) from every request; required when --addr is not loopback
    #[arg(long, env = "ROADMAP_DASHBOARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let roadmap = g.roadmap()?;
    let dbs = g.db_paths()?;
    if let Some(t) = &args.token {
        dashboard::check_token(t)?;
    } else if !args.addr.ip().is_loopback() {
        bail!(
            "--addr {} is reachable from other machines: pass --token (or set ROADMAP_DASHBOARD_TOKEN) so only the mentor can read the progress, or bind 127.0.0.1",
            args.addr
        );
    }
    let mut learners = 0;
    for path in &dbs {
        // Refuse a bad file now rather than on every page.
        let db =
            Db::open_read_only(path).with_context(|| format!("dashboard: {}", path.display()))?;
        learners += db.learners()?.len();
    }
    let d = Arc::new(Dashboard {
        dbs: dbs.clone(),
        roadmap,
        token: args.token.clone(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {} (in use? try another --addr port)", args.addr))?;
        let local = listener.local_addr()?;
        println!(
            "dashboard on http://{local}/ — {learners} learner(s) in {} database(s), opened read-only{}; Ctrl-C stops",
            dbs.len(),
            if args.token.is_some() { "; token required" } else { "" }
        );
        use std::io::Write;
        std::io::stdout().flush()?;
        dashboard::serve(listener, d).await
    })?;
    Ok(ExitCode::SUCCESS)
}
