//! The phase's data: the Wisconsin Diagnostic Breast Cancer table, embedded in
//! the binary, and the fixed split that `run`, `data export` and `verify` share.
//!
//! Embedding (rather than reading `data/` at run time) lets the binary work from
//! any directory. Provenance and licence: `data/breast_cancer/PROVENANCE.md`.

use roadmap_common::dataset::{self, Dataset, Split, StandardScaler, BREAST_CANCER_FEATURES};

use crate::LogRegError;

/// scikit-learn's `breast_cancer.csv`: a counts header, 569 rows of 30 features
/// and a label (0 = malignant, 1 = benign).
pub const BREAST_CANCER_CSV: &str = include_str!("../../../data/breast_cancer/breast_cancer.csv");

/// Share of rows held out for testing.
pub const TEST_FRACTION: f64 = 0.2;
/// The seed of the phase's reference split.
pub const SPLIT_SEED: u64 = 42;

/// The embedded breast cancer data, with feature names.
pub fn breast_cancer() -> Dataset {
    dataset::parse_sklearn_csv(
        BREAST_CANCER_CSV.as_bytes(),
        Some(&BREAST_CANCER_FEATURES),
        "breast_cancer.csv",
    )
    .expect("the embedded breast cancer file is valid (checked by tests)")
}

/// Stratified 80/20 split of `data` with `seed` ([`dataset::stratified_split`]).
pub fn split(data: &Dataset, seed: u64) -> Result<(Dataset, Dataset), LogRegError> {
    let Split { train, test } = dataset::stratified_split(&data.y, TEST_FRACTION, seed)?;
    Ok((data.select(&train), data.select(&test)))
}

/// The phase's reference train/test pair: breast cancer, 80/20, seed 42.
pub fn reference_split() -> (Dataset, Dataset) {
    split(&breast_cancer(), SPLIT_SEED).expect("569 rows split 80/20")
}

/// Train and test features standardised with statistics of the training rows only.
pub struct Standardised {
    pub scaler: StandardScaler,
    pub train: ndarray::Array2<f64>,
    pub test: ndarray::Array2<f64>,
}

/// Fits a [`StandardScaler`] on `train` and applies it to both parts.
pub fn standardise(train: &Dataset, test: &Dataset) -> Result<Standardised, LogRegError> {
    if train.feature_names != test.feature_names {
        return Err(LogRegError::FeatureMismatch {
            expected: train.feature_names.len(),
            found: test.feature_names.len(),
        });
    }
    let scaler = StandardScaler::fit(train.x.view())?;
    Ok(Standardised {
        train: scaler.transform(train.x.view())?,
        test: scaler.transform(test.x.view())?,
        scaler,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_split_is_stratified_80_20() {
        let (train, test) = reference_split();
        assert_eq!((train.len(), test.len()), (455, 114));
        assert_eq!(test.class_counts(), [42, 72]);
        assert_eq!(train.feature_names.len(), 30);
    }
}
