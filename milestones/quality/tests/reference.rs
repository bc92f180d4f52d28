//! Fidelity against the reference libraries, on the fixtures `scripts/reference.py` wrote with scipy 1.17.1,
//! Evidently 0.7.23 and pandera 0.35.0: statistics within 1e-9 (relative to their size), p-values within
//! 1e-6, the test each column gets, every verdict, and pandera's failure-case tables row for row.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use roadmap_quality::drift::{drift_csv, DriftOptions, StatTest};
use roadmap_quality::stats;
use roadmap_quality::validate::{validate_csv, ValidateOptions};
use roadmap_quality::{kolmogorov, Schema};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

thread_local! {
    /// Largest differences seen by this test: (relative statistic difference, absolute p-value difference).
    static MAX_DIFF: std::cell::Cell<(f64, f64)> = const { std::cell::Cell::new((0.0, 0.0)) };
}

/// Prints the largest differences of the calling test (run with `--nocapture` to see them).
fn report_max_diff(test: &str) {
    let (s, p) = MAX_DIFF.with(|m| m.get());
    eprintln!("{test}: max relative statistic difference {s:.3e}, max absolute p-value difference {p:.3e}");
}

/// A statistic agrees when |a − b| ≤ 1e-9 · max(1, |b|).
fn assert_stat(got: Option<f64>, want: &Value, what: &str) {
    match (got, want.as_f64()) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            let rel = (g - w).abs() / w.abs().max(1.0);
            MAX_DIFF.with(|m| m.set((m.get().0.max(rel), m.get().1)));
            assert!(rel <= 1e-9, "{what}: got {g}, reference {w}")
        }
        (Some(g), None) if want.as_str() == Some("inf") => {
            assert!(g.is_infinite() && g > 0.0, "{what}: got {g}, reference inf")
        }
        (g, _) => panic!("{what}: got {g:?}, reference {want}"),
    }
}

/// A p-value agrees when |a − b| ≤ 1e-6.
fn assert_p(got: Option<f64>, want: &Value, what: &str) {
    match (got, want.as_f64()) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            MAX_DIFF.with(|m| m.set((m.get().0, m.get().1.max((g - w).abs()))));
            assert!((g - w).abs() <= 1e-6, "{what}: got {g}, reference {w}")
        }
        (g, _) => panic!("{what}: got {g:?}, reference {want}"),
    }
}

fn sample(case: &Value, key: &str) -> Vec<f64> {
    if let Some(g) = case.get(format!("gen_{key}")) {
        let p: Vec<u64> = g
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        (0..p[0])
            .map(|i| ((i * p[1] + p[2]) % p[3]) as f64 / p[4] as f64)
            .collect()
    } else {
        case[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    }
}

#[test]
fn ks_and_wasserstein_match_scipy() {
    let cases = read_json(&fixtures().join("ks_cases.json"));
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut a = sample(case, "a");
        let mut b = sample(case, "b");
        let std_a = roadmap_common::stats::std_population(&a);
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let ks = stats::ks_2samp(&a, &b).unwrap();
        assert_stat(
            Some(ks.statistic),
            &case["ks_statistic"],
            &format!("{name} ks statistic"),
        );
        assert_p(
            Some(ks.pvalue),
            &case["ks_pvalue"],
            &format!("{name} ks p-value"),
        );
        assert_stat(
            Some(stats::wasserstein_distance(&a, &b)),
            &case["wasserstein"],
            &format!("{name} wasserstein"),
        );
        assert_stat(Some(std_a), &case["std_a"], &format!("{name} std"));
        // Beyond 10 000 rows scipy switches to the asymptotic distribution; so must we.
        assert_eq!(
            ks.exact,
            a.len().max(b.len()) <= 10_000,
            "{name}: exact/asymptotic switch"
        );
    }
    report_max_diff("ks cases");
}

#[test]
fn kolmogorov_distribution_matches_scipy_kstwo() {
    let grid = read_json(&fixtures().join("kstwo.json"));
    for p in grid.as_array().unwrap() {
        let (n, x) = (p["n"].as_u64().unwrap(), p["x"].as_f64().unwrap());
        let got = kolmogorov::kolmogn_sf(n, x);
        let want = p["sf"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-9,
            "kstwo.sf({x}, {n}): got {got}, scipy {want}"
        );
        MAX_DIFF.with(|m| m.set((m.get().0, m.get().1.max((got - want).abs()))));
    }
    report_max_diff("kstwo grid");
}

fn drift_case(name: &str) {
    let dir = fixtures().join("drift").join(name);
    let expected = read_json(&dir.join("expected.json"));
    let mut opts = DriftOptions::default();
    if let Some(m) = expected["preset"].get("per_column_method") {
        for (col, t) in m.as_object().unwrap() {
            opts.stattest
                .insert(col.clone(), StatTest::parse(t.as_str().unwrap()).unwrap());
        }
    }
    if let Some(m) = expected["preset"].get("per_column_threshold") {
        for (col, t) in m.as_object().unwrap() {
            opts.threshold.insert(col.clone(), t.as_f64().unwrap());
        }
    }
    let report = drift_csv(&dir.join("reference.csv"), &dir.join("current.csv"), &opts).unwrap();
    let skipped: Vec<&str> = expected["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let by_name: HashMap<&str, &roadmap_quality::ColumnDrift> = report
        .columns
        .iter()
        .map(|c| (c.column.as_str(), c))
        .collect();
    for s in &skipped {
        assert!(by_name[s].skipped.is_some(), "{name}/{s} should be skipped");
    }
    let cols = expected["columns"].as_object().unwrap();
    assert_eq!(
        report.columns.len(),
        cols.len() + skipped.len(),
        "{name}: column count"
    );
    for (col, want) in cols {
        let got = by_name[col.as_str()];
        let what = |s: &str| format!("{name}/{col} {s}");
        assert_eq!(got.skipped, None, "{}", what("skipped"));
        assert_eq!(
            format!("{:?}", got.kind).to_lowercase(),
            want["kind"].as_str().unwrap(),
            "{}",
            what("kind")
        );
        assert_eq!(
            got.test.unwrap().name(),
            want["test"].as_str().unwrap(),
            "{}",
            what("test")
        );
        assert_stat(got.threshold, &want["threshold"], &what("threshold"));
        assert_eq!(
            got.drifted,
            want["drifted"].as_bool().unwrap(),
            "{}",
            what("verdict")
        );
        assert_eq!(
            got.distinct,
            want["distinct"].as_u64().unwrap(),
            "{}",
            what("distinct values")
        );
        assert_eq!(
            got.reference_count,
            want["reference_count"].as_u64().unwrap(),
            "{}",
            what("reference rows")
        );
        assert_eq!(
            got.current_count,
            want["current_count"].as_u64().unwrap(),
            "{}",
            what("current rows")
        );
        let test = got.test.unwrap();
        if matches!(test, StatTest::Ks | StatTest::ChiSquare | StatTest::Z) {
            assert_p(got.score, &want["score"], &what("score"));
        } else {
            assert_stat(got.score, &want["score"], &what("score"));
        }
        assert_stat(
            got.ks_statistic,
            &want["ks_statistic"],
            &what("ks statistic"),
        );
        assert_p(got.ks_pvalue, &want["ks_pvalue"], &what("ks p-value"));
        assert_stat(got.wasserstein, &want["wasserstein"], &what("wasserstein"));
        assert_stat(
            got.wasserstein_normed,
            &want["wasserstein_normed"],
            &what("wasserstein normed"),
        );
        assert_stat(got.psi, &want["psi"], &what("psi"));
        assert_stat(
            got.jensenshannon,
            &want["jensenshannon"],
            &what("jensen-shannon"),
        );
        assert_stat(got.chisquare, &want["chisquare"], &what("chi-square"));
        assert_p(
            got.chisquare_pvalue,
            &want["chisquare_pvalue"],
            &what("chi-square p-value"),
        );
        assert_p(got.z_pvalue, &want["z_pvalue"], &what("z p-value"));
    }
    assert_eq!(
        report.number_drifted as u64,
        expected["number_drifted"].as_u64().unwrap(),
        "{name}: drifted columns"
    );
    assert_stat(
        Some(report.share_drifted),
        &expected["share_drifted"],
        &format!("{name}: share"),
    );
    assert_eq!(
        report.dataset_drift,
        expected["dataset_drift"].as_bool().unwrap(),
        "{name}: dataset drift"
    );
    report_max_diff(&format!("drift/{name}"));
}

#[test]
fn drift_small_samples_match_evidently() {
    drift_case("small");
    drift_case("tiny");
}

#[test]
fn drift_with_overrides_matches_evidently() {
    drift_case("equal_overrides");
}

#[test]
fn drift_large_samples_match_evidently() {
    drift_case("large");
    drift_case("drifted");
    drift_case("same_distribution");
}

#[test]
fn text_and_all_null_columns_are_skipped_and_the_rest_matches_evidently() {
    drift_case("skipped_columns");
}

/// A failure case with numbers written canonically (pandera prints the parsed value: `100.0` where the
/// file says `100`).
fn normalize(value: &str) -> String {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Ok(v) if v.is_finite() => format!("{v}"),
        _ => value.to_string(),
    }
}

fn read_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let mut rows: Vec<Vec<String>> = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            let mut row: Vec<String> = rec.iter().map(str::to_string).collect();
            row[4] = normalize(&row[4]);
            row
        })
        .collect();
    rows.sort();
    rows
}

fn validation_case(name: &str) {
    let dir = fixtures().join("validation").join(name);
    let schema = Schema::from_path(&dir.join("schema.toml")).unwrap();
    let report = validate_csv(&schema, &dir.join("data.csv"), &ValidateOptions::default()).unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    report
        .write_failures_csv(std::fs::File::create(out.path()).unwrap())
        .unwrap();
    let got = read_rows(out.path());
    let want = read_rows(&dir.join("expected.csv"));
    assert_eq!(got, want, "{name}: failure cases differ from pandera's");
    assert_eq!(report.failure_count as usize, want.len());
    assert_eq!(report.exit_code(), i32::from(!want.is_empty()));
}

#[test]
fn column_checks_match_pandera() {
    validation_case("checks");
}

#[test]
fn table_checks_match_pandera() {
    validation_case("table");
    validation_case("duplicate_rows");
}

#[test]
fn every_column_type_matches_pandera() {
    validation_case("types");
}
