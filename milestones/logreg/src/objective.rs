//! The function both solvers minimise: L2-regularised logistic log-loss.
//!
//! scikit-learn's `LogisticRegression(C)` minimises, over weights `w` and intercept `b`,
//!
//! ```text
//!   J(w, b) = ½‖w‖² + C · Σᵢ ℓ(yᵢ, zᵢ),    zᵢ = w·xᵢ + b,
//!   ℓ(y, z) = −y ln σ(z) − (1 − y) ln(1 − σ(z)) = softplus(z) − y·z,
//!   σ(z) = 1 / (1 + e^{−z}),  softplus(z) = ln(1 + e^{z}).
//! ```
//!
//! The intercept is not penalised. Dividing by `C·n` changes the scale, not the
//! minimiser, and gives numbers that do not grow with the data set:
//!
//! ```text
//!   F(w, b) = (1/n) Σᵢ ℓ(yᵢ, zᵢ) + (α/2) ‖w‖²,     α = 1 / (C·n)
//! ```
//!
//! so `C = ∞` (no penalty) is simply `α = 0`. Everything here works on `F`:
//!
//! ```text
//!   ∂F/∂w = (1/n) Xᵀ(p − y) + α·w,        pᵢ = σ(zᵢ)
//!   ∂F/∂b = (1/n) Σᵢ (pᵢ − yᵢ)
//!   ∇²F   = (1/n) X̃ᵀ S X̃ + α·diag(1, …, 1, 0),   S = diag(pᵢ(1 − pᵢ)),  X̃ = [X | 1]
//! ```
//!
//! (`dℓ/dz = σ(z) − y` and `d²ℓ/dz² = σ(z)(1 − σ(z))`: the famous simplification
//! that makes logistic regression's gradient look like linear regression's.)
//! The Hessian is positive semi-definite, so `F` is convex and any stationary
//! point is the global minimum; with `α > 0` it is strictly convex and the
//! minimum is unique.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// The logistic function σ(z) = 1/(1 + e^{−z}), evaluated without overflow:
/// for z < 0 it uses the equivalent e^{z}/(1 + e^{z}), so e^{…} never sees a
/// large positive argument.
#[inline]
pub fn sigmoid(z: f64) -> f64 {
    let t = (-z.abs()).exp();
    if z >= 0.0 {
        1.0 / (1.0 + t)
    } else {
        t / (1.0 + t)
    }
}

/// `eˣ` for `x ≤ 0` (the `e^{−|z|}` inside σ), written so the compiler can
/// evaluate four or eight of them per instruction in gradient descent's inner
/// loop; the C library's `exp` is a scalar call and dominated that loop.
///
/// Method (the classic one of fdlibm/SLEEF, without their special cases):
/// 1. split `x = k·ln2 + r` with integer `k = round(x/ln2)` and `|r| ≤ ln2/2`,
///    `r` computed with `ln2` in two parts (Cody–Waite) so it stays exact;
/// 2. `eʳ = Σ_{j≤13} rʲ/j!` by Horner's rule (the first omitted term is below
///    10⁻¹⁷ relative, so the result is within a few ulps of the true value);
/// 3. `eˣ = 2ᵏ·eʳ`, building `2ᵏ` directly from its IEEE-754 bits.
///
/// Rounding to an integer uses the `1.5·2⁵²` trick: adding it pushes the
/// fraction bits out of the mantissa, leaving `k` in the low bits, with no
/// branch or float→int conversion (AVX2 has none for doubles). Arguments below
/// −708 are clamped there (e⁻⁷⁰⁸ ≈ 3·10⁻³⁰⁸, already 0 next to 1 in σ).
pub fn exp_nonpositive(x: f64) -> f64 {
    exp_nonpositive_with::<false>(x)
}

/// `a·b + c`, fused (one rounding, one instruction) when `FMA`; without
/// hardware FMA, `f64::mul_add` would be a slow software routine.
#[inline(always)]
pub(crate) fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// [`exp_nonpositive`], with fused multiply-adds when `FMA`.
#[inline(always)]
pub(crate) fn exp_nonpositive_with<const FMA: bool>(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2: the high part has trailing zero bits, so k·LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²
    let x = x.max(-708.0);
    let v = madd::<FMA>(x, LOG2E, SHIFT);
    let k = v - SHIFT;
    let r = madd::<FMA>(k, -LN2_LO, madd::<FMA>(k, -LN2_HI, x));
    // 1/j! for j = 13 down to 0.
    const C: [f64; 14] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let mut poly = C[0];
    for &c in &C[1..] {
        poly = madd::<FMA>(poly, r, c);
    }
    // Low mantissa bits of v hold k (two's complement); + 1023 is the exponent bias.
    let two_k = f64::from_bits(v.to_bits().wrapping_add(1023) << 52);
    poly * two_k
}

/// ℓ(y, z) = softplus(z) − y·z, evaluated as `y·softplus(−z) + (1 − y)·softplus(z)`
/// (equal, since softplus(z) − z = softplus(−z)) with
/// `softplus(±z) = max(±z, 0) + ln(1 + e^{−|z|})`: no overflow for large |z|, and
/// no cancellation of two large terms when the prediction is confidently right.
#[inline]
pub fn logistic_loss(y: f64, z: f64) -> f64 {
    (-z.abs()).exp().ln_1p() + y * (-z).max(0.0) + (1.0 - y) * z.max(0.0)
}

/// `α = 1/(C·n)`, the penalty weight of the normalised objective `F`;
/// `C = ∞` gives 0 (no penalty).
pub fn alpha(c: f64, n: usize) -> f64 {
    if c.is_infinite() {
        0.0
    } else {
        1.0 / (c * n as f64)
    }
}

/// Training data in the layout the solvers want, with the penalty weight.
///
/// The transpose `Xᵀ` is stored as its own contiguous array: the gradient needs
/// `Xᵀ(p − y)`, and reading `X` column-wise (stride d) every step is several times
/// slower than `d` contiguous dot products over `n` values.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Rows × features, row-major.
    pub x: Array2<f64>,
    /// Features × rows, row-major (`Xᵀ`, contiguous).
    pub xt: Array2<f64>,
    /// Labels as 0.0 / 1.0.
    pub y: Array1<f64>,
    /// Penalty weight α = 1/(C·n).
    pub alpha: f64,
}

impl Problem {
    /// Lays out `x` (rows × features) and `y` (0/1) for objective `F` with the given `C`.
    /// Shapes are checked by the caller ([`crate::fit`]).
    pub fn new(x: ArrayView2<f64>, y: &[u8], c: f64) -> Self {
        let x = x.as_standard_layout().into_owned();
        let xt = x.t().as_standard_layout().into_owned();
        let y = y.iter().map(|&v| f64::from(v)).collect();
        let alpha = alpha(c, x.nrows());
        Problem { x, xt, y, alpha }
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.x.nrows()
    }

    /// Number of features (excluding the intercept).
    pub fn d(&self) -> usize {
        self.x.ncols()
    }

    /// The margins `z = Xw + b`.
    pub fn margins(&self, w: ArrayView1<f64>, b: f64) -> Array1<f64> {
        self.x.dot(&w) + b
    }

    /// `F(w, b)`.
    pub fn value(&self, w: ArrayView1<f64>, b: f64) -> f64 {
        let z = self.margins(w, b);
        let data: f64 = z
            .iter()
            .zip(&self.y)
            .map(|(&z, &y)| logistic_loss(y, z))
            .sum();
        data / self.n() as f64 + 0.5 * self.alpha * w.dot(&w)
    }

    /// `(∂F/∂w, ∂F/∂b)`.
    pub fn gradient(&self, w: ArrayView1<f64>, b: f64) -> (Array1<f64>, f64) {
        let z = self.margins(w, b);
        let err: Array1<f64> = z
            .iter()
            .zip(&self.y)
            .map(|(&z, &y)| sigmoid(z) - y)
            .collect();
        let n = self.n() as f64;
        let gw = self.xt.dot(&err) / n + &(w.to_owned() * self.alpha);
        (gw, err.sum() / n)
    }

    /// The (d+1)×(d+1) Hessian `∇²F` over `(w, b)`, intercept last, given the
    /// current probabilities `p`.
    ///
    /// Built as `X̃ᵀ (S X̃) / n`: scaling the rows of `X̃` by `sᵢ = pᵢ(1 − pᵢ)`
    /// first turns the sandwich into one matrix product.
    pub fn hessian(&self, p: ArrayView1<f64>) -> Array2<f64> {
        let (n, d) = (self.n(), self.d());
        let s = p.mapv(|p| p * (1.0 - p));
        let mut sx = Array2::zeros((n, d + 1));
        sx.slice_mut(ndarray::s![.., ..d])
            .assign(&(&self.x * &s.view().insert_axis(Axis(1))));
        sx.column_mut(d).assign(&s);
        // X̃ᵀ(SX̃) block by block: [XᵀSX, XᵀS1; 1ᵀSX, Σs].
        let mut h = Array2::zeros((d + 1, d + 1));
        h.slice_mut(ndarray::s![..d, ..]).assign(&self.xt.dot(&sx));
        h.row_mut(d).assign(&sx.sum_axis(Axis(0)));
        h /= n as f64;
        for j in 0..d {
            h[[j, j]] += self.alpha;
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn sigmoid_and_loss_are_stable_at_extremes() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(800.0), 1.0);
        assert_eq!(sigmoid(-800.0), 0.0);
        assert!((sigmoid(2.0) + sigmoid(-2.0) - 1.0).abs() < 1e-15);
        // ℓ(1, z) = ln(1 + e^{−z}) ≈ e^{−z} for large z: no cancellation to 0.
        assert!((logistic_loss(1.0, 40.0) - (-40.0f64).exp()).abs() < 1e-30);
        assert!((logistic_loss(0.0, 800.0) - 800.0).abs() < 1e-9);
        assert!((logistic_loss(0.0, 0.0) - 2f64.ln()).abs() < 1e-15);
    }

    /// A small problem where every quantity is easy to recompute naïvely.
    fn toy() -> Problem {
        let x = array![
            [0.5, -1.0],
            [1.5, 2.0],
            [-0.3, 0.7],
            [2.0, -0.4],
            [-1.2, -0.9]
        ];
        Problem::new(x.view(), &[0, 1, 1, 0, 1], 0.7)
    }

    #[test]
    fn gradient_matches_central_finite_differences() {
        let pb = toy();
        let w = array![0.3, -0.8];
        let b = 0.25;
        let (gw, gb) = pb.gradient(w.view(), b);
        let h = 1e-6;
        for j in 0..2 {
            let (mut wp, mut wm) = (w.clone(), w.clone());
            wp[j] += h;
            wm[j] -= h;
            let fd = (pb.value(wp.view(), b) - pb.value(wm.view(), b)) / (2.0 * h);
            assert!(
                (fd - gw[j]).abs() < 1e-8,
                "w[{j}]: analytic {} vs numeric {fd}",
                gw[j]
            );
        }
        let fd = (pb.value(w.view(), b + h) - pb.value(w.view(), b - h)) / (2.0 * h);
        assert!((fd - gb).abs() < 1e-8, "b: analytic {gb} vs numeric {fd}");
    }

    #[test]
    fn hessian_matches_finite_differences_of_the_gradient() {
        let pb = toy();
        let w = array![0.3, -0.8];
        let b = 0.25;
        let p = pb.margins(w.view(), b).mapv(sigmoid);
        let hess = pb.hessian(p.view());
        let h = 1e-6;
        let grad = |w: &Array1<f64>, b: f64| {
            let (gw, gb) = pb.gradient(w.view(), b);
            let mut g = gw.to_vec();
            g.push(gb);
            g
        };
        for k in 0..3 {
            let (mut wp, mut wm, mut bp, mut bm) = (w.clone(), w.clone(), b, b);
            if k < 2 {
                wp[k] += h;
                wm[k] -= h;
            } else {
                bp += h;
                bm -= h;
            }
            let (gp, gm) = (grad(&wp, bp), grad(&wm, bm));
            for r in 0..3 {
                let fd = (gp[r] - gm[r]) / (2.0 * h);
                assert!(
                    (fd - hess[[r, k]]).abs() < 1e-7,
                    "H[{r},{k}] {} vs {fd}",
                    hess[[r, k]]
                );
            }
        }
    }

    #[test]
    fn vectorisable_exp_matches_the_library_exp() {
        let mut worst = 0.0f64;
        let mut x: f64 = 0.0;
        while x > -700.0 {
            let std = x.exp();
            for ours in [
                exp_nonpositive_with::<false>(x),
                exp_nonpositive_with::<true>(x),
            ] {
                worst = worst.max(((ours - std) / std).abs());
            }
            x -= 0.000_731;
        }
        assert!(worst < 4.0 * f64::EPSILON, "max relative error {worst:e}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(-1e6) < 1e-300);
    }

    #[test]
    fn alpha_of_infinite_c_is_zero() {
        assert_eq!(alpha(f64::INFINITY, 10), 0.0);
        assert_eq!(alpha(0.5, 4), 0.5);
    }
}
