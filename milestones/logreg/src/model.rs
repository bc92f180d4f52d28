//! A trained model as one self-describing JSON file.
//!
//! A logistic regression trained on standardised features is useless without
//! the standardisation it was trained with, so the file carries the scaler
//! (per-feature mean and scale), the weights and intercept on the standardised
//! scale, and the feature names so a later user can check the columns match.

use std::path::Path;

use ndarray::{Array1, ArrayView2};
use roadmap_common::dataset::StandardScaler;
use serde::{Deserialize, Serialize};

use crate::{objective::sigmoid, LogRegError};

/// Identifies the file format, so a wrong JSON file fails loudly.
pub const FORMAT: &str = "roadmap-logreg/1";

/// Scaler + weights + feature names: everything needed to score raw rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedModel {
    /// Always [`FORMAT`].
    pub format: String,
    /// Column names, in the order the weights expect.
    pub feature_names: Vec<String>,
    /// Name of the target column the model predicts (its class 1).
    pub target_name: String,
    /// Standardisation fitted on the training rows.
    pub scaler: StandardScaler,
    /// Weights on the standardised scale, one per feature.
    pub weights: Vec<f64>,
    pub intercept: f64,
    /// Regularisation used in training; `null` means none (C = ∞; JSON has no infinity).
    pub c: Option<f64>,
    /// `gd` or `newton`.
    pub solver: String,
}

impl SavedModel {
    /// `P(y = 1)` for raw (unstandardised) rows: `σ(w · (x − μ)/σ + b)`.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>, LogRegError> {
        if x.ncols() != self.weights.len() {
            return Err(LogRegError::FeatureMismatch {
                expected: self.weights.len(),
                found: x.ncols(),
            });
        }
        let z = self.scaler.transform(x)?;
        Ok((z.dot(&Array1::from(self.weights.clone())) + self.intercept).mapv(sigmoid))
    }

    /// Writes the model as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), LogRegError> {
        let json = serde_json::to_string_pretty(self).expect("a SavedModel always serialises");
        std::fs::write(path, json + "\n").map_err(|source| LogRegError::Io {
            action: "write the model to",
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads a model written by [`SavedModel::save`], checking its format and shapes.
    pub fn load(path: &Path) -> Result<Self, LogRegError> {
        let text = std::fs::read_to_string(path).map_err(|source| LogRegError::Io {
            action: "read the model from",
            path: path.display().to_string(),
            source,
        })?;
        let json_err = |source| LogRegError::Json {
            path: path.display().to_string(),
            source,
        };
        let model: SavedModel = serde_json::from_str(&text).map_err(json_err)?;
        let shape_ok = model.weights.len() == model.feature_names.len()
            && model.scaler.n_features() == model.weights.len()
            && model.scaler.scale.len() == model.weights.len();
        if model.format != FORMAT || !shape_ok {
            use serde::de::Error;
            return Err(json_err(serde_json::Error::custom(format!(
                "expected format `{FORMAT}` with one weight, mean and scale per feature name"
            ))));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn save_load_round_trip_and_prediction() {
        let model = SavedModel {
            format: FORMAT.into(),
            feature_names: vec!["a".into(), "b".into()],
            target_name: "target".into(),
            scaler: StandardScaler {
                mean: vec![1.0, 2.0],
                scale: vec![2.0, 1.0],
            },
            weights: vec![1.0, -1.0],
            intercept: 0.5,
            c: None,
            solver: "newton".into(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        model.save(&path).unwrap();
        let back = SavedModel::load(&path).unwrap();
        assert_eq!(back, model);
        // z = 1·(3−1)/2 − 1·(2−2)/1 + 0.5 = 1.5
        let p = back.predict_proba(array![[3.0, 2.0]].view()).unwrap();
        assert!((p[0] - sigmoid(1.5)).abs() < 1e-15);

        std::fs::write(&path, r#"{"format":"other"}"#).unwrap();
        assert!(matches!(
            SavedModel::load(&path),
            Err(LogRegError::Json { .. })
        ));
    }
}
