//! Binary-classification metrics shared by every milestone that predicts a yes/no label.
//!
//! Phase 1 (logistic regression) and phase 2 (sentiment) report the same numbers,
//! so they are computed exactly once, here, with scikit-learn's conventions so the
//! values are comparable with the Python reference baselines:
//!
//! - the *positive* class is label `1` / `true`;
//! - precision, recall and F1 are `0.0` when their denominator is zero
//!   (scikit-learn's `zero_division` default, minus the warning);
//! - ROC AUC treats tied scores as half-right (average ranks, the Mann–Whitney U
//!   statistic), which is what `roc_auc_score` computes;
//! - log-loss clips probabilities to `[ε, 1 − ε]` with ε = [`f64::EPSILON`] so a
//!   confident wrong answer costs a large but finite amount (scikit-learn ≥ 1.5
//!   clips with the dtype's machine epsilon too).
//!
//! Labels can be `bool` or `u8` (`0`/`1`); anything else is an error naming the row,
//! never silently coerced.

use serde::Serialize;

/// What can go wrong when scoring predictions.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetricsError {
    #[error("cannot score an empty set of predictions")]
    Empty,
    #[error("{truth} true labels but {predicted} predictions: they must pair up one to one")]
    LengthMismatch { truth: usize, predicted: usize },
    #[error("row {row}: label {value} is not binary (expected 0 or 1)")]
    NotBinary { row: usize, value: String },
    #[error("row {row}: probability {value} is outside [0, 1]")]
    ProbabilityOutOfRange { row: usize, value: f64 },
    #[error("row {row}: score is NaN")]
    NaNScore { row: usize },
    #[error("ROC AUC needs both classes in the true labels, but every label is {label}")]
    SingleClass { label: u8 },
}

/// A value usable as a binary label: `true`/`1` is the positive class.
pub trait BinaryLabel: Copy {
    /// `Some(is_positive)`, or `None` when the value is not a valid binary label.
    fn to_bool(self) -> Option<bool>;
    /// The value as text, for error messages.
    fn describe(self) -> String;
}

impl BinaryLabel for bool {
    fn to_bool(self) -> Option<bool> {
        Some(self)
    }
    fn describe(self) -> String {
        self.to_string()
    }
}

impl BinaryLabel for u8 {
    fn to_bool(self) -> Option<bool> {
        match self {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn describe(self) -> String {
        self.to_string()
    }
}

/// Converts labels to `bool`, rejecting anything that is not `0`/`1`.
pub fn to_bools<L: BinaryLabel>(labels: &[L]) -> Result<Vec<bool>, MetricsError> {
    labels
        .iter()
        .enumerate()
        .map(|(row, &l)| {
            l.to_bool().ok_or_else(|| MetricsError::NotBinary {
                row,
                value: l.describe(),
            })
        })
        .collect()
}

fn check_pair<L, P>(truth: &[L], predicted: &[P]) -> Result<(), MetricsError> {
    if truth.len() != predicted.len() {
        return Err(MetricsError::LengthMismatch {
            truth: truth.len(),
            predicted: predicted.len(),
        });
    }
    if truth.is_empty() {
        return Err(MetricsError::Empty);
    }
    Ok(())
}

fn check_probabilities(probabilities: &[f64]) -> Result<(), MetricsError> {
    for (row, &p) in probabilities.iter().enumerate() {
        if p.is_nan() {
            return Err(MetricsError::NaNScore { row });
        }
        if !(0.0..=1.0).contains(&p) {
            return Err(MetricsError::ProbabilityOutOfRange { row, value: p });
        }
    }
    Ok(())
}

/// Counts of the four outcomes of a binary decision.
///
/// ```text
///                 predicted 1   predicted 0
///   actually 1        tp            fn
///   actually 0        fp            tn
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ConfusionMatrix {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
}

impl ConfusionMatrix {
    /// Tallies hard predictions against the truth.
    pub fn from_predictions<L: BinaryLabel, M: BinaryLabel>(
        y_true: &[L],
        y_pred: &[M],
    ) -> Result<Self, MetricsError> {
        check_pair(y_true, y_pred)?;
        let truth = to_bools(y_true)?;
        let pred = to_bools(y_pred)?;
        let mut m = ConfusionMatrix::default();
        for (t, p) in truth.into_iter().zip(pred) {
            match (t, p) {
                (true, true) => m.tp += 1,
                (false, true) => m.fp += 1,
                (false, false) => m.tn += 1,
                (true, false) => m.fn_ += 1,
            }
        }
        Ok(m)
    }

    /// Tallies `probability >= threshold` as a positive prediction.
    pub fn from_probabilities<L: BinaryLabel>(
        y_true: &[L],
        probabilities: &[f64],
        threshold: f64,
    ) -> Result<Self, MetricsError> {
        check_pair(y_true, probabilities)?;
        check_probabilities(probabilities)?;
        let pred: Vec<bool> = probabilities.iter().map(|&p| p >= threshold).collect();
        Self::from_predictions(y_true, &pred)
    }

    /// Number of rows tallied.
    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// (tp + tn) / total: the share of rows predicted correctly.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.total())
    }

    /// tp / (tp + fp): of the rows called positive, the share that are. 0 when nothing is called positive.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// tp / (tp + fn): of the positive rows, the share found. 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Harmonic mean of precision and recall, 2tp / (2tp + fp + fn). 0 when tp = fp = fn = 0.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Share of hard predictions equal to the truth.
pub fn accuracy<L: BinaryLabel, M: BinaryLabel>(
    y_true: &[L],
    y_pred: &[M],
) -> Result<f64, MetricsError> {
    Ok(ConfusionMatrix::from_predictions(y_true, y_pred)?.accuracy())
}

/// tp / (tp + fp); see [`ConfusionMatrix::precision`].
pub fn precision<L: BinaryLabel, M: BinaryLabel>(
    y_true: &[L],
    y_pred: &[M],
) -> Result<f64, MetricsError> {
    Ok(ConfusionMatrix::from_predictions(y_true, y_pred)?.precision())
}

/// tp / (tp + fn); see [`ConfusionMatrix::recall`].
pub fn recall<L: BinaryLabel, M: BinaryLabel>(
    y_true: &[L],
    y_pred: &[M],
) -> Result<f64, MetricsError> {
    Ok(ConfusionMatrix::from_predictions(y_true, y_pred)?.recall())
}

/// Harmonic mean of precision and recall; see [`ConfusionMatrix::f1`].
pub fn f1<L: BinaryLabel, M: BinaryLabel>(y_true: &[L], y_pred: &[M]) -> Result<f64, MetricsError> {
    Ok(ConfusionMatrix::from_predictions(y_true, y_pred)?.f1())
}

/// Area under the ROC curve: the probability that a random positive row scores
/// higher than a random negative one, ties counting one half.
///
/// Computed without building the curve, via the Mann–Whitney U statistic:
/// rank all scores ascending (1-based), giving tied scores the *average* of the
/// ranks they span; with `R₊` the sum of the positives' ranks,
///
/// ```text
///   AUC = (R₊ − n₊(n₊ + 1)/2) / (n₊ · n₋)
/// ```
///
/// `scores` may be any real numbers (probabilities, margins); only their order matters.
pub fn roc_auc<L: BinaryLabel>(y_true: &[L], scores: &[f64]) -> Result<f64, MetricsError> {
    check_pair(y_true, scores)?;
    let truth = to_bools(y_true)?;
    if let Some(row) = scores.iter().position(|s| s.is_nan()) {
        return Err(MetricsError::NaNScore { row });
    }
    let n_pos = truth.iter().filter(|&&t| t).count();
    let n_neg = truth.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(MetricsError::SingleClass {
            label: u8::from(n_pos > 0),
        });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut start = 0;
    while start < order.len() {
        // [start, end) is one run of tied scores; each gets the mean of ranks start+1..=end.
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let avg_rank = (start + 1 + end) as f64 / 2.0;
        let tied_pos = order[start..end].iter().filter(|&&i| truth[i]).count();
        rank_sum_pos += avg_rank * tied_pos as f64;
        start = end;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Ok((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// The ROC curve as `(false positive rate, true positive rate)` points, from
/// `(0, 0)` (threshold above every score) to `(1, 1)`, one point per distinct
/// score (tied scores move both rates at once, a diagonal step). The trapezoid
/// area under these points equals [`roc_auc`].
pub fn roc_curve<L: BinaryLabel>(
    y_true: &[L],
    scores: &[f64],
) -> Result<Vec<(f64, f64)>, MetricsError> {
    check_pair(y_true, scores)?;
    let truth = to_bools(y_true)?;
    if let Some(row) = scores.iter().position(|s| s.is_nan()) {
        return Err(MetricsError::NaNScore { row });
    }
    let n_pos = truth.iter().filter(|&&t| t).count();
    let n_neg = truth.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(MetricsError::SingleClass {
            label: u8::from(n_pos > 0),
        });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        for &i in &order[start..end] {
            if truth[i] {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        points.push((fp as f64 / n_neg as f64, tp as f64 / n_pos as f64));
        start = end;
    }
    Ok(points)
}

/// Mean negative log-likelihood of the truth under the predicted probabilities:
///
/// ```text
///   −(1/n) Σᵢ [ yᵢ ln pᵢ + (1 − yᵢ) ln(1 − pᵢ) ]
/// ```
///
/// with each `pᵢ` clipped to `[ε, 1 − ε]`, ε = [`f64::EPSILON`], so that a
/// probability of exactly 0 or 1 on the wrong side gives ≈ 36 instead of ∞.
pub fn log_loss<L: BinaryLabel>(y_true: &[L], probabilities: &[f64]) -> Result<f64, MetricsError> {
    check_pair(y_true, probabilities)?;
    check_probabilities(probabilities)?;
    let truth = to_bools(y_true)?;
    let eps = f64::EPSILON;
    let total: f64 = truth
        .iter()
        .zip(probabilities)
        .map(|(&t, &p)| {
            let p = p.clamp(eps, 1.0 - eps);
            if t {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    Ok(total / truth.len() as f64)
}

/// Every headline number of a binary classifier, from its predicted probabilities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinaryReport {
    /// Rows scored.
    pub n: usize,
    /// Rows whose true label is positive.
    pub positives: usize,
    /// Probability at or above which a row is predicted positive.
    pub threshold: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// `None` when the truth holds a single class (AUC is undefined then).
    pub roc_auc: Option<f64>,
    pub log_loss: f64,
    pub confusion: ConfusionMatrix,
}

impl BinaryReport {
    /// Scores probabilities with the usual 0.5 threshold.
    pub fn new<L: BinaryLabel>(y_true: &[L], probabilities: &[f64]) -> Result<Self, MetricsError> {
        Self::with_threshold(y_true, probabilities, 0.5)
    }

    /// Scores probabilities, calling `p >= threshold` positive.
    pub fn with_threshold<L: BinaryLabel>(
        y_true: &[L],
        probabilities: &[f64],
        threshold: f64,
    ) -> Result<Self, MetricsError> {
        let confusion = ConfusionMatrix::from_probabilities(y_true, probabilities, threshold)?;
        let roc_auc = match roc_auc(y_true, probabilities) {
            Ok(auc) => Some(auc),
            Err(MetricsError::SingleClass { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(BinaryReport {
            n: y_true.len(),
            positives: (confusion.tp + confusion.fn_) as usize,
            threshold,
            accuracy: confusion.accuracy(),
            precision: confusion.precision(),
            recall: confusion.recall(),
            f1: confusion.f1(),
            roc_auc,
            log_loss: log_loss(y_true, probabilities)?,
            confusion,
        })
    }

    /// The report as `(name, value)` pairs, the shape run trackers record
    /// (`accuracy`, `precision`, `recall`, `f1`, `roc_auc`, `log_loss`);
    /// `roc_auc` is left out when undefined.
    pub fn metric_pairs(&self) -> Vec<(&'static str, f64)> {
        let mut pairs = vec![
            ("accuracy", self.accuracy),
            ("precision", self.precision),
            ("recall", self.recall),
            ("f1", self.f1),
        ];
        if let Some(auc) = self.roc_auc {
            pairs.push(("roc_auc", auc));
        }
        pairs.push(("log_loss", self.log_loss));
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    // truth:  1 1 1 1 0 0 0 0 0 0
    // pred:   1 1 1 0 1 1 0 0 0 0   -> tp 3, fn 1, fp 2, tn 4
    const T: [u8; 10] = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
    const P: [u8; 10] = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0];

    #[test]
    fn confusion_and_threshold_metrics_match_hand_counts() {
        let m = ConfusionMatrix::from_predictions(&T, &P).unwrap();
        assert_eq!(
            m,
            ConfusionMatrix {
                tp: 3,
                fp: 2,
                tn: 4,
                fn_: 1
            }
        );
        assert!(close(accuracy(&T, &P).unwrap(), 7.0 / 10.0));
        assert!(close(precision(&T, &P).unwrap(), 3.0 / 5.0));
        assert!(close(recall(&T, &P).unwrap(), 3.0 / 4.0));
        // F1 = 2·(3/5)(3/4)/((3/5)+(3/4)) = 2/3 = 2·3/(2·3+2+1)
        assert!(close(f1(&T, &P).unwrap(), 2.0 / 3.0));
    }

    #[test]
    fn zero_denominators_give_zero_like_scikit_learn() {
        let t = [true, false];
        let p = [false, false];
        assert_eq!(precision(&t, &p).unwrap(), 0.0);
        assert_eq!(f1(&t, &p).unwrap(), 0.0);
        assert_eq!(recall(&[false, false], &[false, true]).unwrap(), 0.0);
    }

    #[test]
    fn roc_auc_without_ties_counts_ordered_pairs() {
        // positives scored 0.9, 0.4; negatives 0.5, 0.1.
        // pairs (pos > neg): 0.9>0.5, 0.9>0.1, 0.4>0.1 -> 3 of 4.
        let t = [1u8, 1, 0, 0];
        let s = [0.9, 0.4, 0.5, 0.1];
        assert!(close(roc_auc(&t, &s).unwrap(), 0.75));
    }

    #[test]
    fn roc_auc_counts_ties_as_half() {
        // positives 0.8, 0.5; negatives 0.5, 0.2.
        // pairs: 0.8>0.5 (1), 0.8>0.2 (1), 0.5=0.5 (½), 0.5>0.2 (1) -> 3.5 / 4.
        let t = [1u8, 1, 0, 0];
        let s = [0.8, 0.5, 0.5, 0.2];
        assert!(close(roc_auc(&t, &s).unwrap(), 0.875));
        // All scores equal: every pair is a tie -> 0.5.
        assert!(close(roc_auc(&t, &[0.3; 4]).unwrap(), 0.5));
    }

    #[test]
    fn roc_curve_area_equals_roc_auc() {
        let t = [1u8, 1, 0, 0, 1, 0, 1];
        let s = [0.8, 0.5, 0.5, 0.2, 0.7, 0.9, 0.5];
        let pts = roc_curve(&t, &s).unwrap();
        assert_eq!(pts.first(), Some(&(0.0, 0.0)));
        assert_eq!(pts.last(), Some(&(1.0, 1.0)));
        let area: f64 = pts
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
            .sum();
        assert!(close(area, roc_auc(&t, &s).unwrap()));
    }

    #[test]
    fn log_loss_matches_hand_value_and_clips() {
        // −(ln 0.8 + ln(1 − 0.4)) / 2
        let expected = -(0.8f64.ln() + 0.6f64.ln()) / 2.0;
        assert!(close(log_loss(&[1u8, 0], &[0.8, 0.4]).unwrap(), expected));
        // A certain wrong answer is finite: −ln ε.
        let l = log_loss(&[1u8], &[0.0]).unwrap();
        assert!(close(l, -f64::EPSILON.ln()));
        assert!(close(
            log_loss(&[1u8], &[1.0]).unwrap(),
            -(1.0 - f64::EPSILON).ln()
        ));
    }

    #[test]
    fn report_combines_everything() {
        let t = [1u8, 1, 0, 0];
        let p = [0.9, 0.4, 0.5, 0.1];
        let r = BinaryReport::new(&t, &p).unwrap();
        // pred at 0.5: 1 0 1 0 -> tp 1, fn 1, fp 1, tn 1
        assert_eq!(
            r.confusion,
            ConfusionMatrix {
                tp: 1,
                fp: 1,
                tn: 1,
                fn_: 1
            }
        );
        assert_eq!((r.n, r.positives), (4, 2));
        assert!(close(r.accuracy, 0.5));
        assert!(close(r.roc_auc.unwrap(), 0.75));
        let names: Vec<_> = r.metric_pairs().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "accuracy",
                "precision",
                "recall",
                "f1",
                "roc_auc",
                "log_loss"
            ]
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["confusion"]["fn"], 1);
        // A single-class truth leaves AUC undefined rather than failing the report.
        let single = BinaryReport::new(&[1u8, 1], &[0.7, 0.2]).unwrap();
        assert_eq!(single.roc_auc, None);
    }

    #[test]
    fn bad_inputs_are_rejected_with_the_row() {
        assert_eq!(
            accuracy(&[0u8, 2], &[0u8, 1]),
            Err(MetricsError::NotBinary {
                row: 1,
                value: "2".into()
            })
        );
        assert_eq!(
            log_loss(&[0u8, 1], &[0.2]),
            Err(MetricsError::LengthMismatch {
                truth: 2,
                predicted: 1
            })
        );
        assert_eq!(log_loss::<u8>(&[], &[]), Err(MetricsError::Empty));
        assert_eq!(
            log_loss(&[0u8, 1], &[0.2, 1.5]),
            Err(MetricsError::ProbabilityOutOfRange { row: 1, value: 1.5 })
        );
        assert_eq!(
            roc_auc(&[0u8, 1], &[f64::NAN, 0.1]),
            Err(MetricsError::NaNScore { row: 0 })
        );
        assert_eq!(
            roc_auc(&[0u8, 0], &[0.1, 0.2]),
            Err(MetricsError::SingleClass { label: 0 })
        );
    }
}
