//! Phase 1, the learner's side: the exported split and its instructions.

use std::path::Path;

use anyhow::{Context, Result};
use roadmap_common::dataset::Dataset;

/// Writes `data` as CSV with a header; the target column only when `with_target`.
pub(super) fn write_csv(path: &Path, data: &Dataset, with_target: bool) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut header = data.feature_names.clone();
    if with_target {
        header.push(data.target_name.clone());
    }
    w.write_record(&header)?;
    for (row, &label) in data.x.rows().into_iter().zip(&data.y) {
        // `{}` on f64 prints the shortest text that parses back to the same number.
        let mut rec: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        if with_target {
            rec.push(label.to_string());
        }
        w.write_record(&rec)?;
    }
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub(super) fn export_readme(train: &Dataset, test: &Dataset) -> String {
    format!(
        "Phase 1 milestone: logistic regression from scratch\n\
         ===================================================\n\n\
         Data: Wisconsin Diagnostic Breast Cancer (UCI, CC BY 4.0), as shipped in scikit-learn.\n\
         Each row describes a breast mass from 30 measurements of its cell nuclei.\n\
         target: 1 = benign, 0 = malignant.\n\n\
         train.csv  {} rows: the 30 feature columns and `target` (header row included).\n\
         test.csv   {} rows: the same 30 feature columns, no target.\n\
         (A stratified 80/20 split with seed 42; the test labels stay with `roadmap`.)\n\n\
         Your task: implement logistic regression yourself (sigmoid, log-loss, its gradient,\n\
         gradient descent). Standardise each feature with the mean and standard deviation of\n\
         train.csv (never of test.csv), train on train.csv, then predict test.csv.\n\n\
         What to submit: a text file with exactly {} lines, one per test.csv row in the same order,\n\
         each the predicted probability that the row is class 1 (benign), a number in [0, 1].\n\
         A header line (e.g. `probability`) is allowed. Then run:\n\n\
         \x20   roadmap verify phase1 --predictions YOUR_FILE\n\n\
         It reports accuracy, precision, recall, F1, ROC AUC and log-loss, records the result,\n\
         and passes when accuracy >= 0.95 and ROC AUC >= 0.98 (the criteria in roadmap.toml).\n",
        train.len(),
        test.len(),
        test.len()
    )
}
