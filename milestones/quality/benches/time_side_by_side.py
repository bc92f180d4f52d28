"""Times capstone_anchor.py's `drift` and `validation` tasks with wall *and* CPU time per repetition, so a
busy machine (other builds on the same 2 cores) can be told apart from a slow library. The tasks are the
anchor's own functions, imported from the anchors folder.

    .venv-capstone/bin/python milestones/quality/benches/time_side_by_side.py ANCHORS_DIR adult.csv [REPS]
Packages: the anchors' .venv-capstone (evidently==0.7.23, pandera==0.35.0, pandas==2.3.3, numpy==2.4.6).
Prints one JSON line per task: best wall seconds, best CPU seconds (process_time: user + system of this
process, all threads).
"""
import json
import os
import sys
import time

for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(v, "1")
sys.path.insert(0, sys.argv[1])
import capstone_anchor as anchor  # noqa: E402
import pandas as pd  # noqa: E402

reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
df = pd.read_csv(sys.argv[2], skipinitialspace=True)


def timed(task):
    walls, cpus = [], []
    real_best_of = anchor.best_of

    def best_of(n, fn):
        out = None
        for _ in range(reps):
            w, c = time.perf_counter(), time.process_time()
            out = fn()
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        return min(walls), out

    anchor.best_of = best_of
    try:
        info, _ = task(df, reps)
    finally:
        anchor.best_of = real_best_of
    return info, min(walls), min(cpus)


for name in ("drift", "validation"):
    info, wall, cpu = timed(anchor.TASKS[name])
    print(json.dumps({"task": name, "wall_seconds_best": round(wall, 4), "cpu_seconds_best": round(cpu, 4), **info}),
          flush=True)
