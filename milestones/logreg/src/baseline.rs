//! The same model fitted by the `linfa-logistic` crate, as a yardstick.
//!
//! linfa minimises `Σᵢ logloss + (α/2)‖w‖²` with L-BFGS (argmin), which is
//! scikit-learn's objective divided by `C`; so `α = 1/C` gives the same optimum.
//! Its probabilities are for the *more frequent* class; they are flipped to
//! `P(y = 1)` here when class 0 is the larger one.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression as LinfaLogReg;
use ndarray::{Array1, ArrayView2};

use crate::LogRegError;

/// A linfa fit: weights and intercept on the given feature scale.
#[derive(Debug, Clone)]
pub struct LinfaFit {
    pub weights: Array1<f64>,
    pub intercept: f64,
    model: linfa_logistic::FittedLogisticRegression<f64, usize>,
}

/// Fits linfa-logistic with `α = 1/C` (0 for `C = ∞`).
pub fn fit_linfa(x: ArrayView2<f64>, y: &[u8], c: f64) -> Result<LinfaFit, LogRegError> {
    let alpha = if c.is_infinite() { 0.0 } else { 1.0 / c };
    let targets: Array1<usize> = y.iter().map(|&v| usize::from(v)).collect();
    let ds = Dataset::new(x.to_owned(), targets);
    let model = LinfaLogReg::default()
        .alpha(alpha)
        .max_iterations(1000)
        .gradient_tolerance(1e-8)
        .fit(&ds)
        .map_err(|e| LogRegError::Baseline(e.to_string()))?;
    let flip = model.labels().pos.class == 0;
    let (weights, intercept) = if flip {
        (-model.params(), -model.intercept())
    } else {
        (model.params().clone(), model.intercept())
    };
    Ok(LinfaFit {
        weights,
        intercept,
        model,
    })
}

impl LinfaFit {
    /// `P(y = 1 | x)` per row.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Array1<f64> {
        let p = self.model.predict_probabilities(&x);
        if self.model.labels().pos.class == 0 {
            p.mapv(|p| 1.0 - p)
        } else {
            p
        }
    }
}
