//! Phase 1 milestone: binary logistic regression written from scratch on ndarray.
//!
//! The model predicts `P(y = 1 | x) = σ(w·x + b)`. Training minimises
//! scikit-learn's objective `½‖w‖² + C·Σᵢ logloss(yᵢ, σ(w·xᵢ + b))` (intercept
//! unpenalised, `C = ∞` for no penalty), so the coefficients can be compared
//! number for number with `sklearn.linear_model.LogisticRegression(C=…)`.
//!
//! - [`objective`]: the loss, its gradient and Hessian, derived in the docs.
//! - [`solver`]: gradient descent (the learner's version) and Newton/IRLS (exact optimum).
//! - [`model`]: a saved model = scaler + weights + feature names, as JSON.
//! - [`baseline`]: the same fit with the `linfa-logistic` crate, for comparison.
//! - [`data`]: the shipped breast cancer data and the phase's fixed split.
//!
//! ```
//! use roadmap_logreg::{LogisticRegression, Solver};
//! let x = ndarray::array![[0.0], [1.0], [2.0], [3.0]];
//! let fitted = LogisticRegression { c: 1.0, solver: Solver::newton() }.fit(x.view(), &[0, 0, 1, 1]).unwrap();
//! assert!(fitted.predict_proba(ndarray::array![[3.0]].view()).unwrap()[0] > 0.5);
//! ```

use ndarray::{Array1, ArrayView2};
use serde::Serialize;

pub mod baseline;
pub mod data;
pub mod model;
pub mod objective;
pub mod solver;

pub use solver::{GradientDescent, Newton, Trace};

/// What can go wrong fitting or using a model.
#[derive(Debug, thiserror::Error)]
pub enum LogRegError {
    #[error("no training rows")]
    Empty,
    #[error("{rows} rows of features but {labels} labels")]
    LengthMismatch { rows: usize, labels: usize },
    #[error("label {value} at row {row} is not 0 or 1")]
    NotBinary { row: usize, value: u8 },
    #[error("every training label is {0}: logistic regression needs both classes")]
    SingleClass(u8),
    #[error("feature value at row {row}, column {column} is {value}; features must be finite")]
    NonFinite {
        row: usize,
        column: usize,
        value: f64,
    },
    #[error("C must be a positive number or infinity (no penalty), got {0}")]
    BadC(f64),
    #[error("the learning rate must be a positive finite number, got {0}")]
    BadLearningRate(f64),
    #[error("gradient descent needs at least one epoch")]
    NoEpochs,
    #[error("the fit diverged (non-finite loss or gradient) at iteration {iteration}; for gradient descent lower the learning rate (--lr)")]
    Diverged { iteration: usize },
    #[error("the model expects {expected} features but the data has {found}")]
    FeatureMismatch { expected: usize, found: usize },
    #[error(transparent)]
    Dataset(#[from] roadmap_common::dataset::DatasetError),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a roadmap-logreg model: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("linfa-logistic failed: {0}")]
    Baseline(String),
}

/// Which minimiser to use.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Solver {
    GradientDescent(GradientDescent),
    Newton(Newton),
}

impl Solver {
    /// Newton/IRLS with default settings.
    pub fn newton() -> Self {
        Solver::Newton(Newton::default())
    }

    /// Gradient descent with default settings (η = 0.1, 5000 epochs).
    pub fn gradient_descent() -> Self {
        Solver::GradientDescent(GradientDescent::default())
    }

    /// Short name: `gd` or `newton`.
    pub fn short_name(&self) -> &'static str {
        match self {
            Solver::GradientDescent(_) => "gd",
            Solver::Newton(_) => "newton",
        }
    }
}

/// An unfitted model: the penalty and the solver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticRegression {
    /// Inverse regularisation strength, as in scikit-learn; `f64::INFINITY` = no penalty.
    pub c: f64,
    pub solver: Solver,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        LogisticRegression {
            c: 1.0,
            solver: Solver::newton(),
        }
    }
}

/// Fitted weights and how the fit went.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// One weight per feature, in column order.
    pub weights: Array1<f64>,
    pub intercept: f64,
    pub trace: Trace,
}

impl LogisticRegression {
    /// Fits on `x` (rows × features, already standardised if you want
    /// scikit-learn-comparable coefficients) and labels `y` (0/1).
    pub fn fit(&self, x: ArrayView2<f64>, y: &[u8]) -> Result<Fitted, LogRegError> {
        if x.nrows() != y.len() {
            return Err(LogRegError::LengthMismatch {
                rows: x.nrows(),
                labels: y.len(),
            });
        }
        if y.is_empty() {
            return Err(LogRegError::Empty);
        }
        if let Some((row, &value)) = y.iter().enumerate().find(|(_, &v)| v > 1) {
            return Err(LogRegError::NotBinary { row, value });
        }
        let ones = y.iter().filter(|&&v| v == 1).count();
        if ones == 0 || ones == y.len() {
            return Err(LogRegError::SingleClass(y[0]));
        }
        if let Some(((row, column), &value)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(LogRegError::NonFinite { row, column, value });
        }
        if self.c.is_nan() || self.c <= 0.0 {
            return Err(LogRegError::BadC(self.c));
        }
        let pb = objective::Problem::new(x, y, self.c);
        let sol = match &self.solver {
            Solver::GradientDescent(gd) => {
                if !(gd.learning_rate > 0.0 && gd.learning_rate.is_finite()) {
                    return Err(LogRegError::BadLearningRate(gd.learning_rate));
                }
                if gd.epochs == 0 {
                    return Err(LogRegError::NoEpochs);
                }
                gd.minimize(&pb)?
            }
            Solver::Newton(newton) => newton.minimize(&pb)?,
        };
        Ok(Fitted {
            weights: sol.w,
            intercept: sol.b,
            trace: sol.trace,
        })
    }
}

impl Fitted {
    /// Margins `z = Xw + b` (log-odds of class 1).
    pub fn decision_function(&self, x: ArrayView2<f64>) -> Result<Array1<f64>, LogRegError> {
        if x.ncols() != self.weights.len() {
            return Err(LogRegError::FeatureMismatch {
                expected: self.weights.len(),
                found: x.ncols(),
            });
        }
        Ok(x.dot(&self.weights) + self.intercept)
    }

    /// `P(y = 1 | x) = σ(w·x + b)` per row.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>, LogRegError> {
        Ok(self.decision_function(x)?.mapv(objective::sigmoid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn bad_inputs_are_rejected() {
        let x = array![[0.0], [1.0]];
        let m = LogisticRegression::default();
        assert!(matches!(
            m.fit(x.view(), &[0]),
            Err(LogRegError::LengthMismatch { .. })
        ));
        assert!(matches!(
            m.fit(x.view(), &[1, 1]),
            Err(LogRegError::SingleClass(1))
        ));
        assert!(matches!(
            m.fit(x.view(), &[0, 2]),
            Err(LogRegError::NotBinary { row: 1, value: 2 })
        ));
        let bad_c = LogisticRegression {
            c: 0.0,
            ..m.clone()
        };
        assert!(matches!(
            bad_c.fit(x.view(), &[0, 1]),
            Err(LogRegError::BadC(_))
        ));
        let nan = array![[0.0], [f64::NAN]];
        assert!(matches!(
            m.fit(nan.view(), &[0, 1]),
            Err(LogRegError::NonFinite { row: 1, .. })
        ));
        let gd = LogisticRegression {
            c: 1.0,
            solver: Solver::GradientDescent(GradientDescent {
                learning_rate: -1.0,
                ..Default::default()
            }),
        };
        assert!(matches!(
            gd.fit(x.view(), &[0, 1]),
            Err(LogRegError::BadLearningRate(_))
        ));
        let fitted = m.fit(x.view(), &[0, 1]).unwrap();
        assert!(matches!(
            fitted.predict_proba(array![[1.0, 2.0]].view()),
            Err(LogRegError::FeatureMismatch {
                expected: 1,
                found: 2
            })
        ));
    }

    #[test]
    fn huge_learning_rate_reports_divergence_or_survives() {
        // σ saturates, so GD with a silly step does not overflow to NaN here, but
        // whatever happens must be a finite result or a Diverged error, never NaN weights.
        let x = array![[0.0], [1.0], [2.0], [3.0]];
        let gd = LogisticRegression {
            c: f64::INFINITY,
            solver: Solver::GradientDescent(GradientDescent {
                learning_rate: 1e300,
                epochs: 50,
                tol: 0.0,
                record_loss: true,
            }),
        };
        match gd.fit(x.view(), &[0, 1, 0, 1]) {
            Ok(f) => assert!(f.weights.iter().all(|v| v.is_finite())),
            Err(e) => assert!(matches!(e, LogRegError::Diverged { .. }), "{e}"),
        }
    }
}
