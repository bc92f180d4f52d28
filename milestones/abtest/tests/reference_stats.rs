//! Every statistic against the reference libraries, on the seeded inputs of
//! `scripts/reference.py` (scipy 1.17.1, statsmodels 0.15.0, gbstats 0.8.0):
//! estimates and intervals to 1e-9, p-values and probabilities to 1e-6.
//! The largest differences are printed (`cargo test -- --nocapture`).

use roadmap_abtest::stats::bayes::{chance_to_win, Prior};
use roadmap_abtest::stats::lift::relative_lift;
use roadmap_abtest::stats::proportions::{two_proportions, Proportion};
use roadmap_abtest::stats::sequential::sequential_lift;
use roadmap_abtest::stats::srm::srm;
use roadmap_abtest::stats::welch::welch;
use roadmap_abtest::stats::{Moments, Summary};
use serde_json::Value;

const RESULT_TOL: f64 = 1e-9;
const P_TOL: f64 = 1e-6;

fn fixture() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reference_stats.json"
    ))
    .expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn pair(v: &Value) -> (f64, f64) {
    (num(&v[0]), num(&v[1]))
}

/// Tracks the largest absolute difference of one quantity.
struct Worst {
    name: &'static str,
    tol: f64,
    max: f64,
}

impl Worst {
    fn new(name: &'static str, tol: f64) -> Self {
        Worst {
            name,
            tol,
            max: 0.0,
        }
    }
    fn check(&mut self, case: usize, got: f64, want: f64) {
        let d = (got - want).abs();
        assert!(
            d <= self.tol,
            "{} case {case}: got {got}, reference {want} (|Δ| = {d:e} > {:e})",
            self.name,
            self.tol
        );
        self.max = self.max.max(d);
    }
}

impl Drop for Worst {
    fn drop(&mut self) {
        println!("{:<28} max |Δ| = {:.3e}", self.name, self.max);
    }
}

fn summary(kind: &str, t: &Value) -> Summary {
    let n = t[0].as_u64().unwrap();
    if kind == "proportion" {
        Summary::proportion("g", t[1].as_f64().unwrap() as u64, n).unwrap()
    } else {
        Summary::from_moments(
            "g",
            Moments {
                n,
                sum: num(&t[1]),
                sum_sq: num(&t[2]),
                shift: 0.0,
            },
        )
        .unwrap()
    }
}

#[test]
fn srm_matches_scipy_chisquare() {
    let (mut chi, mut p) = (
        Worst::new("srm chi2", RESULT_TOL),
        Worst::new("srm p", P_TOL),
    );
    for (i, c) in fixture()["srm"].as_array().unwrap().iter().enumerate() {
        let counts: Vec<u64> = c["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let weights: Vec<f64> = c["weights"].as_array().unwrap().iter().map(num).collect();
        let r = srm(&counts, &weights).unwrap();
        // χ² grows with N (up to ~1e4 here): compare it relative to its size.
        chi.check(
            i,
            r.chi2 / num(&c["chi2"]).max(1.0),
            num(&c["chi2"]) / num(&c["chi2"]).max(1.0),
        );
        p.check(i, r.p_value, num(&c["p_value"]));
    }
}

#[test]
fn proportions_match_statsmodels() {
    let mut z = Worst::new("z-test z", RESULT_TOL);
    let mut p = Worst::new("z-test p", P_TOL);
    let mut wald = Worst::new("wald interval", RESULT_TOL);
    let mut newc = Worst::new("newcombe interval", RESULT_TOL);
    for (i, c) in fixture()["proportions"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let prop = |v: &Value| {
            Proportion::new("g", v[0].as_u64().unwrap(), v[1].as_u64().unwrap()).unwrap()
        };
        let r = two_proportions(prop(&c["a"]), prop(&c["b"]), num(&c["alpha"])).unwrap();
        // z reaches ~100 in the far-tail cases: compare relative to its size.
        let zr = num(&c["z"]);
        z.check(i, r.z / zr.abs().max(1.0), zr / zr.abs().max(1.0));
        p.check(i, r.p_value, num(&c["p_value"]));
        let (lo, hi) = pair(&c["ci_wald"]);
        wald.check(i, r.ci_wald.0, lo);
        wald.check(i, r.ci_wald.1, hi);
        let (lo, hi) = pair(&c["ci_newcombe"]);
        newc.check(i, r.ci_newcombe.0, lo);
        newc.check(i, r.ci_newcombe.1, hi);
    }
}

#[test]
fn welch_matches_scipy_ttest_ind() {
    let mut t = Worst::new("welch t", RESULT_TOL);
    let mut df = Worst::new("welch df", RESULT_TOL);
    let mut p = Worst::new("welch p", P_TOL);
    let mut ci = Worst::new("welch interval", RESULT_TOL);
    for (i, c) in fixture()["welch"].as_array().unwrap().iter().enumerate() {
        let values = |v: &Value| v.as_array().unwrap().iter().map(num).collect::<Vec<f64>>();
        let a = Summary::from_values("a", &values(&c["a"])).unwrap();
        let b = Summary::from_values("b", &values(&c["b"])).unwrap();
        let r = welch(&a, &b, num(&c["alpha"])).unwrap();
        t.check(i, r.t, num(&c["t"]));
        df.check(i, r.df / num(&c["df"]), 1.0);
        p.check(i, r.p_value, num(&c["p_value"]));
        let (lo, hi) = pair(&c["ci"]);
        // Latency-scale intervals (hundreds of ms): relative to the width.
        let w = (hi - lo).max(1.0);
        ci.check(i, r.ci.0 / w, lo / w);
        ci.check(i, r.ci.1 / w, hi / w);
    }
}

#[test]
fn lift_matches_growthbook_frequentist_engine() {
    let mut lift = Worst::new("lift", RESULT_TOL);
    let mut se = Worst::new("lift se", RESULT_TOL);
    let mut ci = Worst::new("lift interval", RESULT_TOL);
    let mut p = Worst::new("lift p", P_TOL);
    for (i, c) in fixture()["lift"].as_array().unwrap().iter().enumerate() {
        let kind = c["kind"].as_str().unwrap();
        let r = relative_lift(
            &summary(kind, &c["a"]),
            &summary(kind, &c["b"]),
            num(&c["alpha"]),
        )
        .unwrap();
        lift.check(i, r.lift, num(&c["lift"]));
        se.check(i, r.se, num(&c["se"]));
        let (lo, hi) = pair(&c["ci"]);
        ci.check(i, r.ci.0, lo);
        ci.check(i, r.ci.1, hi);
        p.check(i, r.p_value, num(&c["p_value"]));
    }
}

#[test]
fn sequential_matches_growthbook_sequential_engine() {
    let mut ci = Worst::new("sequential interval", RESULT_TOL);
    let mut p = Worst::new("sequential p", P_TOL);
    for (i, c) in fixture()["sequential"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let kind = c["kind"].as_str().unwrap();
        let r = sequential_lift(
            &summary(kind, &c["a"]),
            &summary(kind, &c["b"]),
            num(&c["alpha"]),
            num(&c["tuning"]),
        )
        .unwrap();
        let (lo, hi) = pair(&c["ci"]);
        ci.check(i, r.ci.0, lo);
        ci.check(i, r.ci.1, hi);
        p.check(i, r.p_value, num(&c["p_value"]));
    }
}

#[test]
fn bayes_matches_growthbook_bayesian_engine() {
    let mut mean = Worst::new("posterior mean", RESULT_TOL);
    let mut sd = Worst::new("posterior sd", RESULT_TOL);
    let mut ctw = Worst::new("chance to win", P_TOL);
    let mut ci = Worst::new("credible interval", RESULT_TOL);
    for (i, c) in fixture()["bayes"].as_array().unwrap().iter().enumerate() {
        let kind = c["kind"].as_str().unwrap();
        let prior = match &c["prior"] {
            Value::Null => Prior::Flat,
            v => Prior::Normal {
                mean: num(&v[0]),
                variance: num(&v[1]),
            },
        };
        let r = chance_to_win(
            &summary(kind, &c["a"]),
            &summary(kind, &c["b"]),
            prior,
            c["lower_is_better"].as_bool().unwrap(),
            num(&c["alpha"]),
        )
        .unwrap();
        mean.check(i, r.posterior_mean, num(&c["mean"]));
        sd.check(i, r.posterior_sd, num(&c["sd"]));
        ctw.check(i, r.chance_to_win, num(&c["chance_to_win"]));
        let (lo, hi) = pair(&c["ci"]);
        ci.check(i, r.ci.0, lo);
        ci.check(i, r.ci.1, hi);
    }
}
