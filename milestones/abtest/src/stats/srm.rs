//! Sample-ratio mismatch (SRM): did the users split the way the weights say?
//!
//! A broken assignment (a bug, a bot filter that hits one variant, a crash
//! that drops one variant's exposures) shows first as a split that the
//! weights cannot explain, and it silently biases every effect estimate. The
//! check is Pearson's χ² goodness of fit of the observed user counts `oᵢ`
//! against the expected `eᵢ = N · wᵢ / Σw` (`N = Σoᵢ`):
//!
//! `χ² = Σᵢ (oᵢ − eᵢ)² / eᵢ`, `df = k − 1`, `p = P(χ²_df > χ²)`.
//!
//! This is `scipy.stats.chisquare(f_obs=o, f_exp=e)` (scipy 1.17.1) and
//! GrowthBook's `check_srm(users, weights)` (gbstats 0.8.0) for positive weights.
//! The verdict follows Statsig's thresholds: warn at `p < 0.01`, alert at
//! `p < 0.001` (GrowthBook's default SRM threshold is also 0.001).

use serde::Serialize;

use super::{chi2_sf, StatsError};

/// Below this p-value the report warns about the split.
pub const WARN_P: f64 = 0.01;
/// Below this p-value the report raises an alert: do not trust the effects.
pub const ALERT_P: f64 = 0.001;

/// How worried to be about the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SrmVerdict {
    /// `p ≥ 0.01`: consistent with the weights.
    Ok,
    /// `0.001 ≤ p < 0.01`: suspicious; look at the assignment path.
    Warn,
    /// `p < 0.001`: the split is broken; effects are not trustworthy.
    Alert,
}

impl SrmVerdict {
    pub fn from_p(p: f64) -> SrmVerdict {
        if p < ALERT_P {
            SrmVerdict::Alert
        } else if p < WARN_P {
            SrmVerdict::Warn
        } else {
            SrmVerdict::Ok
        }
    }
}

impl std::fmt::Display for SrmVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SrmVerdict::Ok => "ok",
            SrmVerdict::Warn => "warn (p < 0.01)",
            SrmVerdict::Alert => "ALERT (p < 0.001)",
        })
    }
}

/// The result of the goodness-of-fit test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Srm {
    pub observed: Vec<u64>,
    /// `N · wᵢ / Σw`.
    pub expected: Vec<f64>,
    pub chi2: f64,
    pub df: u64,
    pub p_value: f64,
    pub verdict: SrmVerdict,
}

/// χ² goodness of fit of `counts` against `weights` (one per variant, any
/// positive scale: `[1, 1]` and `[0.5, 0.5]` are the same).
pub fn srm(counts: &[u64], weights: &[f64]) -> Result<Srm, StatsError> {
    if counts.len() != weights.len() {
        return Err(StatsError::LengthMismatch {
            counts: counts.len(),
            weights: weights.len(),
        });
    }
    if counts.len() < 2 {
        return Err(StatsError::Undefined(format!(
            "{} variant: a sample-ratio test needs at least two",
            counts.len()
        )));
    }
    if let Some((index, &value)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w > 0.0))
    {
        return Err(StatsError::BadWeight { index, value });
    }
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return Err(StatsError::Undefined(
            "no users in any variant yet: nothing to compare with the weights".into(),
        ));
    }
    let weight_sum: f64 = weights.iter().sum();
    let expected: Vec<f64> = weights
        .iter()
        .map(|w| w / weight_sum * total as f64)
        .collect();
    let chi2: f64 = counts
        .iter()
        .zip(&expected)
        .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
        .sum();
    let df = counts.len() as u64 - 1;
    let p_value = chi2_sf(chi2, df as f64);
    Ok(Srm {
        observed: counts.to_vec(),
        expected,
        chi2,
        df,
        p_value,
        verdict: SrmVerdict::from_p(p_value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_split() {
        // scipy.stats.chisquare([5100, 4900]) -> statistic 4.0, pvalue 0.04550026389635857
        let r = srm(&[5100, 4900], &[0.5, 0.5]).unwrap();
        assert!((r.chi2 - 4.0).abs() < 1e-12);
        assert!((r.p_value - 0.04550026389635857).abs() < 1e-12);
        assert_eq!(r.verdict, SrmVerdict::Ok);
    }

    #[test]
    fn verdict_thresholds() {
        assert_eq!(SrmVerdict::from_p(0.0099), SrmVerdict::Warn);
        assert_eq!(SrmVerdict::from_p(0.01), SrmVerdict::Ok);
        assert_eq!(SrmVerdict::from_p(0.00099), SrmVerdict::Alert);
        let skewed = srm(&[5300, 4700], &[1.0, 1.0]).unwrap();
        assert_eq!(skewed.verdict, SrmVerdict::Alert);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            srm(&[1, 2], &[1.0]),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            srm(&[1, 2], &[1.0, 0.0]),
            Err(StatsError::BadWeight { index: 1, .. })
        ));
        assert!(matches!(
            srm(&[0, 0], &[1.0, 1.0]),
            Err(StatsError::Undefined(_))
        ));
        assert!(srm(&[3], &[1.0]).is_err());
    }
}
