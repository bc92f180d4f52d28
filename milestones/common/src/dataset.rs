//! Tabular datasets for binary classification: loading, splitting, standardising.
//!
//! Every milestone that learns from a numeric table needs the same plumbing, and
//! getting it subtly wrong (a scaler fitted on the test rows, a split that loses
//! the class balance, a CSV cell silently read as 0) corrupts every number that
//! follows. So it lives here once:
//!
//! - [`read_csv`] / [`parse_csv`]: a numeric CSV with a header row and a named
//!   binary target column; errors name the line and the column.
//! - [`parse_sklearn_csv`]: scikit-learn's bundled format, whose first line holds
//!   counts instead of names (`569,30,malignant,benign`).
//! - [`stratified_split`] and [`stratified_kfold`]: seeded, class-balanced splits.
//! - [`StandardScaler`]: `(x − mean) / std` with statistics from the training rows only.

use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The 30 feature names of the Wisconsin Diagnostic Breast Cancer data, in file
/// order (scikit-learn's `load_breast_cancer().feature_names`; see
/// `data/breast_cancer/breast_cancer.rst`).
pub const BREAST_CANCER_FEATURES: [&str; 30] = [
    "mean radius",
    "mean texture",
    "mean perimeter",
    "mean area",
    "mean smoothness",
    "mean compactness",
    "mean concavity",
    "mean concave points",
    "mean symmetry",
    "mean fractal dimension",
    "radius error",
    "texture error",
    "perimeter error",
    "area error",
    "smoothness error",
    "compactness error",
    "concavity error",
    "concave points error",
    "symmetry error",
    "fractal dimension error",
    "worst radius",
    "worst texture",
    "worst perimeter",
    "worst area",
    "worst smoothness",
    "worst compactness",
    "worst concavity",
    "worst concave points",
    "worst symmetry",
    "worst fractal dimension",
];

/// What can go wrong reading or splitting a dataset. Line numbers are 1-based
/// and count the header, so they match what an editor shows.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name}: malformed CSV: {source}")]
    Csv {
        source_name: String,
        #[source]
        source: csv::Error,
    },
    #[error("{source_name}: the file is empty; expected a header row of column names")]
    NoHeader { source_name: String },
    #[error("{source_name}: no data rows after the header")]
    NoRows { source_name: String },
    #[error("{source_name}: target column `{target}` not found; the columns are: {available}. Pass the right name (e.g. --target COL)")]
    UnknownTarget {
        source_name: String,
        target: String,
        available: String,
    },
    #[error("{source_name}: column `{target}` is the target and no feature columns are left")]
    NoFeatures { source_name: String, target: String },
    #[error("{source_name}: line {line} has {found} fields but the header has {expected}")]
    RaggedRow {
        source_name: String,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("{source_name}: line {line}, column `{column}`: missing value (empty cell); fill it in or drop the row")]
    Missing {
        source_name: String,
        line: u64,
        column: String,
    },
    #[error("{source_name}: line {line}, column `{column}`: `{value}` is not a number")]
    NonNumeric {
        source_name: String,
        line: u64,
        column: String,
        value: String,
    },
    #[error("{source_name}: line {line}, target column `{column}`: `{value}` is not a binary label; the target must be 0 or 1")]
    NotBinary {
        source_name: String,
        line: u64,
        column: String,
        value: String,
    },
    #[error("{source_name}: every row of target `{column}` is {label}; a classifier needs both classes 0 and 1")]
    SingleClass {
        source_name: String,
        column: String,
        label: u8,
    },
    #[error("{source_name}: first line `{line}` is not a counts header `N_SAMPLES,N_FEATURES,CLASS0,CLASS1`")]
    BadCountsHeader { source_name: String, line: String },
    #[error("{source_name}: the header promises {expected} {what} but the file has {found}")]
    CountMismatch {
        source_name: String,
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("test fraction must be strictly between 0 and 1, got {0}")]
    BadTestFraction(f64),
    #[error("a test fraction of {fraction} of {rows} rows leaves the {which} split empty")]
    EmptySplit {
        fraction: f64,
        rows: usize,
        which: &'static str,
    },
    #[error("k-fold cross-validation needs at least 2 folds, got {0}")]
    TooFewFolds(usize),
    #[error(
        "{folds}-fold cross-validation needs at least {folds} rows, but there are only {rows}"
    )]
    FewerRowsThanFolds { rows: usize, folds: usize },
    #[error("the scaler was fitted on {expected} columns but got {found}")]
    ColumnMismatch { expected: usize, found: usize },
    #[error("cannot fit a scaler on zero rows")]
    EmptyFit,
}

/// A numeric feature matrix with a binary target.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// One name per column of `x`, in file order.
    pub feature_names: Vec<String>,
    /// Rows × features.
    pub x: Array2<f64>,
    /// One label per row, `0` or `1`.
    pub y: Vec<u8>,
    /// Name of the target column (`target` by default).
    pub target_name: String,
    /// Human names of class 0 and class 1, when the file says (scikit-learn format).
    pub class_names: Option<[String; 2]>,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        Dataset {
            feature_names: self.feature_names.clone(),
            x: self.x.select(Axis(0), indices),
            y: indices.iter().map(|&i| self.y[i]).collect(),
            target_name: self.target_name.clone(),
            class_names: self.class_names.clone(),
        }
    }

    /// Row counts of class 0 and class 1.
    pub fn class_counts(&self) -> [usize; 2] {
        let ones = self.y.iter().filter(|&&v| v == 1).count();
        [self.y.len() - ones, ones]
    }
}

/// Reads a numeric CSV file with a header row; `target` names the label column.
pub fn read_csv(path: &Path, target: &str) -> Result<Dataset, DatasetError> {
    let file = std::fs::File::open(path).map_err(|source| DatasetError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_csv(file, target, &path.display().to_string())
}

/// Parses a numeric CSV with a header row. Every column except `target` is a
/// feature; `target` must hold `0`/`1` (also written `0.0`/`1.0`) and both
/// classes must occur. `source_name` appears in error messages (a file name).
pub fn parse_csv<R: Read>(
    reader: R,
    target: &str,
    source_name: &str,
) -> Result<Dataset, DatasetError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let csv_err = |source| DatasetError::Csv {
        source_name: source_name.to_string(),
        source,
    };
    let mut records = rdr.records();
    let header = match records.next() {
        Some(r) => r.map_err(csv_err)?,
        None => {
            return Err(DatasetError::NoHeader {
                source_name: source_name.to_string(),
            })
        }
    };
    let names: Vec<String> = header.iter().map(str::to_string).collect();
    let target_idx =
        names
            .iter()
            .position(|n| n == target)
            .ok_or_else(|| DatasetError::UnknownTarget {
                source_name: source_name.to_string(),
                target: target.to_string(),
                available: names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
    if names.len() < 2 {
        return Err(DatasetError::NoFeatures {
            source_name: source_name.to_string(),
            target: target.to_string(),
        });
    }
    let feature_names: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != target_idx)
        .map(|(_, n)| n.clone())
        .collect();
    let mut values = Vec::new();
    let mut y = Vec::new();
    for record in records {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line());
        // A trailing blank line is not a row.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        if record.len() != names.len() {
            return Err(DatasetError::RaggedRow {
                source_name: source_name.to_string(),
                line,
                expected: names.len(),
                found: record.len(),
            });
        }
        for (i, cell) in record.iter().enumerate() {
            let v = parse_cell(cell, source_name, line, &names[i])?;
            if i == target_idx {
                y.push(to_label(v).ok_or_else(|| DatasetError::NotBinary {
                    source_name: source_name.to_string(),
                    line,
                    column: names[i].clone(),
                    value: cell.to_string(),
                })?);
            } else {
                values.push(v);
            }
        }
    }
    finish(
        feature_names,
        values,
        y,
        target.to_string(),
        None,
        source_name,
    )
}

/// Parses scikit-learn's bundled dataset format (`sklearn/datasets/data/*.csv`):
/// the first line is `N_SAMPLES,N_FEATURES,CLASS0_NAME,CLASS1_NAME`, then one row
/// per sample of `N_FEATURES` numbers and an integer class label last. The file
/// carries no feature names, so the caller passes them (or gets `x0`, `x1`, …).
pub fn parse_sklearn_csv<R: Read>(
    reader: R,
    feature_names: Option<&[&str]>,
    source_name: &str,
) -> Result<Dataset, DatasetError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let csv_err = |source| DatasetError::Csv {
        source_name: source_name.to_string(),
        source,
    };
    let mut records = rdr.records();
    let header = match records.next() {
        Some(r) => r.map_err(csv_err)?,
        None => {
            return Err(DatasetError::NoHeader {
                source_name: source_name.to_string(),
            })
        }
    };
    let bad_header = || DatasetError::BadCountsHeader {
        source_name: source_name.to_string(),
        line: header.iter().collect::<Vec<_>>().join(","),
    };
    if header.len() != 4 {
        return Err(bad_header());
    }
    let n_samples: usize = header[0].parse().map_err(|_| bad_header())?;
    let n_features: usize = header[1].parse().map_err(|_| bad_header())?;
    let class_names = [header[2].to_string(), header[3].to_string()];
    let feature_names: Vec<String> = match feature_names {
        Some(names) => {
            if names.len() != n_features {
                return Err(DatasetError::CountMismatch {
                    source_name: source_name.to_string(),
                    what: "features (names given)",
                    expected: n_features,
                    found: names.len(),
                });
            }
            names.iter().map(|s| s.to_string()).collect()
        }
        None => (0..n_features).map(|i| format!("x{i}")).collect(),
    };
    let target = "target".to_string();
    let mut values = Vec::with_capacity(n_samples * n_features);
    let mut y = Vec::with_capacity(n_samples);
    for record in records {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        if record.len() != n_features + 1 {
            return Err(DatasetError::RaggedRow {
                source_name: source_name.to_string(),
                line,
                expected: n_features + 1,
                found: record.len(),
            });
        }
        for (i, cell) in record.iter().enumerate() {
            let column = feature_names.get(i).unwrap_or(&target);
            let v = parse_cell(cell, source_name, line, column)?;
            if i == n_features {
                y.push(to_label(v).ok_or_else(|| DatasetError::NotBinary {
                    source_name: source_name.to_string(),
                    line,
                    column: target.clone(),
                    value: cell.to_string(),
                })?);
            } else {
                values.push(v);
            }
        }
    }
    if y.len() != n_samples {
        return Err(DatasetError::CountMismatch {
            source_name: source_name.to_string(),
            what: "rows",
            expected: n_samples,
            found: y.len(),
        });
    }
    finish(
        feature_names,
        values,
        y,
        target,
        Some(class_names),
        source_name,
    )
}

fn parse_cell(cell: &str, source_name: &str, line: u64, column: &str) -> Result<f64, DatasetError> {
    if cell.is_empty() {
        return Err(DatasetError::Missing {
            source_name: source_name.to_string(),
            line,
            column: column.to_string(),
        });
    }
    match cell.parse::<f64>() {
        // `NaN` parses as a float but is a missing value in disguise; infinities are not data.
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(DatasetError::NonNumeric {
            source_name: source_name.to_string(),
            line,
            column: column.to_string(),
            value: cell.to_string(),
        }),
    }
}

fn to_label(v: f64) -> Option<u8> {
    if v == 0.0 {
        Some(0)
    } else if v == 1.0 {
        Some(1)
    } else {
        None
    }
}

fn finish(
    feature_names: Vec<String>,
    values: Vec<f64>,
    y: Vec<u8>,
    target_name: String,
    class_names: Option<[String; 2]>,
    source_name: &str,
) -> Result<Dataset, DatasetError> {
    if y.is_empty() {
        return Err(DatasetError::NoRows {
            source_name: source_name.to_string(),
        });
    }
    let ones = y.iter().filter(|&&v| v == 1).count();
    if ones == 0 || ones == y.len() {
        return Err(DatasetError::SingleClass {
            source_name: source_name.to_string(),
            column: target_name,
            label: u8::from(ones > 0),
        });
    }
    let x = Array2::from_shape_vec((y.len(), feature_names.len()), values)
        .expect("every row was checked to have one value per feature");
    Ok(Dataset {
        feature_names,
        x,
        y,
        target_name,
        class_names,
    })
}

/// Row indices of a train/test partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows, ascending.
    pub train: Vec<usize>,
    /// Held-out rows, ascending.
    pub test: Vec<usize>,
}

/// Groups row indices by label: `[rows of class 0, rows of class 1]`.
fn by_class(y: &[u8]) -> [Vec<usize>; 2] {
    let mut groups = [Vec::new(), Vec::new()];
    for (i, &label) in y.iter().enumerate() {
        groups[usize::from(label != 0)].push(i);
    }
    groups
}

/// A stratified train/test split: each class keeps (as nearly as integers allow)
/// its share of the rows in both parts.
///
/// Algorithm (deterministic for a given `seed`, on any platform):
/// 1. `n_test = ⌈fraction · n⌉` (scikit-learn's rounding for a float `test_size`).
/// 2. Class `c` with `n_c` rows gets `⌊n_test · n_c / n⌋` test rows; the one row
///    left over by the floors (if any) goes to the class with the larger
///    fractional part (largest-remainder apportionment).
/// 3. A ChaCha8 generator seeded with `seed` shuffles class 0's row indices, then
///    class 1's; each class's test rows are the first ones of its shuffle.
/// 4. Both index lists are returned sorted, so the rows keep their file order.
///
/// The same seed always gives the same split, which is what lets
/// `roadmap data export` and `roadmap verify` agree on the test labels. (It is
/// not the same split scikit-learn draws with the same seed: the random
/// generators differ.)
pub fn stratified_split(y: &[u8], test_fraction: f64, seed: u64) -> Result<Split, DatasetError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(DatasetError::BadTestFraction(test_fraction));
    }
    let n = y.len();
    let n_test = (test_fraction * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(DatasetError::EmptySplit {
            fraction: test_fraction,
            rows: n,
            which: if n_test == 0 { "test" } else { "training" },
        });
    }
    let mut groups = by_class(y);
    let exact: Vec<f64> = groups
        .iter()
        .map(|g| n_test as f64 * g.len() as f64 / n as f64)
        .collect();
    let mut quota: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = n_test - quota.iter().sum::<usize>();
    // Largest remainder first; ties go to class 0 (stable order).
    let mut order = [0usize, 1];
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for &c in &order {
        if left > 0 && quota[c] < groups[c].len() {
            quota[c] += 1;
            left -= 1;
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut split = Split {
        train: Vec::with_capacity(n - n_test),
        test: Vec::with_capacity(n_test),
    };
    for (c, group) in groups.iter_mut().enumerate() {
        group.shuffle(&mut rng);
        split.test.extend_from_slice(&group[..quota[c]]);
        split.train.extend_from_slice(&group[quota[c]..]);
    }
    split.train.sort_unstable();
    split.test.sort_unstable();
    Ok(split)
}

/// Stratified k-fold cross-validation: `k` splits whose test parts are disjoint,
/// cover every row once, and each hold about `1/k` of each class.
///
/// Algorithm: a ChaCha8 generator seeded with `seed` shuffles class 0's rows,
/// then class 1's; the rows of class 0 followed by those of class 1 are dealt
/// round-robin to folds 0, 1, …, k−1, 0, 1, … (class 1 continues where class 0
/// stopped, so fold sizes differ by at most one). Fold `f`'s test part is the
/// rows dealt to it; its training part is every other row. Indices are sorted.
pub fn stratified_kfold(y: &[u8], k: usize, seed: u64) -> Result<Vec<Split>, DatasetError> {
    if k < 2 {
        return Err(DatasetError::TooFewFolds(k));
    }
    if y.len() < k {
        return Err(DatasetError::FewerRowsThanFolds {
            rows: y.len(),
            folds: k,
        });
    }
    let mut groups = by_class(y);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of = vec![0usize; y.len()];
    let mut next = 0;
    for group in groups.iter_mut() {
        group.shuffle(&mut rng);
        for &i in group.iter() {
            fold_of[i] = next;
            next = (next + 1) % k;
        }
    }
    Ok((0..k)
        .map(|f| {
            let (test, train) = (0..y.len()).partition(|&i| fold_of[i] == f);
            Split { train, test }
        })
        .collect())
}

/// Standardisation `z = (x − μ) / σ` per column, like scikit-learn's `StandardScaler`.
///
/// μ is the column mean and σ the *population* standard deviation
/// `√(Σ(x − μ)² / n)` of the rows it was fitted on. Fit it on the training rows
/// only: using test rows would leak information about them into the model.
/// A column with σ = 0 (constant in training) gets scale 1, so it becomes all
/// zeros instead of NaN, which is what scikit-learn does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// Per-column mean of the fitting rows.
    pub mean: Vec<f64>,
    /// Per-column divisor: the population std, or 1 where that is 0.
    pub scale: Vec<f64>,
}

impl StandardScaler {
    /// Learns each column's mean and population standard deviation.
    pub fn fit(x: ArrayView2<f64>) -> Result<Self, DatasetError> {
        if x.nrows() == 0 {
            return Err(DatasetError::EmptyFit);
        }
        let mean: Array1<f64> = x.mean_axis(Axis(0)).expect("at least one row");
        // Two-pass variance: subtracting the mean first avoids the cancellation of E[x²] − E[x]².
        let var: Array1<f64> = (&x - &mean)
            .mapv(|d| d * d)
            .mean_axis(Axis(0))
            .expect("at least one row");
        let scale = var
            .iter()
            .map(|&v| {
                let s = v.sqrt();
                if s > 0.0 && s.is_finite() {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Ok(StandardScaler {
            mean: mean.to_vec(),
            scale,
        })
    }

    /// Number of columns it was fitted on.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// Applies `(x − μ) / σ` with the fitted statistics.
    pub fn transform(&self, x: ArrayView2<f64>) -> Result<Array2<f64>, DatasetError> {
        if x.ncols() != self.n_features() {
            return Err(DatasetError::ColumnMismatch {
                expected: self.n_features(),
                found: x.ncols(),
            });
        }
        let mean = Array1::from(self.mean.clone());
        let scale = Array1::from(self.scale.clone());
        Ok((&x - &mean) / &scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn parse(text: &str, target: &str) -> Result<Dataset, DatasetError> {
        parse_csv(text.as_bytes(), target, "t.csv")
    }

    #[test]
    fn parses_a_csv_with_the_target_anywhere() {
        let d = parse("a,label,b\n1,0,2.5\n3,1,-4e-1\n", "label").unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.x, array![[1.0, 2.5], [3.0, -0.4]]);
        assert_eq!(d.y, [0, 1]);
        assert_eq!(d.class_counts(), [1, 1]);
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let e = parse("a,target\n1,0\n,1\n", "target")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("`a`") && e.contains("missing"),
            "{e}"
        );
        let e = parse("a,target\n1,0\nxyz,1\n", "target")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("`xyz` is not a number"),
            "{e}"
        );
        let e = parse("a,target\n1,0\n2,2\n", "target")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("not a binary label"),
            "{e}"
        );
        let e = parse("a,target\n1,1\n2,1\n", "target")
            .unwrap_err()
            .to_string();
        assert!(e.contains("every row") && e.contains("both classes"), "{e}");
        let e = parse("a,y\n1,1\n2,0\n", "target").unwrap_err().to_string();
        assert!(
            e.contains("`target` not found") && e.contains("`a`, `y`"),
            "{e}"
        );
        let e = parse("a,target\n1,1\n2\n", "target")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3 has 1 fields"), "{e}");
        let e = parse("a,target\n1,1\nNaN,0\n", "target")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`NaN` is not a number"), "{e}");
        assert!(matches!(
            parse("", "target"),
            Err(DatasetError::NoHeader { .. })
        ));
        assert!(matches!(
            parse("a,target\n", "target"),
            Err(DatasetError::NoRows { .. })
        ));
    }

    #[test]
    fn reads_the_shipped_sklearn_breast_cancer_file() {
        let text = include_str!("../../../data/breast_cancer/breast_cancer.csv");
        let d = parse_sklearn_csv(text.as_bytes(), Some(&BREAST_CANCER_FEATURES), "bc").unwrap();
        assert_eq!(d.x.dim(), (569, 30));
        // 212 malignant (0), 357 benign (1), as documented in breast_cancer.rst.
        assert_eq!(d.class_counts(), [212, 357]);
        assert_eq!(
            d.class_names,
            Some(["malignant".to_string(), "benign".to_string()])
        );
        assert_eq!(d.x[[0, 0]], 17.99);
        assert_eq!(d.feature_names[29], "worst fractal dimension");
    }

    #[test]
    fn sklearn_format_checks_its_counts() {
        let e = parse_sklearn_csv("3,1,no,yes\n1,0\n2,1\n".as_bytes(), None, "s").unwrap_err();
        assert!(
            e.to_string().contains("promises 3 rows but the file has 2"),
            "{e}"
        );
        let e = parse_sklearn_csv("a,b,c\n".as_bytes(), None, "s").unwrap_err();
        assert!(matches!(e, DatasetError::BadCountsHeader { .. }));
    }

    #[test]
    fn stratified_split_keeps_class_shares_and_is_seeded() {
        // 212 / 357 like breast cancer: ⌈0.2·569⌉ = 114 test rows, 42.47 → 42 and 71.53 → 72.
        let y: Vec<u8> = (0..569).map(|i| u8::from(i >= 212)).collect();
        let s = stratified_split(&y, 0.2, 42).unwrap();
        assert_eq!(s.test.len(), 114);
        assert_eq!(s.train.len(), 455);
        assert_eq!(s.test.iter().filter(|&&i| y[i] == 0).count(), 42);
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..569).collect::<Vec<_>>());
        assert_eq!(s, stratified_split(&y, 0.2, 42).unwrap());
        assert_ne!(s, stratified_split(&y, 0.2, 43).unwrap());
        assert!(matches!(
            stratified_split(&y, 1.0, 1),
            Err(DatasetError::BadTestFraction(_))
        ));
        assert!(matches!(
            stratified_split(&[0, 1], 0.9, 1),
            Err(DatasetError::EmptySplit { .. })
        ));
    }

    #[test]
    fn kfold_partitions_every_row_once_per_fold() {
        let y: Vec<u8> = (0..23).map(|i| u8::from(i % 3 == 0)).collect();
        let folds = stratified_kfold(&y, 5, 7).unwrap();
        assert_eq!(folds.len(), 5);
        let mut seen = vec![0; y.len()];
        for f in &folds {
            assert_eq!(f.train.len() + f.test.len(), y.len());
            assert!(f.test.len() == 4 || f.test.len() == 5);
            // 8 positives over 5 folds: 1 or 2 each.
            let pos = f.test.iter().filter(|&&i| y[i] == 1).count();
            assert!((1..=2).contains(&pos));
            for &i in &f.test {
                seen[i] += 1;
                assert!(!f.train.contains(&i));
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        let e = stratified_kfold(&[0, 1, 0], 5, 1).unwrap_err().to_string();
        assert!(e.contains("at least 5 rows") && e.contains("only 3"), "{e}");
        assert!(matches!(
            stratified_kfold(&y, 1, 1),
            Err(DatasetError::TooFewFolds(1))
        ));
    }

    #[test]
    fn scaler_uses_population_std_and_survives_constant_columns() {
        let train = array![[1.0, 5.0], [3.0, 5.0]];
        let s = StandardScaler::fit(train.view()).unwrap();
        assert_eq!(s.mean, [2.0, 5.0]);
        // population std of {1, 3} is 1 (the sample std would be √2).
        assert_eq!(s.scale, [1.0, 1.0]);
        let z = s.transform(array![[4.0, 7.0]].view()).unwrap();
        assert_eq!(z, array![[2.0, 2.0]]);
        assert_eq!(
            s.transform(train.view()).unwrap().column(1).to_vec(),
            [0.0, 0.0]
        );
        assert!(matches!(
            s.transform(array![[1.0]].view()),
            Err(DatasetError::ColumnMismatch {
                expected: 2,
                found: 1
            })
        ));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<StandardScaler>(&json).unwrap(), s);
    }
}
