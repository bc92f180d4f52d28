"""Same measurement as roadmap-logreg's time_fits example: wall median/min and CPU per fit."""
import sys, time, statistics, csv, json
import numpy as np
from sklearn.linear_model import LogisticRegression
from common import blas_threads
from logreg import fit_numpy

def load(p):
    rows = list(csv.reader(open(p)))[1:]
    a = np.array(rows, dtype=float)
    return a[:, :-1], a[:, -1]

def main():
    which, reps = sys.argv[1], int(sys.argv[2])
    X, y = load("data/breast_cancer_train.csv")
    mu, sd = X.mean(0), X.std(0)
    Xs = (X - mu) / sd
    fit = {"numpy_gd": lambda: fit_numpy(Xs, y),
           "sklearn_lbfgs": lambda: LogisticRegression(C=1.0, max_iter=1000).fit(Xs, y)}[which]
    fit()
    walls = []
    c0 = time.process_time()
    for _ in range(reps):
        t = time.perf_counter(); fit(); walls.append(time.perf_counter() - t)
    cpu = (time.process_time() - c0) / reps
    walls.sort()
    print(json.dumps({"solver": which, "repeats": reps, "wall_median_ms": round(walls[reps // 2] * 1e3, 3),
                      "wall_min_ms": round(walls[0] * 1e3, 3), "cpu_mean_ms": round(cpu * 1e3, 3)}))

with blas_threads():
    main()
