"""Extracts the assignment cases of GrowthBook's SDK test suite into
tests/fixtures/growthbook_cases.json (read by tests/growthbook_cases.rs).

Source: packages/sdk-js/test/cases.json of the growthbook/growthbook repository
(spec version 0.8.0, commit 8f1db4456915a8e7b7faf23d5632ca7219d2f469), MIT
licence, Copyright (c) GrowthBook, Inc. Only the cases about hashing and
bucketing are kept:

    hash, getBucketRange, chooseVariation, inNamespace, getEqualWeights   verbatim
    run         experiments whose outcome depends only on the user id, key/seed,
                hashVersion, weights, coverage and namespace (no conditions,
                forcing, filters, explicit ranges, QA mode or URLs)
    rollout     feature "force" rules with coverage / range / seed / hashVersion
                and nothing else: included <=> the result's source is "force"
                (isIncludedInRollout)

Run with any Python 3 (standard library only):
    python milestones/abtest/scripts/growthbook_cases.py path/to/cases.json \
        > milestones/abtest/tests/fixtures/growthbook_cases.json
"""

import json
import sys

RUN_KEYS = {"key", "variations", "weights", "coverage", "seed", "hashVersion", "namespace"}
RULE_KEYS = {"force", "coverage", "range", "seed", "hashVersion", "id"}


def main(path):
    cases = json.load(open(path))
    run = []
    for name, ctx, exp, value, in_experiment, hash_used in cases["run"]:
        if set(ctx) - {"attributes"} or set(exp) - RUN_KEYS:
            continue
        attrs = ctx.get("attributes", {})
        if set(attrs) - {"id"}:
            continue
        user = attrs.get("id")
        if user is not None and not isinstance(user, str):
            continue
        variation = exp["variations"].index(value) if in_experiment else None
        run.append({
            "name": name,
            "user": user or "",
            "seed": exp.get("seed") or exp["key"],
            "hash_version": exp.get("hashVersion", 1),
            "variations": len(exp["variations"]),
            "weights": exp.get("weights"),
            "coverage": exp.get("coverage", 1),
            "namespace": exp.get("namespace"),
            "variation": variation,
        })
    rollout = []
    for name, ctx, feature_key, result in cases["feature"]:
        features = ctx.get("features", {})
        if set(ctx) - {"attributes", "features"} or len(features) != 1:
            continue
        feature = features[feature_key]
        rules = feature.get("rules", [])
        if len(rules) != 1 or "force" not in rules[0] or set(rules[0]) - RULE_KEYS:
            continue
        rule = rules[0]
        if "coverage" not in rule and "range" not in rule:
            continue
        user = ctx.get("attributes", {}).get("id")
        rollout.append({
            "name": name,
            "user": "" if user is None else str(user),
            "seed": rule.get("seed") or feature_key,
            "hash_version": rule.get("hashVersion", 1),
            "range": rule.get("range"),
            "coverage": rule.get("coverage"),
            "included": result["source"] == "force",
        })
    out = {
        "provenance": "growthbook/growthbook packages/sdk-js/test/cases.json, spec "
                      + cases["specVersion"]
                      + ", commit 8f1db4456915a8e7b7faf23d5632ca7219d2f469; MIT licence, "
                        "Copyright (c) GrowthBook, Inc.; extracted by "
                        "milestones/abtest/scripts/growthbook_cases.py",
        "hash": cases["hash"],
        "getBucketRange": cases["getBucketRange"],
        "chooseVariation": cases["chooseVariation"],
        "inNamespace": cases["inNamespace"],
        "getEqualWeights": cases["getEqualWeights"],
        "run": run,
        "rollout": rollout,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
