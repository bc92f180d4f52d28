//! `roadmap audit fairness`: fairlearn 0.15's `MetricFrame` per group and its
//! aggregate metrics (demographic parity, equalized odds, equal opportunity),
//! disparate impact and the four-fifths rule, intersectional groups and
//! seeded bootstrap intervals, on a predictions CSV — or on a model applied to
//! a data file first. Optionally per-group thresholds for demographic parity
//! or equalized odds (`--mitigate`), with the accuracy they cost.
//!
//! Undefined values (a rate with a zero denominator, any comparison with one
//! group) are printed as `undefined` with the reason and are `null` in JSON,
//! never NaN; `roadmap_audit::fairness` documents every definition.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use roadmap_audit::fairness::{
    self, AuditInput, AuditOptions, FairnessReport, PredictionColumns, SensitiveColumn,
};
use roadmap_audit::mitigation::{self, Constraint, MitigationReport};
use roadmap_audit::pipeline::{self, Predictions};
use roadmap_audit::Table;

use super::{load_tabular_model, write_file};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Predictions CSV with a header row: labels, 0/1 predictions, optional scores and the sensitive
    /// columns (what `roadmap audit train` writes)
    #[arg(long, value_name = "P.csv", required_unless_present = "model")]
    predictions: Option<PathBuf>,
    /// Predict first with this model (the folder `roadmap audit train` wrote); needs --data
    #[arg(
        long,
        value_name = "DIR",
        requires = "data",
        conflicts_with_all = ["predictions", "label", "prediction", "score", "positive"]
    )]
    model: Option<PathBuf>,
    /// With --model: the data to predict (a CSV with the model's columns and its target column)
    #[arg(long, value_name = "FILE.csv", requires = "model")]
    data: Option<PathBuf>,
    /// With --model: audit only the rows of --data at a test position (position % 5 == 0), i.e. the
    /// model's held-out rows when --data is the file it was trained on
    #[arg(long, requires = "model")]
    test_set: bool,
    /// The column of true labels
    #[arg(long, value_name = "COL", default_value = "y_true")]
    label: String,
    /// The column of predicted labels
    #[arg(long, value_name = "COL", default_value = "y_pred")]
    prediction: String,
    /// The column of scores P(y = 1), read when present (needed by --mitigate)
    #[arg(long, value_name = "COL", default_value = "score")]
    score: String,
    /// The label value that is the positive class, when labels are text (e.g. `>50K`) [default:
    /// labels must be 0/1]
    #[arg(long, value_name = "VALUE")]
    positive: Option<String>,
    /// Sensitive column(s) to group by; two or more also give the intersectional groups
    /// [default with --model: the model's sensitive columns]
    #[arg(
        long,
        value_name = "COL[,COL2]",
        value_delimiter = ',',
        required_unless_present = "model"
    )]
    sensitive: Vec<String>,
    /// The privileged group (a value of a sensitive column): the reference of disparate impact
    /// [default: the group with the highest selection rate]
    #[arg(long, value_name = "VALUE")]
    privileged: Option<String>,
    /// The favourable prediction: 1, or 0 when predicting 0 is the good outcome (changes selection
    /// rates only)
    #[arg(long, value_name = "1|0", default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    favourable: u8,
    /// Bootstrap replicates for the 95% intervals of the aggregates (0: no intervals)
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = crate::flags::count_in(0..=1_000_000))]
    bootstrap: usize,
    /// Seed of the bootstrap
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Per-group decision thresholds on the first sensitive column for demographic parity (dp) or
    /// equalized odds (eo), fitted and evaluated on these rows; needs scores
    #[arg(long, value_name = "dp|eo", value_parser = constraint)]
    mitigate: Option<Constraint>,
    /// Print one JSON object (fairlearn's metric names; `null` for undefined values)
    #[arg(long)]
    json: bool,
    /// Also write the report as Markdown
    #[arg(long, value_name = "OUT.md")]
    markdown: Option<PathBuf>,
    /// Also write a self-contained HTML page with bar charts
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
    /// Also write each audit's rates chart into this folder, as SVG and PNG
    /// (`rates-<columns>.svg`, `rates-<columns>.png`)
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
}

/// `dp` / `demographic_parity` or `eo` / `equalized_odds`.
fn constraint(s: &str) -> Result<Constraint, String> {
    s.parse()
        .map_err(|e: roadmap_audit::AuditError| e.to_string())
}

pub fn run(a: Args) -> Result<ExitCode> {
    let input = match (&a.predictions, &a.model, &a.data) {
        (Some(p), _, _) => {
            let cols = PredictionColumns {
                label: a.label.clone(),
                prediction: a.prediction.clone(),
                score: Some(a.score.clone()),
                sensitive: a.sensitive.clone(),
                positive: a.positive.clone(),
            };
            fairness::read_predictions(p, &cols)
                .with_context(|| format!("cannot read the predictions {}", p.display()))?
        }
        (None, Some(m), Some(d)) => predict(m, d, &a.sensitive, a.test_set)?,
        _ => unreachable!("clap requires --predictions or --model with --data"),
    };
    let opts = AuditOptions {
        privileged: a.privileged.clone(),
        favourable: a.favourable,
        bootstrap: a.bootstrap,
        seed: a.seed,
        ..Default::default()
    };
    let report = FairnessReport::compute(&input, &opts)
        .with_context(|| format!("cannot audit {}", input.source_name))?;
    let mitigation = match a.mitigate {
        None => None,
        Some(c) => Some(mitigate(&input, c)?),
    };

    if let Some(path) = &a.markdown {
        let mut md = report.render_markdown();
        if let Some(m) = &mitigation {
            md.push_str("\n## Mitigation\n\n");
            md.push_str(&m.render_markdown());
        }
        write_file(path, &md)?;
        eprintln!("Markdown report written to {}", path.display());
    }
    if let Some(path) = &a.html {
        let html = report
            .render_html(mitigation.as_ref())
            .context("cannot draw the HTML report's charts")?;
        write_file(path, &html)?;
        eprintln!("HTML report written to {}", path.display());
    }
    if let Some(dir) = &a.plots {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the plots folder {}", dir.display()))?;
        let charts = report.charts().context("cannot draw the rates charts")?;
        for (name, svg) in charts {
            let paths = roadmap_common::plot::save_svg_and_png(dir, &name, &svg)
                .with_context(|| format!("cannot write the chart {name}"))?;
            for p in paths {
                eprintln!("chart written to {}", p.display());
            }
        }
    }
    if a.json {
        let mut v = report.to_json();
        if let Some(m) = &mitigation {
            v["mitigation"] = serde_json::to_value(m)?;
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", report.render_table());
        if let Some(m) = &mitigation {
            println!("\nMitigation");
            print!("{}", m.render_table());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Applies the model to `data` and returns the audit input (all rows, or the test positions).
fn predict(
    model: &std::path::Path,
    data: &std::path::Path,
    sensitive: &[String],
    test_set: bool,
) -> Result<AuditInput> {
    let m = load_tabular_model(model)?;
    let sensitive: Vec<String> = if sensitive.is_empty() {
        m.sensitive.clone()
    } else {
        sensitive.to_vec()
    };
    if sensitive.is_empty() {
        anyhow::bail!(
            "the model {} names no sensitive columns: pass --sensitive COL[,COL2]",
            model.display()
        );
    }
    let table = Table::read_csv(data)
        .with_context(|| format!("cannot read the data {}", data.display()))?;
    let p = m.predict(&table, Some(&sensitive)).with_context(|| {
        format!(
            "cannot apply the model {} to {}: the data must have the columns the model was trained on",
            model.display(),
            data.display()
        )
    })?;
    let p = if test_set { test_rows(p) } else { p };
    if p.position.is_empty() {
        anyhow::bail!(
            "{}: no rows to audit{}",
            data.display(),
            if test_set {
                " at a test position (position % 5 == 0)"
            } else {
                ""
            }
        );
    }
    let mut input = p.to_audit_input();
    input.source_name = format!(
        "{} predicted by {}{}",
        data.display(),
        model.display(),
        if test_set { " (test rows)" } else { "" }
    );
    Ok(input)
}

/// Keeps the rows at a test position of the deterministic split.
fn test_rows(p: Predictions) -> Predictions {
    let keep: Vec<usize> = (0..p.position.len())
        .filter(|&i| pipeline::is_test(p.position[i]))
        .collect();
    let pick_u8 = |v: &[u8]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
    Predictions {
        position: keep.iter().map(|&i| p.position[i]).collect(),
        y_true: pick_u8(&p.y_true),
        y_pred: pick_u8(&p.y_pred),
        score: keep.iter().map(|&i| p.score[i]).collect(),
        sensitive: p
            .sensitive
            .iter()
            .map(|(n, v)| (n.clone(), keep.iter().map(|&i| v[i].clone()).collect()))
            .collect(),
    }
}

/// Thresholds on the first sensitive column.
fn mitigate(input: &AuditInput, c: Constraint) -> Result<MitigationReport> {
    let SensitiveColumn { name, .. } = &input.sensitive[0];
    if input.scores.is_none() {
        anyhow::bail!(
            "--mitigate needs scores (P(y = 1) per row) and {} has none: name the column with --score \
             COL, or audit a model with --model DIR --data FILE.csv",
            input.source_name
        );
    }
    mitigation::mitigate(input, name, c, mitigation::TOLERANCE)
        .with_context(|| format!("cannot fit per-group thresholds on `{name}`"))
}
