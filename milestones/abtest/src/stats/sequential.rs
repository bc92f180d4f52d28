//! An always-valid sequential test, so the report can be read every day
//! ("peeking") without inflating the false-positive rate.
//!
//! A fixed-horizon p-value checked after every batch of users crosses 0.05
//! far more often than 5% of the time under H₀. A **mixture sequential
//! probability ratio test** (mSPRT, Johari, Koomen, Pekelis & Walsh, "Always
//! valid inference", Operations Research 2022) instead tracks the likelihood
//! ratio of "effect θ" against "no effect", averaged over a normal mixing
//! distribution `θ ~ N(0, τ²)`. For an estimate `Δ̂` with per-unit variance
//! `σ²` (`SE² = σ²/N`, `N` = units in both groups) it is
//!
//! `Λ_N = √(σ²/(σ² + Nτ²)) · exp(N²τ²Δ̂² / (2σ²(σ² + Nτ²)))`,
//!
//! a non-negative martingale under H₀ (an e-value), so by Ville's inequality
//! `P(∃N: Λ_N ≥ 1/α) ≤ α` and `p_N = min(1, 1/Λ_N)` is valid at any stopping time.
//!
//! GrowthBook's sequential testing (gbstats 0.8.0 `SequentialTwoSidedTTest`)
//! is this statistic with `τ² = ρ²σ²`, written with Waudby-Smith et al.'s
//! asymptotic confidence sequences (arXiv 2103.06476v7, eqs. 9, 155, 161):
//!
//! - `ρ = √((−2 ln α + ln(−2 ln α + 1)) / N*)`, the mixing scale that makes the
//!   sequence tightest at the planned total sample size `N*` (GrowthBook's
//!   "tuning parameter", default 5000);
//! - e-value `Λ = exp(ρ²·(N Δ̂²/σ²) / (2(Nρ² + 1))) / √(Nρ² + 1)` and
//!   `p = min(1, 1/Λ)`;
//! - confidence sequence `Δ̂ ± σ·√(2(Nρ² + 1)·ln(√(Nρ² + 1)/α) / (Nρ)²)`.
//!
//! Here `Δ̂` and `SE` are the relative lift and its delta-method standard
//! error ([`crate::stats::lift`]), as in GrowthBook. The defaults are
//! `α = 0.05` and `N* = 5000`: the interval is wider than the fixed-horizon
//! one at every `N` — the price of being allowed to stop at any time. The
//! p-value is the current look's; a caller that keeps earlier looks may take
//! their running minimum ([`running_min`]) and stays valid.

use serde::Serialize;

use super::lift::lift_moments;
use super::{check_alpha, StatsError, Summary};

/// GrowthBook's default planned sample size `N*` (`sequential_tuning_parameter`).
pub const DEFAULT_TUNING: f64 = 5000.0;

/// The mSPRT at one look.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequentialTest {
    pub estimate: f64,
    pub se: f64,
    /// Units in both groups at this look.
    pub n: u64,
    pub alpha: f64,
    /// Planned total sample size `N*` the mixture is tuned for.
    pub tuning: f64,
    /// Mixing scale `ρ`; Johari's `τ = ρσ`.
    pub rho: f64,
    /// Johari's mixing standard deviation `τ = ρ·σ` on the estimate's scale.
    pub tau: f64,
    /// `Λ`, the mixture likelihood ratio (an e-value); `None` if it overflows
    /// (then the p-value is 0).
    pub e_value: Option<f64>,
    /// `min(1, 1/Λ)`: valid however often the experiment is looked at.
    pub p_value: f64,
    /// Always-valid `1 − α` confidence sequence of the estimate.
    pub ci: (f64, f64),
}

/// `ρ` of Waudby-Smith et al. eq. 161 (two-sided).
pub fn rho(alpha: f64, tuning: f64) -> f64 {
    let l = -2.0 * alpha.ln();
    ((l + (l + 1.0).ln()) / tuning).sqrt()
}

/// The mSPRT of an estimate with standard error `se` from `n` units.
pub fn msprt(
    estimate: f64,
    se: f64,
    n: u64,
    alpha: f64,
    tuning: f64,
) -> Result<SequentialTest, StatsError> {
    check_alpha(alpha)?;
    if !(tuning.is_finite() && tuning > 0.0) {
        return Err(StatsError::BadTuning(tuning));
    }
    if !(se.is_finite() && se > 0.0) || n == 0 {
        return Err(StatsError::Undefined(format!(
            "standard error {se} from {n} units: the sequential test needs a positive standard error"
        )));
    }
    if !estimate.is_finite() {
        return Err(StatsError::NonFinite {
            what: "the estimate".into(),
            value: estimate,
        });
    }
    let nf = n as f64;
    let rho = rho(alpha, tuning);
    let sigma = se * nf.sqrt();
    let nr2p1 = nf * rho * rho + 1.0;
    let st2 = estimate * estimate * nf / (se * se);
    let log_e = rho * rho * st2 / (2.0 * nr2p1) - 0.5 * nr2p1.ln();
    let p_value = (-log_e).exp().min(1.0);
    let e_value = log_e.exp();
    let half = sigma * (2.0 * nr2p1 * (nr2p1.sqrt() / alpha).ln() / (nf * rho).powi(2)).sqrt();
    Ok(SequentialTest {
        estimate,
        se,
        n,
        alpha,
        tuning,
        rho,
        tau: rho * sigma,
        e_value: e_value.is_finite().then_some(e_value),
        p_value,
        ci: (estimate - half, estimate + half),
    })
}

/// GrowthBook's sequential test of the relative lift of `treatment` over `control`.
pub fn sequential_lift(
    control: &Summary,
    treatment: &Summary,
    alpha: f64,
    tuning: f64,
) -> Result<SequentialTest, StatsError> {
    check_alpha(alpha)?;
    let (lift, se) = lift_moments(control, treatment)?;
    msprt(lift, se, control.n + treatment.n, alpha, tuning)
}

/// The running minimum of always-valid p-values over successive looks
/// (Johari et al.'s `p_n = min(p_{n−1}, 1/Λ_n)`).
pub fn running_min(p_values: &[f64]) -> Vec<f64> {
    p_values
        .iter()
        .scan(1.0f64, |m, &p| {
            *m = m.min(p);
            Some(*m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_gbstats_on_proportions() {
        // gbstats 0.8.0 SequentialTwoSidedTTest(ProportionStatistic(5000, 480),
        // ProportionStatistic(5000, 540)): ci [-0.07978099028279005,
        // 0.32978099028278995], p 0.7947020356813826
        let (a, b) = crate::stats::issue_example();
        let s = sequential_lift(&a, &b, 0.05, DEFAULT_TUNING).unwrap();
        assert!((s.ci.0 - -0.07978099028279005).abs() < 1e-12, "{:?}", s.ci);
        assert!((s.ci.1 - 0.32978099028278995).abs() < 1e-12);
        assert!((s.p_value - 0.7947020356813826).abs() < 1e-12);
    }

    #[test]
    fn johari_form_equals_growthbook_form() {
        // Λ written with τ² = ρ²σ² (Johari) must equal GrowthBook's e-value.
        let s = msprt(0.08, 0.03, 12_000, 0.05, 5000.0).unwrap();
        let sigma2 = 0.03f64.powi(2) * 12_000.0;
        let tau2 = s.tau * s.tau;
        let n = 12_000.0;
        let johari = (sigma2 / (sigma2 + n * tau2)).sqrt()
            * (n * n * tau2 * 0.08f64.powi(2) / (2.0 * sigma2 * (sigma2 + n * tau2))).exp();
        assert!((johari - s.e_value.unwrap()).abs() < 1e-9 * johari);
    }

    #[test]
    fn sequence_is_wider_than_the_fixed_interval() {
        let a = Summary::proportion("a", 4800, 50_000).unwrap();
        let b = Summary::proportion("b", 5100, 50_000).unwrap();
        let seq = sequential_lift(&a, &b, 0.05, DEFAULT_TUNING).unwrap();
        let fixed = crate::stats::lift::relative_lift(&a, &b, 0.05).unwrap();
        assert!(seq.ci.1 - seq.ci.0 > fixed.ci.1 - fixed.ci.0);
        assert!(seq.p_value >= fixed.p_value);
    }

    #[test]
    fn huge_evidence_gives_p_zero_not_nan() {
        let s = msprt(5.0, 0.001, 1_000_000, 0.05, 5000.0).unwrap();
        assert_eq!(s.p_value, 0.0);
        assert!(s.e_value.is_none());
        assert_eq!(running_min(&[0.5, 0.2, 0.7, 0.1]), vec![0.5, 0.2, 0.2, 0.1]);
    }
}
