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

use ndarray::linalg::general_mat_vec_mul;
use ndarray::{Array1, Array2};
use serde::Serialize;

use crate::objective::{sigmoid, Problem};
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
        let mut w = Array1::<f64>::zeros(d);
        let mut b = 0.0;
        let mut z = Array1::<f64>::zeros(n);
        let mut err = Array1::<f64>::zeros(n);
        let mut gw = Array1::<f64>::zeros(d);
        let y = pb.y.as_slice().expect("Problem owns contiguous labels");
        let mut loss = Vec::with_capacity(if self.record_loss { self.epochs } else { 0 });
        let mut trace = Trace {
            iterations: 0,
            converged: false,
            loss: Vec::new(),
            grad_max: f64::INFINITY,
        };
        for epoch in 0..self.epochs {
            general_mat_vec_mul(1.0, &pb.x, &w, 0.0, &mut z);
            let (mut err_sum, mut loss_sum) = (0.0, 0.0);
            let zs = z.as_slice().expect("contiguous");
            let es = err.as_slice_mut().expect("contiguous");
            for i in 0..n {
                let zi = zs[i] + b;
                let t = (-zi.abs()).exp();
                let p = if zi >= 0.0 {
                    1.0 / (1.0 + t)
                } else {
                    t / (1.0 + t)
                };
                let e = p - y[i];
                es[i] = e;
                err_sum += e;
                if self.record_loss {
                    loss_sum += t.ln_1p() + y[i] * (-zi).max(0.0) + (1.0 - y[i]) * zi.max(0.0);
                }
            }
            general_mat_vec_mul(inv_n, &pb.xt, &err, 0.0, &mut gw);
            gw.scaled_add(alpha, &w);
            let gb = err_sum * inv_n;
            if self.record_loss {
                let f = loss_sum * inv_n + 0.5 * alpha * w.dot(&w);
                if !f.is_finite() {
                    return Err(LogRegError::Diverged { iteration: epoch });
                }
                loss.push(f);
            }
            trace.grad_max = max_abs(&gw, gb);
            if !trace.grad_max.is_finite() {
                return Err(LogRegError::Diverged { iteration: epoch });
            }
            if trace.grad_max <= self.tol {
                trace.converged = true;
                break;
            }
            w.scaled_add(-lr, &gw);
            b -= lr * gb;
            trace.iterations = epoch + 1;
        }
        trace.loss = loss;
        Ok(Solution { w, b, trace })
    }
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
