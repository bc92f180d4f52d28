//! KernelSHAP: Shapley values of any model from a weighted linear regression
//! over coalitions (Lundberg & Lee 2017), as shap 0.51's `KernelExplainer`
//! computes them (`shap/explainers/_kernel.py`, read line by line).
//!
//! For one row x with M *varying* features (a feature equal to x in every
//! background row cannot matter and gets φ = 0; "equal" is `np.allclose`,
//! `|x − b| ≤ 10⁻⁸ + 10⁻⁵|b|`), the game is `v(S) = link(E_bg f(x_S, z_S̄))`
//! and the Shapley values are the solution of
//!
//! ```text
//!   min_φ Σ_S k(S) (v(S) − v(∅) − Σ_{j∈S} φⱼ)²   subject to Σⱼ φⱼ = v(N) − v(∅),
//!   k(S) = (M − 1) / ( C(M, |S|) · |S| · (M − |S|) )      (the Shapley kernel)
//! ```
//!
//! over all `2^M − 2` proper coalitions. shap samples them instead:
//!
//! 1. **Budget**: `nsamples` (default `2M + 2048`), capped at `2^M − 2`.
//! 2. **Subset sizes** `s = 1 … ⌈(M−1)/2⌉`, each paired with its complement
//!    size `M − s` (the middle size of an even M is not paired), get weight
//!    `∝ (M−1)/(s(M−s))`, doubled for paired sizes, normalised.
//! 3. **Enumeration**: from the smallest size up, while the remaining budget
//!    times the size's (renormalised) weight covers all its `C(M, s)` subsets
//!    (×2 with complements, tolerance 10⁻⁸), every subset of that size and its
//!    complement is added with weight `w_s / C(M, s)` (halved when paired).
//! 4. **Sampling**: the rest of the budget draws a size from the remaining
//!    weights (paired sizes halved, since each draw adds two samples), a
//!    uniformly random subset of that size, and its complement; a subset drawn
//!    again only increments its weight. These weights are then rescaled to sum
//!    to the weight the unenumerated sizes carry. At most `4 × budget` draws.
//! 5. **Evaluation**: each coalition's `E_bg f` is the background-weighted
//!    mean of the model over the background rows with x's values put in; the
//!    link (e.g. logit) is applied after averaging.
//! 6. **Feature selection** (shap's default `l1_reg="num_features(10)"`):
//!    LAR ([`super::lars`]) on the regression augmented with the constraint,
//!    keeping the (at most 10) features that enter first; the others get φ = 0.
//! 7. **Constrained weighted least squares**: the last selected feature is
//!    eliminated with the constraint (`φ_last = v(N) − v(∅) − Σ others`), the
//!    rest solve the normal equations `(XᵀWX) φ = XᵀWy` (Cholesky; a singular
//!    system falls back to the minimum-norm least-squares solution, as shap's
//!    `np.linalg.lstsq`), and values below 10⁻¹⁰ in magnitude are set to 0.
//!
//! With the budget covering all coalitions (e.g. M ≤ 10 and 512 samples… up
//! to `2^M − 2`), and at most 10 features, this is deterministic and equals
//! the exact Shapley values ([`super::exact`]). Otherwise it is a random
//! estimate: the generator here (ChaCha8, seeded) differs from NumPy's global
//! one, so values agree with shap's within its sampling error, not digit for digit.
//!
//! Additivity `φ₀ + Σ φⱼ = link(f(x))` holds by construction (step 7).

use std::collections::HashMap;

use linfa_linalg::cholesky::SolveC;
use linfa_linalg::svd::SVD;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::background::Background;
use super::{check_rows, Explanation, Link, Model};
use crate::error::{AuditError, Result};

/// shap's `l1_reg`: feature selection before the final regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum L1Reg {
    /// `"num_features(r)"`: keep the first `r` features LAR selects (shap 0.51's default, r = 10).
    NumFeatures(usize),
    /// `l1_reg=False` / `0`: keep every varying feature.
    Off,
}

/// How many coalitions to evaluate per explained row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NSamples {
    /// `2M + 2048` (shap's `"auto"`).
    Auto,
    Fixed(usize),
}

/// KernelSHAP settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KernelOptions {
    pub nsamples: NSamples,
    pub l1_reg: L1Reg,
    /// Seed of the sampling; row i uses stream i of ChaCha8 with this seed.
    pub seed: u64,
}

impl Default for KernelOptions {
    /// shap 0.51's defaults: `nsamples="auto"`, `l1_reg="num_features(10)"`.
    fn default() -> Self {
        KernelOptions {
            nsamples: NSamples::Auto,
            l1_reg: L1Reg::NumFeatures(10),
            seed: 0,
        }
    }
}

/// A cooperative game over M players in which KernelSHAP evaluates coalitions.
pub trait Coalitions: Sync {
    /// Number of players.
    fn n_players(&self) -> usize;
    /// `E_bg f` (before the link) for each coalition; `masks[i][j]` = player j present.
    fn evaluate(&self, masks: &[Vec<bool>]) -> Result<Vec<f64>>;
}

/// Samples, weights and values of one KernelSHAP run (shap's `maskMatrix`,
/// `kernelWeights`, `ey`), kept at full budget size: rows never added stay 0,
/// as in shap, since the LAR stopping rule divides by the row count.
struct Design {
    masks: Vec<Vec<bool>>,
    weights: Vec<f64>,
    added: usize,
}

impl Design {
    fn add(&mut self, mask: &[bool], w: f64) {
        self.masks[self.added].copy_from_slice(mask);
        self.weights[self.added] = w;
        self.added += 1;
    }
}

/// `scipy.special.binom(n, k)` as a float.
fn binom(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Calls `f` with every k-subset of `0..m` in lexicographic order (`itertools.combinations`).
fn combinations(m: usize, k: usize, mut f: impl FnMut(&[usize])) {
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        f(&idx);
        let Some(i) = (0..k).rev().find(|&i| idx[i] != i + m - k) else {
            return;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// Steps 1–4 of the module docs: the coalitions to evaluate and their kernel weights.
fn sample_coalitions(m: usize, opts: &KernelOptions, rng: &mut ChaCha8Rng) -> (Design, f64) {
    let mut nsamples = match opts.nsamples {
        NSamples::Auto => 2 * m + 2048,
        NSamples::Fixed(n) => n,
    };
    let max_samples = if m <= 30 { (1usize << m) - 2 } else { 1 << 30 };
    nsamples = nsamples.min(max_samples);
    let mut d = Design {
        masks: vec![vec![false; m]; nsamples],
        weights: vec![0.0; nsamples],
        added: 0,
    };
    let num_subset_sizes = m / 2; // ⌈(M − 1)/2⌉
    let num_paired = (m - 1) / 2; // ⌊(M − 1)/2⌋
    let mut weight_vector: Vec<f64> = (1..=num_subset_sizes)
        .map(|i| (m as f64 - 1.0) / (i as f64 * (m - i) as f64))
        .collect();
    for w in weight_vector.iter_mut().take(num_paired) {
        *w *= 2.0;
    }
    let total: f64 = weight_vector.iter().sum();
    for w in &mut weight_vector {
        *w /= total;
    }
    let mut num_full = 0;
    let mut num_samples_left = nsamples as f64;
    let mut remaining = weight_vector.clone();
    let mut mask = vec![false; m];
    for size in 1..=num_subset_sizes {
        let mut nsubsets = binom(m, size);
        if size <= num_paired {
            nsubsets *= 2.0;
        }
        if num_samples_left * remaining[size - 1] / nsubsets >= 1.0 - 1e-8 {
            num_full += 1;
            num_samples_left -= nsubsets;
            if remaining[size - 1] < 1.0 {
                let div = 1.0 - remaining[size - 1];
                for r in &mut remaining {
                    *r /= div;
                }
            }
            let mut w = weight_vector[size - 1] / binom(m, size);
            if size <= num_paired {
                w /= 2.0;
            }
            combinations(m, size, |inds| {
                mask.fill(false);
                for &i in inds {
                    mask[i] = true;
                }
                d.add(&mask, w);
                if size <= num_paired {
                    mask.iter_mut().for_each(|b| *b = !*b);
                    d.add(&mask, w);
                }
            });
        } else {
            break;
        }
    }
    let nfixed = d.added;
    let mut samples_left = nsamples - d.added;
    if num_full != num_subset_sizes {
        let mut rw = weight_vector.clone();
        for w in rw.iter_mut().take(num_paired) {
            *w /= 2.0;
        }
        let rw = &rw[num_full..];
        let s: f64 = rw.iter().sum();
        // np.random.choice(len, size, p): inverse CDF of the normalised weights.
        let mut cdf: Vec<f64> = rw
            .iter()
            .scan(0.0, |acc, &w| {
                *acc += w / s;
                Some(*acc)
            })
            .collect();
        let last = *cdf.last().expect("at least one size left");
        for c in &mut cdf {
            *c /= last;
        }
        let draws = 4 * samples_left;
        let mut used: HashMap<Vec<bool>, usize> = HashMap::new();
        let mut pos = 0;
        while samples_left > 0 && pos < draws {
            let u: f64 = rng.random();
            let ind = cdf.partition_point(|&c| c <= u).min(cdf.len() - 1);
            pos += 1;
            let size = ind + num_full + 1;
            mask.fill(false);
            for i in index::sample(rng, m, size) {
                mask[i] = true;
            }
            let first = match used.get(&mask) {
                Some(&at) => {
                    d.weights[at] += 1.0;
                    Err(at)
                }
                None => {
                    used.insert(mask.clone(), d.added);
                    samples_left -= 1;
                    d.add(&mask, 1.0);
                    Ok(())
                }
            };
            if samples_left > 0 && size <= num_paired {
                mask.iter_mut().for_each(|b| *b = !*b);
                match first {
                    Ok(()) => {
                        samples_left -= 1;
                        d.add(&mask, 1.0);
                    }
                    // The complement was added right after the original.
                    Err(at) => d.weights[at + 1] += 1.0,
                }
            }
        }
        let weight_left: f64 = weight_vector[num_full..].iter().sum();
        let sampled: f64 = d.weights[nfixed..].iter().sum();
        if sampled > 0.0 {
            for w in &mut d.weights[nfixed..] {
                *w *= weight_left / sampled;
            }
        }
    }
    (d, nsamples as f64 / max_samples as f64)
}

/// Minimum-norm least squares `argmin ‖Ax − b‖` by SVD (`np.linalg.lstsq`,
/// singular values below `ε·max(rows, cols)·σ_max` treated as 0).
fn lstsq(a: &Array2<f64>, b: &Array1<f64>) -> Result<Array1<f64>> {
    let (u, s, vt) = a
        .svd(true, true)
        .map_err(|e| AuditError::Numeric(format!("least squares by SVD: {e}")))?;
    let (u, vt) = (u.expect("U requested"), vt.expect("Vt requested"));
    let smax = s.iter().cloned().fold(0.0, f64::max);
    let cutoff = f64::EPSILON * a.nrows().max(a.ncols()) as f64 * smax;
    let utb = u.t().dot(b);
    let scaled: Array1<f64> = utb
        .iter()
        .zip(s.iter())
        .map(|(&v, &sv)| if sv > cutoff { v / sv } else { 0.0 })
        .collect();
    Ok(vt.t().dot(&scaled))
}

/// Steps 6–7: the Shapley values of the M players from the evaluated design.
fn solve(
    d: &Design,
    ey: &[f64],
    fx_link: f64,
    fnull_link: f64,
    link: Link,
    l1: L1Reg,
) -> Result<Vec<f64>> {
    let m = d.masks.first().map_or(0, Vec::len);
    let n = d.masks.len();
    let total = fx_link - fnull_link;
    let ey_adj: Vec<f64> = ey.iter().map(|&v| link.apply(v) - fnull_link).collect();
    let mut nonzero: Vec<usize> = (0..m).collect();
    if let L1Reg::NumFeatures(r) = l1 {
        // shap: w_aug = [k·(M − s), k·s]; the constraint enters as extra rows.
        let mut xa = Array2::<f64>::zeros((2 * n, m));
        let mut ya = Array1::<f64>::zeros(2 * n);
        for i in 0..n {
            let s = d.masks[i].iter().filter(|&&b| b).count() as f64;
            let (w1, w2) = (
                (d.weights[i] * (m as f64 - s)).sqrt(),
                (d.weights[i] * s).sqrt(),
            );
            ya[i] = ey_adj[i] * w1;
            ya[n + i] = (ey_adj[i] - total) * w2;
            for j in 0..m {
                let b = f64::from(u8::from(d.masks[i][j]));
                xa[[i, j]] = w1 * b;
                xa[[n + i, j]] = w2 * (b - 1.0);
            }
        }
        nonzero = super::lars::lar_active_set(xa.view(), ya.view(), r);
    }
    let mut phi = vec![0.0; m];
    let Some(&last) = nonzero.last() else {
        return Ok(phi);
    };
    let rest = &nonzero[..nonzero.len() - 1];
    let k = rest.len();
    let y: Array1<f64> = (0..n)
        .map(|i| ey_adj[i] - f64::from(u8::from(d.masks[i][last])) * total)
        .collect();
    let x = Array2::from_shape_fn((n, k), |(i, c)| {
        f64::from(u8::from(d.masks[i][rest[c]])) - f64::from(u8::from(d.masks[i][last]))
    });
    let w = if k == 0 {
        Array1::zeros(0)
    } else {
        let kw = Array1::from(d.weights.clone());
        let wx = &x * &kw.view().insert_axis(ndarray::Axis(1));
        let mut xtwx = x.t().dot(&wx);
        let xtwy = wx.t().dot(&y).insert_axis(ndarray::Axis(1));
        match xtwx.solvec(&xtwy) {
            Ok(sol) if sol.iter().all(|v| v.is_finite()) => sol.column(0).to_owned(),
            _ => {
                let sw = kw.mapv(f64::sqrt);
                let a = &x * &sw.view().insert_axis(ndarray::Axis(1));
                lstsq(&a, &(&y * &sw))?
            }
        }
    };
    for (c, &j) in rest.iter().enumerate() {
        phi[j] = w[c];
    }
    phi[last] = total - w.sum();
    for v in &mut phi {
        if v.abs() < 1e-10 {
            *v = 0.0;
        }
    }
    Ok(phi)
}

/// KernelSHAP of one "row" given as a game: all M players vary.
/// `fx` and `fnull` are `f(x)` and `E_bg f` before the link.
pub fn kernel_shap_game(
    game: &dyn Coalitions,
    fx: f64,
    fnull: f64,
    link: Link,
    opts: &KernelOptions,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f64>> {
    let m = game.n_players();
    let (fx_l, fnull_l) = (link.apply(fx), link.apply(fnull));
    match m {
        0 => Ok(vec![]),
        1 => Ok(vec![fx_l - fnull_l]),
        _ => {
            let (d, _) = sample_coalitions(m, opts, rng);
            let mut ey = game.evaluate(&d.masks[..d.added])?;
            // Rows never added keep weight 0 and `ey` 0, as in shap.
            ey.resize(d.masks.len(), 0.0);
            solve(&d, &ey, fx_l, fnull_l, link, opts.l1_reg)
        }
    }
}

/// A model explained against a background, features optionally grouped into players.
pub struct KernelExplainer<'m> {
    model: &'m dyn Model,
    background: Background,
    link: Link,
    groups: Vec<Vec<usize>>,
    names: Vec<String>,
    fnull: f64,
}

/// One tabular row as a game over its varying feature groups.
struct RowGame<'a, 'm, 'x> {
    explainer: &'a KernelExplainer<'m>,
    x: ArrayView1<'x, f64>,
    players: &'a [usize],
}

impl Coalitions for RowGame<'_, '_, '_> {
    fn n_players(&self) -> usize {
        self.players.len()
    }
    fn evaluate(&self, masks: &[Vec<bool>]) -> Result<Vec<f64>> {
        let e = self.explainer;
        let (nb, d) = e.background.data.dim();
        let bg = e.background.data.as_standard_layout();
        let bg = bg.as_slice().expect("standard layout");
        // Each coalition's rows are the background with x's values put in. They
        // are built by copying (no zero fill) and scored CHUNK coalitions at a
        // time, so the synthetic block stays in cache.
        const CHUNK: usize = 64;
        let mut out = Vec::with_capacity(masks.len());
        let mut synth: Vec<f64> = Vec::with_capacity(CHUNK * nb * d);
        for chunk in masks.chunks(CHUNK) {
            synth.clear();
            for mask in chunk {
                let start = synth.len();
                synth.extend_from_slice(bg);
                for (p, _) in mask.iter().enumerate().filter(|(_, &on)| on) {
                    for &j in &e.groups[self.players[p]] {
                        let v = self.x[j];
                        for b in 0..nb {
                            synth[start + b * d + j] = v;
                        }
                    }
                }
            }
            let block = ndarray::ArrayView2::from_shape((chunk.len() * nb, d), &synth)
                .expect("chunk rows × columns");
            let y = e.model.predict(block)?;
            out.extend(y.chunks(nb).map(|c| {
                c.iter()
                    .zip(&e.background.weights)
                    .map(|(y, w)| y * w)
                    .sum::<f64>()
            }));
        }
        Ok(out)
    }
}

impl<'m> KernelExplainer<'m> {
    /// An explainer of `model` over `background`, one player per feature.
    pub fn new(
        model: &'m dyn Model,
        background: Background,
        link: Link,
        feature_names: Vec<String>,
    ) -> Result<Self> {
        let d = background.data.ncols();
        crate::error::check_len(
            "feature names",
            feature_names.len(),
            d,
            "background columns",
        )?;
        let out = model.predict(background.data.view())?;
        crate::error::check_len("model outputs", out.len(), background.data.nrows(), "rows")?;
        check_outputs(&out, link)?;
        let fnull = out
            .iter()
            .zip(&background.weights)
            .map(|(y, w)| y * w)
            .sum();
        Ok(KernelExplainer {
            model,
            background,
            link,
            groups: (0..d).map(|j| vec![j]).collect(),
            names: feature_names,
            fnull,
        })
    }

    /// Explains groups of features as single players (shap's `DenseData` groups).
    pub fn with_groups(mut self, groups: Vec<Vec<usize>>, names: Vec<String>) -> Result<Self> {
        let d = self.background.data.ncols();
        let mut seen = vec![false; d];
        for &j in groups.iter().flatten() {
            if j >= d || std::mem::replace(&mut seen[j], true) {
                return Err(AuditError::BadParameter {
                    what: "feature groups",
                    expected: "each feature in at most one group",
                    got: format!("feature {j} repeated or out of range (0..{d})"),
                });
            }
        }
        crate::error::check_len("feature groups", groups.len(), names.len(), "group names")?;
        self.groups = groups;
        self.names = names;
        Ok(self)
    }

    /// `φ₀ = link(E_bg f)`.
    pub fn expected_value(&self) -> f64 {
        self.link.apply(self.fnull)
    }

    /// Indices of the groups where `x` differs from some background row.
    fn varying(&self, x: ArrayView1<f64>) -> Vec<usize> {
        let bg = &self.background.data;
        (0..self.groups.len())
            .filter(|&g| {
                self.groups[g].iter().any(|&j| {
                    bg.column(j)
                        .iter()
                        .any(|&b| (x[j] - b).abs() > 1e-8 + 1e-5 * b.abs())
                })
            })
            .collect()
    }

    /// KernelSHAP values of one row (one per group) and `f(x)` before the link.
    pub fn explain_row(
        &self,
        x: ArrayView1<f64>,
        opts: &KernelOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Vec<f64>, f64)> {
        let fx = self.model.predict(x.insert_axis(ndarray::Axis(0)))?[0];
        check_outputs(&[fx], self.link)?;
        let players = self.varying(x);
        let game = RowGame {
            explainer: self,
            x,
            players: &players,
        };
        let vals = kernel_shap_game(&game, fx, self.fnull, self.link, opts, rng)?;
        let mut phi = vec![0.0; self.groups.len()];
        for (p, v) in players.iter().zip(vals) {
            phi[*p] = v;
        }
        Ok((phi, fx))
    }

    /// KernelSHAP of every row of `x`, rows in parallel (row i samples with
    /// stream i of the seed, so results do not depend on the thread count).
    pub fn explain(&self, x: ArrayView2<f64>, opts: &KernelOptions) -> Result<Explanation> {
        check_rows(x, self.background.data.ncols())?;
        let rows: Vec<(Vec<f64>, f64)> = (0..x.nrows())
            .into_par_iter()
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
                rng.set_stream(i as u64);
                self.explain_row(x.row(i), opts, &mut rng)
            })
            .collect::<Result<_>>()?;
        let mut values = Array2::<f64>::zeros((x.nrows(), self.groups.len()));
        for (i, (phi, _)) in rows.iter().enumerate() {
            values.row_mut(i).assign(&ndarray::ArrayView1::from(phi));
        }
        let singletons = self.groups.iter().enumerate().all(|(g, m)| m == &[g]);
        Ok(Explanation {
            method: "kernel".into(),
            feature_names: self.names.clone(),
            space: self.link.space().into(),
            base_value: self.expected_value(),
            values,
            outputs: rows.iter().map(|(_, fx)| self.link.apply(*fx)).collect(),
            data: singletons.then(|| x.to_owned()),
        })
    }
}

/// With the logit link the model must output probabilities.
pub(crate) fn check_outputs(out: &[f64], link: Link) -> Result<()> {
    if let Some(&v) = out
        .iter()
        .find(|v| !v.is_finite() || (link == Link::Logit && !(0.0..=1.0).contains(*v)))
    {
        return Err(AuditError::NotProbability { value: v });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn combinations_are_lexicographic() {
        let mut all = Vec::new();
        combinations(4, 2, |c| all.push(c.to_vec()));
        assert_eq!(all, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
        assert_eq!(binom(5, 2), 10.0);
    }

    #[test]
    fn full_budget_enumerates_every_coalition_with_kernel_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let opts = KernelOptions {
            nsamples: NSamples::Fixed(1000),
            ..Default::default()
        };
        let (d, frac) = sample_coalitions(5, &opts, &mut rng);
        assert_eq!(d.added, 30);
        assert_eq!(frac, 1.0);
        assert!((d.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Shapley kernel ∝ (M−1)/(C(M,s) s (M−s)): sizes 1 and 2 of M = 5.
        let w1 = d.weights[0];
        let w2 = d.weights[10];
        assert!((w1 / w2 - (4.0 / (5.0 * 4.0)) / (4.0 / (10.0 * 6.0))).abs() < 1e-12);
    }

    #[test]
    fn additive_model_gets_its_terms_back() {
        // f(x) = 2x₀ − x₁ + 0.5x₂ with identity link: φⱼ = wⱼ(xⱼ − E[xⱼ]).
        let f = |x: ArrayView2<f64>| {
            x.rows()
                .into_iter()
                .map(|r| 2.0 * r[0] - r[1] + 0.5 * r[2])
                .collect()
        };
        let bg = Background::new(array![[0.0, 0.0, 0.0], [1.0, 2.0, 4.0]], None).unwrap();
        let names = vec!["a".into(), "b".into(), "c".into()];
        let ex = KernelExplainer::new(&f, bg, Link::Identity, names).unwrap();
        let e = ex
            .explain(array![[1.0, 1.0, 1.0]].view(), &KernelOptions::default())
            .unwrap();
        let expect = [2.0 * (1.0 - 0.5), -(1.0 - 1.0), 0.5 * (1.0 - 2.0)];
        for (a, b) in e.values.row(0).iter().zip(expect) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert!(e.max_additivity_error() < 1e-12);
    }

    #[test]
    fn features_equal_to_every_background_row_get_zero() {
        let f = |x: ArrayView2<f64>| x.rows().into_iter().map(|r| r[0] * r[1] + r[2]).collect();
        let bg = Background::new(array![[1.0, 0.0, 3.0], [2.0, 0.0, 3.0]], None).unwrap();
        let ex = KernelExplainer::new(
            &f,
            bg,
            Link::Identity,
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap();
        let e = ex
            .explain(array![[5.0, 0.0, 3.0]].view(), &KernelOptions::default())
            .unwrap();
        assert_eq!(
            e.values.row(0).to_vec(),
            [0.0, 0.0, 0.0],
            "f does not change: x₁ = 0 everywhere"
        );
        let e = ex
            .explain(array![[5.0, 1.0, 3.0]].view(), &KernelOptions::default())
            .unwrap();
        assert_eq!(e.values[[0, 2]], 0.0);
        assert!(e.max_additivity_error() < 1e-12);
    }

    #[test]
    fn logit_link_needs_probabilities() {
        let f = |x: ArrayView2<f64>| vec![2.0; x.nrows()];
        let bg = Background::new(array![[0.0]], None).unwrap();
        assert!(matches!(
            KernelExplainer::new(&f, bg, Link::Logit, vec!["a".into()]),
            Err(AuditError::NotProbability { .. })
        ));
    }
}
