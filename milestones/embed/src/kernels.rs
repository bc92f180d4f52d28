//! Element-wise and row-wise kernels of the BERT forward pass: exact GELU,
//! softmax, layer normalisation, written so the compiler vectorises them.
//!
//! Why not `f32::exp` and a libm `erf`? Those are scalar calls: in a profile of
//! plain candle, GELU through a scalar `erf` took 13 % of the time and `exp`
//! another 5 %. The functions here are branch-free polynomials (no calls, no
//! data-dependent branches) over plain slices, so LLVM turns each loop into
//! SIMD code. [`dispatch!`] compiles every loop twice more, for AVX2+FMA and for
//! AVX-512, and picks the widest the CPU has at run time.
//!
//! Matrix products are *not* here: those come from the `gemm` crate.

/// Runs `$body` compiled for the best instruction set this CPU supports.
///
/// The body is duplicated into `#[target_feature]` functions; the
/// `#[inline(always)]` helpers it calls are inlined there and vectorised for
/// that width. Feature detection is cached by the standard library.
macro_rules! dispatch {
    (fn $name:ident($($arg:ident : $ty:ty),*) $body:block) => {
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                unsafe fn v4($($arg: $ty),*) $body
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v3($($arg: $ty),*) $body
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                {
                    // SAFETY: the CPU has the features `v4` was compiled for.
                    return unsafe { v4($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has the features `v3` was compiled for.
                    return unsafe { v3($($arg),*) };
                }
            }
            #[allow(unreachable_code)]
            $body
        }
    };
}

/// The error function, |error| < 1e-6 on the whole real line (float32).
///
/// A rational approximation erf(x) ≈ x·P(x²)/Q(x²) on x clamped to [-4, 4]
/// (erf(±4) = ±1 to float32 precision), with P of degree 6 and Q of degree 4
/// in x². These are the coefficients Eigen and XLA use for float32 `erf`. No
/// `exp`, no branches: a few multiply-adds and one division.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p.mul_add(x2, 2.770_681_4e-8);
    p = p.mul_add(x2, -2.101_024e-6);
    p = p.mul_add(x2, -5.692_506_4e-5);
    p = p.mul_add(x2, -7.349_906_3e-4);
    p = p.mul_add(x2, -2.954_600_1e-3);
    p = p.mul_add(x2, -1.609_603_3e-2);
    let mut q = -1.456_607_2e-5_f32;
    q = q.mul_add(x2, -2.133_740_6e-4);
    q = q.mul_add(x2, -1.682_827e-3);
    q = q.mul_add(x2, -7.373_329_2e-3);
    q = q.mul_add(x2, -1.426_473_9e-2);
    x * p / q
}

/// The exact GELU of BERT: gelu(x) = x · ½ · (1 + erf(x / √2)).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// e^x for x ≤ 0 (softmax after subtracting the row maximum), relative error
/// about 2e-7; returns 0 below -87 instead of a denormal.
///
/// Range reduction: x = n·ln 2 + r with n = round(x / ln 2), |r| ≤ ln 2 / 2;
/// e^r by its degree-6 Taylor-like minimax polynomial; 2^n by writing n into
/// the float's exponent bits. ln 2 is split in a high and a low part so
/// r stays exact (Cody–Waite).
#[inline(always)]
pub fn exp_neg(x_in: f32) -> f32 {
    let x = x_in.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E).round();
    // ln 2 ≈ 355/512 (exact in a float) + 2.121944e-4.
    let r = n.mul_add(-(355.0 / 512.0), x);
    let r = n.mul_add(2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4_f32;
    p = p.mul_add(r, 1.398_199_9e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 0.166_666_66);
    p = p.mul_add(r, 0.5);
    let e = (p * r).mul_add(r, r) + 1.0;
    let scale = f32::from_bits((((n as i32) + 127) as u32) << 23);
    // A select, not a branch: stays vectorised.
    if x_in < -87.0 {
        0.0
    } else {
        e * scale
    }
}

dispatch! {
    fn bias_gelu_inplace(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = gelu(*v + b);
            }
        }
    }
}

dispatch! {
    fn bias_inplace(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    }
}

/// Eight independent partial sums: float addition is not associative, so the
/// compiler may only vectorise a reduction that is written lane by lane.
#[inline(always)]
fn sum8(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            acc[i] += f(c[i]);
        }
    }
    let mut s: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for a in acc {
        s += a;
    }
    s
}

#[inline(always)]
fn max8(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            acc[i] = acc[i].max(c[i]);
        }
    }
    let mut m = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for a in acc {
        m = m.max(a);
    }
    m
}

dispatch! {
    fn softmax_rows(rows: &mut [f32], width: usize) {
        // softmax(s)_j = e^{s_j - max s} / Σ_k e^{s_k - max s}; subtracting the
        // maximum keeps every exponent ≤ 0 so nothing overflows.
        for row in rows.chunks_exact_mut(width) {
            let m = max8(row);
            for v in row.iter_mut() {
                *v = exp_neg(*v - m);
            }
            let inv = 1.0 / sum8(row, |v| v);
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
}

dispatch! {
    fn add_bias_residual_layernorm(
        rows: &mut [f32],
        residual: &[f32],
        bias: &[f32],
        gamma: &[f32],
        beta: &[f32],
        eps: f32
    ) {
        // y = γ ⊙ (z - μ) / √(σ² + ε) + β  with  z = rows + bias + residual,
        // μ and σ² the mean and (biased) variance of z over the hidden units.
        let h = bias.len();
        for (row, res) in rows.chunks_exact_mut(h).zip(residual.chunks_exact(h)) {
            for ((v, r), b) in row.iter_mut().zip(res).zip(bias) {
                *v += r + b;
            }
            layernorm_row(row, gamma, beta, eps);
        }
    }
}

dispatch! {
    fn layernorm_rows(rows: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        for row in rows.chunks_exact_mut(gamma.len()) {
            layernorm_row(row, gamma, beta, eps);
        }
    }
}

#[inline(always)]
fn layernorm_row(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum8(row, |v| v) / n;
    let var = sum8(row, |v| (v - mean) * (v - mean)) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// Dot product of two equal-length vectors (cosine of unit vectors).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_impl(a, b)
}

#[inline(always)]
fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..16 {
            acc[i] = x[i].mul_add(y[i], acc[i]);
        }
    }
    let mut s: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for v in acc {
        s += v;
    }
    s
}

fn dot_impl(a: &[f32], b: &[f32]) -> f32 {
    let mut out = 0.0;
    dot_into(a, b, std::slice::from_mut(&mut out));
    out
}

dispatch! {
    fn dot_into(a: &[f32], b: &[f32], out: &mut [f32]) {
        out[0] = dot_lanes(a, b);
    }
}

dispatch! {
    fn matvec(matrix: &[f32], v: &[f32], out: &mut [f32]) {
        // out_i = Σ_j M_ij v_j: one dot product per row of the row-major matrix.
        for (row, o) in matrix.chunks_exact(v.len()).zip(out.iter_mut()) {
            *o = dot_lanes(row, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Maclaurin series in f64 (converges fast enough for |x| ≤ 3).
    fn erf_series(x: f64) -> f64 {
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_matches_series() {
        let mut worst = 0.0f64;
        for i in -3000..=3000 {
            let x = i as f64 / 1000.0;
            worst = worst.max((erf(x as f32) as f64 - erf_series(x)).abs());
        }
        assert!(worst < 2e-6, "worst |erf error| = {worst}");
        assert_eq!(erf(10.0), erf(4.0));
        assert!((erf(4.0) - 1.0).abs() < 1e-6);
        assert!((erf(-6.0) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn exp_matches_std() {
        for i in 0..=17400 {
            let x = -(i as f32) / 200.0;
            let (got, want) = (exp_neg(x), x.exp());
            assert!(
                (got - want).abs() <= 3e-7 * want + 1e-37,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert_eq!(exp_neg(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_neg(-100.0), 0.0);
    }

    #[test]
    fn softmax_and_layernorm_rows() {
        let mut s = vec![1.0, 2.0, 3.0, -1e30, 0.0, 0.0, 0.0, 0.0];
        softmax_rows(&mut s, 4);
        let z: f32 = [1.0f32, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        assert!((s[2] - 3.0f32.exp() / z).abs() < 1e-6);
        assert_eq!(s[3], 0.0);
        assert!(s[4..].iter().all(|&v| (v - 0.25).abs() < 1e-7));

        let mut x: Vec<f32> = (0..40).map(|i| i as f32 * 0.5).collect();
        let gamma = vec![2.0; 20];
        let beta = vec![1.0; 20];
        layernorm_rows(&mut x, &gamma, &beta, 1e-12);
        for row in x.chunks(20) {
            let mean: f32 = row.iter().sum::<f32>() / 20.0;
            let var: f32 = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 20.0;
            assert!(
                (mean - 1.0).abs() < 1e-5 && (var - 4.0).abs() < 1e-4,
                "{mean} {var}"
            );
        }
    }

    #[test]
    fn dot_and_matvec() {
        let a: Vec<f32> = (0..37).map(|i| i as f32).collect();
        let want: f32 = a.iter().map(|v| v * v).sum();
        assert_eq!(dot(&a, &a), want);
        let m: Vec<f32> = a.iter().chain(a.iter()).copied().collect();
        let mut out = vec![0.0; 2];
        matvec(&m, &a, &mut out);
        assert_eq!(out, vec![want, want]);
    }
}
