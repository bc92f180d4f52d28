//! Exact SHAP for a linear model in its margin (for logistic regression: log-odds).
//!
//! With `f(x) = b + Σⱼ wⱼ xⱼ` and features treated as independent of each
//! other (the *interventional* definition: absent features are drawn from the
//! background data, here the training rows), the coalition game is
//! `v(S) = b + Σ_{j∈S} wⱼ xⱼ + Σ_{j∉S} wⱼ E[xⱼ]`, which is additive, so each
//! feature's Shapley value is its own term:
//!
//! ```text
//!   φⱼ = wⱼ · (xⱼ − E[xⱼ]),        φ₀ = b + Σⱼ wⱼ E[xⱼ] = E[f(X)].
//! ```
//!
//! This is shap 0.51's `LinearExplainer` with the interventional (independent)
//! masker over the whole training set — `LinearExplainer(model,
//! shap.maskers.Independent(X_train, max_samples=len(X_train)))`:
//! `expected_value = coef·mean + intercept`, `shap_values = coef · (x − mean)`
//! — for a logistic regression in log-odds units (what
//! `LogisticRegression.decision_function` returns). Beware that shap's
//! shorthand `LinearExplainer(model, X_train)` keeps only a 100-row sample
//! of `X_train` (`maskers.Independent`'s default `max_samples=100`), so its
//! means, and values, differ slightly from the training set's.
//! Additivity holds up to rounding.

use ndarray::{Array2, ArrayView2};

use super::{check_rows, Explanation};
use crate::error::Result;
use crate::pipeline::TabularModel;

/// Linear SHAP of the rows of `x` for weights `w`, intercept `b` and
/// background means `means` (the training design's column means).
pub fn linear_shap(
    weights: &[f64],
    intercept: f64,
    means: &[f64],
    feature_names: &[String],
    x: ArrayView2<f64>,
) -> Result<Explanation> {
    let d = weights.len();
    crate::error::check_len("background means", means.len(), d, "one per weight")?;
    crate::error::check_len("feature names", feature_names.len(), d, "one per weight")?;
    check_rows(x, d)?;
    let base_value = intercept + weights.iter().zip(means).map(|(w, m)| w * m).sum::<f64>();
    let values = Array2::from_shape_fn(x.raw_dim(), |(i, j)| weights[j] * (x[[i, j]] - means[j]));
    let outputs = x
        .rows()
        .into_iter()
        .map(|r| intercept + r.iter().zip(weights).map(|(a, w)| a * w).sum::<f64>())
        .collect();
    Ok(Explanation {
        method: "linear".into(),
        feature_names: feature_names.to_vec(),
        space: "log-odds".into(),
        base_value,
        values,
        outputs,
        data: Some(x.to_owned()),
    })
}

impl TabularModel {
    /// Linear SHAP (log-odds) of encoded rows against the training rows.
    pub fn explain_linear(&self, x: ArrayView2<f64>) -> Result<Explanation> {
        linear_shap(
            &self.weights,
            self.intercept,
            &self.train_feature_means,
            &self.feature_names,
            x,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn closed_form_and_additivity() {
        let names: Vec<String> = vec!["a".into(), "b".into()];
        let e = linear_shap(
            &[2.0, -1.0],
            0.5,
            &[1.0, 3.0],
            &names,
            array![[2.0, 3.0], [0.0, 5.0]].view(),
        )
        .unwrap();
        // φ = w (x − μ): row 0: [2, 0]; row 1: [−2, −2]; φ₀ = 0.5 + 2 − 3 = −0.5.
        assert_eq!(e.values, array![[2.0, 0.0], [-2.0, -2.0]]);
        assert_eq!(e.base_value, -0.5);
        assert_eq!(e.outputs, [1.5, -4.5]);
        assert_eq!(e.max_additivity_error(), 0.0);
        assert!(linear_shap(&[1.0], 0.0, &[0.0], &names[..1], array![[f64::NAN]].view()).is_err());
        assert!(linear_shap(&[1.0], 0.0, &[0.0], &names[..1], array![[1.0, 2.0]].view()).is_err());
    }
}
