//! GrowthBook's own SDK test cases (`tests/fixtures/growthbook_cases.json`,
//! extracted from `packages/sdk-js/test/cases.json` by
//! `scripts/growthbook_cases.py`; MIT licence, GrowthBook, Inc.), compared the
//! way the JavaScript SDK's `json.test.ts` compares them: hashes exactly,
//! bucket ranges after flooring to 8 decimals.

use roadmap_abtest::assign::{
    bucket_ranges, choose_variation, equal_weights, hash, in_namespace, is_included_in_rollout,
    Assigner, HashVersion, Namespace,
};
use serde_json::Value;

fn cases() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/growthbook_cases.json"
    ))
    .expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    let l = v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} cases"));
    assert!(!l.is_empty(), "no {key} cases");
    l
}

/// The SDK test's `Math.floor(n * 1e8) / 1e8`.
fn floor8(n: f64) -> f64 {
    (n * 1e8).floor() / 1e8
}

fn ranges(v: &Value) -> Vec<(f64, f64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_f64().unwrap(), r[1].as_f64().unwrap()))
        .collect()
}

fn namespace(v: &Value) -> Namespace {
    Namespace {
        name: v[0].as_str().unwrap().to_owned(),
        range: (v[1].as_f64().unwrap(), v[2].as_f64().unwrap()),
    }
}

#[test]
fn hash_equals_the_sdk_exactly() {
    for c in list(&cases(), "hash") {
        let (seed, user) = (c[0].as_str().unwrap(), c[1].as_str().unwrap());
        let got = HashVersion::from_number(c[2].as_i64().unwrap()).map(|v| hash(seed, user, v));
        assert_eq!(got, c[3].as_f64(), "hash({seed:?}, {user:?}, {})", c[2]);
    }
}

#[test]
fn bucket_ranges_equal_the_sdk() {
    for c in list(&cases(), "getBucketRange") {
        let args = &c[1];
        let weights: Option<Vec<f64>> = args[2]
            .as_array()
            .map(|w| w.iter().map(|x| x.as_f64().unwrap()).collect());
        let got = bucket_ranges(
            args[0].as_u64().unwrap() as usize,
            args[1].as_f64().unwrap(),
            weights.as_deref(),
        );
        let floor = |r: Vec<(f64, f64)>| {
            r.into_iter()
                .map(|(a, b)| (floor8(a), floor8(b)))
                .collect::<Vec<_>>()
        };
        assert_eq!(floor(got), floor(ranges(&c[2])), "{}", c[0]);
    }
}

#[test]
fn choose_variation_equals_the_sdk() {
    for c in list(&cases(), "chooseVariation") {
        let want = c[3].as_i64().unwrap();
        let got = choose_variation(c[1].as_f64().unwrap(), &ranges(&c[2]));
        assert_eq!(got.map_or(-1, |i| i as i64), want, "{}", c[0]);
    }
}

#[test]
fn in_namespace_equals_the_sdk() {
    for c in list(&cases(), "inNamespace") {
        let got = in_namespace(c[1].as_str().unwrap(), &namespace(&c[2]));
        assert_eq!(got, c[3].as_bool().unwrap(), "{}", c[0]);
    }
}

#[test]
fn equal_weights_equal_the_sdk() {
    for c in list(&cases(), "getEqualWeights") {
        let n = c[0].as_i64().unwrap();
        let got: Vec<f64> = equal_weights(n.max(0) as usize)
            .into_iter()
            .map(floor8)
            .collect();
        let want: Vec<f64> = c[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| floor8(x.as_f64().unwrap()))
            .collect();
        assert_eq!(got, want, "getEqualWeights({n})");
    }
}

#[test]
fn experiment_runs_assign_the_same_variation() {
    for c in list(&cases(), "run") {
        let n = c["variations"].as_u64().unwrap() as usize;
        let weights: Vec<f64> = match c["weights"].as_array() {
            Some(w) => w.iter().map(|x| x.as_f64().unwrap()).collect(),
            None => equal_weights(n),
        };
        let version = HashVersion::from_number(c["hash_version"].as_i64().unwrap()).unwrap();
        let assigner = Assigner::new(
            c["seed"].as_str().unwrap(),
            version,
            &weights,
            c["coverage"].as_f64().unwrap(),
        )
        .with_namespace(
            c["namespace"]
                .as_array()
                .map(|_| namespace(&c["namespace"])),
        );
        let got = assigner.assign(c["user"].as_str().unwrap()).variant();
        let want = c["variation"].as_u64().map(|v| v as usize);
        assert_eq!(got, want, "run: {}", c["name"]);
    }
}

#[test]
fn rollouts_include_the_same_users() {
    for c in list(&cases(), "rollout") {
        let range = c["range"]
            .as_array()
            .map(|r| (r[0].as_f64().unwrap(), r[1].as_f64().unwrap()));
        let got = HashVersion::from_number(c["hash_version"].as_i64().unwrap()).is_some_and(|v| {
            is_included_in_rollout(
                c["seed"].as_str().unwrap(),
                c["user"].as_str().unwrap(),
                range,
                c["coverage"].as_f64(),
                v,
            )
        });
        assert_eq!(
            got,
            c["included"].as_bool().unwrap(),
            "rollout: {}",
            c["name"]
        );
    }
}
