//! Post-processing mitigation: one decision threshold per group, chosen so the
//! groups satisfy demographic parity or equalized odds, in the spirit of
//! fairlearn's `ThresholdOptimizer` (Hardt, Price & Srebro 2016, "Equality of
//! Opportunity in Supervised Learning").
//!
//! The model's score `s` is kept; only the cut changes: `ŷ = 1` iff
//! `s ≥ t_g` for a row of group `g`. Each group's possible cuts are the gaps
//! between its distinct sorted scores, which gives every achievable
//! selection rate and (FPR, TPR) point of that group exactly; the threshold
//! is the lowest score selected (the cut selecting nobody is just above the
//! highest score).
//!
//! - **Demographic parity**: for each target selection rate `r` on a grid of
//!   201 values in [0, 1], each group takes the cut whose selection rate is
//!   closest to `r`; the target kept is the one with the best accuracy among
//!   those whose demographic parity difference is at most `tolerance`.
//! - **Equalized odds**: for each target false positive rate `f` on the same
//!   grid, the target true positive rate is `min_g max{TPR_g : FPR_g ≤ f}` (the
//!   pointwise minimum of the groups' ROC curves, as in fairlearn); each group
//!   takes the cut closest to `(f, TPR*)` in the max-norm; the target kept is
//!   the most accurate one whose equalized odds difference is at most `tolerance`.
//!   A group without positive (negative) labels is matched on FPR (TPR) only.
//!
//! If no target meets the tolerance, the one with the smallest disparity is kept.
//!
//! **How this differs from fairlearn's `ThresholdOptimizer`**: fairlearn
//! reaches the target point *exactly* by randomising between two thresholds
//! (a row's prediction is a coin flip between two cuts), on the convex hull of
//! each group's ROC curve. Here every prediction is deterministic — the same
//! row always gets the same answer, which is what an auditor can explain —
//! and parity is met up to the granularity of each group's distinct scores and
//! the tolerance. The thresholds are fitted on the rows given; evaluated on the
//! same rows (as [`mitigate`] does) the accuracy is optimistic: fit on a
//! validation split with [`fit_thresholds`] and evaluate elsewhere for an
//! honest number.

use serde::Serialize;

use crate::error::{AuditError, Result};
use crate::fairness::AuditInput;

/// Which parity the thresholds aim for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    DemographicParity,
    EqualizedOdds,
}

impl std::str::FromStr for Constraint {
    type Err = AuditError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "demographic_parity" | "dp" => Ok(Constraint::DemographicParity),
            "equalized_odds" | "eo" => Ok(Constraint::EqualizedOdds),
            _ => Err(AuditError::BadParameter {
                what: "the mitigation constraint",
                expected: "demographic_parity (dp) or equalized_odds (eo)",
                got: s.into(),
            }),
        }
    }
}

/// Default tolerance on the disparity after mitigation.
pub const TOLERANCE: f64 = 0.01;
const GRID: usize = 201;

/// One group's cut.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupThreshold {
    pub group: String,
    /// `ŷ = 1` iff `score ≥ threshold`.
    pub threshold: f64,
    pub selection_rate: f64,
    pub true_positive_rate: Option<f64>,
    pub false_positive_rate: Option<f64>,
}

/// Fitted per-group thresholds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupThresholds {
    pub constraint: Constraint,
    pub tolerance: f64,
    pub thresholds: Vec<GroupThreshold>,
    /// Whether the disparity on the fitting rows is within the tolerance.
    pub within_tolerance: bool,
}

impl GroupThresholds {
    /// Predictions for scores of rows in the given groups; a group not seen
    /// when fitting is an error.
    pub fn predict(&self, scores: &[f64], groups: &[String]) -> Result<Vec<u8>> {
        scores
            .iter()
            .zip(groups)
            .map(|(&s, g)| {
                let t = self
                    .thresholds
                    .iter()
                    .find(|t| &t.group == g)
                    .ok_or_else(|| AuditError::Sensitive {
                        column: "mitigation".into(),
                        problem: format!(
                            "group `{g}` has no fitted threshold (it was absent when fitting)"
                        ),
                    })?;
                Ok(u8::from(s >= t.threshold))
            })
            .collect()
    }
}

/// Accuracy and disparities of one set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub accuracy: f64,
    pub demographic_parity_difference: f64,
    /// `None` when a group has no positive or no negative labels.
    pub equalized_odds_difference: Option<f64>,
}

/// Before and after the mitigation, on the same rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MitigationReport {
    pub sensitive: String,
    pub fitted: GroupThresholds,
    pub before: Outcome,
    pub after: Outcome,
    /// `before.accuracy − after.accuracy`.
    pub accuracy_cost: f64,
    /// Always true for [`mitigate`]: fitted and evaluated on the same rows.
    pub in_sample: bool,
}

/// One group's scores sorted high to low, with the counts at each cut.
struct GroupCurve {
    name: String,
    /// Distinct cut sizes k (rows selected), ascending, 0 and n included.
    cuts: Vec<usize>,
    /// Threshold selecting exactly the top k rows, per cut.
    thresholds: Vec<f64>,
    /// True positives among the top k, per cut.
    tp: Vec<u64>,
    n: usize,
    positives: u64,
}

impl GroupCurve {
    fn new(name: String, mut rows: Vec<(f64, u8)>) -> Self {
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        let n = rows.len();
        let (mut cuts, mut thresholds, mut tp) = (vec![0], vec![rows[0].0.next_up()], vec![0u64]);
        let mut acc = 0u64;
        for k in 1..=n {
            acc += u64::from(rows[k - 1].1);
            if k == n || rows[k].0 < rows[k - 1].0 {
                cuts.push(k);
                // The lowest selected score: `s ≥ t` then selects exactly these k rows.
                thresholds.push(rows[k - 1].0);
                tp.push(acc);
            }
        }
        GroupCurve {
            name,
            cuts,
            thresholds,
            tp,
            n,
            positives: acc,
        }
    }
    fn rate(&self, i: usize) -> f64 {
        self.cuts[i] as f64 / self.n as f64
    }
    fn tpr(&self, i: usize) -> Option<f64> {
        (self.positives > 0).then(|| self.tp[i] as f64 / self.positives as f64)
    }
    fn fpr(&self, i: usize) -> Option<f64> {
        let neg = self.n as u64 - self.positives;
        (neg > 0).then(|| (self.cuts[i] as u64 - self.tp[i]) as f64 / neg as f64)
    }
    /// Correct predictions at cut i: TP + TN.
    fn correct(&self, i: usize) -> u64 {
        let fp = self.cuts[i] as u64 - self.tp[i];
        self.tp[i] + (self.n as u64 - self.positives - fp)
    }
}

fn spread(v: impl Iterator<Item = f64>) -> f64 {
    let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
        (l.min(x), h.max(x))
    });
    if hi >= lo {
        hi - lo
    } else {
        0.0
    }
}

fn evaluate_cuts(curves: &[GroupCurve], pick: &[usize]) -> (f64, f64, Option<f64>) {
    let n: usize = curves.iter().map(|c| c.n).sum();
    let correct: u64 = curves.iter().zip(pick).map(|(c, &i)| c.correct(i)).sum();
    let dpd = spread(curves.iter().zip(pick).map(|(c, &i)| c.rate(i)));
    let eod = eod_of(curves, pick);
    (correct as f64 / n as f64, dpd, eod)
}

fn eod_of(curves: &[GroupCurve], pick: &[usize]) -> Option<f64> {
    let tprs: Option<Vec<f64>> = curves.iter().zip(pick).map(|(c, &i)| c.tpr(i)).collect();
    let fprs: Option<Vec<f64>> = curves.iter().zip(pick).map(|(c, &i)| c.fpr(i)).collect();
    Some(spread(tprs?.into_iter()).max(spread(fprs?.into_iter())))
}

/// Chooses per-group thresholds on `scores` / `y_true` for the groups in `groups`.
pub fn fit_thresholds(
    scores: &[f64],
    y_true: &[u8],
    groups: &[String],
    constraint: Constraint,
    tolerance: f64,
) -> Result<GroupThresholds> {
    crate::error::check_len("scores", scores.len(), y_true.len(), "one per label")?;
    crate::error::check_len("groups", groups.len(), y_true.len(), "one per label")?;
    if !(0.0..=1.0).contains(&tolerance) {
        return Err(AuditError::BadParameter {
            what: "the tolerance",
            expected: "a number in [0, 1]",
            got: tolerance.to_string(),
        });
    }
    if let Some(s) = scores.iter().find(|s| !s.is_finite()) {
        return Err(AuditError::BadParameter {
            what: "a score",
            expected: "a finite number",
            got: s.to_string(),
        });
    }
    let mut by_group: std::collections::BTreeMap<&str, Vec<(f64, u8)>> = Default::default();
    for ((&s, &y), g) in scores.iter().zip(y_true).zip(groups) {
        by_group.entry(g).or_default().push((s, y));
    }
    if by_group.len() < 2 {
        return Err(AuditError::Sensitive {
            column: "mitigation".into(),
            problem: format!(
                "{} group(s): per-group thresholds need at least two",
                by_group.len()
            ),
        });
    }
    let curves: Vec<GroupCurve> = by_group
        .into_iter()
        .map(|(g, r)| GroupCurve::new(g.into(), r))
        .collect();
    let closest = |c: &GroupCurve, target: &dyn Fn(usize) -> f64| -> usize {
        (0..c.cuts.len())
            .min_by(|&a, &b| target(a).total_cmp(&target(b)))
            .expect("a curve has at least two cuts")
    };
    // (accuracy, disparity, picks) per grid target.
    let mut candidates: Vec<(f64, f64, Vec<usize>)> = Vec::with_capacity(GRID);
    for step in 0..GRID {
        let g = step as f64 / (GRID - 1) as f64;
        let pick: Vec<usize> = match constraint {
            Constraint::DemographicParity => curves
                .iter()
                .map(|c| closest(c, &|i| (c.rate(i) - g).abs()))
                .collect(),
            Constraint::EqualizedOdds => {
                let tpr_star = curves
                    .iter()
                    .filter_map(|c| {
                        (0..c.cuts.len())
                            .filter(|&i| c.fpr(i).is_none_or(|f| f <= g))
                            .filter_map(|i| c.tpr(i))
                            .max_by(f64::total_cmp)
                    })
                    .min_by(f64::total_cmp)
                    .unwrap_or(0.0);
                curves
                    .iter()
                    .map(|c| {
                        closest(c, &|i| {
                            let dt = c.tpr(i).map_or(0.0, |t| (t - tpr_star).abs());
                            let df = c.fpr(i).map_or(0.0, |f| (f - g).abs());
                            dt.max(df)
                        })
                    })
                    .collect()
            }
        };
        let (acc, dpd, eod) = evaluate_cuts(&curves, &pick);
        let disparity = match constraint {
            Constraint::DemographicParity => dpd,
            Constraint::EqualizedOdds => eod.unwrap_or_else(|| {
                // A group lacks one class: only the defined rates can be equalised.
                let t = spread(curves.iter().zip(&pick).filter_map(|(c, &i)| c.tpr(i)));
                let f = spread(curves.iter().zip(&pick).filter_map(|(c, &i)| c.fpr(i)));
                t.max(f)
            }),
        };
        candidates.push((acc, disparity, pick));
    }
    // Rates are k/n: allow for the rounding of their differences.
    let within: Vec<&(f64, f64, Vec<usize>)> = candidates
        .iter()
        .filter(|c| c.1 <= tolerance + 1e-12)
        .collect();
    let best = if within.is_empty() {
        candidates
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1).then(b.0.total_cmp(&a.0)))
            .expect("the grid is not empty")
    } else {
        within
            .into_iter()
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)))
            .expect("not empty")
    };
    Ok(GroupThresholds {
        constraint,
        tolerance,
        within_tolerance: best.1 <= tolerance + 1e-12,
        thresholds: curves
            .iter()
            .zip(&best.2)
            .map(|(c, &i)| GroupThreshold {
                group: c.name.clone(),
                threshold: c.thresholds[i],
                selection_rate: c.rate(i),
                true_positive_rate: c.tpr(i),
                false_positive_rate: c.fpr(i),
            })
            .collect(),
    })
}

fn outcome(y_true: &[u8], y_pred: &[u8], groups: &[String]) -> Outcome {
    let mut per: std::collections::BTreeMap<&str, [u64; 4]> = Default::default();
    for ((&y, &p), g) in y_true.iter().zip(y_pred).zip(groups) {
        per.entry(g).or_default()[usize::from(y) * 2 + usize::from(p)] += 1;
    }
    let correct = y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count();
    // cells: [TN, FP, FN, TP]
    let sr = per
        .values()
        .map(|c| (c[1] + c[3]) as f64 / c.iter().sum::<u64>() as f64);
    let tpr: Option<Vec<f64>> = per
        .values()
        .map(|c| (c[2] + c[3] > 0).then(|| c[3] as f64 / (c[2] + c[3]) as f64))
        .collect();
    let fpr: Option<Vec<f64>> = per
        .values()
        .map(|c| (c[0] + c[1] > 0).then(|| c[1] as f64 / (c[0] + c[1]) as f64))
        .collect();
    Outcome {
        accuracy: correct as f64 / y_true.len() as f64,
        demographic_parity_difference: spread(sr),
        equalized_odds_difference: tpr
            .zip(fpr)
            .map(|(t, f)| spread(t.into_iter()).max(spread(f.into_iter()))),
    }
}

/// Fits thresholds on `input` for the groups of sensitive column `column` and
/// reports accuracy and disparity before (the input's predictions) and after,
/// on the same rows. Needs scores.
pub fn mitigate(
    input: &AuditInput,
    column: &str,
    constraint: Constraint,
    tolerance: f64,
) -> Result<MitigationReport> {
    let scores = input
        .scores
        .as_ref()
        .ok_or_else(|| AuditError::BadParameter {
            what: "the mitigation",
            expected: "predictions with a score column (P(y = 1) per row)",
            got: "no scores".into(),
        })?;
    let groups = &input
        .sensitive
        .iter()
        .find(|s| s.name == column)
        .ok_or_else(|| AuditError::Sensitive {
            column: column.into(),
            problem: format!(
                "not among the audited columns {:?}",
                input.sensitive.iter().map(|s| &s.name).collect::<Vec<_>>()
            ),
        })?
        .values;
    let fitted = fit_thresholds(scores, &input.y_true, groups, constraint, tolerance)?;
    let after_pred = fitted.predict(scores, groups)?;
    let before = outcome(&input.y_true, &input.y_pred, groups);
    let after = outcome(&input.y_true, &after_pred, groups);
    Ok(MitigationReport {
        sensitive: column.into(),
        accuracy_cost: before.accuracy - after.accuracy,
        fitted,
        before,
        after,
        in_sample: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fairness::SensitiveColumn;

    /// Group B's scores are shifted down: the same threshold selects it less.
    fn biased() -> AuditInput {
        let mut y = Vec::new();
        let mut s = Vec::new();
        let mut g = Vec::new();
        for i in 0..200 {
            let label = (i % 2) as u8;
            let base =
                if label == 1 { 0.65 } else { 0.35 } + ((i * 37 % 100) as f64 - 50.0) / 250.0;
            for (name, shift) in [("A", 0.0), ("B", -0.15)] {
                y.push(label);
                s.push((base + shift).clamp(0.0, 1.0));
                g.push(name.to_string());
            }
        }
        let p = s.iter().map(|&v| u8::from(v > 0.5)).collect();
        AuditInput {
            source_name: "t".into(),
            y_true: y,
            y_pred: p,
            scores: Some(s),
            sensitive: vec![SensitiveColumn {
                name: "g".into(),
                values: g,
            }],
        }
    }

    #[test]
    fn demographic_parity_thresholds_close_the_gap() {
        let r = mitigate(&biased(), "g", Constraint::DemographicParity, TOLERANCE).unwrap();
        assert!(r.before.demographic_parity_difference > 0.1);
        assert!(r.after.demographic_parity_difference <= TOLERANCE, "{r:?}");
        assert!(r.fitted.within_tolerance);
        let t = &r.fitted.thresholds;
        assert!(
            t[1].threshold < t[0].threshold,
            "group B gets the lower cut"
        );
        assert!((r.accuracy_cost - (r.before.accuracy - r.after.accuracy)).abs() < 1e-15);
    }

    #[test]
    fn equalized_odds_thresholds_close_the_gap() {
        let r = mitigate(&biased(), "g", Constraint::EqualizedOdds, 0.02).unwrap();
        assert!(r.before.equalized_odds_difference.unwrap() > 0.1);
        assert!(r.after.equalized_odds_difference.unwrap() <= 0.02, "{r:?}");
    }

    #[test]
    fn thresholds_reproduce_the_chosen_rates_and_reject_unknown_groups() {
        let inp = biased();
        let groups = &inp.sensitive[0].values;
        let scores = inp.scores.as_ref().unwrap();
        let f = fit_thresholds(
            scores,
            &inp.y_true,
            groups,
            Constraint::DemographicParity,
            0.0,
        )
        .unwrap();
        let pred = f.predict(scores, groups).unwrap();
        for t in &f.thresholds {
            let rows: Vec<usize> = (0..groups.len())
                .filter(|&i| groups[i] == t.group)
                .collect();
            let sel = rows.iter().filter(|&&i| pred[i] == 1).count() as f64 / rows.len() as f64;
            assert_eq!(sel, t.selection_rate);
        }
        assert!(f.predict(&[0.5], &["C".to_string()]).is_err());
        let one = vec!["A".to_string(); scores.len()];
        assert!(fit_thresholds(
            scores,
            &inp.y_true,
            &one,
            Constraint::DemographicParity,
            0.01
        )
        .is_err());
    }
}
