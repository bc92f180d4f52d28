//! The tabular model the audit runs on: cleaning, a deterministic split,
//! preprocessing, and L2 logistic regression fitted to the exact optimum.
//!
//! Every step is fixed so that any tool (pandas + scikit-learn, R, a
//! spreadsheet) reproduces the same model:
//!
//! 1. **Rows**: [`Table`] drops rows with a missing cell and numbers the rest
//!    `0, 1, 2, …` (the *position*).
//! 2. **Split**: a row is a test row iff `position % 5 == 0` (20 %). No random
//!    generator, so nothing to seed or to disagree about.
//! 3. **Numeric columns**: standardised `z = (x − μ) / σ` with the *training*
//!    mean μ and *population* standard deviation σ = √(Σ(x − μ)²/n)
//!    (`sklearn.preprocessing.StandardScaler`; a constant column gets σ = 1).
//! 4. **Categorical columns**: fully one-hot encoded (one 0/1 column per
//!    category, no category dropped), the categories being those of the
//!    training rows sorted byte-wise (`sorted()` of Python strings compares code
//!    points, the same order as UTF-8 bytes) —
//!    `OneHotEncoder(categories=sorted, handle_unknown="ignore")`. A category
//!    first met after training encodes as all zeros and is reported.
//! 5. **Model**: scikit-learn's objective `½‖w‖² + C·Σᵢ logloss(yᵢ, σ(w·xᵢ + b))`
//!    with `C = 1` and the intercept unpenalised, minimised by phase 1's Newton
//!    solver (`roadmap_logreg`) until `max |∇F| ≤ 10⁻¹⁰`: the exact optimum,
//!    which `LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12)`
//!    reaches too (compared in `tests/sklearn_reference.rs`).
//! 6. **Prediction**: `score = σ(w·x + b)`, `y_pred = 1` iff `w·x + b > 0`
//!    (scikit-learn's `predict`: a score of exactly 0.5 is class 0).
//!
//! The model is saved as one JSON file with its preprocessing and the training
//! design's column means (the background of linear SHAP), and refuses data
//! whose columns do not match.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use roadmap_common::dataset::StandardScaler;
use roadmap_logreg::{LogisticRegression, Newton, Solver};
use serde::{Deserialize, Serialize};

use crate::error::{AuditError, Result};
use crate::table::Table;

/// Identifies the model file format, so a wrong JSON file fails loudly.
pub const MODEL_FORMAT: &str = "roadmap-audit/tabular-1";
/// The file name the CLI uses for the model in its output folder.
pub const MODEL_FILE: &str = "model.json";
/// The file name the CLI uses for the test predictions.
pub const PREDICTIONS_FILE: &str = "predictions.csv";

/// The `adult-census` asset (see `assets.toml`) and its file.
pub const ADULT_ASSET: &str = "adult-census";
pub const ADULT_FILE: &str = "adult.csv";
/// Adult's continuous columns, as documented with the UCI data set.
pub const ADULT_NUMERIC: [&str; 6] = [
    "age",
    "fnlwgt",
    "education-num",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
];
/// Adult's discrete columns (the target excluded).
pub const ADULT_CATEGORICAL: [&str; 8] = [
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native-country",
];
pub const ADULT_TARGET: &str = "income-per-year";
pub const ADULT_POSITIVE: &str = ">50K";
/// The protected attributes the audit looks at by default.
pub const ADULT_SENSITIVE: [&str; 2] = ["sex", "race"];

/// Whether the row at `position` (after dropping rows with a missing cell) is a test row.
pub fn is_test(position: usize) -> bool {
    position.is_multiple_of(5)
}

/// Which columns play which role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabularSpec {
    pub target: String,
    /// The target value that is class 1.
    pub positive: String,
    pub numeric: Vec<String>,
    pub categorical: Vec<String>,
    /// Columns copied into the predictions file for the audit (may also be features).
    pub sensitive: Vec<String>,
}

impl TabularSpec {
    /// Adult's documented columns: 6 numeric, 8 categorical, target
    /// `income-per-year` with `>50K` positive, sensitive `sex` and `race`.
    pub fn adult() -> Self {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect();
        TabularSpec {
            target: ADULT_TARGET.into(),
            positive: ADULT_POSITIVE.into(),
            numeric: s(&ADULT_NUMERIC),
            categorical: s(&ADULT_CATEGORICAL),
            sensitive: s(&ADULT_SENSITIVE),
        }
    }

    /// Fills in the feature columns the caller did not name: every other
    /// column except the target, numeric when all its cells parse as finite
    /// numbers, categorical otherwise. Named lists are kept as given.
    pub fn infer(
        table: &Table,
        target: &str,
        positive: &str,
        numeric: Option<Vec<String>>,
        categorical: Option<Vec<String>>,
        sensitive: Vec<String>,
    ) -> Result<Self> {
        table.column_indices(&[target.to_string()], " (the --target column)")?;
        let named: BTreeSet<&String> = numeric.iter().chain(categorical.iter()).flatten().collect();
        let rest: Vec<(usize, &String)> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_str() != target && !named.contains(c))
            .collect();
        let numeric = numeric.unwrap_or_else(|| {
            rest.iter()
                .filter(|(i, _)| table.is_numeric(*i))
                .map(|(_, c)| c.to_string())
                .collect()
        });
        let categorical = categorical.unwrap_or_else(|| {
            rest.iter()
                .filter(|(_, c)| !numeric.contains(c))
                .map(|(_, c)| c.to_string())
                .collect()
        });
        let spec = TabularSpec {
            target: target.into(),
            positive: positive.into(),
            numeric,
            categorical,
            sensitive,
        };
        spec.check(table)?;
        Ok(spec)
    }

    /// Checks the roles are consistent and every named column exists.
    pub fn check(&self, table: &Table) -> Result<()> {
        let mut seen = BTreeSet::new();
        for c in self.numeric.iter().chain(&self.categorical) {
            if c == &self.target {
                return Err(AuditError::TargetIsFeature { target: c.clone() });
            }
            if !seen.insert(c) {
                return Err(AuditError::ColumnListedTwice { column: c.clone() });
            }
        }
        if seen.is_empty() {
            return Err(AuditError::NoFeatures);
        }
        let mut all: Vec<String> = vec![self.target.clone()];
        all.extend(self.numeric.iter().cloned());
        all.extend(self.categorical.iter().cloned());
        all.extend(self.sensitive.iter().cloned());
        table.column_indices(&all, "")?;
        Ok(())
    }
}

/// One categorical column and its training categories, sorted byte-wise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalColumn {
    pub name: String,
    pub categories: Vec<String>,
}

/// Standardisation of the numeric columns and one-hot encoding of the categorical ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub numeric: Vec<String>,
    /// Training mean and population std of each numeric column.
    pub scaler: StandardScaler,
    pub categorical: Vec<CategoricalColumn>,
}

/// A category met in data that the training rows did not have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownCategory {
    pub column: String,
    pub value: String,
    /// How many rows carried it (they encode as all zeros in that column's block).
    pub rows: usize,
}

/// A design matrix and what was odd about producing it.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// Rows × features: numeric (standardised) first, then one-hot blocks.
    pub x: Array2<f64>,
    pub unknown: Vec<UnknownCategory>,
}

impl Preprocessor {
    /// Learns means, scales and categories from the given rows of `table`.
    pub fn fit(table: &Table, spec: &TabularSpec, rows: &[usize]) -> Result<Self> {
        let raw = numeric_matrix(table, &spec.numeric, rows)?;
        let scaler = if spec.numeric.is_empty() {
            StandardScaler {
                mean: vec![],
                scale: vec![],
            }
        } else {
            StandardScaler::fit(raw.view()).map_err(|_| AuditError::NoRows {
                source_name: table.source_name.clone(),
                why: " for training".into(),
            })?
        };
        let idx = table.column_indices(&spec.categorical, "")?;
        let categorical = spec
            .categorical
            .iter()
            .zip(idx)
            .map(|(name, i)| {
                let set: BTreeSet<&str> = rows.iter().map(|&r| table.rows[r][i].as_str()).collect();
                CategoricalColumn {
                    name: name.clone(),
                    // BTreeSet<&str> iterates in byte-wise order.
                    categories: set.into_iter().map(str::to_string).collect(),
                }
            })
            .collect();
        Ok(Preprocessor {
            numeric: spec.numeric.clone(),
            scaler,
            categorical,
        })
    }

    /// Number of design-matrix columns.
    pub fn n_features(&self) -> usize {
        self.numeric.len()
            + self
                .categorical
                .iter()
                .map(|c| c.categories.len())
                .sum::<usize>()
    }

    /// Design column names: numeric names, then `column=category`.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = self.numeric.clone();
        for c in &self.categorical {
            names.extend(c.categories.iter().map(|v| format!("{}={}", c.name, v)));
        }
        names
    }

    /// The source columns, in design order: numeric, then categorical.
    pub fn source_columns(&self) -> Vec<String> {
        let mut names = self.numeric.clone();
        names.extend(self.categorical.iter().map(|c| c.name.clone()));
        names
    }

    /// For each design column, the index of its source column in [`Self::source_columns`].
    pub fn feature_sources(&self) -> Vec<usize> {
        let mut out: Vec<usize> = (0..self.numeric.len()).collect();
        for (k, c) in self.categorical.iter().enumerate() {
            out.extend(std::iter::repeat_n(
                self.numeric.len() + k,
                c.categories.len(),
            ));
        }
        out
    }

    /// The design columns of each source column (one for a numeric column, the
    /// one-hot block for a categorical one): the feature groups of grouped SHAP.
    pub fn feature_groups(&self) -> Vec<Vec<usize>> {
        let mut groups = vec![Vec::new(); self.numeric.len() + self.categorical.len()];
        for (j, s) in self.feature_sources().into_iter().enumerate() {
            groups[s].push(j);
        }
        groups
    }

    /// Every column the preprocessing reads.
    pub fn required_columns(&self) -> Vec<String> {
        self.source_columns()
    }

    /// Encodes the given rows (all rows when `None`) of `table`.
    pub fn transform(&self, table: &Table, rows: Option<&[usize]>) -> Result<Encoded> {
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..table.len()).collect();
                &all
            }
        };
        let missing: Vec<String> = self
            .required_columns()
            .into_iter()
            .filter(|c| !table.columns.contains(c))
            .collect();
        if !missing.is_empty() {
            return Err(AuditError::ModelMismatch {
                problem: format!("{} has no column(s) {:?}", table.source_name, missing),
                expected: self.required_columns(),
                numeric: self.numeric.clone(),
                categorical: self.categorical.iter().map(|c| c.name.clone()).collect(),
            });
        }
        let mut x = Array2::<f64>::zeros((rows.len(), self.n_features()));
        let raw = numeric_matrix(table, &self.numeric, rows)?;
        if !self.numeric.is_empty() {
            let z = self
                .scaler
                .transform(raw.view())
                .map_err(|e| AuditError::ModelMismatch {
                    problem: e.to_string(),
                    expected: self.required_columns(),
                    numeric: self.numeric.clone(),
                    categorical: self.categorical.iter().map(|c| c.name.clone()).collect(),
                })?;
            x.slice_mut(ndarray::s![.., ..self.numeric.len()])
                .assign(&z);
        }
        let mut unknown: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut offset = self.numeric.len();
        for c in &self.categorical {
            let i = table
                .columns
                .iter()
                .position(|n| n == &c.name)
                .expect("checked above");
            for (out_row, &r) in rows.iter().enumerate() {
                let v = &table.rows[r][i];
                match c.categories.binary_search_by(|k| k.as_str().cmp(v)) {
                    Ok(k) => x[[out_row, offset + k]] = 1.0,
                    Err(_) => *unknown.entry((c.name.clone(), v.clone())).or_default() += 1,
                }
            }
            offset += c.categories.len();
        }
        Ok(Encoded {
            x,
            unknown: unknown
                .into_iter()
                .map(|((column, value), rows)| UnknownCategory {
                    column,
                    value,
                    rows,
                })
                .collect(),
        })
    }
}

/// The named numeric columns of the given rows, parsed.
fn numeric_matrix(table: &Table, names: &[String], rows: &[usize]) -> Result<Array2<f64>> {
    let idx = table.column_indices(names, "")?;
    let mut x = Array2::<f64>::zeros((rows.len(), names.len()));
    for (out_row, &r) in rows.iter().enumerate() {
        for (j, &c) in idx.iter().enumerate() {
            let cell = &table.rows[r][c];
            x[[out_row, j]] = cell
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| AuditError::NotNumeric {
                    source_name: table.source_name.clone(),
                    row: r,
                    line: table.lines[r],
                    column: names[j].clone(),
                    value: cell.clone(),
                })?;
        }
    }
    Ok(x)
}

/// The target as 0/1 (1 = `positive`), checking it is binary and `positive` occurs.
pub fn binary_target(table: &Table, target: &str, positive: &str) -> Result<Vec<u8>> {
    let i = table.column_indices(&[target.to_string()], " (the target column)")?[0];
    let seen: BTreeSet<&str> = table.column(i).collect();
    let seen_list = || seen.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if seen.len() > 2 {
        return Err(AuditError::TooManyLabels {
            source_name: table.source_name.clone(),
            column: target.into(),
            seen: seen_list(),
        });
    }
    if !seen.contains(positive) {
        return Err(AuditError::PositiveNotFound {
            source_name: table.source_name.clone(),
            target: target.into(),
            positive: positive.into(),
            seen: seen_list(),
        });
    }
    Ok(table.column(i).map(|v| u8::from(v == positive)).collect())
}

/// How the fit went, recorded in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub source: String,
    pub rows_train: usize,
    pub rows_test: usize,
    /// Rows dropped before the split because a cell was missing.
    pub dropped_missing: usize,
    pub newton_iterations: usize,
    pub converged: bool,
    /// `max |∂F/∂θ|` of the normalised objective at the returned weights.
    pub grad_max: f64,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
}

/// A trained model with its preprocessing: everything needed to score raw rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabularModel {
    /// Always [`MODEL_FORMAT`].
    pub format: String,
    pub target: String,
    pub positive: String,
    pub preprocessor: Preprocessor,
    /// Design column names, in weight order.
    pub feature_names: Vec<String>,
    /// Weights on the encoded (standardised / one-hot) scale.
    pub weights: Vec<f64>,
    pub intercept: f64,
    /// Inverse regularisation strength (scikit-learn's `C`).
    pub c: f64,
    /// Sensitive columns copied into predictions by default.
    pub sensitive: Vec<String>,
    /// Mean of each design column over the training rows (linear SHAP's baseline).
    pub train_feature_means: Vec<f64>,
    pub training: TrainingInfo,
}

/// One prediction per row, with the columns the audit needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Row position in the cleaned table.
    pub position: Vec<usize>,
    pub y_true: Vec<u8>,
    pub y_pred: Vec<u8>,
    /// `P(y = 1)`.
    pub score: Vec<f64>,
    /// `(column name, value per row)` for each sensitive column.
    pub sensitive: Vec<(String, Vec<String>)>,
}

/// The columns every predictions file starts with.
pub const PREDICTION_COLUMNS: [&str; 4] = ["position", "y_true", "y_pred", "score"];

impl Predictions {
    /// Writes `position, y_true, y_pred, score` and the sensitive columns as CSV
    /// (scores in Rust's shortest round-trip form: reading them back gives the same f64).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        if let Some((name, _)) = self
            .sensitive
            .iter()
            .find(|(n, _)| PREDICTION_COLUMNS.contains(&n.as_str()))
        {
            return Err(AuditError::Sensitive {
                column: name.clone(),
                problem: format!(
                    "clashes with a predictions column ({PREDICTION_COLUMNS:?}); rename it in the data"
                ),
            });
        }
        let file = std::fs::File::create(path).map_err(|e| AuditError::io("write", path, e))?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
        let csv_err = |source| AuditError::Csv {
            path: path.display().to_string(),
            source,
        };
        let mut header: Vec<&str> = PREDICTION_COLUMNS.to_vec();
        header.extend(self.sensitive.iter().map(|(n, _)| n.as_str()));
        w.write_record(&header).map_err(csv_err)?;
        for i in 0..self.position.len() {
            let mut rec = vec![
                self.position[i].to_string(),
                self.y_true[i].to_string(),
                self.y_pred[i].to_string(),
                self.score[i].to_string(),
            ];
            rec.extend(self.sensitive.iter().map(|(_, v)| v[i].clone()));
            w.write_record(&rec).map_err(csv_err)?;
        }
        w.into_inner()
            .map_err(|e| AuditError::io("write", path, e.into_error()))?
            .flush()
            .map_err(|e| AuditError::io("write", path, e))
    }

    /// The same rows as an audit input (labels 0/1, positive = 1).
    pub fn to_audit_input(&self) -> crate::fairness::AuditInput {
        crate::fairness::AuditInput {
            source_name: "predictions".into(),
            y_true: self.y_true.clone(),
            y_pred: self.y_pred.clone(),
            scores: Some(self.score.clone()),
            sensitive: self
                .sensitive
                .iter()
                .map(|(n, v)| crate::fairness::SensitiveColumn {
                    name: n.clone(),
                    values: v.clone(),
                })
                .collect(),
        }
    }
}

/// Everything training produces: the model, the split's matrices and the test predictions.
#[derive(Debug, Clone)]
pub struct Trained {
    pub model: TabularModel,
    /// Positions of the training and test rows in the cleaned table.
    pub train_rows: Vec<usize>,
    pub test_rows: Vec<usize>,
    pub x_train: Array2<f64>,
    pub y_train: Vec<u8>,
    pub x_test: Array2<f64>,
    pub y_test: Vec<u8>,
    pub test_predictions: Predictions,
    /// Things the user should know (unknown categories in the test rows, no convergence).
    pub warnings: Vec<String>,
}

/// Trains the model of the module docs with inverse regularisation `c`
/// (scikit-learn's `C`; the roadmap uses 1).
pub fn train(table: &Table, spec: &TabularSpec, c: f64) -> Result<Trained> {
    spec.check(table)?;
    if c.is_nan() || c <= 0.0 {
        return Err(AuditError::BadParameter {
            what: "C",
            expected: "a positive number",
            got: c.to_string(),
        });
    }
    let y = binary_target(table, &spec.target, &spec.positive)?;
    let (test_rows, train_rows): (Vec<usize>, Vec<usize>) =
        (0..table.len()).partition(|&p| is_test(p));
    if train_rows.is_empty() || test_rows.is_empty() {
        return Err(AuditError::NoRows {
            source_name: table.source_name.clone(),
            why: format!(
                " for both splits: {} rows after dropping missing cells, at least 2 needed (row 0 is the first test row)",
                table.len()
            ),
        });
    }
    let y_train: Vec<u8> = train_rows.iter().map(|&r| y[r]).collect();
    let y_test: Vec<u8> = test_rows.iter().map(|&r| y[r]).collect();
    let ones = y_train.iter().filter(|&&v| v == 1).count();
    if ones == 0 || ones == y_train.len() {
        return Err(AuditError::SingleClass { class: y_train[0] });
    }
    let pre = Preprocessor::fit(table, spec, &train_rows)?;
    let x_train = pre.transform(table, Some(&train_rows))?.x;
    let test_enc = pre.transform(table, Some(&test_rows))?;
    let fitted = LogisticRegression {
        c,
        solver: Solver::Newton(Newton::default()),
    }
    .fit(x_train.view(), &y_train)?;
    let means = x_train.mean_axis(Axis(0)).expect("training rows exist");
    let mut warnings: Vec<String> = test_enc
        .unknown
        .iter()
        .map(|u| {
            format!(
                "{} test row(s) have `{}` = `{}`, a category absent from the training rows: encoded as all zeros",
                u.rows, u.column, u.value
            )
        })
        .collect();
    if !fitted.trace.converged {
        warnings.push(format!(
            "Newton stopped after {} iterations with max |gradient| {:.2e} (> 1e-10)",
            fitted.trace.iterations, fitted.trace.grad_max
        ));
    }
    let mut model = TabularModel {
        format: MODEL_FORMAT.into(),
        target: spec.target.clone(),
        positive: spec.positive.clone(),
        feature_names: pre.feature_names(),
        preprocessor: pre,
        weights: fitted.weights.to_vec(),
        intercept: fitted.intercept,
        c,
        sensitive: spec.sensitive.clone(),
        train_feature_means: means.to_vec(),
        training: TrainingInfo {
            source: table.source_name.clone(),
            rows_train: train_rows.len(),
            rows_test: test_rows.len(),
            dropped_missing: table.dropped_missing,
            newton_iterations: fitted.trace.iterations,
            converged: fitted.trace.converged,
            grad_max: fitted.trace.grad_max,
            train_accuracy: 0.0,
            test_accuracy: 0.0,
        },
    };
    model.training.train_accuracy = model.accuracy(x_train.view(), &y_train);
    model.training.test_accuracy = model.accuracy(test_enc.x.view(), &y_test);
    let test_predictions =
        model.predictions_from(table, &test_rows, &test_enc.x, &y_test, &spec.sensitive)?;
    Ok(Trained {
        model,
        train_rows,
        test_rows,
        x_train,
        y_train,
        x_test: test_enc.x,
        y_test,
        test_predictions,
        warnings,
    })
}

impl TabularModel {
    /// Margins `z = w·x + b` (log-odds of class 1) of an encoded design matrix.
    pub fn decision_function(&self, x: ArrayView2<f64>) -> Array1<f64> {
        x.dot(&Array1::from(self.weights.clone())) + self.intercept
    }

    /// Share of rows of an encoded design matrix where `w·x + b > 0` matches the label.
    pub fn accuracy(&self, x: ArrayView2<f64>, y: &[u8]) -> f64 {
        let z = self.decision_function(x);
        z.iter()
            .zip(y)
            .filter(|(&z, &y)| u8::from(z > 0.0) == y)
            .count() as f64
            / y.len().max(1) as f64
    }

    /// `P(y = 1) = σ(w·x + b)` of an encoded design matrix.
    pub fn predict_proba_encoded(&self, x: ArrayView2<f64>) -> Array1<f64> {
        self.decision_function(x)
            .mapv(roadmap_logreg::objective::sigmoid)
    }

    /// Encodes raw rows of `table` with the saved preprocessing (checking the columns).
    pub fn encode(&self, table: &Table) -> Result<Encoded> {
        self.preprocessor.transform(table, None)
    }

    /// Scores every row of `table`; needs the target column for `y_true`.
    /// `sensitive` overrides the model's default sensitive columns.
    pub fn predict(&self, table: &Table, sensitive: Option<&[String]>) -> Result<Predictions> {
        let enc = self.encode(table)?;
        let y = binary_target(table, &self.target, &self.positive).map_err(|e| match e {
            AuditError::MissingColumns { .. } => AuditError::ModelMismatch {
                problem: format!(
                    "{} has no target column `{}` (needed for y_true in the predictions)",
                    table.source_name, self.target
                ),
                expected: self.preprocessor.required_columns(),
                numeric: self.preprocessor.numeric.clone(),
                categorical: self
                    .preprocessor
                    .categorical
                    .iter()
                    .map(|c| c.name.clone())
                    .collect(),
            },
            other => other,
        })?;
        let rows: Vec<usize> = (0..table.len()).collect();
        let sensitive = sensitive.unwrap_or(&self.sensitive);
        self.predictions_from(table, &rows, &enc.x, &y, sensitive)
    }

    fn predictions_from(
        &self,
        table: &Table,
        rows: &[usize],
        x: &Array2<f64>,
        y_true: &[u8],
        sensitive: &[String],
    ) -> Result<Predictions> {
        let idx = table.column_indices(sensitive, " (a sensitive column)")?;
        let z = self.decision_function(x.view());
        Ok(Predictions {
            position: rows.to_vec(),
            y_true: y_true.to_vec(),
            y_pred: z.iter().map(|&v| u8::from(v > 0.0)).collect(),
            score: z
                .iter()
                .map(|&v| roadmap_logreg::objective::sigmoid(v))
                .collect(),
            sensitive: sensitive
                .iter()
                .zip(idx)
                .map(|(n, i)| {
                    (
                        n.clone(),
                        rows.iter().map(|&r| table.rows[r][i].clone()).collect(),
                    )
                })
                .collect(),
        })
    }

    /// Writes the model as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("a TabularModel always serialises");
        std::fs::write(path, json + "\n").map_err(|e| AuditError::io("write the model to", path, e))
    }

    /// Reads a model written by [`TabularModel::save`], checking its format and shapes.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuditError::io("read the model from", path, e))?;
        let bad = |reason: String| AuditError::BadModel {
            path: path.to_path_buf(),
            reason,
        };
        let model: TabularModel = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if model.format != MODEL_FORMAT {
            return Err(bad(format!(
                "format `{}`, expected `{MODEL_FORMAT}`",
                model.format
            )));
        }
        let d = model.preprocessor.n_features();
        let p = &model.preprocessor;
        if model.weights.len() != d
            || model.feature_names != p.feature_names()
            || model.train_feature_means.len() != d
            || p.scaler.mean.len() != p.numeric.len()
            || p.scaler.scale.len() != p.numeric.len()
        {
            return Err(bad(format!(
                "{} weights, {} feature names and {} means for a preprocessing of {d} columns",
                model.weights.len(),
                model.feature_names.len(),
                model.train_feature_means.len()
            )));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let csv = "age,color,city,label\n\
                   30,red,b,yes\n40,blue,a,no\n50,red,a,yes\n20,green,b,no\n35,blue,b,yes\n\
                   45,red,a,no\n25,green,a,yes\n55,blue,b,no\n60,red,a,yes\n33,green,b,no\n";
        Table::parse(csv.as_bytes(), "t.csv").unwrap()
    }

    fn spec() -> TabularSpec {
        TabularSpec {
            target: "label".into(),
            positive: "yes".into(),
            numeric: vec!["age".into()],
            categorical: vec!["color".into(), "city".into()],
            sensitive: vec!["city".into()],
        }
    }

    #[test]
    fn split_is_position_mod_5_and_encoding_is_sorted_one_hot() {
        let t = table();
        let tr = train(&t, &spec(), 1.0).unwrap();
        assert_eq!(tr.test_rows, [0, 5]);
        assert_eq!(tr.train_rows.len(), 8);
        let p = &tr.model.preprocessor;
        assert_eq!(p.categorical[0].categories, ["blue", "green", "red"]);
        assert_eq!(
            tr.model.feature_names,
            [
                "age",
                "color=blue",
                "color=green",
                "color=red",
                "city=a",
                "city=b"
            ]
        );
        assert_eq!(p.feature_groups(), vec![vec![0], vec![1, 2, 3], vec![4, 5]]);
        // Training ages 40 50 20 35 25 55 60 33: mean 39.75.
        assert!((p.scaler.mean[0] - 39.75).abs() < 1e-12);
        let ages = [40.0, 50.0, 20.0, 35.0, 25.0, 55.0, 60.0, 33.0];
        assert_eq!(
            p.scaler.scale[0],
            roadmap_common::stats::std_population(&ages)
        );
        // Row 0 (test): age 30, red, b.
        let x0 = tr.x_test.row(0);
        assert!((x0[0] - (30.0 - 39.75) / p.scaler.scale[0]).abs() < 1e-12);
        assert_eq!(
            x0.slice(ndarray::s![1..]).to_vec(),
            [0.0, 0.0, 1.0, 0.0, 1.0]
        );
        assert_eq!(tr.test_predictions.position, [0, 5]);
        assert_eq!(tr.test_predictions.sensitive[0].1, ["b", "a"]);
    }

    #[test]
    fn model_round_trips_and_refuses_mismatched_data() {
        let t = table();
        let tr = train(&t, &spec(), 1.0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MODEL_FILE);
        tr.model.save(&path).unwrap();
        let back = TabularModel::load(&path).unwrap();
        assert_eq!(back, tr.model);
        let p = back.predict(&t, None).unwrap();
        assert_eq!(p.score.len(), 10);
        assert_eq!(p.score[0], tr.test_predictions.score[0]);

        let no_city = Table::parse("age,color,label\n30,red,yes\n".as_bytes(), "new.csv").unwrap();
        match back.predict(&no_city, None) {
            Err(AuditError::ModelMismatch { problem, .. }) => {
                assert!(problem.contains("city"), "{problem}")
            }
            other => panic!("{other:?}"),
        }
        let no_target = Table::parse("age,color,city\n30,red,a\n".as_bytes(), "new.csv").unwrap();
        assert!(matches!(
            back.predict(&no_target, None),
            Err(AuditError::ModelMismatch { .. })
        ));
        let unseen = Table::parse(
            "age,color,city,label\n30,purple,a,yes\n".as_bytes(),
            "new.csv",
        )
        .unwrap();
        let enc = back.encode(&unseen).unwrap();
        assert_eq!(enc.unknown[0].value, "purple");
        assert_eq!(
            enc.x.row(0).slice(ndarray::s![1..4]).to_vec(),
            [0.0, 0.0, 0.0]
        );

        std::fs::write(&path, r#"{"format":"other"}"#).unwrap();
        assert!(matches!(
            TabularModel::load(&path),
            Err(AuditError::BadModel { .. })
        ));
    }

    #[test]
    fn bad_targets_and_columns_are_specific_errors() {
        let t = table();
        let mut s = spec();
        s.positive = "Yes".into();
        assert!(matches!(
            train(&t, &s, 1.0),
            Err(AuditError::PositiveNotFound { .. })
        ));
        let mut s = spec();
        s.categorical.push("age".into());
        assert!(matches!(
            train(&t, &s, 1.0),
            Err(AuditError::ColumnListedTwice { .. })
        ));
        let mut s = spec();
        s.numeric.push("color".into());
        s.categorical.retain(|c| c != "color");
        assert!(matches!(
            train(&t, &s, 1.0),
            Err(AuditError::NotNumeric { .. })
        ));
        let three = Table::parse("a,label\n1,x\n2,y\n3,z\n".as_bytes(), "t.csv").unwrap();
        let s = TabularSpec::infer(&three, "label", "x", None, None, vec![]).unwrap();
        assert!(matches!(
            train(&three, &s, 1.0),
            Err(AuditError::TooManyLabels { .. })
        ));
    }

    #[test]
    fn infer_splits_numeric_from_categorical() {
        let s = TabularSpec::infer(&table(), "label", "yes", None, None, vec![]).unwrap();
        assert_eq!(s.numeric, ["age"]);
        assert_eq!(s.categorical, ["color", "city"]);
    }
}
