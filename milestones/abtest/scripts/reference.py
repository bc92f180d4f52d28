"""Reference values for roadmap-abtest's statistics (tests/fixtures/reference_stats.json).

Writes, for seeded random inputs, what scipy, statsmodels and GrowthBook's own
stats engine (gbstats) compute, so `tests/reference_stats.rs` can check the
Rust implementations number for number (results to 1e-9, p-values to 1e-6).

Pinned packages (Python 3.11+):
    numpy==2.4.6 scipy==1.17.1 statsmodels==0.15.0 pandas==2.3.3 pydantic==2.14.4
    gbstats==0.8.0   (install with --no-deps: its metadata asks for numpy<2,
                      but the modules used here run unchanged on numpy 2)

Run from the repository root:
    python -m pip install numpy==2.4.6 scipy==1.17.1 statsmodels==0.15.0 \
        pandas==2.3.3 pydantic==2.14.4
    python -m pip install --no-deps gbstats==0.8.0
    python milestones/abtest/scripts/reference.py > milestones/abtest/tests/fixtures/reference_stats.json

What each block calls:
    srm           scipy.stats.chisquare(f_obs, f_exp) and gbstats.utils.check_srm
    proportions   statsmodels proportions_ztest([x_b, x_a], [n_b, n_a]) (pooled variance),
                  confint_proportions_2indep(x_b, n_b, x_a, n_a, method="wald") (unpooled)
                  and method="newcomb" (the statsmodels default)
    welch         scipy.stats.ttest_ind(b, a, equal_var=False) and .confidence_interval()
    lift          gbstats TwoSidedTTest (relative difference, delta method)
    sequential    gbstats SequentialTwoSidedTTest (mSPRT / asymptotic confidence sequence)
    bayes         gbstats EffectBayesianABTest (flat and proper Gaussian priors)
"""

import json
import sys

import numpy as np
import scipy.stats as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic
from gbstats.utils import check_srm

rng = np.random.default_rng(20261201)


def f(x):
    return float(x)


def srm_cases():
    out = []
    for k in [2, 2, 2, 3, 3, 4, 5]:
        w = rng.uniform(0.5, 2.0, size=k)
        w = w / w.sum()
        n = int(rng.integers(50, 2_000_000))
        skew = rng.choice([0.0, 0.0, 0.003, 0.02])
        p = w * (1 + skew * rng.standard_normal(k))
        p = np.clip(p, 1e-6, None)
        p = p / p.sum()
        counts = rng.multinomial(n, p)
        expected = w / w.sum() * counts.sum()
        r = st.chisquare(counts, expected)
        gb = check_srm(counts.tolist(), w.tolist())
        assert abs(gb - r.pvalue) < 1e-12
        out.append({"counts": counts.tolist(), "weights": w.tolist(), "chi2": f(r.statistic),
                    "p_value": f(r.pvalue)})
    out.append({"counts": [5100, 4900], "weights": [0.5, 0.5],
                "chi2": f(st.chisquare([5100, 4900]).statistic),
                "p_value": f(st.chisquare([5100, 4900]).pvalue)})
    return out


def proportions_cases():
    out = []
    sizes = [(5000, 5000, 480, 540)]
    for _ in range(25):
        na = int(rng.integers(20, 300_000))
        nb = int(rng.integers(20, 300_000))
        pa = rng.uniform(0.005, 0.995)
        # Effects of about 0-4 standard errors, where the p-values are interesting.
        pb = np.clip(pa + rng.normal(0, 2.0) * np.sqrt(pa * (1 - pa) * (1 / na + 1 / nb)), 0.001, 0.999)
        sizes.append((na, nb, int(rng.binomial(na, pa)), int(rng.binomial(nb, pb))))
    for alpha in [0.05, 0.01, 0.1]:
        for na, nb, xa, xb in sizes[: (26 if alpha == 0.05 else 4)]:
            z, p = proportions_ztest([xb, xa], [nb, na])
            wald = confint_proportions_2indep(xb, nb, xa, na, method="wald", alpha=alpha)
            newc = confint_proportions_2indep(xb, nb, xa, na, method="newcomb", alpha=alpha)
            out.append({"a": [xa, na], "b": [xb, nb], "alpha": alpha, "z": f(z), "p_value": f(p),
                        "ci_wald": [f(wald[0]), f(wald[1])],
                        "ci_newcombe": [f(newc[0]), f(newc[1])]})
    return out


def welch_cases():
    out = []
    specs = [(5, 6, "normal"), (2, 2, "normal"), (3, 40, "normal"), (30, 30, "lognormal"),
             (120, 80, "lognormal"), (250, 300, "normal"), (200, 15, "exponential"),
             (60, 61, "f1"), (150, 150, "normal")]
    for na, nb, kind in specs:
        if kind == "normal":
            a = rng.normal(500, 120, na)
            b = rng.normal(500 + rng.uniform(-60, 60), rng.uniform(60, 200), nb)
        elif kind == "lognormal":
            a = rng.lognormal(6, 0.6, na)
            b = rng.lognormal(6.05, 0.7, nb)
        elif kind == "exponential":
            a = rng.exponential(300, na)
            b = rng.exponential(330, nb)
        else:
            a = np.clip(rng.normal(0.55, 0.3, na), 0, 1)
            b = np.clip(rng.normal(0.6, 0.3, nb), 0, 1)
        a = np.round(a, 6)
        b = np.round(b, 6)
        r = st.ttest_ind(b, a, equal_var=False)
        for alpha in [0.05, 0.01]:
            ci = r.confidence_interval(1 - alpha)
            out.append({"a": a.tolist(), "b": b.tolist(), "alpha": alpha, "t": f(r.statistic),
                        "df": f(r.df), "p_value": f(r.pvalue), "ci": [f(ci.low), f(ci.high)]})
    return out


def stat_pairs():
    """Inputs of the GrowthBook tests: proportions and means as (n, sum, sum_sq)."""
    # The example, then one far-tail pair (a 10-point jump on 100,000 users each).
    pairs = [("proportion", (5000, 480, 480), (5000, 540, 540)),
             ("proportion", (100_000, 10_000, 10_000), (100_000, 11_000, 11_000))]
    for _ in range(12):
        na, nb = int(rng.integers(100, 200_000)), int(rng.integers(100, 200_000))
        pa = rng.uniform(0.02, 0.9)
        pb = np.clip(pa + rng.normal(0, 2.0) * np.sqrt(pa * (1 - pa) * (1 / na + 1 / nb)), 0.001, 0.999)
        xa, xb = int(rng.binomial(na, pa)), int(rng.binomial(nb, pb))
        pairs.append(("proportion", (na, xa, xa), (nb, xb, xb)))
    for _ in range(12):
        na, nb = int(rng.integers(20, 50_000)), int(rng.integers(20, 50_000))
        a = rng.lognormal(5.5, 0.8, na)
        b = rng.lognormal(5.5 + rng.normal(0, 2.0) * 0.8 / np.sqrt(min(na, nb)), 0.8, nb)
        pairs.append(("mean", (na, f(a.sum()), f((a * a).sum())), (nb, f(b.sum()), f((b * b).sum()))))
    return pairs


def gb_stat(kind, t):
    n, s, ss = t
    if kind == "proportion":
        return ProportionStatistic(n=n, sum=s)
    return SampleMeanStatistic(n=n, sum=s, sum_squares=ss)


def growthbook_cases():
    lift, seq, bayes = [], [], []
    for i, (kind, ta, tb) in enumerate(stat_pairs()):
        a, b = gb_stat(kind, ta), gb_stat(kind, tb)
        alpha = [0.05, 0.01, 0.1][i % 3]
        base = {"kind": kind, "a": list(ta), "b": list(tb), "alpha": alpha}
        r = TwoSidedTTest(a, b, FrequentistConfig(alpha=alpha)).compute_result()
        assert r.error_message is None
        lift.append({**base, "lift": f(r.expected), "se": f(r.uplift.stddev),
                     "ci": [f(r.ci[0]), f(r.ci[1])], "p_value": f(r.p_value)})
        tuning = [5000.0, 1000.0, 50_000.0][i % 3]
        r = SequentialTwoSidedTTest(a, b, SequentialConfig(alpha=alpha, sequential_tuning_parameter=tuning)).compute_result()
        seq.append({**base, "tuning": tuning, "ci": [f(r.ci[0]), f(r.ci[1])], "p_value": f(r.p_value)})
        inverse = i % 4 == 1
        for prior in [None, (0.0, 0.1 ** 2), (0.05, 0.3 ** 2)]:
            gp = GaussianPrior() if prior is None else GaussianPrior(mean=prior[0], variance=prior[1], proper=True)
            r = EffectBayesianABTest(a, b, EffectBayesianConfig(alpha=alpha, inverse=inverse, prior_effect=gp)).compute_result()
            assert r.error_message is None
            bayes.append({**base, "lower_is_better": inverse,
                          "prior": None if prior is None else list(prior),
                          "mean": f(r.expected), "sd": f(r.uplift.stddev),
                          "chance_to_win": f(r.chance_to_win), "ci": [f(r.ci[0]), f(r.ci[1])]})
    return lift, seq, bayes


def main():
    lift, seq, bayes = growthbook_cases()
    json.dump({
        "provenance": "milestones/abtest/scripts/reference.py (numpy 2.4.6, scipy 1.17.1, "
                      "statsmodels 0.15.0, gbstats 0.8.0), seed 20261201",
        "srm": srm_cases(),
        "proportions": proportions_cases(),
        "welch": welch_cases(),
        "lift": lift,
        "sequential": seq,
        "bayes": bayes,
    }, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
