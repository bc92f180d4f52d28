"""shap's KernelExplainer on the Adult model of the phase-6 anchor, for the side-by-side benchmark.

Pins: numpy==2.4.6 pandas==2.3.3 scipy==1.17.1 scikit-learn==1.9.1 shap==0.51.0 (Python 3.11).

    OMP_NUM_THREADS=1 python milestones/audit/scripts/kernelshap_adult.py --adult adult.csv --out shap_adult.json
    cargo run --release -p roadmap-audit --example side_by_side -- --adult adult.csv --reference shap_adult.json

The recipe is the anchor's (capstone_anchor.py `kernelshap`): rows with a `?` dropped, test iff
position % 5 == 0, five numeric columns standardised with the training mean and population std,
eight categorical columns one-hot encoded with the categories of all rows sorted, scikit-learn's
LogisticRegression(C=1, max_iter=10000), background shap.kmeans(X_train, 10), the first 50 test rows,
nsamples=512, link="logit". It prints the timings (best of --reps) and writes to --out the model,
background and rows, and the mean and standard deviation over --seeds seeds of the class-1 SHAP values
(the sampling error the Rust values are compared with).
"""
import argparse
import json
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def design(df):
    clean = df[~(df == "?").any(axis=1)].reset_index(drop=True)
    test = np.arange(len(clean)) % 5 == 0
    y = (clean["income-per-year"] == ">50K").astype(int).to_numpy()
    num = clean[["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]].astype(float)
    mu, sd = num[~test].mean(), num[~test].std(ddof=0)
    parts = [((num - mu) / sd).to_numpy()]
    for c in ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
              "native-country"]:
        cats = sorted(clean[c].unique())
        parts.append((clean[c].to_numpy()[:, None] == np.array(cats)[None, :]).astype(float))
    return np.hstack(parts), y, test


def best_of(reps, fn):
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adult", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    import shap
    from sklearn.linear_model import LogisticRegression

    df = pd.read_csv(a.adult, skipinitialspace=True)
    X, y, test = design(df)
    model = LogisticRegression(C=1.0, max_iter=10000).fit(X[~test], y[~test])
    bg = shap.kmeans(X[~test], 10)
    rows = X[test][:50]
    both = best_of(a.reps, lambda: shap.KernelExplainer(model.predict_proba, bg, link="logit")
                   .shap_values(rows, nsamples=512, silent=True))
    f1 = lambda Z: model.predict_proba(Z)[:, 1]  # noqa: E731
    one = best_of(a.reps, lambda: shap.KernelExplainer(f1, bg, link="logit").shap_values(rows, nsamples=512, silent=True))
    print(json.dumps({"task": "kernelshap", "seconds_predict_proba_2_outputs": round(both, 4),
                      "seconds_class1_output": round(one, 4), "rows": len(rows), "features": X.shape[1]}))
    runs = []
    ex = shap.KernelExplainer(f1, bg, link="logit")
    for s in range(a.seeds):
        np.random.seed(s)
        runs.append(ex.shap_values(rows, nsamples=512, silent=True))
    runs = np.array(runs)
    with open(a.out, "w") as f:
        json.dump({"shap": shap.__version__, "coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0]),
                   "background": bg.data.tolist(), "weights": bg.weights.tolist(), "rows": rows.tolist(),
                   "expected_value": float(ex.expected_value), "seeds": a.seeds,
                   "mean": runs.mean(axis=0).tolist(), "std": runs.std(axis=0, ddof=1).tolist(),
                   "seconds_predict_proba_2_outputs": both, "seconds_class1_output": one}, f)


if __name__ == "__main__":
    main()
