"""Reference values for roadmap-audit's tests, computed with the Python libraries the crate re-implements.

Pins (the capstone anchor venv): numpy==2.4.6 pandas==2.3.3 scipy==1.17.1 scikit-learn==1.9.1
fairlearn==0.15.0 shap==0.51.0 (Python 3.11).

Run from the repository root, with the Adult CSV of the `adult-census` asset (fairness==0.1.8 wheel,
member fairness/data/raw/adult.csv, sha256 c30ce1e5...c418):

    python -m venv .venv && .venv/bin/pip install numpy==2.4.6 pandas==2.3.3 scipy==1.17.1 \
        scikit-learn==1.9.1 fairlearn==0.15.0 shap==0.51.0
    OMP_NUM_THREADS=1 .venv/bin/python milestones/audit/scripts/reference.py --adult PATH/adult.csv

It writes milestones/audit/tests/fixtures/:
  adult_sample.csv        the first 600 data rows of Adult (the '?' rows included: the pipeline drops them)
  sklearn_pipeline.json   the pipeline of src/pipeline.rs done with pandas + scikit-learn: coefficients,
                          intercept, feature names, test scores, training design means
  linear_shap.json        shap.LinearExplainer(model, Independent(X_train, all rows)) values, first 25 test rows
  kmeans.json             sklearn KMeans(10, random_state=0, n_init=10) centres/labels and shap.kmeans output
  kernel_exact.json       KernelExplainer on a 6-feature model where nsamples=512 enumerates every coalition
  kernel_sampled.json     KernelExplainer (nsamples=512, default l1_reg) on the full model, 20 seeds:
                          mean and standard deviation of each SHAP value (its sampling error)
  predictions.csv         synthetic predictions with two sensitive columns (a group without positives,
                          a group under 30 rows)
  fairlearn.json          fairlearn MetricFrame and aggregate metrics on predictions.csv
"""
import argparse
import functools
import json
import os
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures")

NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
               "native-country"]
TARGET, POSITIVE = "income-per-year", ">50K"


def dump(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def pipeline(csv_path):
    """src/pipeline.rs in pandas + scikit-learn."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df = pd.read_csv(csv_path, skipinitialspace=True, dtype=str, keep_default_na=False)
    df = df.apply(lambda c: c.str.strip())
    clean = df[~df.isin(["?", ""]).any(axis=1)].reset_index(drop=True)
    test = np.arange(len(clean)) % 5 == 0
    y = (clean[TARGET] == POSITIVE).astype(int).to_numpy()
    num = clean[NUMERIC].astype(float).to_numpy()
    scaler = StandardScaler().fit(num[~test])  # population std, as the crate
    enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(clean.loc[~test, CATEGORICAL])
    X = np.hstack([scaler.transform(num), enc.transform(clean[CATEGORICAL])])
    names = NUMERIC + [f"{c}={v}" for c, cats in zip(CATEGORICAL, enc.categories_) for v in cats]
    model = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X[~test], y[~test])
    # Gradient of the normalised objective at the solution, to show it is the optimum.
    p = model.predict_proba(X[~test])[:, 1]
    n = (~test).sum()
    gw = X[~test].T @ (p - y[~test]) / n + model.coef_[0] / n
    gb = np.mean(p - y[~test])
    return clean, X, y, test, names, model, float(max(np.abs(gw).max(), abs(gb)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adult", required=True)
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)

    with open(a.adult) as f:
        lines = f.readlines()[:601]
    sample = os.path.join(OUT, "adult_sample.csv")
    with open(sample, "w") as f:
        f.writelines(lines)

    import shap
    import sklearn
    import fairlearn
    import scipy

    versions = {"numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__,
                "scikit-learn": sklearn.__version__, "fairlearn": fairlearn.__version__, "shap": shap.__version__}

    clean, X, y, test, names, model, grad = pipeline(sample)
    Xtr, Xte = X[~test], X[test]
    dump("sklearn_pipeline.json", {
        "versions": versions,
        "rows_after_cleaning": int(len(clean)),
        "feature_names": names,
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
        "max_abs_gradient": grad,
        "test_positions": np.nonzero(test)[0].tolist(),
        "test_scores": model.predict_proba(Xte)[:, 1].tolist(),
        "test_pred": model.predict(Xte).tolist(),
        "train_means": Xtr.mean(axis=0).tolist(),
    })

    # shap 0.51 wraps a data matrix in maskers.Independent(X, max_samples=100), which keeps a
    # 100-row sample (shap.utils.sample, random_state=0); the crate's background is the whole
    # training set, so the masker is given every row.
    lin = shap.LinearExplainer(model, shap.maskers.Independent(Xtr, max_samples=Xtr.shape[0]))
    sv = lin.shap_values(Xte[:25])
    dump("linear_shap.json", {"versions": versions, "expected_value": float(np.ravel(lin.expected_value)[0]),
                              "values": np.asarray(sv).tolist()})

    from sklearn.cluster import KMeans
    km = KMeans(n_clusters=10, random_state=0, n_init=10).fit(Xtr)
    bg = shap.kmeans(Xtr, 10)
    dump("kmeans.json", {"versions": versions, "k": 10, "sklearn_centres": km.cluster_centers_.tolist(),
                         "sklearn_labels": km.labels_.tolist(), "sklearn_inertia": float(km.inertia_),
                         "shap_data": bg.data.tolist(), "shap_weights": bg.weights.tolist()})

    # A 6-feature model: nsamples=512 >= 2^6 - 2, so shap enumerates every coalition (deterministic).
    from sklearn.linear_model import LogisticRegression
    small = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12).fit(Xtr[:, :6], y[~test])
    bg6 = shap.kmeans(Xtr[:, :6], 5)
    f6 = lambda Z: small.predict_proba(Z)[:, 1]  # noqa: E731
    ex6 = shap.KernelExplainer(f6, bg6, link="logit")
    rows6 = Xte[:8, :6]
    dump("kernel_exact.json", {
        "versions": versions, "coef": small.coef_[0].tolist(), "intercept": float(small.intercept_[0]),
        "background": bg6.data.tolist(), "weights": bg6.weights.tolist(), "rows": rows6.tolist(),
        "expected_value": float(ex6.expected_value),
        "values": ex6.shap_values(rows6, nsamples=512, silent=True).tolist()})

    # The full model, sampled: the spread over seeds is shap's sampling error.
    f = lambda Z: model.predict_proba(Z)[:, 1]  # noqa: E731
    ex = shap.KernelExplainer(f, bg, link="logit")
    rows = Xte[:5]
    runs = []
    for seed in range(20):
        np.random.seed(seed)
        runs.append(ex.shap_values(rows, nsamples=512, silent=True))
    runs = np.array(runs)
    dump("kernel_sampled.json", {
        "versions": versions, "nsamples": 512, "seeds": 20, "rows_test_index": list(range(5)),
        "expected_value": float(ex.expected_value),
        "mean": runs.mean(axis=0).tolist(), "std": runs.std(axis=0, ddof=1).tolist(),
        "nonzero_max": int((np.abs(runs) > 0).sum(axis=2).max())})

    fairness(versions)


def fairness(versions):
    from fairlearn.metrics import (MetricFrame, count, demographic_parity_difference, demographic_parity_ratio,
                                   equal_opportunity_difference, equal_opportunity_ratio,
                                   equalized_odds_difference, equalized_odds_ratio, false_negative_rate,
                                   false_positive_rate, selection_rate, true_positive_rate)
    from sklearn.metrics import accuracy_score, precision_score

    rs = np.random.RandomState(0)
    n = 500
    race = np.array(["A"] * 200 + ["B"] * 150 + ["C"] * 100 + ["D"] * 40 + ["E"] * 10)
    sex = rs.choice(["Female", "Male"], size=n, p=[0.4, 0.6])
    base = {"A": 0.35, "B": 0.25, "C": 0.2, "D": 0.3, "E": 0.0}
    y = np.array([rs.rand() < base[r] for r in race]).astype(int)
    score = np.clip(0.3 * y + 0.35 + 0.25 * rs.randn(n) + np.where(sex == "Male", 0.05, -0.05), 0, 1)
    yp = (score > 0.5).astype(int)
    pd.DataFrame({"position": np.arange(n), "y_true": y, "y_pred": yp, "score": score, "sex": sex,
                  "race": race}).to_csv(os.path.join(OUT, "predictions.csv"), index=False, float_format="%.17g")

    metrics = {
        "count": count,
        "base_rate": lambda yt, yp_: float(np.mean(yt)),
        "selection_rate": selection_rate,
        "accuracy_score": accuracy_score,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "precision_score": functools.partial(precision_score, zero_division=0),
    }
    out = {"versions": versions, "audits": {}}

    def frame(sf, fav=1):
        m = dict(metrics)
        if fav == 0:
            m["selection_rate"] = functools.partial(selection_rate, pos_label=0)
        mf = MetricFrame(metrics=m, y_true=y, y_pred=yp, sensitive_features=sf)
        by = mf.by_group
        groups = [", ".join(k) if isinstance(k, tuple) else str(k) for k in by.index]

        def clean(v):
            return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)
        return {
            "groups": groups,
            "by_group": {k: [clean(v) for v in by[k].tolist()] for k in m},
            "overall": {k: clean(mf.overall[k]) for k in m},
            "difference": {k: clean(v) for k, v in mf.difference().items()},
            "ratio": {k: clean(v) for k, v in mf.ratio().items()},
            "aggregates": {
                "demographic_parity_difference": clean(mf.difference()["selection_rate"]),
                "demographic_parity_ratio": clean(mf.ratio()["selection_rate"]),
                "equalized_odds_difference": clean(equalized_odds_difference(y, yp, sensitive_features=sf)),
                "equalized_odds_ratio": clean(equalized_odds_ratio(y, yp, sensitive_features=sf)),
                "equal_opportunity_difference": clean(equal_opportunity_difference(y, yp, sensitive_features=sf)),
                "equal_opportunity_ratio": clean(equal_opportunity_ratio(y, yp, sensitive_features=sf)),
            },
            "fairlearn_functions": {
                "demographic_parity_difference": clean(demographic_parity_difference(y, yp, sensitive_features=sf)),
                "demographic_parity_ratio": clean(demographic_parity_ratio(y, yp, sensitive_features=sf)),
            },
        }
    out["audits"]["sex"] = frame(sex)
    out["audits"]["race"] = frame(race)
    out["audits"]["sex, race"] = frame(pd.DataFrame({"sex": sex, "race": race}))
    out["audits"]["sex favourable=0"] = frame(sex, fav=0)
    dump("fairlearn.json", out)


if __name__ == "__main__":
    main()
