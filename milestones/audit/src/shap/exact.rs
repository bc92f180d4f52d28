//! Exact Shapley values by enumerating every coalition.
//!
//! For n players and a value function v over coalitions (v(∅) included),
//!
//! ```text
//!   φⱼ = Σ_{S ⊆ N∖{j}}  |S|! (n − |S| − 1)! / n!  · ( v(S ∪ {j}) − v(S) )
//! ```
//!
//! (Shapley 1953). All `2^n` values are computed once, indexed by bitmask,
//! then each player's sum runs over the `2^(n−1)` coalitions without it: O(n·2^n).
//! Efficiency (`Σ φⱼ = v(N) − v(∅)`) holds exactly up to rounding, which is
//! what [`Shapley::additivity_error`] reports. The limit of 15 players (32,768
//! coalitions) keeps a tabular explanation with a 10-row background under a
//! second; the RAG service uses it with k ≤ 6 passages (64 coalitions).
//!
//! [`exact_tabular`] is the game KernelSHAP estimates (`v(S) = link(E_bg f(x_S, z_S̄))`),
//! solved exactly — the reference KernelSHAP must match when it enumerates.
//! shap 0.51's own `ExactExplainer` uses the same definition with an
//! unweighted background sample.

use ndarray::{Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;
use serde::Serialize;

use super::background::Background;
use super::kernel::check_outputs;
use super::{check_rows, Explanation, Link, Model};
use crate::error::{AuditError, Result};

/// The largest number of players [`exact_shapley`] and [`exact_tabular`] accept.
pub const MAX_EXACT_PLAYERS: usize = 15;

/// Shapley values of a game, with the values of the empty and full coalitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shapley {
    pub values: Vec<f64>,
    /// v(∅): the base value.
    pub empty: f64,
    /// v(N): what is being attributed.
    pub full: f64,
    /// Number of coalitions evaluated (2^n).
    pub coalitions: usize,
}

impl Shapley {
    /// `|v(∅) + Σ φⱼ − v(N)|`.
    pub fn additivity_error(&self) -> f64 {
        (self.empty + self.values.iter().sum::<f64>() - self.full).abs()
    }
}

/// `|S|! (n − |S| − 1)! / n!` for |S| = 0 … n−1.
fn weights(n: usize) -> Vec<f64> {
    // 1 / (n · C(n−1, s)), computed without factorials.
    (0..n)
        .map(|s| {
            let c: f64 = (0..s).fold(1.0, |acc, i| acc * (n - 1 - i) as f64 / (i + 1) as f64);
            1.0 / (n as f64 * c)
        })
        .collect()
}

/// Shapley values from all `2^n` coalition values (`v[mask]`, bit j = player j).
pub fn shapley_from_values(n: usize, v: &[f64]) -> Vec<f64> {
    assert_eq!(v.len(), 1 << n, "one value per coalition");
    let w = weights(n);
    (0..n)
        .map(|j| {
            let bit = 1usize << j;
            (0..v.len())
                .filter(|s| s & bit == 0)
                .map(|s| w[s.count_ones() as usize] * (v[s | bit] - v[s]))
                .sum()
        })
        .collect()
}

fn check_players(n: usize) -> Result<()> {
    if n > MAX_EXACT_PLAYERS {
        return Err(AuditError::TooManyPlayers {
            n,
            max: MAX_EXACT_PLAYERS,
        });
    }
    Ok(())
}

/// Exact Shapley values of `n ≤ 15` players for a caller-supplied value
/// function, called once per coalition with the sorted member indices
/// (`&[]` for the empty coalition).
pub fn exact_shapley<E: std::fmt::Display>(
    n: usize,
    mut value: impl FnMut(&[usize]) -> std::result::Result<f64, E>,
) -> Result<Shapley> {
    check_players(n)?;
    let mut v = Vec::with_capacity(1 << n);
    let mut members = Vec::with_capacity(n);
    for mask in 0..1usize << n {
        members.clear();
        members.extend((0..n).filter(|j| mask >> j & 1 == 1));
        let x = value(&members).map_err(|e| AuditError::ValueFunction {
            coalition: members.clone(),
            message: e.to_string(),
        })?;
        if !x.is_finite() {
            return Err(AuditError::ValueFunction {
                coalition: members.clone(),
                message: format!("returned {x}; values must be finite"),
            });
        }
        v.push(x);
    }
    Ok(Shapley {
        values: shapley_from_values(n, &v),
        empty: v[0],
        full: v[(1 << n) - 1],
        coalitions: 1 << n,
    })
}

/// Coalitions evaluated per model call, bounding the synthetic matrix to
/// `CHUNK × background rows` rows.
const CHUNK: usize = 1024;

fn tabular_row(
    model: &dyn Model,
    bg: &Background,
    link: Link,
    groups: &[Vec<usize>],
    x: ArrayView1<f64>,
) -> Result<(Vec<f64>, f64)> {
    let n = groups.len();
    let nb = bg.data.nrows();
    let mut v = Vec::with_capacity(1 << n);
    for start in (0..1usize << n).step_by(CHUNK) {
        let end = (start + CHUNK).min(1 << n);
        let mut synth = Array2::<f64>::zeros(((end - start) * nb, bg.data.ncols()));
        for mask in start..end {
            let mut block = synth.slice_mut(ndarray::s![
                (mask - start) * nb..(mask - start + 1) * nb,
                ..
            ]);
            block.assign(&bg.data);
            for (g, members) in groups.iter().enumerate() {
                if mask >> g & 1 == 1 {
                    for &j in members {
                        block.column_mut(j).fill(x[j]);
                    }
                }
            }
        }
        let out = model.predict(synth.view())?;
        check_outputs(&out, link)?;
        v.extend(
            out.chunks(nb)
                .map(|c| link.apply(c.iter().zip(&bg.weights).map(|(y, w)| y * w).sum())),
        );
    }
    let fx = link.apply(model.predict(x.insert_axis(ndarray::Axis(0)))?[0]);
    Ok((shapley_from_values(n, &v), fx))
}

/// Exact Shapley values of `model` on each row of `x` for the game
/// `v(S) = link(E_bg f(x_S, z_S̄))`, players = `groups` of feature columns
/// (`None`: one player per column); at most 15 players.
pub fn exact_tabular(
    model: &dyn Model,
    background: &Background,
    link: Link,
    x: ArrayView2<f64>,
    groups: Option<(&[Vec<usize>], &[String])>,
    feature_names: &[String],
) -> Result<Explanation> {
    let d = background.data.ncols();
    check_rows(x, d)?;
    let singletons: Vec<Vec<usize>> = (0..d).map(|j| vec![j]).collect();
    let (groups, names) = groups.unwrap_or((&singletons, feature_names));
    crate::error::check_len("player names", names.len(), groups.len(), "players")?;
    check_players(groups.len())?;
    let base_out = model.predict(background.data.view())?;
    check_outputs(&base_out, link)?;
    let base = link.apply(
        base_out
            .iter()
            .zip(&background.weights)
            .map(|(y, w)| y * w)
            .sum(),
    );
    let rows: Vec<(Vec<f64>, f64)> = (0..x.nrows())
        .into_par_iter()
        .map(|i| tabular_row(model, background, link, groups, x.row(i)))
        .collect::<Result<_>>()?;
    let mut values = Array2::zeros((x.nrows(), groups.len()));
    for (i, (phi, _)) in rows.iter().enumerate() {
        values.row_mut(i).assign(&ArrayView1::from(phi));
    }
    Ok(Explanation {
        method: "exact".into(),
        feature_names: names.to_vec(),
        space: link.space().into(),
        base_value: base,
        values,
        outputs: rows.iter().map(|r| r.1).collect(),
        data: (groups.len() == d && groups.iter().enumerate().all(|(g, m)| m == &[g]))
            .then(|| x.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glove_game_and_weights() {
        // Players 0 and 1 own left gloves, 2 a right glove; a pair is worth 1.
        let v = |s: &[usize]| -> std::result::Result<f64, String> {
            let left = s.iter().filter(|&&j| j < 2).count();
            let right = s.iter().filter(|&&j| j == 2).count();
            Ok(left.min(right) as f64)
        };
        let sh = exact_shapley(3, v).unwrap();
        // Known solution: (1/6, 1/6, 2/3).
        let expect = [1.0 / 6.0, 1.0 / 6.0, 2.0 / 3.0];
        for (a, b) in sh.values.iter().zip(expect) {
            assert!((a - b).abs() < 1e-15);
        }
        assert!(sh.additivity_error() < 1e-15);
        assert_eq!(sh.coalitions, 8);
        assert!(
            (weights(4)
                .iter()
                .enumerate()
                .map(|(s, w)| w * { (0..s).fold(1.0, |a, i| a * (3 - i) as f64 / (i + 1) as f64) })
                .sum::<f64>()
                - 1.0)
                .abs()
                < 1e-15,
            "weights over all coalitions without j sum to 1"
        );
    }

    #[test]
    fn too_many_players_and_failing_value_functions_are_errors() {
        assert!(matches!(
            exact_shapley(16, |_| Ok::<f64, String>(0.0)),
            Err(AuditError::TooManyPlayers { n: 16, max: 15 })
        ));
        let r = exact_shapley(2, |s| if s.len() == 2 { Err("no") } else { Ok(0.0) });
        assert!(
            matches!(r, Err(AuditError::ValueFunction { coalition, .. }) if coalition == [0, 1])
        );
        let r = exact_shapley(1, |_| Ok::<f64, String>(f64::NAN));
        assert!(r.is_err());
    }

    #[test]
    fn exact_tabular_of_an_interaction() {
        // f = x₀·x₁ (identity link), background (0, 0) and (1, 1) equally weighted, x = (2, 3).
        let f = |x: ArrayView2<f64>| x.rows().into_iter().map(|r| r[0] * r[1]).collect();
        let bg = Background::new(ndarray::array![[0.0, 0.0], [1.0, 1.0]], None).unwrap();
        let names = vec!["a".to_string(), "b".to_string()];
        let e = exact_tabular(
            &f,
            &bg,
            Link::Identity,
            ndarray::array![[2.0, 3.0]].view(),
            None,
            &names,
        )
        .unwrap();
        // v(∅) = 0.5, v({0}) = E[2·z₁] = 1, v({1}) = E[3·z₀] = 1.5, v(N) = 6.
        // φ₀ = ½(1 − 0.5) + ½(6 − 1.5) = 2.5, φ₁ = ½(1.5 − 0.5) + ½(6 − 1) = 3.
        assert_eq!(e.values.row(0).to_vec(), [2.5, 3.0]);
        assert_eq!(e.base_value, 0.5);
        assert!(e.max_additivity_error() < 1e-12);
    }
}
