//! Shapley-value explanations: which feature moved this prediction, and by how much.
//!
//! A prediction `f(x)` is split into a base value (the average prediction
//! over a background data set) plus one contribution `φⱼ` per feature, with
//!
//! ```text
//!   f(x) = φ₀ + Σⱼ φⱼ        (additivity / "local accuracy")
//! ```
//!
//! and `φⱼ` the Shapley value of feature j in the game whose value of a
//! coalition S of features is the model's expected output when the features
//! in S take x's values and the others come from the background:
//!
//! ```text
//!   v(S) = link( E_bg[ f(x_S, z_S̄) ] ),
//!   φⱼ   = Σ_{S ⊆ N∖{j}} |S|! (M − |S| − 1)! / M! · (v(S ∪ {j}) − v(S)).
//! ```
//!
//! - [`linear`]: the closed form for a logistic regression in log-odds,
//!   `φⱼ = wⱼ (xⱼ − E[xⱼ])` (shap's `LinearExplainer`), exact and instant.
//! - [`kernel`]: KernelSHAP, shap's model-agnostic estimator (a weighted
//!   linear regression over sampled coalitions), with [`lars`] for shap's
//!   default feature selection and [`background`] for the `shap.kmeans` summary.
//! - [`exact`]: the formula above by enumerating all 2^M coalitions (M ≤ 15),
//!   and a generic version for any value function (the RAG service attributes
//!   an answer to its passages with it).
//! - [`text`]: token-level explanations of the sentiment network (a token is
//!   present or masked).
//! - [`plot`]: shap's waterfall, bar and beeswarm plots as SVG, and coloured
//!   tokens for the terminal and HTML.
//!
//! Every explainer returns an [`Explanation`], which can check its own
//! additivity ([`Explanation::max_additivity_error`]).

use ndarray::{Array2, ArrayView2};
use serde::Serialize;

use crate::error::{AuditError, Result};

pub mod background;
pub mod exact;
pub mod kernel;
pub mod lars;
pub mod linear;
pub mod plot;
pub mod text;

/// The function linking the model's output to the additive explanation space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// Explain the output as it is.
    Identity,
    /// Explain a probability in log-odds: `logit(p) = ln(p / (1 − p))`, with
    /// `p` clipped to `[10⁻¹⁵, 1 − 10⁻¹⁵]` first (shap's `LogitLink`).
    Logit,
}

impl Link {
    /// Applies the link.
    pub fn apply(self, p: f64) -> f64 {
        match self {
            Link::Identity => p,
            Link::Logit => {
                let c = p.clamp(1e-15, 1.0 - 1e-15);
                (c / (1.0 - c)).ln()
            }
        }
    }

    /// The space explanations are in, for display.
    pub fn space(self) -> &'static str {
        match self {
            Link::Identity => "model output",
            Link::Logit => "log-odds",
        }
    }
}

/// A model to explain: a batch of feature rows in, one output per row out.
pub trait Model: Sync {
    /// Outputs for each row of `x` (e.g. `P(y = 1)`).
    fn predict(&self, x: ArrayView2<f64>) -> Result<Vec<f64>>;
}

impl<F> Model for F
where
    F: Fn(ArrayView2<f64>) -> Vec<f64> + Sync,
{
    fn predict(&self, x: ArrayView2<f64>) -> Result<Vec<f64>> {
        Ok(self(x))
    }
}

impl Model for crate::pipeline::TabularModel {
    /// `P(y = 1)` of encoded rows.
    fn predict(&self, x: ArrayView2<f64>) -> Result<Vec<f64>> {
        crate::error::check_len(
            "columns of the rows to explain",
            x.ncols(),
            self.weights.len(),
            "model features",
        )?;
        Ok(self.predict_proba_encoded(x).to_vec())
    }
}

/// SHAP values of some rows, with what is needed to check and plot them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Which explainer produced it (`linear`, `kernel`, `exact`).
    pub method: String,
    pub feature_names: Vec<String>,
    /// The space of base value, SHAP values and outputs (`log-odds`, …).
    pub space: String,
    /// `φ₀`: the expected output over the background, in `space`.
    pub base_value: f64,
    /// One row of SHAP values per explained row.
    #[serde(serialize_with = "serialize_rows")]
    pub values: Array2<f64>,
    /// The model's output for each explained row, in `space`.
    pub outputs: Vec<f64>,
    /// The explained rows' feature values (for the beeswarm's colours), if kept.
    #[serde(skip)]
    pub data: Option<Array2<f64>>,
}

fn serialize_rows<S: serde::Serializer>(
    a: &Array2<f64>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(a.nrows()))?;
    for r in a.rows() {
        seq.serialize_element(&r.to_vec())?;
    }
    seq.end()
}

/// One feature's global importance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Importance {
    pub feature: String,
    /// `mean_i |φᵢⱼ|` over the explained rows.
    pub mean_abs_shap: f64,
}

impl Explanation {
    /// `|φ₀ + Σⱼ φᵢⱼ − f(xᵢ)|` per row: zero up to rounding for an exact method.
    pub fn additivity_errors(&self) -> Vec<f64> {
        self.values
            .rows()
            .into_iter()
            .zip(&self.outputs)
            .map(|(r, &f)| (self.base_value + r.sum() - f).abs())
            .collect()
    }

    /// The largest additivity error over the rows (0 for no rows).
    pub fn max_additivity_error(&self) -> f64 {
        self.additivity_errors().into_iter().fold(0.0, f64::max)
    }

    /// Global importance, `mean |SHAP|` per feature, largest first (shap's bar plot).
    pub fn importance(&self) -> Vec<Importance> {
        let n = self.values.nrows().max(1) as f64;
        let mut out: Vec<Importance> = self
            .feature_names
            .iter()
            .enumerate()
            .map(|(j, f)| Importance {
                feature: f.clone(),
                mean_abs_shap: self.values.column(j).iter().map(|v| v.abs()).sum::<f64>() / n,
            })
            .collect();
        out.sort_by(|a, b| b.mean_abs_shap.total_cmp(&a.mean_abs_shap));
        out
    }

    /// The same explanation with features summed into groups (e.g. a one-hot
    /// block back into its source column). SHAP values are additive, so a
    /// group's value is the sum of its members' and additivity is kept.
    /// Feature values are dropped (a group has no single value to colour by).
    pub fn grouped(&self, groups: &[Vec<usize>], names: &[String]) -> Result<Explanation> {
        crate::error::check_len("feature groups", groups.len(), names.len(), "group names")?;
        let d = self.values.ncols();
        if let Some(&j) = groups.iter().flatten().find(|&&j| j >= d) {
            return Err(AuditError::BadParameter {
                what: "a feature group member",
                expected: "an index of an explained feature",
                got: format!("{j} (there are {d} features)"),
            });
        }
        let values = Array2::from_shape_fn((self.values.nrows(), groups.len()), |(i, g)| {
            groups[g].iter().map(|&j| self.values[[i, j]]).sum()
        });
        Ok(Explanation {
            method: self.method.clone(),
            feature_names: names.to_vec(),
            space: self.space.clone(),
            base_value: self.base_value,
            values,
            outputs: self.outputs.clone(),
            data: None,
        })
    }
}

/// Checks a matrix to explain is finite and has the expected width.
pub(crate) fn check_rows(x: ArrayView2<f64>, width: usize) -> Result<()> {
    crate::error::check_len(
        "columns of the rows to explain",
        x.ncols(),
        width,
        "features",
    )?;
    if let Some(((row, column), &value)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(AuditError::NonFinite { row, column, value });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn grouping_keeps_additivity_and_importance_sorts() {
        let e = Explanation {
            method: "test".into(),
            feature_names: vec!["a".into(), "b=x".into(), "b=y".into()],
            space: "log-odds".into(),
            base_value: 0.5,
            values: array![[1.0, -0.25, 0.5], [-2.0, 0.0, 0.25]],
            outputs: vec![1.75, -1.25],
            data: None,
        };
        assert!(e.max_additivity_error() < 1e-15);
        let g = e
            .grouped(&[vec![0], vec![1, 2]], &["a".into(), "b".into()])
            .unwrap();
        assert_eq!(g.values, array![[1.0, 0.25], [-2.0, 0.25]]);
        assert!(g.max_additivity_error() < 1e-15);
        let imp = e.importance();
        assert_eq!(imp[0].feature, "a");
        assert_eq!(imp[0].mean_abs_shap, 1.5);
        assert!(e.grouped(&[vec![7]], &["z".into()]).is_err());
    }

    #[test]
    fn logit_link_clips_like_shap() {
        assert_eq!(Link::Logit.apply(0.5), 0.0);
        // Clipped, so a certain prediction stays finite (about ±34.5).
        assert_eq!(Link::Logit.apply(1.0), Link::Logit.apply(1.0 - 1e-15));
        assert!(Link::Logit.apply(0.0) < -34.0 && Link::Logit.apply(0.0).is_finite());
        assert!(Link::Logit.apply(1.0) > 34.0);
        assert_eq!(Link::Identity.apply(0.3), 0.3);
    }
}
