//! Welch's t-test: the test of a continuous metric (latency, answer length,
//! answer F1) when the two variants may have different variances.
//!
//! With per-group means `x̄ᵢ`, sample variances `sᵢ²` (`n − 1` denominator) and
//! sizes `nᵢ`, for `treatment − control`:
//!
//! - `SE = √(sₐ²/nₐ + s_b²/n_b)`, `t = (x̄_b − x̄ₐ)/SE`;
//! - Welch–Satterthwaite degrees of freedom
//!   `ν = (sₐ²/nₐ + s_b²/n_b)² / ((sₐ²/nₐ)²/(nₐ − 1) + (s_b²/n_b)²/(n_b − 1))`;
//! - `p = 2·P(T_ν > |t|)`, and the `1 − α` interval `(x̄_b − x̄ₐ) ± t_{ν,1−α/2}·SE`.
//!
//! This is `scipy.stats.ttest_ind(b, a, equal_var=False)` and its
//! `.confidence_interval(1 − α)` (scipy 1.17.1); Student's t comes from `statrs`.

use serde::Serialize;

use super::{check_alpha, need_units, t_ppf, t_sf, StatsError, Summary};

/// Welch's test of `treatment − control`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WelchTest {
    pub control: Summary,
    pub treatment: Summary,
    /// `x̄_b − x̄ₐ`.
    pub diff: f64,
    pub se: f64,
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    pub p_value: f64,
    /// `1 − α` confidence interval of the difference.
    pub ci: (f64, f64),
    pub alpha: f64,
}

/// Welch–Satterthwaite degrees of freedom of two independent means.
pub fn welch_df(a: &Summary, b: &Summary) -> f64 {
    let (va, vb) = (a.var_of_mean(), b.var_of_mean());
    (va + vb).powi(2) / (va * va / (a.n as f64 - 1.0) + vb * vb / (b.n as f64 - 1.0))
}

/// Welch's t-test of `treatment − control` at level `alpha`.
pub fn welch(control: &Summary, treatment: &Summary, alpha: f64) -> Result<WelchTest, StatsError> {
    check_alpha(alpha)?;
    need_units("control", control, 2, "Welch's t-test")?;
    need_units("treatment", treatment, 2, "Welch's t-test")?;
    let se = (control.var_of_mean() + treatment.var_of_mean()).sqrt();
    if se == 0.0 {
        return Err(StatsError::Undefined(
            "both groups are constant (zero variance): the t statistic is undefined".into(),
        ));
    }
    let diff = treatment.mean - control.mean;
    let t = diff / se;
    let df = welch_df(control, treatment);
    let p_value = 2.0 * t_sf(t.abs(), df)?;
    let half = t_ppf(1.0 - alpha / 2.0, df)? * se;
    Ok(WelchTest {
        control: *control,
        treatment: *treatment,
        diff,
        se,
        t,
        df,
        p_value,
        ci: (diff - half, diff + half),
        alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy_on_a_small_sample() {
        // scipy 1.17.1: ttest_ind(b, a, equal_var=False) for these lists gives
        // t = 1.504906238091071, df = 8.998084817646873, p = 0.16661416399500664,
        // 95% interval (-0.7967917290938353, 3.9634583957605014)
        let a = Summary::from_values("a", &[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let b = Summary::from_values("b", &[2.0, 4.0, 6.0, 3.0, 7.0, 5.5]).unwrap();
        let w = welch(&a, &b, 0.05).unwrap();
        assert!((w.t - 1.504906238091071).abs() < 1e-12, "{}", w.t);
        assert!((w.df - 8.998084817646873).abs() < 1e-9, "{}", w.df);
        assert!(
            (w.p_value - 0.16661416399500664).abs() < 1e-9,
            "{}",
            w.p_value
        );
        assert!((w.ci.0 - -0.7967917290938353).abs() < 1e-9, "{:?}", w.ci);
        assert!((w.ci.1 - 3.9634583957605014).abs() < 1e-9, "{:?}", w.ci);
    }

    #[test]
    fn too_few_or_constant_groups_are_errors() {
        let one = Summary::from_values("a", &[1.0]).unwrap();
        let two = Summary::from_values("b", &[1.0, 2.0]).unwrap();
        assert!(matches!(
            welch(&one, &two, 0.05),
            Err(StatsError::TooFewUnits { .. })
        ));
        let flat = Summary::from_values("a", &[3.0, 3.0]).unwrap();
        assert!(matches!(
            welch(&flat, &flat, 0.05),
            Err(StatsError::Undefined(_))
        ));
    }
}
