"""Reference fixtures for roadmap-quality's tests: the numbers scipy, Evidently and pandera give on generated
data (random samples and edge cases: ties, tiny samples, unequal sizes, categories present on one side only,
nulls and ±inf, overrides), written as small files the Rust tests read.

Packages (pinned; the versions the crate's definitions follow):
    numpy==2.4.6 pandas==2.3.3 scipy==1.17.1 evidently==0.7.23 pandera==0.35.0

Run from the repository root:
    python3 -m venv /tmp/qref
    /tmp/qref/bin/pip install numpy==2.4.6 pandas==2.3.3 scipy==1.17.1 evidently==0.7.23 pandera==0.35.0
    /tmp/qref/bin/python milestones/quality/scripts/reference.py

Writes milestones/quality/tests/fixtures/:
    ks_cases.json        scipy ks_2samp / wasserstein_distance / np.std on samples given by a formula
                         (x_i = ((i*mul + add) % mod) / div, exact in both languages) or listed inline
    kstwo.json           scipy.stats.kstwo.sf(x, n) on a grid (every branch of the Simard-L'Ecuyer method)
    drift/<case>/        reference.csv, current.csv, expected.json: Evidently DataDriftPreset per column
                         (method, threshold, score, drifted), DriftedColumnsCount, and every statistic
                         computed with Evidently's own stattest functions and scipy
    validation/<case>/   schema.toml, data.csv, expected.csv: pandera lazy validation failure cases of the
                         equivalent pandera schema (coerce=True; nullable int = pandas "Int64")
Everything is deterministic (numpy default_rng(13)).
"""
import io
import json
import math
import os
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
from scipy import stats  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures")
RNG = np.random.default_rng(13)


def fnum(x):
    """JSON-safe float (None for NaN, strings for infinities)."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


# ---------------------------------------------------------------- KS / Wasserstein on formula samples
def gen(spec):
    n, mul, add, mod, div = spec
    return np.array([((i * mul + add) % mod) / div for i in range(n)], dtype=float)


def ks_cases():
    specs = [
        ("tiny_1_1", [1.0], [2.0]),
        ("tiny_3_2", [1.0, 2.0, 3.0], [2.5, 10.0]),
        ("identical", [1.0, 2.0, 2.0, 3.0], [1.0, 2.0, 2.0, 3.0]),
        ("ties_equal_n", [1, 1, 2, 2, 2, 3, 3, 4], [2, 2, 3, 3, 3, 4, 4, 5]),
        ("disjoint", [1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]),
        ("square_50", (50, 37, 3, 101, 10), (50, 41, 17, 103, 10)),
        ("square_500", (500, 7919, 1, 1000, 10), (500, 7907, 5, 1013, 10)),
        ("unequal_37_91", (37, 13, 0, 97, 4), (91, 17, 5, 89, 4)),
        ("unequal_300_450", (300, 7919, 3, 997, 8), (450, 7927, 11, 1009, 8)),
        ("gcd_400_600", (400, 31, 7, 211, 2), (600, 37, 1, 223, 2)),
        ("many_ties_300_200", (300, 7, 1, 11, 1), (200, 5, 2, 13, 1)),
        ("exact_1000_999", (1000, 7919, 1, 1000, 10), (999, 7907, 40, 1000, 10)),
        ("exact_max_10000_9000", (10000, 7919, 1, 10007, 10), (9000, 7907, 400, 10009, 10)),
        ("asymp_10001_300", (10001, 7919, 1, 10007, 10), (300, 7907, 900, 9001, 10)),
        ("asymp_20000_15000", (20000, 7919, 1, 20011, 10), (15000, 7907, 1500, 20021, 10)),
        ("asymp_shifted_12000_12000", (12000, 7919, 1, 12007, 10), (12000, 7907, 3000, 12007, 10)),
    ]
    cases = []
    for name, a, b in specs:
        case = {"name": name}
        if isinstance(a, tuple):
            case["gen_a"], case["gen_b"] = list(a), list(b)
            xa, xb = gen(a), gen(b)
        else:
            case["a"], case["b"] = [float(v) for v in a], [float(v) for v in b]
            xa, xb = np.array(a, dtype=float), np.array(b, dtype=float)
        r = stats.ks_2samp(xa, xb)
        case["ks_statistic"] = float(r.statistic)
        case["ks_pvalue"] = float(r.pvalue)
        case["wasserstein"] = float(stats.wasserstein_distance(xa, xb))
        case["std_a"] = float(np.std(xa))
        cases.append(case)
    return cases


def kstwo_grid():
    out = []
    for n in [1, 2, 5, 10, 50, 140, 141, 500, 1000, 5000, 100000, 200000]:
        for x in [0.001, 0.004, 0.01, 0.03, 0.05, 0.08, 0.1, 0.2, 0.3, 0.45, 0.5, 0.6, 0.9, 0.99]:
            out.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
    return out


# ---------------------------------------------------------------- drift cases (Evidently)
def write_csv(path, df):
    """Writes a frame with full-precision floats (repr) and empty cells for None/NaN."""
    with open(path, "w", newline="") as f:
        f.write(",".join(df.columns) + "\n")
        for row in df.itertuples(index=False):
            cells = []
            for v in row:
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    cells.append("")
                elif isinstance(v, float):
                    cells.append(repr(v))
                else:
                    cells.append(str(v))
            f.write(",".join(cells) + "\n")


def frame(n, shift, big):
    """One side of a drift case. `shift` moves distributions; `big` adds the wide columns."""
    cols = {}
    cols["x_normal"] = [float(v) for v in np.round(RNG.normal(shift, 1.0, n), 6)]
    cols["x_ties"] = [int(v) for v in np.round(RNG.normal(shift * 3, 3.0, n))]
    cols["n_small"] = [int(v) for v in RNG.choice([1, 2, 3], n, p=[0.5, 0.3, 0.2] if shift == 0 else [0.3, 0.3, 0.4])]
    cols["flag"] = list(RNG.choice(["no", "yes"], n, p=[0.7, 0.3] if shift == 0 else [0.55, 0.45]))
    levels = ["A", "B", "C", "D"] if shift == 0 else ["A", "B", "C", "D", "E"]
    cols["cat"] = list(RNG.choice(levels, n))
    with_nulls = np.round(RNG.gamma(2.0 + shift, 1.0, n), 4).astype(object)
    with_nulls[RNG.random(n) < 0.1] = None
    cols["with_nulls"] = list(with_nulls)
    cols["f_three"] = [float(v) for v in RNG.choice([0.5, 1.5, 2.5], n, p=[0.2, 0.5, 0.3] if shift == 0 else [0.4, 0.4, 0.2])]
    cols["b"] = list(RNG.choice(["True", "False"], n, p=[0.5, 0.5] if shift == 0 else [0.6, 0.4]))
    if big:
        cols["age"] = [int(v) for v in np.clip(np.round(RNG.normal(38 + 4 * shift, 13, n)), 17, 90)]
        many = [f"L{i:02d}" for i in range(30)]
        p = np.ones(30) / 30 if shift == 0 else np.linspace(1, 2, 30) / np.linspace(1, 2, 30).sum()
        cols["many_levels"] = list(RNG.choice(many, n, p=p))
        wide = RNG.lognormal(10 + 0.2 * shift, 1.0, n)
        wide[RNG.random(n) < 0.01] = np.inf
        wide[RNG.random(n) < 0.005] = -np.inf
        # Nulls too: Evidently's DriftedColumnsCount (legacy engine) drops ±inf only from a column that also
        # has nulls, unlike its per-column ValueDrift; with nulls present both agree (see src/drift.rs).
        wide[RNG.random(n) < 0.01] = np.nan
        cols["wide_inf"] = [float(v) for v in np.round(wide, 3)]
        cols["n_four"] = [float(v) for v in RNG.choice([0.0, 1.0, 2.0, 4.0], n)]
    return pd.DataFrame(cols)


def clean(s):
    return s.replace([-np.inf, np.inf], np.nan).dropna()


def evidently_case(name, ref, cur, preset_kwargs=None, skip_columns=()):
    from evidently import Report
    from evidently.core.datasets import infer_column_type
    from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test
    from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
    from evidently.legacy.calculations.stattests.psi import _psi
    from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
    from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test
    from evidently.legacy.core import ColumnType
    from evidently.presets import DataDriftPreset

    d = os.path.join(OUT, "drift", name)
    os.makedirs(d, exist_ok=True)
    write_csv(os.path.join(d, "reference.csv"), ref)
    write_csv(os.path.join(d, "current.csv"), cur)
    # Evidently sees the files the way the crate defines them: pandas read_csv, skipinitialspace=True.
    ref = pd.read_csv(os.path.join(d, "reference.csv"), skipinitialspace=True)
    cur = pd.read_csv(os.path.join(d, "current.csv"), skipinitialspace=True)
    kwargs = dict(preset_kwargs or {})
    columns = [c for c in ref.columns if c not in skip_columns]
    if skip_columns:
        kwargs["columns"] = columns
    snap = Report([DataDriftPreset(**kwargs)], include_tests=True).run(reference_data=ref, current_data=cur).dict()
    display = {"K-S p_value": "ks", "Wasserstein distance (normed)": "wasserstein", "PSI": "psi",
               "Jensen-Shannon distance": "jensenshannon", "chi-square p_value": "chisquare", "Z-test p_value": "z"}
    out = {"columns": {}, "skipped": list(skip_columns), "preset": kwargs}
    for m in snap["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            out["number_drifted"] = int(m["value"]["count"])
            out["share_drifted"] = m["value"]["share"]
        elif cfg["type"].endswith("ValueDrift"):
            method = cfg["method"]
            out["columns"][cfg["column"]] = {"test": display.get(method, method), "threshold": cfg["threshold"],
                                             "score": fnum(m["value"])}
    for t in snap["tests"]:
        if t["name"].startswith("Value Drift for column "):
            col = t["name"][len("Value Drift for column "):]
            out["columns"][col]["drifted"] = t["status"] == "FAIL"
        elif t["name"].startswith("Share of Drifted Columns"):
            out["dataset_drift"] = t["status"] == "FAIL"
    # Every statistic, with Evidently's own functions (binning, epsilons) and scipy.
    for col, res in out["columns"].items():
        r, c = clean(ref[col]), clean(cur[col])
        ctype = infer_column_type(cur[col])
        res["kind"] = {ColumnType.Numerical: "numerical", ColumnType.Categorical: "categorical"}.get(ctype, str(ctype))
        res["psi"] = fnum(_psi(r, c, ctype, 0.1)[0])
        res["jensenshannon"] = fnum(_jensenshannon(r, c, ctype, 0.1)[0])
        keys = list(set(r.unique()) | set(c.unique()))
        rc, cc = r.value_counts(), c.value_counts()
        k_norm = len(c) / len(r)
        f_exp = [rc.get(k, 0) * k_norm for k in keys]
        f_obs = [cc.get(k, 0) for k in keys]
        with np.errstate(divide="ignore", invalid="ignore"):
            chi = stats.chisquare(f_obs, f_exp)
        res["chisquare"] = fnum(chi.statistic)
        res["chisquare_pvalue"] = fnum(_chi_stat_test(r, c, ctype, 0.05)[0])
        res["distinct"] = len(keys)
        res["z_pvalue"] = fnum(_z_stat_test(r, c, ctype, 0.05)[0]) if len(keys) <= 2 else None
        if ctype == ColumnType.Numerical:
            ks = stats.ks_2samp(r, c)
            res["ks_statistic"], res["ks_pvalue"] = float(ks.statistic), float(ks.pvalue)
            res["wasserstein"] = float(stats.wasserstein_distance(r, c))
            res["wasserstein_normed"] = float(_wasserstein_distance_norm(r, c, ctype, 0.1)[0])
        else:
            res["ks_statistic"] = res["ks_pvalue"] = res["wasserstein"] = res["wasserstein_normed"] = None
        res["reference_count"], res["current_count"] = len(r), len(c)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print(f"drift/{name}: {len(out['columns'])} columns, {out['number_drifted']} drifted, "
          f"dataset_drift={out['dataset_drift']}")


def drift_cases():
    evidently_case("small", frame(400, 0.0, False), frame(300, 0.3, False))
    evidently_case("equal_overrides", frame(500, 0.0, False), frame(500, 0.2, False),
                   preset_kwargs={"per_column_method": {"x_normal": "psi", "cat": "jensenshannon", "n_small": "psi",
                                                        "with_nulls": "wasserstein"},
                                  "per_column_threshold": {"x_normal": 0.05, "x_ties": 0.5, "flag": 0.3}})
    evidently_case("large", frame(2000, 0.0, True), frame(1500, 0.15, True))
    evidently_case("drifted", frame(1200, 0.0, True), frame(900, 1.0, True))
    evidently_case("same_distribution", frame(1100, 0.0, True), frame(1300, 0.0, True))
    tiny_r = pd.DataFrame({"v": [1.5, 2.5, 2.5, 3.0, 7.25, 9.0], "c": ["a", "b", "a", "a", "b", "a"],
                           "k": [1, 2, 3, 4, 5, 6]})
    tiny_c = pd.DataFrame({"v": [2.5, 8.0, 9.5, 10.0], "c": ["b", "b", "c", "b"], "k": [4, 5, 6, 7]})
    evidently_case("tiny", tiny_r, tiny_c)
    # A text column (every value distinct) and an all-null column: Evidently would run a text classifier
    # on the first and fail on the second, so it is run without them; the crate skips both.
    r, c = frame(300, 0.0, False), frame(250, 0.5, False)
    r["note"] = [f"note {i}" for i in range(len(r))]
    c["note"] = [f"comment {i}" for i in range(len(c))]
    r["empty"] = [None] * len(r)
    c["empty"] = [None] * len(c)
    evidently_case("skipped_columns", r, c, skip_columns=("note", "empty"))


# ---------------------------------------------------------------- validation cases (pandera)
def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(v)


def validation_case(name, columns, dataset, csv_text):
    """`columns`: list of dicts in the crate's TOML vocabulary; the pandera schema is built from the same dicts."""
    import pandera.pandas as pa

    d = os.path.join(OUT, "validation", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "data.csv"), "w") as f:
        f.write(csv_text)
    lines = ["# generated by scripts/reference.py"]
    if dataset:
        lines.append("[dataset]")
        lines += [f"{k} = {toml_value(v)}" for k, v in dataset.items()]
    for c in columns:
        lines.append("\n[[columns]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in c.items()]
    with open(os.path.join(d, "schema.toml"), "w") as f:
        f.write("\n".join(lines) + "\n")

    dtypes = {"int": "int64", "float": "float64", "string": str, "bool": bool, "category": "category",
              "datetime": "datetime64[ns]"}
    pcols = {}
    for c in columns:
        checks = []
        lo, hi = c.get("min"), c.get("max")
        inc_lo, inc_hi = c.get("min_inclusive", True), c.get("max_inclusive", True)
        if lo is not None and hi is not None:
            checks.append(pa.Check.in_range(lo, hi, include_min=inc_lo, include_max=inc_hi))
        elif lo is not None:
            checks.append(pa.Check.ge(lo) if inc_lo else pa.Check.gt(lo))
        elif hi is not None:
            checks.append(pa.Check.le(hi) if inc_hi else pa.Check.lt(hi))
        if "allowed" in c:
            checks.append(pa.Check.isin(c["allowed"]))
        if "regex" in c:
            checks.append(pa.Check.str_matches(c["regex"]))
        if "min_length" in c or "max_length" in c:
            checks.append(pa.Check.str_length(c.get("min_length"), c.get("max_length")))
        dt = dtypes[c["type"]]
        if c["type"] == "int" and c.get("nullable", False):
            dt = "Int64"
        pcols[c["name"]] = pa.Column(dt, checks, nullable=c.get("nullable", False), unique=c.get("unique", False),
                                     required=c.get("required", True), coerce=True)
    unique = None
    if dataset.get("no_duplicate_rows"):
        unique = [c["name"] for c in columns]
    elif dataset.get("unique"):
        unique = dataset["unique"]
    schema = pa.DataFrameSchema(pcols, strict=dataset.get("strict", False), ordered=dataset.get("ordered", False),
                                unique=unique)
    df = pd.read_csv(io.StringIO(csv_text), skipinitialspace=True)
    try:
        schema.validate(df, lazy=True)
        fc = pd.DataFrame(columns=["schema_context", "column", "check", "check_number", "failure_case", "index"])
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases

    def cell(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    rows = []
    for r in fc.itertuples(index=False):
        rows.append([cell(r.schema_context), cell(r.column), cell(r.check), cell(r.check_number),
                     cell(r.failure_case), cell(r.index)])
    rows.sort()
    with open(os.path.join(d, "expected.csv"), "w") as f:
        f.write("schema_context,column,check,check_number,failure_case,index\n")
        for r in rows:
            f.write(",".join(json.dumps(x) if ("," in x or '"' in x) else x for x in r) + "\n")
    print(f"validation/{name}: {len(rows)} failure cases")


def validation_cases():
    cities = ["Lyon", "Paris", "Rome"]
    columns = [
        {"name": "id", "type": "int", "unique": True, "min": 1},
        {"name": "age", "type": "int", "min": 0, "max": 120},
        {"name": "score", "type": "float", "nullable": True, "min": 0, "max": 100.0, "min_inclusive": False,
         "max_inclusive": False},
        {"name": "city", "type": "category", "allowed": cities},
        {"name": "code", "type": "string", "regex": r"[A-Z]{2}\d", "min_length": 3, "max_length": 5},
        {"name": "note", "type": "string", "nullable": True, "max_length": 6},
        {"name": "visits", "type": "int", "nullable": True, "max": 10},
        {"name": "ratio", "type": "float", "max": 1},
        {"name": "level", "type": "int", "allowed": [1, 2, 3]},
    ]
    lines = ["id,age,score,city,code,note,visits,ratio,level,extra"]
    rng = np.random.default_rng(7)
    for i in range(60):
        ident = i + 1
        age = int(rng.integers(0, 100))
        score = round(float(rng.uniform(1, 99)), 2)
        city = cities[i % 3]
        code = f"{'ABCDEFG'[i % 7]}{'XYZ'[i % 3]}{i % 10}"
        note = ["", "ok", "fine", "good"][i % 4]
        visits = "" if i % 5 == 0 else str(int(rng.integers(0, 10)))
        ratio = round(float(rng.uniform(0, 1)), 3)
        level = 1 + i % 3
        row = [ident, age, score, city, code, note, visits, ratio, level, "x"]
        if i == 3:
            row[1] = 130            # age above max
        if i == 4:
            row[2] = 100            # score at the exclusive max
        if i == 5:
            row[2] = ""             # null in a nullable float: fine
        if i == 6:
            row[3] = "Berlin"       # not an allowed category
        if i == 7:
            row[4] = "ab1"          # regex fails (lower case)
        if i == 8:
            row[4] = "AB1234"       # too long
        if i == 9:
            row[5] = "too long a note"
        if i == 10:
            row[0] = 3              # duplicate id (with row 2)
        if i == 11:
            row[6] = 11             # visits above max, nullable int column
        if i == 12:
            row[3] = ""             # null in a non-nullable category
        if i == 13:
            row[2] = 0              # score at the exclusive min
        if i == 14:
            row[7] = 1.5            # ratio above max
        if i == 15:
            row[8] = 4              # level not allowed
        if i == 16:
            row[0] = 0              # id below min
        if i == 17:
            row[1] = -1
        lines.append(",".join(str(v) for v in row))
    data = "\n".join(lines) + "\n"
    validation_case("checks", columns, {"strict": True}, data)

    # Table checks: a missing required column, an optional missing one, order, multi-column uniqueness.
    columns2 = [
        {"name": "b", "type": "string"},
        {"name": "a", "type": "int"},
        {"name": "gone", "type": "float"},
        {"name": "maybe", "type": "string", "required": False},
        {"name": "c", "type": "string", "nullable": True},
    ]
    data2 = "a,b,c\n1,x,p\n2,y,q\n1,x,r\n2,y,q\n3,z,\n3,z,\n1,x,p\n"
    validation_case("table", columns2, {"ordered": True, "unique": ["a", "b"]}, data2)
    validation_case("duplicate_rows", columns2[:2] + columns2[4:], {"no_duplicate_rows": True}, data2)

    # Every type without type errors: bool, datetime (one format: pandas infers the format from the first
    # value and fails the whole column on a second one), nullable Int64, a nullable category, ±inf in a float
    # range, a unique float column (1 and 1.0 are the same value), strings with leading spaces (dropped).
    columns3 = [
        {"name": "flag", "type": "bool"},
        {"name": "when", "type": "datetime", "nullable": True},
        {"name": "n", "type": "int", "nullable": True, "min": 0, "max": 5, "unique": True},
        {"name": "kind", "type": "category", "nullable": True, "allowed": ["a", "b"]},
        {"name": "x", "type": "float", "min": -10.5, "max": 1e6, "unique": True},
        {"name": "label", "type": "string", "regex": "[a-z]+_", "min_length": 3},
    ]
    data3 = ("flag,when,n,kind,x,label\n"
             "True,2024-01-01,1,a,1,ab_1\n"
             "False,,2,,1.0,  cd_\n"
             "true,2024-02-29,,b,inf,x_\n"
             "FALSE,2023-12-31,7,c,-11,Ab_\n"
             "True,2024-03-01,2,a,2.5e3,zz_top\n"
             "False,2024-03-02,,,-inf,q\n")
    validation_case("types", columns3, {}, data3)


def main():
    print(f"numpy {np.__version__}, pandas {pd.__version__}, scipy {scipy.__version__}", file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "ks_cases.json"), "w") as f:
        json.dump(ks_cases(), f, indent=1)
    with open(os.path.join(OUT, "kstwo.json"), "w") as f:
        json.dump(kstwo_grid(), f, indent=1)
    drift_cases()
    validation_cases()


if __name__ == "__main__":
    main()
