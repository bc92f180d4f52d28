//! Two ways to minimise the objective `F` of [`crate::objective`].
//!
//! - [`GradientDescent`]: the learner's version. Step downhill along the
//!   gradient with a fixed learning rate η: `θ ← θ − η ∇F(θ)`. Cheap steps, but
//!   on an ill-conditioned problem (correlated features, small penalty) it needs
//!   thousands of them and still stops short of the exact optimum.
//! - [`Newton`]: iteratively reweighted least squares. Model `F` near θ by its
//!   second-order Taylor expansion and jump to that quadratic's minimum,
//!   `θ ← θ − t · (∇²F)⁻¹ ∇F`. Near the optimum the error squares every step,
//!   so a handful of iterations reach machine precision. A backtracking line
//!   search picks `t` (far from the optimum the full step can overshoot), and a
//!   small diagonal damping keeps the linear solve well posed when `∇²F` is
//!   (nearly) singular, which happens without a penalty on separable data.

use ndarray::{Array1, Array2};
use serde::Serialize;

use crate::objective::{exp_nonpositive_with, madd, sigmoid, Problem};
use crate::LogRegError;

/// Full-batch gradient descent settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradientDescent {
    /// Step size η.
    pub learning_rate: f64,
    /// Maximum number of passes over the data (one gradient step each).
    pub epochs: usize,
    /// Stop early once `max |∂F/∂θⱼ| ≤ tol`; `0` runs every epoch.
    pub tol: f64,
    /// Record `F` at every epoch in [`Trace::loss`]. It costs one extra `ln` per
    /// row per epoch; benchmarks that compare with a loop that does not track the
    /// loss turn it off.
    pub record_loss: bool,
}

impl Default for GradientDescent {
    fn default() -> Self {
        GradientDescent {
            learning_rate: 0.1,
            epochs: 5000,
            tol: 1e-6,
            record_loss: true,
        }
    }
}

/// Newton / IRLS settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Newton {
    /// Maximum number of Newton steps.
    pub max_iter: usize,
    /// Converged once `max |∂F/∂θⱼ| ≤ tol`.
    pub tol: f64,
}

impl Default for Newton {
    fn default() -> Self {
        Newton {
            max_iter: 100,
            tol: 1e-10,
        }
    }
}

/// How a fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    /// Steps taken.
    pub iterations: usize,
    /// Whether the gradient tolerance was met (otherwise the step budget ran out).
    pub converged: bool,
    /// `F` before each step (and, for Newton, at the final point); empty when not recorded.
    pub loss: Vec<f64>,
    /// `max |∂F/∂θⱼ|` at the returned parameters (for GD: at the last evaluated point).
    pub grad_max: f64,
}

/// Parameters found by a solver.
pub(crate) struct Solution {
    pub w: Array1<f64>,
    pub b: f64,
    pub trace: Trace,
}

fn max_abs(g: &Array1<f64>, gb: f64) -> f64 {
    g.iter().fold(gb.abs(), |m, v| m.max(v.abs()))
}

impl GradientDescent {
    /// Runs `θ ← θ − η ∇F(θ)` from θ = 0.
    ///
    /// One epoch, with `z = Xw + b` and `eᵢ = σ(zᵢ) − yᵢ`:
    /// `w ← w − η (Xᵀe/n + αw)`, `b ← b − η·mean(e)`. The loss is accumulated in
    /// the same pass as `e` from the shared `e^{−|z|}`, so tracking it costs one `ln_1p`.
    pub(crate) fn minimize(&self, pb: &Problem) -> Result<Solution, LogRegError> {
        let (n, d) = (pb.n(), pb.d());
        let inv_n = 1.0 / n as f64;
        let (lr, alpha) = (self.learning_rate, pb.alpha);
        let design = Design::new(pb);
        let mut b = 0.0;
        let mut w = vec![0.0; d];
        let mut z = vec![0.0; n];
        // Padded like the rows of `xp`; the padding entries stay 0.
        let mut gw_padded = vec![0.0; design.padded_cols];
        let mut loss = Vec::with_capacity(if self.record_loss { self.epochs } else { 0 });
        let mut trace = Trace {
            iterations: 0,
            converged: false,
            loss: Vec::new(),
            grad_max: f64::INFINITY,
        };
        let epoch_fn = epoch_kernel();
        for epoch in 0..self.epochs {
            let sums = epoch_fn(&design, &w, b, &mut z, &mut gw_padded, self.record_loss);
            let gw = &mut gw_padded[..d];
            let mut w_sq = 0.0;
            for (g, &wj) in gw.iter_mut().zip(&w) {
                *g = *g * inv_n + alpha * wj;
                w_sq += wj * wj;
            }
            let gb = sums.err * inv_n;
            if self.record_loss {
                let f = sums.loss * inv_n + 0.5 * alpha * w_sq;
                if !f.is_finite() {
                    return Err(LogRegError::Diverged { iteration: epoch });
                }
                loss.push(f);
            }
            trace.grad_max = gw.iter().fold(gb.abs(), |m, v| m.max(v.abs()));
            if !trace.grad_max.is_finite() {
                return Err(LogRegError::Diverged { iteration: epoch });
            }
            if trace.grad_max <= self.tol {
                trace.converged = true;
                break;
            }
            for (wj, g) in w.iter_mut().zip(gw.iter()) {
                *wj -= lr * g;
            }
            b -= lr * gb;
            trace.iterations = epoch + 1;
        }
        trace.loss = loss;
        Ok(Solution {
            w: Array1::from(w),
            b,
            trace,
        })
    }
}

/// σ(v) given `t = e^{−|v|}`, the overflow-free form of [`sigmoid`].
#[inline(always)]
fn sigmoid_from(v: f64, t: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + t)
    } else {
        t / (1.0 + t)
    }
}

/// Σ xᵢ with sixteen partial sums (four SIMD registers of four), so the
/// additions run in parallel instead of waiting on each other.
#[inline(always)]
fn sum(x: &[f64]) -> f64 {
    let mut acc = [0.0f64; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for k in 0..16 {
            acc[k] += c[k];
        }
    }
    acc.iter().sum::<f64>() + chunks.remainder().iter().sum::<f64>()
}

/// Sums one epoch produces besides the gradient.
struct EpochSums {
    /// Σᵢ eᵢ = Σᵢ (σ(zᵢ) − yᵢ), the intercept's gradient times n.
    err: f64,
    /// Σᵢ ℓ(yᵢ, zᵢ) (0 unless requested).
    loss: f64,
}

/// What every epoch reads, laid out once per fit.
struct Design<'a> {
    /// `Xᵀ`: d rows of n values.
    xt: &'a [f64],
    /// `X` with each row zero-padded to `padded_cols` (a multiple of [`BLOCK`]).
    xp: Vec<f64>,
    padded_cols: usize,
    y: &'a [f64],
}

impl<'a> Design<'a> {
    fn new(pb: &'a Problem) -> Self {
        let x = pb.x.as_standard_layout();
        let (xp, padded_cols) = padded_rows(x.as_slice().expect("standard layout"), pb.d());
        Design {
            xt: pb.xt.as_slice().expect("Problem owns a contiguous Xᵀ"),
            xp,
            padded_cols,
            y: pb.y.as_slice().expect("Problem owns contiguous labels"),
        }
    }
}

type EpochFn = fn(&Design, &[f64], f64, &mut [f64], &mut [f64], bool) -> EpochSums;

/// Picks the epoch loop compiled for this CPU: the same Rust code, built once
/// for the baseline x86-64 instruction set and once with AVX2 + FMA (4 doubles
/// per instruction, fused multiply-add), chosen at run time so the binary
/// still runs on older CPUs.
fn epoch_kernel() -> EpochFn {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return |design, w, b, z, gw, record| {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                unsafe { epoch_avx2(design, w, b, z, gw, record) }
            };
        }
    }
    epoch_generic::<false>
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn epoch_avx2(
    design: &Design,
    w: &[f64],
    b: f64,
    z: &mut [f64],
    gw: &mut [f64],
    record_loss: bool,
) -> EpochSums {
    epoch_generic::<true>(design, w, b, z, gw, record_loss)
}

/// Outputs kept in registers by [`combine_rows`]: 32 doubles are eight AVX2
/// registers, enough independent additions to keep both FMA units busy.
const BLOCK: usize = 32;

/// One pass of gradient descent's arithmetic:
///
/// 1. `z = b + Σⱼ wⱼ·Xᵀⱼ`: the margins, a weighted sum of the d rows of `Xᵀ`;
/// 2. `zᵢ ← eᵢ = σ(zᵢ) − yᵢ` in place (σ via [`exp_nonpositive_with`]), and
///    the loss from the same `e^{−|zᵢ|}`;
/// 3. `gw = Σᵢ eᵢ·Xᵢ`: the gradient sums, a weighted sum of the n rows of `X`
///    (zero-padded, so `gw` is too; the caller scales by 1/n and adds the penalty).
///
/// Both products are the same operation, [`combine_rows`], once over `Xᵀ`
/// and once over `X`: storing both orientations makes every read contiguous.
/// `FMA` selects fused multiply-add, which is only fast where the CPU has it.
#[inline(always)]
fn epoch_generic<const FMA: bool>(
    design: &Design,
    w: &[f64],
    b: f64,
    z: &mut [f64],
    gw: &mut [f64],
    record_loss: bool,
) -> EpochSums {
    let Design { xt, xp, y, .. } = design;
    combine_rows::<FMA>(xt, w, b, z);
    // Sums are taken after the element-wise loop: a running floating-point sum
    // inside it would force one element at a time. Only the loss, which needs
    // a scalar `ln_1p` per row anyway, is summed in place.
    let mut loss = 0.0;
    if record_loss {
        for (zi, &yi) in z.iter_mut().zip(y.iter()) {
            let v = *zi;
            let t = exp_nonpositive_with::<FMA>(-v.abs());
            // ℓ = ln(1 + e^{−|z|}) + y·max(−z, 0) + (1 − y)·max(z, 0), see `objective::logistic_loss`.
            loss += t.ln_1p() + yi * (-v).max(0.0) + (1.0 - yi) * v.max(0.0);
            *zi = sigmoid_from(v, t) - yi;
        }
    } else {
        for (zi, &yi) in z.iter_mut().zip(y.iter()) {
            let v = *zi;
            let t = exp_nonpositive_with::<FMA>(-v.abs());
            *zi = sigmoid_from(v, t) - yi;
        }
    }
    let sums = EpochSums { err: sum(z), loss };
    combine_rows::<FMA>(xp, z, 0.0, gw);
    sums
}

/// `out = init + Σᵣ cᵣ·mᵣ`, where `mᵣ` are the contiguous rows of `m`, each
/// `out.len()` long.
///
/// Adding one row at a time into all of `out` would load and store `outₖ` at
/// every multiply-add. Instead a block of [`BLOCK`] outputs stays in registers
/// while every row is added into it, so each multiply-add loads one number.
#[inline(always)]
fn combine_rows<const FMA: bool>(m: &[f64], coefs: &[f64], init: f64, out: &mut [f64]) {
    let len = out.len();
    let full = len - len % BLOCK;
    for (blk, ob) in out[..full].chunks_exact_mut(BLOCK).enumerate() {
        let k0 = blk * BLOCK;
        let mut acc = [init; BLOCK];
        for (row, &c) in m.chunks_exact(len).zip(coefs) {
            let x: &[f64; BLOCK] = row[k0..k0 + BLOCK].try_into().expect("a block of the row");
            for k in 0..BLOCK {
                acc[k] = madd::<FMA>(x[k], c, acc[k]);
            }
        }
        ob.copy_from_slice(&acc);
    }
    let tail = &mut out[full..];
    tail.fill(init);
    for (row, &c) in m.chunks_exact(len).zip(coefs) {
        for (o, &x) in tail.iter_mut().zip(&row[full..]) {
            *o = madd::<FMA>(x, c, *o);
        }
    }
}

/// `X` with each row zero-padded to a multiple of [`BLOCK`] columns, so that
/// [`combine_rows`] over its rows runs on whole register blocks.
fn padded_rows(x: &[f64], d: usize) -> (Vec<f64>, usize) {
    let dp = d.div_ceil(BLOCK) * BLOCK;
    let mut out = vec![0.0; (x.len() / d.max(1)) * dp];
    for (dst, src) in out.chunks_exact_mut(dp).zip(x.chunks_exact(d.max(1))) {
        dst[..d].copy_from_slice(src);
    }
    (out, dp)
}

impl Newton {
    /// Damped Newton with backtracking (Armijo) line search, from θ = 0.
    ///
    /// Each iteration solves `(∇²F + λI) δ = −∇F` by Cholesky (λ = 0 unless the
    /// factorisation fails, then growing from 10⁻¹⁰·max diag), then halves `t`
    /// from 1 until `F(θ + tδ) ≤ F(θ) + 10⁻⁴·t·∇F·δ` (sufficient decrease), with
    /// a few ulps of slack so rounding noise at the optimum cannot stall it.
    pub(crate) fn minimize(&self, pb: &Problem) -> Result<Solution, LogRegError> {
        let d = pb.d();
        let mut w = Array1::<f64>::zeros(d);
        let mut b = 0.0;
        let mut trace = Trace {
            iterations: 0,
            converged: false,
            loss: Vec::new(),
            grad_max: f64::INFINITY,
        };
        let mut f = pb.value(w.view(), b);
        loop {
            trace.loss.push(f);
            let p = pb.margins(w.view(), b).mapv(sigmoid);
            let (gw, gb) = pb.gradient(w.view(), b);
            trace.grad_max = max_abs(&gw, gb);
            if !trace.grad_max.is_finite() || !f.is_finite() {
                return Err(LogRegError::Diverged {
                    iteration: trace.iterations,
                });
            }
            if trace.grad_max <= self.tol {
                trace.converged = true;
                break;
            }
            if trace.iterations == self.max_iter {
                break;
            }
            let mut g = gw.to_vec();
            g.push(gb);
            let g = Array1::from(g);
            let step = solve_damped(pb.hessian(p.view()), &g.mapv(|v| -v));
            let slope = g.dot(&step);
            let mut t = 1.0;
            let accepted = loop {
                let w_new = &w + &(step.slice(ndarray::s![..d]).to_owned() * t);
                let b_new = b + t * step[d];
                let f_new = pb.value(w_new.view(), b_new);
                if f_new <= f + 1e-4 * t * slope + 4.0 * f64::EPSILON * f.abs() {
                    break Some((w_new, b_new, f_new));
                }
                t *= 0.5;
                if t < 1e-12 {
                    break None;
                }
            };
            trace.iterations += 1;
            match accepted {
                Some((w_new, b_new, f_new)) => {
                    w = w_new;
                    b = b_new;
                    f = f_new;
                }
                // No step decreases F: we are at the optimum to working precision.
                None => break,
            }
        }
        Ok(Solution { w, b, trace })
    }
}

/// Solves `(H + λI) x = r` for symmetric positive (semi-)definite `H`.
///
/// Cholesky: write `H = LLᵀ` with `L` lower triangular,
/// `Lⱼⱼ = √(Hⱼⱼ − Σₖ<ⱼ Lⱼₖ²)`, `Lᵢⱼ = (Hᵢⱼ − Σₖ<ⱼ LᵢₖLⱼₖ) / Lⱼⱼ` for i > j;
/// then solve `Lu = r` forwards and `Lᵀx = u` backwards. A non-positive pivot
/// means `H` is not numerically positive definite; adding `λI` (λ > 0) lifts
/// every eigenvalue by λ and fixes that, at the cost of a slightly shorter step
/// (between a Newton and a gradient step).
fn solve_damped(h: Array2<f64>, r: &Array1<f64>) -> Array1<f64> {
    let m = r.len();
    let max_diag = (0..m)
        .map(|i| h[[i, i]])
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut lambda = 0.0;
    loop {
        if let Some(l) = cholesky(&h, lambda) {
            let mut u = Array1::<f64>::zeros(m);
            for i in 0..m {
                let s: f64 = (0..i).map(|k| l[[i, k]] * u[k]).sum();
                u[i] = (r[i] - s) / l[[i, i]];
            }
            let mut x = Array1::<f64>::zeros(m);
            for i in (0..m).rev() {
                let s: f64 = (i + 1..m).map(|k| l[[k, i]] * x[k]).sum();
                x[i] = (u[i] - s) / l[[i, i]];
            }
            return x;
        }
        lambda = if lambda == 0.0 {
            1e-10 * max_diag
        } else {
            lambda * 10.0
        };
    }
}

fn cholesky(h: &Array2<f64>, lambda: f64) -> Option<Array2<f64>> {
    let m = h.nrows();
    let mut l = Array2::<f64>::zeros((m, m));
    for j in 0..m {
        let s: f64 = (0..j).map(|k| l[[j, k]] * l[[j, k]]).sum();
        let pivot = h[[j, j]] + lambda - s;
        if pivot <= 0.0 || !pivot.is_finite() {
            return None;
        }
        let ljj = pivot.sqrt();
        l[[j, j]] = ljj;
        for i in j + 1..m {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            l[[i, j]] = (h[[i, j]] - s) / ljj;
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn blocked_epoch_matches_the_plain_gradient_on_awkward_shapes() {
        // n and d not multiples of the block (tails, padding of 40 → 64 columns).
        for (n, d) in [(75, 40), (31, 3), (64, 32)] {
            let x = ndarray::Array2::from_shape_fn((n, d), |(i, j)| {
                ((i * 7 + j * 13) % 17) as f64 / 8.0 - 1.0
            });
            let y: Vec<u8> = (0..n).map(|i| (i % 3 == 0) as u8).collect();
            let pb = Problem::new(x.view(), &y, 1.0);
            let w: Vec<f64> = (0..d).map(|j| (j as f64 - 3.0) / 10.0).collect();
            let b = 0.25;
            let design = Design::new(&pb);
            let mut z = vec![0.0; n];
            let mut g = vec![0.0; design.padded_cols];
            let sums = epoch_kernel()(&design, &w, b, &mut z, &mut g, true);
            // Problem::gradient = Xᵀe/n + αw and mean(e), on ndarray.
            let (gw, gb) = pb.gradient(ndarray::ArrayView1::from(&w), b);
            for j in 0..d {
                let got = g[j] / n as f64 + pb.alpha * w[j];
                assert!((got - gw[j]).abs() < 1e-12, "n={n} d={d} j={j}");
            }
            assert!(g[d..].iter().all(|&v| v == 0.0), "padding stays zero");
            assert!((sums.err / n as f64 - gb).abs() < 1e-12);
            let f = sums.loss / n as f64 + 0.5 * pb.alpha * w.iter().map(|v| v * v).sum::<f64>();
            assert!((f - pb.value(ndarray::ArrayView1::from(&w), b)).abs() < 1e-12);
        }
    }

    #[test]
    fn cholesky_solve_recovers_a_known_solution() {
        let h = array![[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let x = array![1.0, -2.0, 0.5];
        let r = h.dot(&x);
        let got = solve_damped(h, &r);
        for (a, b) in got.iter().zip(&x) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn singular_systems_are_damped_not_nan() {
        let h = array![[1.0, 1.0], [1.0, 1.0]];
        let got = solve_damped(h, &array![1.0, 1.0]);
        assert!(got.iter().all(|v| v.is_finite()));
    }
}
