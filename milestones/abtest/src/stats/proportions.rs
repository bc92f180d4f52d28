//! Two-proportion z-test and confidence intervals of the difference: the
//! test of a binary metric (thumbs-up, grounded, no-answer rate).
//!
//! With `p̂ₐ = xₐ/nₐ` (control), `p̂_b = x_b/n_b` (treatment) and `d = p̂_b − p̂ₐ`:
//!
//! - **z-test, pooled variance** (statsmodels 0.15.0
//!   `proportions_ztest([x_b, xₐ], [n_b, nₐ])`, defaults): under H₀ both groups
//!   share one rate, estimated by pooling, `p̄ = (xₐ + x_b)/(nₐ + n_b)`;
//!   `SE₀ = √(p̄(1 − p̄)(1/nₐ + 1/n_b))`, `z = d/SE₀`, `p = 2·(1 − Φ(|z|))`.
//! - **Wald interval, unpooled variance** (`confint_proportions_2indep(x_b,
//!   n_b, xₐ, nₐ, method="wald")`): away from H₀ the rates differ, so each
//!   keeps its own variance, `SE = √(p̂ₐ(1 − p̂ₐ)/nₐ + p̂_b(1 − p̂_b)/n_b)`,
//!   `d ± z_{1−α/2}·SE`.
//! - **Newcombe interval** (statsmodels' default method, `"newcomb"`): hybrid
//!   score interval from each group's Wilson interval `[lᵢ, uᵢ]` (clipped to
//!   `[0, 1]` as statsmodels does): `d − √((p̂_b − l_b)² + (uₐ − p̂ₐ)²)`,
//!   `d + √((p̂ₐ − lₐ)² + (u_b − p̂_b)²)`. Better coverage than Wald for rates
//!   near 0 or 1.
//!
//! The pooled test and the unpooled interval can disagree at the margin (p just
//! under 0.05 with an interval touching 0); the report shows both and says which.

use serde::Serialize;

use super::{check_alpha, normal_ppf, normal_sf, StatsError};

/// One group's count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Proportion {
    pub successes: u64,
    pub n: u64,
    pub rate: f64,
}

impl Proportion {
    pub fn new(group: &str, successes: u64, n: u64) -> Result<Proportion, StatsError> {
        if successes > n {
            return Err(StatsError::BadProportion {
                group: group.to_owned(),
                successes,
                n,
            });
        }
        if n == 0 {
            return Err(StatsError::TooFewUnits {
                group: group.to_owned(),
                n,
                need: 1,
                test: "a proportion",
            });
        }
        Ok(Proportion {
            successes,
            n,
            rate: successes as f64 / n as f64,
        })
    }
}

/// The z-test and both intervals of `treatment − control`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProportionsTest {
    pub control: Proportion,
    pub treatment: Proportion,
    /// `p̂_b − p̂ₐ`.
    pub diff: f64,
    /// Pooled standard error under H₀ (the z-test's).
    pub se_pooled: f64,
    pub z: f64,
    /// Two-sided p-value of the pooled z-test.
    pub p_value: f64,
    /// Unpooled standard error (the Wald interval's).
    pub se_unpooled: f64,
    /// `1 − α` Wald interval of the difference (unpooled variance).
    pub ci_wald: (f64, f64),
    /// `1 − α` Newcombe hybrid-score interval of the difference.
    pub ci_newcombe: (f64, f64),
    pub alpha: f64,
}

/// Wilson score interval of one proportion, as statsmodels'
/// `proportion_confint(x, n, alpha, method="wilson")`:
/// centre `(p̂ + z²/2n)/(1 + z²/n)`, half-width
/// `z·√(p̂(1 − p̂)/n + z²/4n²)/(1 + z²/n)`, clipped to `[0, 1]`.
pub fn wilson_interval(p: &Proportion, alpha: f64) -> Result<(f64, f64), StatsError> {
    check_alpha(alpha)?;
    let z = normal_ppf(1.0 - alpha / 2.0);
    let n = p.n as f64;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p.rate + z2 / (2.0 * n)) / denom;
    let dist = z * (p.rate * (1.0 - p.rate) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Ok((
        (center - dist).clamp(0.0, 1.0),
        (center + dist).clamp(0.0, 1.0),
    ))
}

/// Tests `treatment − control` at level `alpha` (0.05 for 95% intervals).
pub fn two_proportions(
    control: Proportion,
    treatment: Proportion,
    alpha: f64,
) -> Result<ProportionsTest, StatsError> {
    check_alpha(alpha)?;
    let (pa, pb) = (control.rate, treatment.rate);
    let (na, nb) = (control.n as f64, treatment.n as f64);
    let diff = pb - pa;
    let pooled = (control.successes + treatment.successes) as f64 / (na + nb);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    if se_pooled == 0.0 {
        return Err(StatsError::Undefined(format!(
            "every unit in both groups has the same outcome (rate {pooled}): the z-test is undefined"
        )));
    }
    let z = diff / se_pooled;
    let p_value = 2.0 * normal_sf(z.abs());
    let se_unpooled = (pa * (1.0 - pa) / na + pb * (1.0 - pb) / nb).sqrt();
    let crit = normal_ppf(1.0 - alpha / 2.0);
    let ci_wald = (diff - crit * se_unpooled, diff + crit * se_unpooled);
    let (la, ua) = wilson_interval(&control, alpha)?;
    let (lb, ub) = wilson_interval(&treatment, alpha)?;
    let ci_newcombe = (
        diff - ((pb - lb).powi(2) + (ua - pa).powi(2)).sqrt(),
        diff + ((pa - la).powi(2) + (ub - pb).powi(2)).sqrt(),
    );
    Ok(ProportionsTest {
        control,
        treatment,
        diff,
        se_pooled,
        z,
        p_value,
        se_unpooled,
        ci_wald,
        ci_newcombe,
        alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: u64, n: u64) -> Proportion {
        Proportion::new("g", x, n).unwrap()
    }

    #[test]
    fn matches_statsmodels_on_the_issue_example() {
        // statsmodels 0.15.0: proportions_ztest([540, 480], [5000, 5000]) ->
        // z = 1.9824990878441187, p = 0.047423409374884214;
        // confint_proportions_2indep(540, 5000, 480, 5000, method="wald") ->
        // (0.00013873582415846464, 0.02386126417584153); default (newcomb) ->
        // (0.00013228476901743294, 0.023877185234589243)
        let t = two_proportions(p(480, 5000), p(540, 5000), 0.05).unwrap();
        assert!((t.z - 1.9824990878441187).abs() < 1e-12, "{}", t.z);
        assert!(
            (t.p_value - 0.047423409374884214).abs() < 1e-10,
            "{:e}",
            t.p_value - 0.047423409374884214
        );
        assert!(
            (t.ci_wald.0 - 0.00013873582415846464).abs() < 1e-12,
            "{:?}",
            t.ci_wald
        );
        assert!((t.ci_wald.1 - 0.02386126417584153).abs() < 1e-12);
        assert!((t.ci_newcombe.0 - 0.00013228476901743294).abs() < 1e-12);
        assert!((t.ci_newcombe.1 - 0.023877185234589243).abs() < 1e-12);
    }

    #[test]
    fn degenerate_rates_are_errors_not_nan() {
        assert!(matches!(
            two_proportions(p(0, 10), p(0, 12), 0.05),
            Err(StatsError::Undefined(_))
        ));
        assert!(Proportion::new("b", 0, 0).is_err());
        assert!(two_proportions(p(1, 10), p(2, 10), 1.5).is_err());
    }
}
