//! Group fairness metrics: fairlearn 0.15's `MetricFrame` and its aggregate
//! metrics, recomputed from per-group confusion counts.
//!
//! For each group `a` of a sensitive column (or each combination of two
//! columns, the *intersectional* groups), with `TP, FP, TN, FN` counted over
//! the group's rows (labels and predictions 0/1, 1 = positive class):
//!
//! | name (fairlearn / scikit-learn) | definition |
//! |---|---|
//! | `count` (`fairlearn.metrics.count`) | `n = TP + FP + TN + FN` |
//! | `base_rate` (`mean_prediction(y_true, y_true)`) | `(TP + FN) / n` |
//! | `selection_rate` (`fairlearn.metrics.selection_rate`) | `(TP + FP) / n`, or `(TN + FN) / n` when the favourable outcome is 0 (`pos_label=0`) |
//! | `accuracy_score` (scikit-learn) | `(TP + TN) / n` |
//! | `true_positive_rate` | `TP / (TP + FN)` |
//! | `false_positive_rate` | `FP / (FP + TN)` |
//! | `false_negative_rate` | `FN / (TP + FN)` |
//! | `precision_score` (scikit-learn) | `TP / (TP + FP)` |
//!
//! A rate whose denominator is 0 (a group with no positive labels has no TPR)
//! is **undefined** here: reported as `null` with the reason. fairlearn
//! computes these rates with `sklearn.metrics.confusion_matrix(normalize="true")`,
//! which replaces 0/0 by 0 (`nan_to_num`); every undefined value below also
//! carries that convention's number as `fairlearn`, so both can be compared.
//!
//! `MetricFrame.difference()` is `max − min` over the groups and `.ratio()` is
//! `min / max` (both `method="between_groups"`). The aggregate metrics are:
//!
//! - `demographic_parity_difference` / `_ratio`: difference / ratio of `selection_rate`;
//! - `equalized_odds_difference`: `max(TPR difference, FPR difference)` and
//!   `equalized_odds_ratio`: `min(TPR ratio, FPR ratio)` (fairlearn's default
//!   `agg="worst_case"`; Python's `max`/`min` over the two values, NaN rules included);
//! - `equal_opportunity_difference` / `_ratio`: difference / ratio of TPR;
//! - `disparate_impact`: the smallest `selection_rate(a) / selection_rate(ref)`
//!   over the other groups, where `ref` is the privileged group when one is
//!   named and otherwise the group with the highest selection rate; the
//!   **four-fifths rule** (US EEOC Uniform Guidelines, 29 CFR 1607.4(D)) passes
//!   when it is at least 0.8. (Without a privileged group it equals the
//!   demographic parity ratio.)
//!
//! A ratio is undefined when its denominator is 0, and every comparison is
//! undefined with one group only. JSON never holds NaN.
//!
//! **Bootstrap intervals** follow fairlearn's `MetricFrame(n_boot=…,
//! ci_quantiles=[0.025, 0.975])`: resample the rows with replacement, recompute
//! the aggregate, take the 2.5th and 97.5th percentiles (NumPy's linear
//! interpolation) of the replicates where it is defined. Every metric here is a
//! function of the `4 × groups` cell counts, and the cell counts of n rows
//! drawn with replacement follow a multinomial distribution with the observed
//! cell shares, so each replicate draws those counts directly (sequential
//! binomials) instead of n row indices: the same distribution, O(cells)
//! instead of O(n) per replicate. The generator is ChaCha8 seeded by the caller.

use std::collections::BTreeMap;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use serde::Serialize;

use crate::error::{AuditError, Result};

/// Groups smaller than this get a warning: their rates are too noisy to compare.
pub const MIN_GROUP_SIZE: usize = 30;
/// The four-fifths rule's threshold on the disparate impact ratio.
pub const FOUR_FIFTHS: f64 = 0.8;

/// One sensitive column: its name and one value per row.
#[derive(Debug, Clone, PartialEq)]
pub struct SensitiveColumn {
    pub name: String,
    pub values: Vec<String>,
}

/// Labels, predictions (0/1), optional scores and the sensitive columns.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditInput {
    pub source_name: String,
    pub y_true: Vec<u8>,
    pub y_pred: Vec<u8>,
    /// `P(y = 1)` per row, needed by the threshold mitigation only.
    pub scores: Option<Vec<f64>>,
    pub sensitive: Vec<SensitiveColumn>,
}

/// Which columns of a predictions file hold what.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionColumns {
    pub label: String,
    pub prediction: String,
    /// Score column, read when present (`None`: do not read scores).
    pub score: Option<String>,
    pub sensitive: Vec<String>,
    /// The label value meaning class 1; `None` means labels must be 0/1.
    pub positive: Option<String>,
}

impl PredictionColumns {
    /// The layout `roadmap audit train` writes: `y_true, y_pred, score` + the sensitive columns.
    pub fn standard(sensitive: Vec<String>) -> Self {
        PredictionColumns {
            label: "y_true".into(),
            prediction: "y_pred".into(),
            score: Some("score".into()),
            sensitive,
            positive: None,
        }
    }
}

/// Reads a predictions CSV (header row; cells trimmed).
pub fn read_predictions(path: &Path, cols: &PredictionColumns) -> Result<AuditInput> {
    let file = std::fs::File::open(path).map_err(|e| AuditError::io("read", path, e))?;
    parse_predictions(
        std::io::BufReader::new(file),
        &path.display().to_string(),
        cols,
    )
}

/// Parses predictions CSV text; see [`read_predictions`].
pub fn parse_predictions(
    reader: impl std::io::Read,
    source_name: &str,
    cols: &PredictionColumns,
) -> Result<AuditInput> {
    let csv_err = |source| AuditError::Csv {
        path: source_name.to_string(),
        source,
    };
    if cols.sensitive.is_empty() {
        return Err(AuditError::BadParameter {
            what: "the sensitive columns",
            expected: "at least one column name",
            got: "none".into(),
        });
    }
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_string)
        .collect();
    let find = |n: &str| header.iter().position(|h| h == n);
    let mut wanted = vec![cols.label.clone(), cols.prediction.clone()];
    wanted.extend(cols.sensitive.iter().cloned());
    let missing: Vec<String> = wanted
        .iter()
        .filter(|n| find(n).is_none())
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(AuditError::MissingColumns {
            source_name: source_name.into(),
            missing,
            available: header.clone(),
            hint: "; name the label, prediction and sensitive columns with --label, --prediction and --sensitive"
                .into(),
        });
    }
    let (li, pi) = (find(&cols.label).unwrap(), find(&cols.prediction).unwrap());
    let si: Vec<usize> = cols.sensitive.iter().map(|n| find(n).unwrap()).collect();
    let score_i = cols.score.as_deref().and_then(find);
    let mut raw_labels: Vec<(String, String, u64)> = Vec::new();
    let mut scores = score_i.map(|_| Vec::new());
    let mut sensitive: Vec<Vec<String>> = vec![Vec::new(); si.len()];
    for (row, record) in rdr.records().enumerate() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line());
        raw_labels.push((record[li].to_string(), record[pi].to_string(), line));
        for (k, &i) in si.iter().enumerate() {
            sensitive[k].push(record[i].to_string());
        }
        if let (Some(i), Some(s)) = (score_i, scores.as_mut()) {
            let cell = &record[i];
            let v: f64 = cell
                .parse()
                .ok()
                .filter(|v: &f64| (0.0..=1.0).contains(v))
                .ok_or_else(|| AuditError::BadParameter {
                    what: "a score",
                    expected: "a probability in [0, 1]",
                    got: format!(
                        "`{cell}` in column `{}`, row {row} (line {line})",
                        header[i]
                    ),
                })?;
            s.push(v);
        }
    }
    if raw_labels.is_empty() {
        return Err(AuditError::NoRows {
            source_name: source_name.into(),
            why: " (the file has a header only)".into(),
        });
    }
    let (y_true, y_pred) = binarise(&raw_labels, source_name, cols)?;
    Ok(AuditInput {
        source_name: source_name.into(),
        y_true,
        y_pred,
        scores,
        sensitive: cols
            .sensitive
            .iter()
            .cloned()
            .zip(sensitive)
            .map(|(name, values)| SensitiveColumn { name, values })
            .collect(),
    })
}

/// Labels and predictions as 0/1: either both columns hold `0`/`1`, or a
/// named positive value is 1 and the one other value is 0.
fn binarise(
    rows: &[(String, String, u64)],
    source_name: &str,
    cols: &PredictionColumns,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let bad = |column: &str, row: usize, value: &str, line: u64| AuditError::NotBinary {
        source_name: source_name.into(),
        column: column.into(),
        named: cols
            .positive
            .as_ref()
            .map(|p| format!(" or the named positive value `{p}` and one other value"))
            .unwrap_or_else(|| {
                " (name the positive class with --positive if the labels are text)".into()
            }),
        row,
        line,
        value: value.into(),
    };
    match &cols.positive {
        None => {
            let parse = |v: &str| match v {
                "0" | "0.0" => Some(0u8),
                "1" | "1.0" => Some(1u8),
                _ => None,
            };
            let mut t = Vec::with_capacity(rows.len());
            let mut p = Vec::with_capacity(rows.len());
            for (row, (a, b, line)) in rows.iter().enumerate() {
                t.push(parse(a).ok_or_else(|| bad(&cols.label, row, a, *line))?);
                p.push(parse(b).ok_or_else(|| bad(&cols.prediction, row, b, *line))?);
            }
            Ok((t, p))
        }
        Some(pos) => {
            let mut seen: Vec<&str> = Vec::new();
            for (row, (a, b, line)) in rows.iter().enumerate() {
                for (v, col) in [(a, &cols.label), (b, &cols.prediction)] {
                    if !seen.contains(&v.as_str()) {
                        seen.push(v);
                        if seen.len() > 2 {
                            return Err(bad(col, row, v, *line));
                        }
                    }
                }
            }
            if !seen.contains(&pos.as_str()) {
                return Err(AuditError::PositiveNotFound {
                    source_name: source_name.into(),
                    target: format!("{} / {}", cols.label, cols.prediction),
                    positive: pos.clone(),
                    seen: seen.iter().map(|s| s.to_string()).collect(),
                });
            }
            Ok((
                rows.iter().map(|(a, _, _)| u8::from(a == pos)).collect(),
                rows.iter().map(|(_, b, _)| u8::from(b == pos)).collect(),
            ))
        }
    }
}

/// Confusion counts of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
}

impl Confusion {
    fn add(&mut self, y: u8, p: u8) {
        match (y, p) {
            (1, 1) => self.tp += 1,
            (0, 1) => self.fp += 1,
            (0, 0) => self.tn += 1,
            _ => self.fn_ += 1,
        }
    }
    pub fn n(&self) -> u64 {
        self.tp + self.fp + self.tn + self.fn_
    }
    fn cells(&self) -> [u64; 4] {
        [self.tp, self.fp, self.tn, self.fn_]
    }
    fn from_cells(c: &[u64]) -> Self {
        Confusion {
            tp: c[0],
            fp: c[1],
            tn: c[2],
            fn_: c[3],
        }
    }
}

/// The per-group metrics, in `MetricFrame` column order.
pub const METRICS: [&str; 8] = [
    "count",
    "base_rate",
    "selection_rate",
    "accuracy_score",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "precision_score",
];

/// `num / den`, or the reason it is undefined.
fn rate(num: u64, den: u64, why: &'static str) -> Result<f64, &'static str> {
    if den == 0 {
        Err(why)
    } else {
        Ok(num as f64 / den as f64)
    }
}

/// Metric `k` of [`METRICS`] from counts (`favourable` = the selected prediction).
fn metric(c: &Confusion, k: usize, favourable: u8) -> Result<f64, &'static str> {
    let n = c.n();
    match k {
        0 => Ok(n as f64),
        1 => rate(c.tp + c.fn_, n, "no rows"),
        2 if favourable == 1 => rate(c.tp + c.fp, n, "no rows"),
        2 => rate(c.tn + c.fn_, n, "no rows"),
        3 => rate(c.tp + c.tn, n, "no rows"),
        4 => rate(c.tp, c.tp + c.fn_, "no positive labels (TP + FN = 0)"),
        5 => rate(c.fp, c.fp + c.tn, "no negative labels (FP + TN = 0)"),
        6 => rate(c.fn_, c.tp + c.fn_, "no positive labels (TP + FN = 0)"),
        7 => rate(c.tp, c.tp + c.fp, "no positive predictions (TP + FP = 0)"),
        _ => unreachable!("METRICS has 8 entries"),
    }
}

/// A value that is either a number or undefined for a stated reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Value {
    /// `None` when undefined.
    pub value: Option<f64>,
    /// Why the value is undefined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undefined: Option<String>,
    /// fairlearn 0.15's number where ours is undefined but fairlearn's is not
    /// (scikit-learn's 0/0 → 0 convention, or a one-group comparison).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fairlearn: Option<f64>,
}

impl Value {
    fn defined(v: f64) -> Self {
        Value {
            value: Some(v),
            undefined: None,
            fairlearn: None,
        }
    }
    fn undefined(reason: String, fairlearn: f64) -> Self {
        Value {
            value: None,
            undefined: Some(reason),
            fairlearn: fairlearn.is_finite().then_some(fairlearn),
        }
    }
    /// The number fairlearn 0.15 reports (ours when defined), if finite.
    pub fn fairlearn_value(&self) -> Option<f64> {
        self.value.or(self.fairlearn)
    }
}

/// One group's row of the `MetricFrame`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// The group's value, or the values joined by `", "` for intersectional groups.
    pub group: String,
    pub confusion: Confusion,
    /// One value per entry of [`METRICS`].
    pub metrics: Vec<Value>,
}

/// JSON form: `{"group", "confusion", "count": 10, "selection_rate": 0.5, …,
/// "undefined": {metric: reason}, "fairlearn": {metric: number}}`, the last two
/// only when some metric is undefined.
impl Serialize for GroupRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("group", &self.group)?;
        m.serialize_entry("confusion", &self.confusion)?;
        for (name, v) in METRICS.iter().zip(&self.metrics) {
            m.serialize_entry(name, &v.value)?;
        }
        let undefined: BTreeMap<&str, &String> = METRICS
            .iter()
            .zip(&self.metrics)
            .filter_map(|(n, v)| v.undefined.as_ref().map(|r| (*n, r)))
            .collect();
        if !undefined.is_empty() {
            let fl: BTreeMap<&str, f64> = METRICS
                .iter()
                .zip(&self.metrics)
                .filter_map(|(n, v)| v.fairlearn.map(|f| (*n, f)))
                .collect();
            m.serialize_entry("undefined", &undefined)?;
            m.serialize_entry("fairlearn", &fl)?;
        }
        m.end()
    }
}

/// Difference and ratio of one metric across groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disparity {
    pub metric: &'static str,
    pub group_min: Option<f64>,
    pub group_max: Option<f64>,
    pub difference: Value,
    pub ratio: Value,
}

/// An aggregate fairness metric with its bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregate {
    pub name: &'static str,
    #[serde(flatten)]
    pub value: Value,
    /// 95 % percentile-bootstrap interval `[2.5th, 97.5th]`.
    pub ci95: Option<[f64; 2]>,
    /// Bootstrap replicates in which the aggregate was defined.
    pub replicates: usize,
}

/// Disparate impact of one group against the reference group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupImpact {
    pub group: String,
    pub ratio: Value,
}

/// The four-fifths rule verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FourFifths {
    /// The reference group: the privileged one, or the highest selection rate.
    pub reference: String,
    pub reference_is_privileged: bool,
    pub impacts: Vec<GroupImpact>,
    /// `Some(true)` when every group's ratio is ≥ 0.8; `None` when undefined.
    pub passes: Option<bool>,
}

/// The audit of one grouping (one sensitive column, or their intersection).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupAudit {
    /// The sensitive column(s) defining the groups.
    pub sensitive: Vec<String>,
    pub intersectional: bool,
    pub overall: GroupRow,
    pub by_group: Vec<GroupRow>,
    pub disparities: Vec<Disparity>,
    pub aggregates: Vec<Aggregate>,
    pub four_fifths: FourFifths,
    pub warnings: Vec<String>,
}

/// Settings of an audit.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditOptions {
    /// The privileged group (a value of a sensitive column), if any.
    pub privileged: Option<String>,
    /// The favourable prediction, 1 (default) or 0.
    pub favourable: u8,
    /// Bootstrap replicates (0 disables the intervals).
    pub bootstrap: usize,
    pub seed: u64,
    /// Groups smaller than this get a warning.
    pub min_group_size: usize,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            privileged: None,
            favourable: 1,
            bootstrap: 1000,
            seed: 42,
            min_group_size: MIN_GROUP_SIZE,
        }
    }
}

/// The whole fairness report: one audit per sensitive column, plus the
/// intersectional one when there are two or more columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FairnessReport {
    pub source: String,
    pub rows: usize,
    pub favourable: u8,
    pub privileged: Option<String>,
    pub bootstrap_replicates: usize,
    pub seed: u64,
    pub audits: Vec<GroupAudit>,
}

/// Names of the aggregate metrics, in report order.
pub const AGGREGATES: [&str; 7] = [
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "disparate_impact",
];

/// `max − min` (`ratio = false`) or `min / max` (`ratio = true`) of metric `k`
/// over groups; fairlearn's number alongside.
fn compare(groups: &[(String, Confusion)], k: usize, fav: u8, ratio: bool) -> (Value, f64) {
    // fairlearn: undefined rates are 0 (nan_to_num), so this is always a number or 0/0.
    let fl: Vec<f64> = groups
        .iter()
        .map(|(_, c)| metric(c, k, fav).unwrap_or(0.0))
        .collect();
    let (fmin, fmax) = min_max(&fl);
    let fl_value = if ratio { fmin / fmax } else { fmax - fmin };
    if groups.len() < 2 {
        let who = groups.first().map(|g| g.0.as_str()).unwrap_or("");
        return (
            Value::undefined(
                format!("only one group (`{who}`): nothing to compare"),
                fl_value,
            ),
            fl_value,
        );
    }
    for (g, c) in groups {
        if let Err(why) = metric(c, k, fav) {
            return (
                Value::undefined(
                    format!("{} of group `{g}` is undefined: {why}", METRICS[k]),
                    fl_value,
                ),
                fl_value,
            );
        }
    }
    if ratio && fmax == 0.0 {
        return (
            Value::undefined(
                format!("every group's {} is 0, so min/max is 0/0", METRICS[k]),
                fl_value,
            ),
            fl_value,
        );
    }
    (Value::defined(fl_value), fl_value)
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// Python's `max(a, b)` / `min(a, b)` as fairlearn calls them: the first
/// argument is kept unless the second compares greater (less), so a NaN
/// first argument wins and a NaN second argument loses.
fn python_pick(a: f64, b: f64, greater: bool) -> f64 {
    if (greater && b > a) || (!greater && b < a) {
        b
    } else {
        a
    }
}

/// The seven aggregates (plus the per-group impacts) from group counts.
/// `reference`: index of the privileged group, or `None` for the highest selection rate.
fn aggregates(
    groups: &[(String, Confusion)],
    fav: u8,
    reference: Option<usize>,
) -> (Vec<Value>, FourFifths) {
    let (sr_d, _) = compare(groups, 2, fav, false);
    let (sr_r, _) = compare(groups, 2, fav, true);
    let (tpr_d, fl_tpr_d) = compare(groups, 4, fav, false);
    let (tpr_r, fl_tpr_r) = compare(groups, 4, fav, true);
    let (fpr_d, fl_fpr_d) = compare(groups, 5, fav, false);
    let (fpr_r, fl_fpr_r) = compare(groups, 5, fav, true);
    let both = |a: &Value, b: &Value, fl: f64, greater: bool| match (a.value, b.value) {
        (Some(x), Some(y)) => Value::defined(if greater { x.max(y) } else { x.min(y) }),
        _ => Value::undefined(
            a.undefined
                .clone()
                .or_else(|| b.undefined.clone())
                .expect("one is undefined"),
            fl,
        ),
    };
    let eod = both(&tpr_d, &fpr_d, python_pick(fl_tpr_d, fl_fpr_d, true), true);
    let eor = both(
        &tpr_r,
        &fpr_r,
        python_pick(fl_tpr_r, fl_fpr_r, false),
        false,
    );
    let ff = four_fifths(groups, fav, reference);
    let di = match (groups.len(), &ff.impacts) {
        (n, _) if n < 2 => Value::undefined("only one group: nothing to compare".into(), f64::NAN),
        (_, impacts) => {
            if let Some(u) = impacts.iter().find(|i| i.ratio.value.is_none()) {
                Value::undefined(u.ratio.undefined.clone().unwrap_or_default(), f64::NAN)
            } else {
                Value::defined(
                    impacts
                        .iter()
                        .filter_map(|i| i.ratio.value)
                        .fold(f64::INFINITY, f64::min),
                )
            }
        }
    };
    (vec![sr_d, sr_r, eod, eor, tpr_d, tpr_r, di], ff)
}

fn four_fifths(groups: &[(String, Confusion)], fav: u8, reference: Option<usize>) -> FourFifths {
    let sr: Vec<f64> = groups
        .iter()
        .map(|(_, c)| metric(c, 2, fav).unwrap_or(0.0))
        .collect();
    let r = reference.unwrap_or_else(|| {
        // Highest selection rate; the first such group on ties.
        (0..sr.len()).fold(0, |best, i| if sr[i] > sr[best] { i } else { best })
    });
    let reference_name = groups.get(r).map(|g| g.0.clone()).unwrap_or_default();
    let impacts: Vec<GroupImpact> = groups
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != r)
        .map(|(i, (g, _))| GroupImpact {
            group: g.clone(),
            ratio: if sr[r] == 0.0 {
                Value::undefined(
                    format!("the reference group `{reference_name}` has selection rate 0"),
                    f64::NAN,
                )
            } else {
                Value::defined(sr[i] / sr[r])
            },
        })
        .collect();
    let passes = if impacts.is_empty() || impacts.iter().any(|i| i.ratio.value.is_none()) {
        None
    } else {
        Some(
            impacts
                .iter()
                .all(|i| i.ratio.value.unwrap() >= FOUR_FIFTHS),
        )
    };
    FourFifths {
        reference: reference_name,
        reference_is_privileged: reference.is_some(),
        impacts,
        passes,
    }
}

fn row(group: String, c: Confusion, fav: u8) -> GroupRow {
    GroupRow {
        group,
        confusion: c,
        metrics: (0..METRICS.len())
            .map(|k| match metric(&c, k, fav) {
                Ok(v) => Value::defined(v),
                Err(why) => Value::undefined(why.to_string(), 0.0),
            })
            .collect(),
    }
}

/// Counts per group, groups sorted byte-wise by their values (pandas' `groupby` order).
fn group_counts(input: &AuditInput, columns: &[usize]) -> Vec<(String, Confusion)> {
    let mut map: BTreeMap<Vec<&str>, Confusion> = BTreeMap::new();
    for i in 0..input.y_true.len() {
        let key: Vec<&str> = columns
            .iter()
            .map(|&c| input.sensitive[c].values[i].as_str())
            .collect();
        map.entry(key)
            .or_default()
            .add(input.y_true[i], input.y_pred[i]);
    }
    map.into_iter().map(|(k, c)| (k.join(", "), c)).collect()
}

impl FairnessReport {
    /// Audits every sensitive column of `input`, and their intersection when
    /// there are several.
    pub fn compute(input: &AuditInput, opts: &AuditOptions) -> Result<Self> {
        let n = input.y_true.len();
        if n == 0 {
            return Err(AuditError::NoRows {
                source_name: input.source_name.clone(),
                why: " to audit".into(),
            });
        }
        crate::error::check_len("predictions", input.y_pred.len(), n, "labels")?;
        if let Some((i, &v)) = input
            .y_true
            .iter()
            .chain(&input.y_pred)
            .enumerate()
            .find(|(_, &v)| v > 1)
        {
            return Err(AuditError::NotBinary {
                source_name: input.source_name.clone(),
                column: if i < n { "y_true" } else { "y_pred" }.into(),
                named: String::new(),
                row: i % n,
                line: 0,
                value: v.to_string(),
            });
        }
        if opts.favourable > 1 {
            return Err(AuditError::BadParameter {
                what: "the favourable outcome",
                expected: "1 or 0",
                got: opts.favourable.to_string(),
            });
        }
        if input.sensitive.is_empty() {
            return Err(AuditError::BadParameter {
                what: "the sensitive columns",
                expected: "at least one column",
                got: "none".into(),
            });
        }
        for s in &input.sensitive {
            if s.values.len() != n {
                return Err(AuditError::Sensitive {
                    column: s.name.clone(),
                    problem: format!("{} values for {n} rows", s.values.len()),
                });
            }
        }
        let mut groupings: Vec<Vec<usize>> = (0..input.sensitive.len()).map(|c| vec![c]).collect();
        if input.sensitive.len() > 1 {
            groupings.push((0..input.sensitive.len()).collect());
        }
        let mut privileged_used = false;
        let mut audits = Vec::new();
        for (gi, cols) in groupings.iter().enumerate() {
            let groups = group_counts(input, cols);
            let reference = match (&opts.privileged, cols.len()) {
                (Some(p), 1) => groups.iter().position(|(g, _)| g == p),
                _ => None,
            };
            privileged_used |= reference.is_some();
            let mut rng = ChaCha8Rng::seed_from_u64(opts.seed.wrapping_add(gi as u64));
            audits.push(audit_groups(
                input, cols, &groups, reference, opts, &mut rng,
            ));
        }
        if let (Some(p), false) = (&opts.privileged, privileged_used) {
            return Err(AuditError::UnknownPrivileged {
                column: input
                    .sensitive
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                value: p.clone(),
                groups: audits
                    .iter()
                    .filter(|a| !a.intersectional)
                    .flat_map(|a| a.by_group.iter().map(|g| g.group.clone()))
                    .collect(),
            });
        }
        Ok(FairnessReport {
            source: input.source_name.clone(),
            rows: n,
            favourable: opts.favourable,
            privileged: opts.privileged.clone(),
            bootstrap_replicates: opts.bootstrap,
            seed: opts.seed,
            audits,
        })
    }

    /// The report as JSON (fairlearn's metric names; `null` for undefined values).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self)
            .expect("a report always serialises (no NaN: undefined values are None)")
    }
}

fn audit_groups(
    input: &AuditInput,
    cols: &[usize],
    groups: &[(String, Confusion)],
    reference: Option<usize>,
    opts: &AuditOptions,
    rng: &mut ChaCha8Rng,
) -> GroupAudit {
    let fav = opts.favourable;
    let mut overall = Confusion::default();
    for (_, c) in groups {
        for (o, v) in [
            &mut overall.tp,
            &mut overall.fp,
            &mut overall.tn,
            &mut overall.fn_,
        ]
        .into_iter()
        .zip(c.cells())
        {
            *o += v;
        }
    }
    let by_group: Vec<GroupRow> = groups
        .iter()
        .map(|(g, c)| row(g.clone(), *c, fav))
        .collect();
    let disparities = (0..METRICS.len())
        .map(|k| {
            let defined: Vec<f64> = groups
                .iter()
                .filter_map(|(_, c)| metric(c, k, fav).ok())
                .collect();
            let (lo, hi) = min_max(&defined);
            Disparity {
                metric: METRICS[k],
                group_min: lo.is_finite().then_some(lo),
                group_max: hi.is_finite().then_some(hi),
                difference: compare(groups, k, fav, false).0,
                ratio: compare(groups, k, fav, true).0,
            }
        })
        .collect();
    let (values, four_fifths) = aggregates(groups, fav, reference);
    let (cis, used) = bootstrap(groups, fav, reference, opts.bootstrap, rng);
    let aggregates = AGGREGATES
        .iter()
        .zip(values)
        .zip(cis.into_iter().zip(used))
        .map(|((&name, value), (ci95, replicates))| Aggregate {
            name,
            value,
            ci95,
            replicates,
        })
        .collect();
    let sensitive: Vec<String> = cols
        .iter()
        .map(|&c| input.sensitive[c].name.clone())
        .collect();
    let mut warnings = Vec::new();
    for (g, c) in groups {
        if (c.n() as usize) < opts.min_group_size {
            warnings.push(format!(
                "group `{g}` of {} has {} rows (< {}): its rates are too noisy to compare reliably",
                sensitive.join(" × "),
                c.n(),
                opts.min_group_size
            ));
        }
    }
    if groups.len() < 2 {
        warnings.push(format!(
            "`{}` has a single group: differences and ratios are undefined",
            sensitive.join(" × ")
        ));
    }
    GroupAudit {
        intersectional: cols.len() > 1,
        sensitive,
        overall: row("overall".into(), overall, fav),
        by_group,
        disparities,
        aggregates,
        four_fifths,
        warnings,
    }
}

/// Percentile intervals of each aggregate over multinomial resamples of the cell counts.
fn bootstrap(
    groups: &[(String, Confusion)],
    fav: u8,
    reference: Option<usize>,
    replicates: usize,
    rng: &mut ChaCha8Rng,
) -> (Vec<Option<[f64; 2]>>, Vec<usize>) {
    let cells: Vec<u64> = groups.iter().flat_map(|(_, c)| c.cells()).collect();
    let n: u64 = cells.iter().sum();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(replicates); AGGREGATES.len()];
    let mut draw = vec![0u64; cells.len()];
    for _ in 0..replicates {
        // Multinomial(n, cells/n) by sequential binomials: cell k gets
        // Binomial(n_left, p_k / p_left) of the rows not yet placed.
        let (mut left, mut mass) = (n, n);
        for (d, &c) in draw.iter_mut().zip(&cells) {
            *d = if left == 0 || c == 0 {
                0
            } else if c == mass {
                left
            } else {
                Binomial::new(left, c as f64 / mass as f64)
                    .expect("0 < p < 1")
                    .sample(rng)
            };
            left -= *d;
            mass -= c;
        }
        let resampled: Vec<(String, Confusion)> = groups
            .iter()
            .enumerate()
            .filter_map(|(g, (name, _))| {
                let c = Confusion::from_cells(&draw[4 * g..4 * g + 4]);
                // A group absent from a resample is absent, as in fairlearn's bootstrap.
                (c.n() > 0).then(|| (name.clone(), c))
            })
            .collect();
        let reference = reference.and_then(|r| {
            let name = &groups[r].0;
            resampled.iter().position(|(g, _)| g == name)
        });
        let (values, _) = aggregates(&resampled, fav, reference);
        for (s, v) in samples.iter_mut().zip(values) {
            if let Some(v) = v.value {
                s.push(v);
            }
        }
    }
    let used = samples.iter().map(Vec::len).collect();
    let cis = samples
        .into_iter()
        .map(|s| {
            (!s.is_empty()).then(|| {
                let p = roadmap_common::stats::percentiles(&s, &[2.5, 97.5]);
                [p[0], p[1]]
            })
        })
        .collect();
    (cis, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(y: &[u8], p: &[u8], s: &[&str]) -> AuditInput {
        AuditInput {
            source_name: "t".into(),
            y_true: y.to_vec(),
            y_pred: p.to_vec(),
            scores: None,
            sensitive: vec![SensitiveColumn {
                name: "sex".into(),
                values: s.iter().map(|v| v.to_string()).collect(),
            }],
        }
    }

    fn agg<'a>(a: &'a GroupAudit, name: &str) -> &'a Aggregate {
        a.aggregates.iter().find(|x| x.name == name).unwrap()
    }

    #[test]
    fn hand_computed_rates_and_aggregates() {
        // Group A: y 1 1 0 0, p 1 0 1 0 → TPR 1/2, FPR 1/2, SR 1/2.
        // Group B: y 1 1 1 0, p 1 1 1 0 → TPR 1, FPR 0, SR 3/4.
        let inp = input(
            &[1, 1, 0, 0, 1, 1, 1, 0],
            &[1, 0, 1, 0, 1, 1, 1, 0],
            &["A", "A", "A", "A", "B", "B", "B", "B"],
        );
        let opts = AuditOptions {
            bootstrap: 0,
            ..Default::default()
        };
        let r = FairnessReport::compute(&inp, &opts).unwrap();
        let a = &r.audits[0];
        assert_eq!(a.by_group[0].metrics[2].value, Some(0.5));
        assert_eq!(a.by_group[1].metrics[4].value, Some(1.0));
        assert_eq!(
            agg(a, "demographic_parity_difference").value.value,
            Some(0.25)
        );
        assert_eq!(
            agg(a, "demographic_parity_ratio").value.value,
            Some(0.5 / 0.75)
        );
        assert_eq!(agg(a, "equalized_odds_difference").value.value, Some(0.5));
        assert_eq!(agg(a, "equalized_odds_ratio").value.value, Some(0.0));
        assert_eq!(
            agg(a, "equal_opportunity_difference").value.value,
            Some(0.5)
        );
        assert_eq!(agg(a, "disparate_impact").value.value, Some(0.5 / 0.75));
        assert_eq!(a.four_fifths.reference, "B");
        assert_eq!(a.four_fifths.passes, Some(false));
        assert_eq!(a.warnings.len(), 2, "both groups are under 30 rows");
    }

    #[test]
    fn a_group_without_positives_makes_tpr_comparisons_undefined_with_fairlearns_number() {
        let inp = input(&[0, 0, 1, 0], &[1, 0, 1, 0], &["A", "A", "B", "B"]);
        let r = FairnessReport::compute(&inp, &AuditOptions::default()).unwrap();
        let a = &r.audits[0];
        assert_eq!(a.by_group[0].metrics[4].value, None);
        let eod = &agg(a, "equalized_odds_difference").value;
        assert!(eod.value.is_none() && eod.undefined.as_ref().unwrap().contains("`A`"));
        // fairlearn: TPR(A) = 0, TPR(B) = 1 → 1; FPR 1/2 vs 0 → 1/2; max = 1.
        assert_eq!(eod.fairlearn, Some(1.0));
        let json = serde_json::to_string(&r.to_json()).unwrap();
        assert!(!json.contains("NaN") && json.contains("\"undefined\""));
    }

    #[test]
    fn one_group_is_reported_not_nan() {
        let inp = input(&[1, 0, 1], &[1, 0, 0], &["M", "M", "M"]);
        let r = FairnessReport::compute(&inp, &AuditOptions::default()).unwrap();
        let a = &r.audits[0];
        for x in &a.aggregates {
            assert!(x.value.value.is_none(), "{}", x.name);
            assert!(x.value.undefined.as_ref().unwrap().contains("one group"));
        }
        assert_eq!(
            agg(a, "demographic_parity_difference").value.fairlearn,
            Some(0.0)
        );
        assert_eq!(a.four_fifths.passes, None);
    }

    #[test]
    fn privileged_group_and_favourable_zero() {
        let inp = input(&[1, 0, 1, 0], &[1, 0, 1, 1], &["A", "A", "B", "B"]);
        let opts = AuditOptions {
            privileged: Some("A".into()),
            favourable: 0,
            bootstrap: 0,
            ..Default::default()
        };
        let r = FairnessReport::compute(&inp, &opts).unwrap();
        let a = &r.audits[0];
        // favourable 0: SR(A) = 1/2, SR(B) = 0 → DI(B vs A) = 0.
        assert_eq!(a.by_group[1].metrics[2].value, Some(0.0));
        assert_eq!(a.four_fifths.reference, "A");
        assert_eq!(a.four_fifths.impacts[0].ratio.value, Some(0.0));
        let bad = AuditOptions {
            privileged: Some("C".into()),
            ..opts
        };
        assert!(matches!(
            FairnessReport::compute(&inp, &bad),
            Err(AuditError::UnknownPrivileged { .. })
        ));
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_estimate() {
        let n = 400;
        let y: Vec<u8> = (0..n).map(|i| (i % 3 == 0) as u8).collect();
        let p: Vec<u8> = (0..n).map(|i| (i % 4 == 0 || i % 7 == 0) as u8).collect();
        let s: Vec<&str> = (0..n).map(|i| if i % 2 == 0 { "A" } else { "B" }).collect();
        let inp = input(&y, &p, &s);
        let r1 = FairnessReport::compute(&inp, &AuditOptions::default()).unwrap();
        let r2 = FairnessReport::compute(&inp, &AuditOptions::default()).unwrap();
        assert_eq!(r1, r2);
        let d = agg(&r1.audits[0], "demographic_parity_difference");
        let [lo, hi] = d.ci95.unwrap();
        assert!(lo <= d.value.value.unwrap() && d.value.value.unwrap() <= hi && lo < hi);
        assert_eq!(d.replicates, 1000);
    }

    #[test]
    fn intersectional_groups_join_the_values() {
        let mut inp = input(&[1, 0, 1, 0], &[1, 0, 0, 1], &["F", "F", "M", "M"]);
        inp.sensitive.push(SensitiveColumn {
            name: "race".into(),
            values: vec!["x".into(), "y".into(), "x".into(), "x".into()],
        });
        let r = FairnessReport::compute(&inp, &AuditOptions::default()).unwrap();
        assert_eq!(r.audits.len(), 3);
        let inter = &r.audits[2];
        assert!(inter.intersectional);
        let names: Vec<&str> = inter.by_group.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["F, x", "F, y", "M, x"]);
    }

    #[test]
    fn predictions_files_are_checked() {
        let cols = PredictionColumns::standard(vec!["sex".into()]);
        let ok = "y_true,y_pred,score,sex\n1,1,0.9,F\n0,0,0.2,M\n";
        let inp = parse_predictions(ok.as_bytes(), "p.csv", &cols).unwrap();
        assert_eq!(inp.scores, Some(vec![0.9, 0.2]));
        let missing = "y_true,score,gender\n1,0.9,F\n";
        match parse_predictions(missing.as_bytes(), "p.csv", &cols) {
            Err(AuditError::MissingColumns { missing, .. }) => {
                assert_eq!(missing, ["y_pred", "sex"])
            }
            other => panic!("{other:?}"),
        }
        let text = "y_true,y_pred,sex\nyes,no,F\n";
        assert!(matches!(
            parse_predictions(text.as_bytes(), "p.csv", &cols),
            Err(AuditError::NotBinary { .. })
        ));
        let named = PredictionColumns {
            positive: Some("yes".into()),
            ..cols.clone()
        };
        let inp = parse_predictions(text.as_bytes(), "p.csv", &named).unwrap();
        assert_eq!((inp.y_true, inp.y_pred), (vec![1], vec![0]));
        let three = "y_true,y_pred,sex\nyes,no,F\nmaybe,no,M\n";
        assert!(matches!(
            parse_predictions(three.as_bytes(), "p.csv", &named),
            Err(AuditError::NotBinary { .. })
        ));
        let wrong_pos = PredictionColumns {
            positive: Some("Yes".into()),
            ..cols
        };
        assert!(matches!(
            parse_predictions(text.as_bytes(), "p.csv", &wrong_pos),
            Err(AuditError::PositiveNotFound { .. })
        ));
    }
}
