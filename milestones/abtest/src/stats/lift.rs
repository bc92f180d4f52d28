//! Relative lift with a delta-method interval: "the treatment is 12% better
//! (95% CI −0.6% … 25.6%)", the number product people ask for. This is
//! GrowthBook's frequentist engine (gbstats 0.8.0 `TwoSidedTTest` with
//! `difference_type="relative"`, no CUPED), which the sequential and Bayesian
//! modules also start from.
//!
//! With control mean `μₐ`, treatment mean `μ_b`, per-unit variances `σᵢ²`
//! ([`Summary`]: sample variance for means, `p(1 − p)` for proportions):
//!
//! - lift `Δ = (μ_b − μₐ)/|μₐ|`;
//! - delta method for the ratio `μ_b/μₐ` (independent groups, first-order
//!   Taylor expansion): `Var(Δ) ≈ σ_b²/(nᵦ μₐ²) + σₐ² μ_b²/(nₐ μₐ⁴)`
//!   (gbstats `variance_of_ratios(μ_b, σ_b²/n_b, μₐ, σₐ²/nₐ, 0)`);
//! - `t = Δ/SE`, Welch–Satterthwaite `ν` from the two variances, `p = 2·P(T_ν > |t|)`;
//! - interval `Δ ± t_{ν,1−α/2}·SE`.
//!
//! Undefined, as in gbstats, when the control mean is 0 or either group has
//! zero variance; this module returns an error saying so instead of
//! GrowthBook's zeros.

use serde::Serialize;

use super::welch::welch_df;
use super::{check_alpha, need_units, t_ppf, t_sf, StatsError, Summary};

/// Relative lift of `treatment` over `control` with its delta-method interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiftTest {
    /// `(μ_b − μₐ)/|μₐ|` (0.12 = +12%).
    pub lift: f64,
    /// Delta-method standard error of the lift.
    pub se: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    pub t: f64,
    pub p_value: f64,
    /// `1 − α` interval of the lift.
    pub ci: (f64, f64),
    pub alpha: f64,
}

/// The point estimate and delta-method standard error of the relative lift,
/// after GrowthBook's checks; shared by [`relative_lift`],
/// [`crate::stats::sequential`] and [`crate::stats::bayes`].
pub fn lift_moments(control: &Summary, treatment: &Summary) -> Result<(f64, f64), StatsError> {
    need_units("control", control, 2, "a relative lift")?;
    need_units("treatment", treatment, 2, "a relative lift")?;
    if control.mean == 0.0 {
        return Err(StatsError::Undefined(
            "the control mean is 0: a relative lift is undefined (compare absolute differences instead)"
                .into(),
        ));
    }
    for (group, s) in [("control", control), ("treatment", treatment)] {
        if s.variance.is_nan() || s.variance <= 0.0 {
            return Err(StatsError::Undefined(format!(
                "{group} has zero variance (every unit has the same value): the lift's interval is undefined"
            )));
        }
    }
    let (ma, mb) = (control.mean, treatment.mean);
    let lift = (mb - ma) / ma.abs();
    let var = treatment.var_of_mean() / (ma * ma) + control.var_of_mean() * mb * mb / ma.powi(4);
    Ok((lift, var.sqrt()))
}

/// GrowthBook's two-sided frequentist test of the relative lift.
pub fn relative_lift(
    control: &Summary,
    treatment: &Summary,
    alpha: f64,
) -> Result<LiftTest, StatsError> {
    check_alpha(alpha)?;
    let (lift, se) = lift_moments(control, treatment)?;
    let df = welch_df(control, treatment);
    let t = lift / se;
    let p_value = 2.0 * t_sf(t.abs(), df)?;
    let half = t_ppf(1.0 - alpha / 2.0, df)? * se;
    Ok(LiftTest {
        lift,
        se,
        df,
        t,
        p_value,
        ci: (lift - half, lift + half),
        alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_gbstats_on_proportions() {
        // gbstats 0.8.0 TwoSidedTTest(ProportionStatistic(n=5000, sum=480),
        // ProportionStatistic(n=5000, sum=540)).compute_result():
        // expected 0.12499999999999996, stddev 0.06688960120975457,
        // ci [-0.006117125596839287, 0.2561171255968392], p 0.061686782192148515
        let (a, b) = crate::stats::issue_example();
        let l = relative_lift(&a, &b, 0.05).unwrap();
        assert!((l.lift - 0.125).abs() < 1e-12);
        assert!((l.se - 0.06688960120975457).abs() < 1e-12);
        assert!((l.ci.0 - -0.006117125596839287).abs() < 1e-9, "{:?}", l.ci);
        assert!((l.ci.1 - 0.2561171255968392).abs() < 1e-9);
        assert!((l.p_value - 0.061686782192148515).abs() < 1e-9);
    }

    #[test]
    fn zero_baseline_is_an_error() {
        let a = Summary::from_values("a", &[0.0, 0.0, 0.0]).unwrap();
        let b = Summary::from_values("b", &[1.0, 2.0, 3.0]).unwrap();
        let e = relative_lift(&a, &b, 0.05).unwrap_err();
        assert!(e.to_string().contains("control mean is 0"), "{e}");
    }
}
