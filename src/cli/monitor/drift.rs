//! `roadmap monitor drift`: drift between a reference and a current CSV
//! dataset (the Evidently DataDriftPreset equivalent), per column with the
//! test Evidently would choose, every statistic reported; a terminal table,
//! JSON, or a small self-contained HTML report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use roadmap_quality::drift::parse_stattest_arg;
use roadmap_quality::{drift_csv, DriftOptions, Schema};

#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// The reference data (what "normal" looks like)
    #[arg(long, value_name = "REF.csv")]
    reference: PathBuf,
    /// The data to compare with it
    #[arg(long, value_name = "CUR.csv")]
    current: PathBuf,
    /// A schema whose column types, drift_test and drift_threshold are used
    #[arg(long, value_name = "S.toml")]
    schema: Option<PathBuf>,
    /// Override a column's test, e.g. `--stattest age=psi` (ks, wasserstein, chisquare, z, jensenshannon, psi);
    /// repeatable
    #[arg(long, value_name = "COL=TEST")]
    stattest: Vec<String>,
    /// Dataset drift when at least this share of the columns drifted
    #[arg(long, default_value_t = 0.5)]
    drift_share: f64,
    /// Print one JSON object (one entry per column with every statistic)
    #[arg(long)]
    json: bool,
    /// Also write the HTML report (binned histograms, never the raw rows)
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
}

pub fn run(a: DriftArgs) -> Result<ExitCode> {
    if !(a.drift_share > 0.0 && a.drift_share <= 1.0) {
        anyhow::bail!("--drift-share must be in (0, 1], got {}", a.drift_share);
    }
    let mut opts = DriftOptions {
        drift_share: a.drift_share,
        ..Default::default()
    };
    for s in &a.stattest {
        let (col, test) = parse_stattest_arg(s)?;
        opts.stattest.insert(col, test);
    }
    if let Some(p) = &a.schema {
        opts = opts.with_schema(&Schema::from_path(p)?);
    }
    let report = drift_csv(&a.reference, &a.current, &opts)?;
    if let Some(path) = &a.html {
        std::fs::write(path, report.to_html()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        println!("{}", report.render_table());
    }
    Ok(ExitCode::SUCCESS)
}
