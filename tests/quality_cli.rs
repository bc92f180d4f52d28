//! `roadmap validate` and `roadmap monitor drift` through the real CLI:
//! exit codes, failure-case files, inferred schemas, drift verdicts.

use assert_cmd::Command;
use predicates::prelude::*;

fn roadmap() -> Command {
    Command::cargo_bin("roadmap").unwrap()
}

const SCHEMA: &str = "[[columns]]\nname = \"age\"\ntype = \"int\"\nmin = 0\n\n[[columns]]\nname = \"score\"\ntype = \"float\"\nnullable = false\n";

#[test]
fn validate_exit_codes_and_failure_cases() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("s.toml"), SCHEMA).unwrap();
    std::fs::write(p("good.csv"), "age,score\n34,0.5\n0,1.5\n").unwrap();
    std::fs::write(p("bad.csv"), "age,score\n34,0.5\n-1,0.7\nold,\n").unwrap();
    roadmap()
        .arg("validate")
        .arg("--schema")
        .arg(p("s.toml"))
        .arg(p("good.csv"))
        .assert()
        .code(0);
    roadmap()
        .arg("validate")
        .arg("--schema")
        .arg(p("s.toml"))
        .arg(p("bad.csv"))
        .arg("--failures")
        .arg(p("f.csv"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("greater_than_or_equal_to(0)"));
    let failures = std::fs::read_to_string(p("f.csv")).unwrap();
    assert!(
        failures.starts_with("schema_context,column,check,check_number,failure_case,index"),
        "{failures}"
    );
    // One failure per bad cell: -1 (range), "old" (type), empty score (null); the type
    // failure does not stop the rest of the column being checked.
    assert_eq!(failures.lines().count(), 4, "{failures}");
    assert!(
        failures.contains("Column,age,greater_than_or_equal_to(0),0,-1,1"),
        "{failures}"
    );
    // An unusable schema: exit 2 with the line.
    std::fs::write(
        p("broken.toml"),
        "[[columns]]\nname = \"age\"\ntype = \"integer\"\n",
    )
    .unwrap();
    roadmap()
        .arg("validate")
        .arg("--schema")
        .arg(p("broken.toml"))
        .arg(p("good.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3"));
    // A ragged row names its row.
    std::fs::write(p("ragged.csv"), "age,score\n1,2\n3\n").unwrap();
    roadmap()
        .arg("validate")
        .arg("--schema")
        .arg(p("s.toml"))
        .arg(p("ragged.csv"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("3"));
}

#[test]
fn an_inferred_schema_validates_its_own_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, "age,city\n34,Paris\n51,Lyon\n27,Paris\n").unwrap();
    let schema = dir.path().join("inferred.toml");
    roadmap()
        .arg("validate")
        .arg("--infer")
        .arg(&data)
        .arg("--out")
        .arg(&schema)
        .assert()
        .success();
    roadmap()
        .arg("validate")
        .arg("--schema")
        .arg(&schema)
        .arg(&data)
        .assert()
        .code(0);
}

#[test]
fn drift_flags_a_shifted_column_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut reference = String::from("x,y\n");
    let mut current = String::from("x,y\n");
    for i in 0..300 {
        let v = (i % 37) as f64 * 0.5;
        reference.push_str(&format!("{v},{}\n", i % 11));
        current.push_str(&format!("{},{}\n", v + 6.0, i % 11));
    }
    std::fs::write(dir.path().join("r.csv"), reference).unwrap();
    std::fs::write(dir.path().join("c.csv"), current).unwrap();
    let out = roadmap()
        .args(["monitor", "drift", "--json", "--reference"])
        .arg(dir.path().join("r.csv"))
        .arg("--current")
        .arg(dir.path().join("c.csv"))
        .arg("--html")
        .arg(dir.path().join("r.html"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<(String, bool, String)> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["column"].as_str().unwrap().to_string(),
                c["drifted"].as_bool().unwrap(),
                c["test"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Numeric with > 5 values and <= 1000 reference rows: Kolmogorov-Smirnov, as Evidently.
    assert_eq!(
        verdicts,
        [
            ("x".to_string(), true, "ks".to_string()),
            ("y".to_string(), false, "ks".to_string())
        ]
    );
    assert_eq!(v["share_drifted"], 0.5);
    assert_eq!(v["dataset_drift"], true); // share >= 0.5
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(
        html.contains("<svg") && html.len() < 200_000,
        "{}",
        html.len()
    );
    roadmap()
        .args(["monitor", "drift", "--reference"])
        .arg(dir.path().join("r.csv"))
        .arg("--current")
        .arg(dir.path().join("c.csv"))
        .args(["--stattest", "x=nope"])
        .assert()
        .failure();
}
