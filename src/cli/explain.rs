//! `roadmap explain`: Shapley-value explanations of the audit's tabular model
//! (`roadmap audit train`) and of the phase-2 sentiment network, thin
//! wrappers over `roadmap_audit::shap`:
//!
//! - `--method linear` (default): exact linear SHAP in log-odds,
//!   `φⱼ = wⱼ (xⱼ − E[xⱼ])` with the training rows as background (shap's
//!   `LinearExplainer`, interventional);
//! - `--method kernel`: KernelSHAP (shap's `KernelExplainer` weighting, paired
//!   sampling, `l1_reg="num_features(10)"`), background = the `shap.kmeans`
//!   summary of the data's training-split rows, one player per model column;
//! - `--method exact`: exact Shapley values by enumerating every coalition of
//!   the source columns (one-hot blocks as one player; at most 15).
//!
//! Every run prints the additivity check `φ₀ + Σ φⱼ = f(x)` (the largest error
//! over the explained rows) and the top features; global importance (mean
//! |SHAP|) is shown with one-hot columns summed back into their source column
//! (SHAP values are additive, so the sum is the column's Shapley value in the
//! game where the whole block is one player, for linear SHAP exactly).
//! `--text "…"` explains the sentiment network token by token instead.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table as Grid;
use ndarray::{Array2, Axis};
use roadmap_audit::pipeline::{self, TabularModel};
use roadmap_audit::shap::background::Background;
use roadmap_audit::shap::exact::{exact_tabular, MAX_EXACT_PLAYERS};
use roadmap_audit::shap::kernel::{KernelExplainer, KernelOptions, NSamples};
use roadmap_audit::shap::plot;
use roadmap_audit::shap::text::{explain_text, TextShapOptions};
use roadmap_audit::shap::Link;
use roadmap_audit::{Explanation, Table};
use serde_json::json;

use super::audit::{load_sentiment_model, load_tabular_model, write_file};
use super::Globals;

/// How the Shapley values are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Method {
    /// Exact linear SHAP in log-odds against the training means (the logistic model's closed form)
    Linear,
    /// KernelSHAP (shap's KernelExplainer) against a k-means background; a seeded estimate
    Kernel,
    /// Exact Shapley values by enumeration, one player per source column (at most 15)
    Exact,
}

impl Method {
    fn describe(self) -> &'static str {
        match self {
            Method::Linear => "linear SHAP (exact, interventional)",
            Method::Kernel => "KernelSHAP (sampled estimate)",
            Method::Exact => "exact Shapley values by enumeration of the source columns",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model: the folder `roadmap audit train` wrote; with --text, a phase-2 sentiment model
    /// folder [default with --text: the newest model of a passed `roadmap run phase2`]
    #[arg(long, value_name = "DIR", required_unless_present = "text")]
    model: Option<PathBuf>,
    /// The rows to explain: a CSV with the model's columns (the file it was trained on, for
    /// --test-set and the KernelSHAP background)
    #[arg(long, value_name = "FILE.csv", required_unless_present = "text")]
    data: Option<PathBuf>,
    /// Explain one row: its position in --data after rows with a missing cell are dropped (the
    /// `position` column of the predictions file)
    #[arg(long, value_name = "N", conflicts_with_all = ["test_set", "all"])]
    row: Option<usize>,
    /// Explain the test rows (position % 5 == 0): the default
    #[arg(long, conflicts_with = "all")]
    test_set: bool,
    /// Explain every row of --data
    #[arg(long)]
    all: bool,
    /// How to compute the values
    #[arg(long, value_enum, default_value_t = Method::Linear)]
    method: Method,
    /// KernelSHAP: coalitions evaluated per row (also for texts over 10 tokens)
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = crate::flags::count_in(1..=1_000_000))]
    nsamples: usize,
    /// KernelSHAP and exact: k-means centres summarising the training-split rows as background
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = crate::flags::count_in(1..=10_000))]
    background: usize,
    /// Seed of KernelSHAP's sampling
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Features shown in tables and plots
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = crate::flags::count_in(1..=1000))]
    top: usize,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
    /// Write shap-style plots into this folder, each as SVG and PNG: waterfall (with --row), bar,
    /// beeswarm
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Explain this text with the sentiment network, token by token (coloured unless NO_COLOR is
    /// set or the output is not a terminal)
    #[arg(
        long,
        value_name = "TEXT",
        conflicts_with_all = ["data", "row", "test_set", "all", "method", "background", "top", "plots"]
    )]
    text: Option<String>,
    /// With --text: also write the coloured tokens as an HTML page
    #[arg(long, value_name = "OUT.html", requires = "text")]
    html: Option<PathBuf>,
}

pub fn run(a: Args, g: &Globals) -> Result<ExitCode> {
    match &a.text {
        Some(t) => text(&a, t, g)?,
        None => tabular(&a)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Which rows of the data are explained.
enum Selection {
    Row(usize),
    TestSet,
    All,
}

impl Selection {
    fn describe(&self) -> String {
        match self {
            Selection::Row(n) => format!("row {n}"),
            Selection::TestSet => "the test rows (position % 5 == 0)".into(),
            Selection::All => "every row".into(),
        }
    }
}

fn tabular(a: &Args) -> Result<()> {
    let model_path = a.model.as_deref().expect("clap: --model without --text");
    let data = a.data.as_deref().expect("clap: --data without --text");
    let model = load_tabular_model(model_path)?;
    let table = Table::read_csv(data)
        .with_context(|| format!("cannot read the data to explain {}", data.display()))?;
    let enc = model.encode(&table).with_context(|| {
        format!(
            "cannot apply the model {} to {}: the data must have the columns the model was trained on",
            model_path.display(),
            data.display()
        )
    })?;
    for u in &enc.unknown {
        eprintln!(
            "warning: {} row(s) of {} have `{}` = `{}`, a category the model never saw: encoded as all zeros",
            u.rows,
            data.display(),
            u.column,
            u.value
        );
    }
    let selection = match (a.row, a.all) {
        (Some(n), _) => Selection::Row(n),
        (None, true) => Selection::All,
        (None, false) => Selection::TestSet,
    };
    let positions: Vec<usize> = match selection {
        Selection::Row(n) => {
            if n >= table.len() {
                anyhow::bail!(
                    "--row {n} does not exist: {} has {} rows after dropping {} with a missing cell \
                     (positions 0 to {})",
                    data.display(),
                    table.len(),
                    table.dropped_missing,
                    table.len().saturating_sub(1)
                );
            }
            vec![n]
        }
        Selection::TestSet => (0..table.len()).filter(|&p| pipeline::is_test(p)).collect(),
        Selection::All => (0..table.len()).collect(),
    };
    if positions.is_empty() {
        anyhow::bail!(
            "{} has no rows to explain (after dropping {} with a missing cell)",
            data.display(),
            table.dropped_missing
        );
    }
    let x = enc.x.select(Axis(0), &positions);
    let pre = &model.preprocessor;
    let (groups, columns) = (pre.feature_groups(), pre.source_columns());
    let kernel_opts = KernelOptions {
        nsamples: NSamples::Fixed(a.nsamples),
        seed: a.seed,
        ..Default::default()
    };

    let (per_feature, by_column, background) = match a.method {
        Method::Linear => {
            let e = model
                .explain_linear(x.view())
                .context("linear SHAP failed")?;
            let by_column = e.grouped(&groups, &columns)?;
            let bg = format!(
                "the model's training means ({} rows of {})",
                model.training.rows_train, model.training.source
            );
            (Some(e), by_column, bg)
        }
        Method::Kernel => {
            eprintln!(
                "KernelSHAP of {} row(s): a k-means background of {} centres, then {} coalitions per row…",
                positions.len(),
                a.background,
                a.nsamples
            );
            let (bg, note) = background_of(&model, &table, &enc.x, a.background, data)?;
            let e = KernelExplainer::new(&model, bg, Link::Logit, model.feature_names.clone())
                .context("cannot set up KernelSHAP")?
                .explain(x.view(), &kernel_opts)
                .context("KernelSHAP failed")?;
            let by_column = e.grouped(&groups, &columns)?;
            (Some(e), by_column, note)
        }
        Method::Exact => {
            if columns.len() > MAX_EXACT_PLAYERS {
                anyhow::bail!(
                    "--method exact enumerates 2^{} coalitions of the model's {} source columns; at \
                     most {MAX_EXACT_PLAYERS} are supported: use --method kernel (or linear)",
                    columns.len(),
                    columns.len()
                );
            }
            eprintln!(
                "Exact Shapley values of {} row(s): a k-means background of {} centres, then all {} \
                 coalitions of the {} source columns per row…",
                positions.len(),
                a.background,
                1u64 << columns.len(),
                columns.len()
            );
            let (bg, note) = background_of(&model, &table, &enc.x, a.background, data)?;
            let e = exact_tabular(
                &model,
                &bg,
                Link::Logit,
                x.view(),
                Some((groups.as_slice(), columns.as_slice())),
                &model.feature_names,
            )
            .context("exact Shapley values failed")?;
            (None, e, note)
        }
    };

    let plots = match &a.plots {
        Some(dir) => write_plots(dir, &selection, per_feature.as_ref(), &by_column, a.top)?,
        None => Vec::new(),
    };
    let header = format!(
        "{} of {} of {} ({} row(s)), in log-odds of `{}` = `{}`; background: {}",
        a.method.describe(),
        selection.describe(),
        data.display(),
        positions.len(),
        model.target,
        model.positive,
        background
    );
    if a.json {
        let mut v = json!({
            "model": model_path,
            "data": data,
            "method": by_column.method,
            "space": by_column.space,
            "background": background,
            "rows": positions,
            "base_value": by_column.base_value,
            "outputs": by_column.outputs,
            "max_additivity_error": by_column.max_additivity_error(),
            "columns": section(&by_column),
            "plots": plots,
        });
        if let Some(e) = &per_feature {
            v["features"] = section(e);
            v["max_additivity_error"] = json!(e
                .max_additivity_error()
                .max(by_column.max_additivity_error()));
        }
        if a.method == Method::Kernel {
            v["nsamples"] = json!(a.nsamples);
            v["seed"] = json!(a.seed);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("{header}");
    let additivity = per_feature
        .as_ref()
        .map_or(0.0, Explanation::max_additivity_error)
        .max(by_column.max_additivity_error());
    match selection {
        Selection::Row(n) => print!("{}", row_table(&by_column, &table, n, a.top)),
        _ => {
            print!("{}", importance_table(&by_column, "source column", a.top));
            if let Some(e) = &per_feature {
                print!("{}", importance_table(e, "model column", a.top));
            }
        }
    }
    println!(
        "additivity: base value + Σ SHAP = model output, max |error| {additivity:.1e} over {} row(s)",
        positions.len()
    );
    for p in &plots {
        println!("Wrote {}", p.display());
    }
    Ok(())
}

/// The `shap.kmeans` summary of the data's training-split rows, and a note
/// saying what it is (and whether it is the model's own training data).
fn background_of(
    model: &TabularModel,
    table: &Table,
    x_all: &Array2<f64>,
    k: usize,
    data: &Path,
) -> Result<(Background, String)> {
    let train: Vec<usize> = (0..table.len())
        .filter(|&p| !pipeline::is_test(p))
        .collect();
    if train.len() != model.training.rows_train {
        eprintln!(
            "warning: the model was trained on {} rows of {}, but {} has {} training-split rows: \
             the background summarises {}'s rows, not the model's training data",
            model.training.rows_train,
            model.training.source,
            data.display(),
            train.len(),
            data.display()
        );
    }
    let bg = Background::kmeans(x_all.select(Axis(0), &train).view(), k).with_context(|| {
        format!(
            "cannot summarise the {} training-split rows of {} into {k} k-means centres: pass a \
             smaller --background",
            train.len(),
            data.display()
        )
    })?;
    let note = format!(
        "k-means summary ({} weighted centres) of the {} training-split rows of {}",
        bg.data.nrows(),
        train.len(),
        data.display()
    );
    Ok((bg, note))
}

/// JSON of one explanation level: names, values per row, importance.
fn section(e: &Explanation) -> serde_json::Value {
    json!({
        "names": e.feature_names,
        "shap_values": e.values.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        "importance": e.importance(),
    })
}

/// Global importance (mean |SHAP|), the `top` largest.
fn importance_table(e: &Explanation, what: &str, top: usize) -> String {
    let mut g = Grid::new();
    g.load_preset(UTF8_FULL_CONDENSED)
        .set_header(vec![what.to_string(), format!("mean |SHAP| ({})", e.space)]);
    let imp = e.importance();
    for i in imp.iter().take(top) {
        g.add_row(vec![i.feature.clone(), format!("{:.4}", i.mean_abs_shap)]);
    }
    format!(
        "Global importance by {what} (top {} of {}):\n{g}\n",
        imp.len().min(top),
        imp.len()
    )
}

/// One row's SHAP values by source column with the row's raw values, largest
/// |SHAP| first, the rest summed; then base value and output.
fn row_table(e: &Explanation, table: &Table, position: usize, top: usize) -> String {
    let phi = e.values.row(0);
    let mut order: Vec<usize> = (0..phi.len()).collect();
    order.sort_by(|&i, &j| phi[j].abs().total_cmp(&phi[i].abs()));
    let mut g = Grid::new();
    g.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "source column",
        "value",
        &format!("SHAP ({})", e.space),
    ]);
    for &j in order.iter().take(top) {
        let name = &e.feature_names[j];
        let value = table
            .columns
            .iter()
            .position(|c| c == name)
            .map_or(String::new(), |c| table.rows[position][c].clone());
        g.add_row(vec![name.clone(), value, format!("{:+.4}", phi[j])]);
    }
    if order.len() > top {
        let rest: f64 = order[top..].iter().map(|&j| phi[j]).sum();
        g.add_row(vec![
            format!("{} other columns", order.len() - top),
            String::new(),
            format!("{rest:+.4}"),
        ]);
    }
    let p = |z: f64| 1.0 / (1.0 + (-z).exp());
    format!(
        "Row {position} (line {}):\n{g}\nbase value {:.4} (P = {:.4}) + Σ SHAP {:+.4} = f(x) {:.4} (P = {:.4})\n",
        table.lines[position],
        e.base_value,
        p(e.base_value),
        phi.sum(),
        e.outputs[0],
        p(e.outputs[0])
    )
}

/// Writes waterfall (one row only), bar and beeswarm plots, each as SVG and as
/// the same drawing rasterized to PNG; returns their paths.
fn write_plots(
    dir: &Path,
    selection: &Selection,
    per_feature: Option<&Explanation>,
    by_column: &Explanation,
    top: usize,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the plots folder {}", dir.display()))?;
    let mut svgs = Vec::new();
    if let Selection::Row(_) = selection {
        svgs.push(("waterfall", plot::waterfall_svg(by_column, 0, top)?));
    }
    svgs.push(("bar", plot::bar_svg(by_column, top)?));
    // Per model column where there is one: its values colour the dots.
    svgs.push((
        "beeswarm",
        plot::beeswarm_svg(per_feature.unwrap_or(by_column), top)?,
    ));
    let mut paths = Vec::new();
    for (name, svg) in svgs {
        paths.extend(
            roadmap_common::plot::save_svg_and_png(dir, name, &svg)
                .with_context(|| format!("cannot write the {name} plot"))?,
        );
    }
    Ok(paths)
}

fn text(a: &Args, text: &str, g: &Globals) -> Result<()> {
    let chars = text.chars().count();
    if chars > roadmap_sentiment::MAX_TEXT_CHARS {
        anyhow::bail!(
            "the text is {chars} characters, over the sentiment model's limit of {}",
            roadmap_sentiment::MAX_TEXT_CHARS
        );
    }
    let (dir, model) = load_sentiment_model(a.model.as_deref(), g)?;
    let opts = TextShapOptions {
        kernel: KernelOptions {
            nsamples: NSamples::Fixed(a.nsamples),
            seed: a.seed,
            ..Default::default()
        },
        ..Default::default()
    };
    let e = explain_text(&model, text, &opts).with_context(|| {
        format!(
            "cannot explain the text with the model in {}",
            dir.display()
        )
    })?;
    if let Some(path) = &a.html {
        let page = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Token SHAP values</title></head>\
             <body style=\"max-width: 900px; margin: 2em auto\">\n<h1 style=\"font-family: sans-serif\">Why the \
             sentiment model scored this text</h1>\n{}<p style=\"font-family: sans-serif; font-size: 90%\">Red \
             tokens push towards positive, blue towards negative; hover for the value (log-odds). Model: \
             <code>{}</code></p>\n</body></html>\n",
            plot::render_text_html(&e),
            html_escape::encode_text(&dir.display().to_string())
        );
        write_file(path, &page)?;
        if !a.json {
            eprintln!("HTML written to {}", path.display());
        }
    }
    if a.json {
        let mut v = serde_json::to_value(&e)?;
        v["additivity_error"] = json!(e.additivity_error());
        v["model"] = json!(dir);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let color = plot::color_from_env() && std::io::stdout().is_terminal();
        print!("{}", plot::render_text_terminal(&e, color));
    }
    Ok(())
}
