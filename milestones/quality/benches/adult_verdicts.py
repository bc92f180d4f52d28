"""Evidently's per-column verdicts on the Adult halves, in the shape `time_quality drift` prints, to check
that the crate's verdicts are identical (capstone_anchor.py times the same report but prints no verdicts).

    .venv-capstone/bin/python milestones/quality/benches/adult_verdicts.py adult.csv
Packages: evidently==0.7.23 pandas==2.3.3 (the anchors' .venv-capstone).
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")
import pandas as pd  # noqa: E402
from evidently import Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

NAMES = {"K-S p_value": "ks", "Wasserstein distance (normed)": "wasserstein", "PSI": "psi",
         "Jensen-Shannon distance": "jensenshannon", "chi-square p_value": "chisquare", "Z-test p_value": "z"}
df = pd.read_csv(sys.argv[1], skipinitialspace=True)
half = len(df) // 2
snap = Report([DataDriftPreset()], include_tests=True).run(reference_data=df.iloc[:half],
                                                            current_data=df.iloc[half:]).dict()
cols, share = {}, None
for m in snap["metrics"]:
    if m["config"]["type"].endswith("ValueDrift"):
        cols[m["config"]["column"]] = [NAMES[m["config"]["method"]], m["value"]]
    else:
        share = m["value"]["share"]
for t in snap["tests"]:
    if t["name"].startswith("Value Drift for column "):
        cols[t["name"][len("Value Drift for column "):]].append(t["status"] == "FAIL")
print(json.dumps({"share_drifted": share, "columns": cols}))
