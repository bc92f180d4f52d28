//! Bayesian "chance to beat control", GrowthBook's Bayesian engine
//! (gbstats 0.8.0 `EffectBayesianABTest`, relative effect).
//!
//! GrowthBook puts a Gaussian model on the **relative lift** `Δ`: the
//! likelihood is the normal approximation `Δ̂ ~ N(Δ, SE²)` from the delta
//! method ([`crate::stats::lift`]), and the prior is either flat
//! (GrowthBook's default, `prior_proper = False`) or `Δ ~ N(m₀, v₀)`. The
//! posterior is normal with
//!
//! `precision = 1/SE² + 1/v₀` (flat: `1/SE²`),
//! `mean = (Δ̂/SE² + m₀/v₀)/precision` (flat: `Δ̂`),
//! `sd = 1/√precision`,
//!
//! and the chance to beat control is `P(Δ > 0) = 1 − Φ(−mean/sd)` (gbstats
//! `norm.sf(0, mean, sd)`), or `P(Δ < 0)` for a metric where lower is better
//! (GrowthBook's `inverse`). The credible interval is the central `1 − α`
//! posterior interval `mean ± z_{1−α/2}·sd`.
//!
//! This is GrowthBook's definition, not the Beta–Binomial model of older
//! tools: one formula covers proportions and means alike.

use serde::Serialize;

use super::lift::lift_moments;
use super::{check_alpha, normal_ppf, normal_sf, StatsError, Summary};

/// The prior on the relative lift.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Prior {
    /// Improper flat prior (GrowthBook's default): the posterior is the likelihood.
    Flat,
    /// `Δ ~ N(mean, variance)`; gbstats' metric settings default, when a
    /// proper prior is switched on, is mean 0 and standard deviation 0.1
    /// (`models/settings.py`).
    Normal { mean: f64, variance: f64 },
}

/// The posterior of the relative lift and the chance to win.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BayesTest {
    pub prior: Prior,
    pub posterior_mean: f64,
    pub posterior_sd: f64,
    /// `P(Δ > 0 | data)`, or `P(Δ < 0 | data)` when lower is better.
    pub chance_to_win: f64,
    /// Central `1 − α` credible interval of the lift.
    pub ci: (f64, f64),
    pub alpha: f64,
}

/// Posterior of a lift estimate `lift` with standard error `se`.
pub fn posterior(
    lift: f64,
    se: f64,
    prior: Prior,
    lower_is_better: bool,
    alpha: f64,
) -> Result<BayesTest, StatsError> {
    check_alpha(alpha)?;
    if !(se.is_finite() && se > 0.0) {
        return Err(StatsError::Undefined(format!(
            "standard error {se}: the posterior needs a positive standard error"
        )));
    }
    let data_prec = 1.0 / (se * se);
    let (precision, mean) = match prior {
        Prior::Flat => (data_prec, lift),
        Prior::Normal { mean, variance } => {
            if !(variance.is_finite() && variance > 0.0 && mean.is_finite()) {
                return Err(StatsError::BadPrior(variance));
            }
            let p = data_prec + 1.0 / variance;
            (p, (lift * data_prec + mean / variance) / p)
        }
    };
    let sd = (1.0 / precision).sqrt();
    let p_positive = normal_sf(-mean / sd);
    let chance_to_win = if lower_is_better {
        1.0 - p_positive
    } else {
        p_positive
    };
    let z = normal_ppf(1.0 - alpha / 2.0);
    Ok(BayesTest {
        prior,
        posterior_mean: mean,
        posterior_sd: sd,
        chance_to_win,
        ci: (mean - z * sd, mean + z * sd),
        alpha,
    })
}

/// GrowthBook's Bayesian test of the relative lift of `treatment` over `control`.
pub fn chance_to_win(
    control: &Summary,
    treatment: &Summary,
    prior: Prior,
    lower_is_better: bool,
    alpha: f64,
) -> Result<BayesTest, StatsError> {
    let (lift, se) = lift_moments(control, treatment)?;
    posterior(lift, se, prior, lower_is_better, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_gbstats_flat_prior() {
        // gbstats 0.8.0 EffectBayesianABTest(ProportionStatistic(5000, 480),
        // ProportionStatistic(5000, 540)): chance_to_win 0.9691712580121092,
        // ci [-0.00610120931136586, 0.25610120931136576]
        let (a, b) = crate::stats::issue_example();
        let r = chance_to_win(&a, &b, Prior::Flat, false, 0.05).unwrap();
        assert!(
            (r.chance_to_win - 0.9691712580121092).abs() < 1e-10,
            "{:e}",
            r.chance_to_win - 0.9691712580121092
        );
        assert!((r.ci.0 - -0.00610120931136586).abs() < 1e-10, "{:?}", r.ci);
        let inv = chance_to_win(&a, &b, Prior::Flat, true, 0.05).unwrap();
        assert!((inv.chance_to_win + r.chance_to_win - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_proper_prior_shrinks_toward_its_mean() {
        let r = posterior(
            0.2,
            0.1,
            Prior::Normal {
                mean: 0.0,
                variance: 0.01,
            },
            false,
            0.05,
        )
        .unwrap();
        assert!((r.posterior_mean - 0.1).abs() < 1e-12);
        assert!(posterior(
            0.2,
            0.1,
            Prior::Normal {
                mean: 0.0,
                variance: 0.0
            },
            false,
            0.05
        )
        .is_err());
    }
}
