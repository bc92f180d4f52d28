//! The mentor's dashboard over HTTP: the real binary serving three learners'
//! databases on 127.0.0.1, every page fetched, the databases byte-identical
//! afterwards, and the token enforced.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{cohort, roadmap_cmd, serve};

use reqwest::blocking::Client;
use reqwest::StatusCode;

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn get(url: &str) -> (StatusCode, String) {
    let r = client().get(url).send().unwrap();
    (r.status(), r.text().unwrap())
}

fn files(dbs: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for db in dbs {
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", db.display()));
            if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

#[test]
fn every_page_serves_and_the_databases_stay_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let dbs = cohort(dir.path());
    let before = files(&dbs);
    let s = serve(dir.path(), &dbs, &[]);

    let r = client().get(format!("{}/", s.url)).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let home = r.text().unwrap();
    for l in ["alice", "bob", "carol", "alice.db", "bob.db", "carol.db"] {
        assert!(home.contains(l), "{l} missing from the cohort page");
    }
    assert!(home.contains("href=\"/learner/0/alice\""), "{home}");
    assert!(!home.contains("<script"), "no JavaScript");
    // alice's phase-1 milestone is done (its run passed: green), phase 2's run failed (red).
    assert!(home.contains("class=\"ok small\">done</td>"), "{home}");
    assert!(
        home.contains("class=\"bad small\">failed (run #2)"),
        "{home}"
    );

    // Sorting: by study time this week, most first: bob (5h) > alice (2h) > carol (30m).
    let (_, sorted) = get(&format!("{}/?sort=week&dir=desc", s.url));
    let pos = |n: &str| sorted.find(&format!(">{n}</a>")).unwrap();
    assert!(pos("bob") < pos("alice") && pos("alice") < pos("carol"));
    let (_, sorted) = get(&format!("{}/?sort=week&dir=asc", s.url));
    let pos = |n: &str| sorted.find(&format!(">{n}</a>")).unwrap();
    assert!(pos("carol") < pos("alice") && pos("alice") < pos("bob"));

    let (st, page) = get(&format!("{}/learner/0/alice", s.url));
    assert_eq!(st, StatusCode::OK);
    // minijinja escapes `/` in values as `&#x2f;` (browsers decode it in attributes).
    let page = page.replace("&#x2f;", "/");
    assert!(page.contains("<svg class=\"chart\""), "chart");
    assert!(page.contains("week of"), "chart bars");
    assert!(page.contains("score=0.9000"), "metrics");
    assert!(
        page.contains("✓ score &gt;= 0.5 (got 0.9000)"),
        "criteria: {page}"
    );
    assert!(page.contains("revisit eigenvectors"), "notes");
    assert!(
        page.contains("gradients &lt;b&gt;bold&lt;/b&gt;"),
        "escaped session note in the timeline"
    );
    assert!(page.contains("run_finished"), "timeline");
    assert!(page.contains("/artifact/0/1/loss.svg"), "artifact link");
    assert!(
        page.contains("<img class=\"artifact\" src=\"/artifact/0/1/loss.svg\""),
        "plot shown"
    );

    let r = client()
        .get(format!("{}/artifact/0/1/loss.svg", s.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox"));
    assert!(r.text().unwrap().contains("<rect"));
    let (st, _) = get(&format!("{}/artifact/0/1/selftest.txt", s.url));
    assert_eq!(st, StatusCode::OK);

    for bad in [
        "/artifact/0/1/..%2F..%2Falice.db",
        "/artifact/0/1/%2E%2E",
        "/artifact/0/99/loss.svg",
        "/artifact/0/1/missing.svg",
        "/learner/0/nobody",
        "/learner/7/alice",
        "/nothing-here",
    ] {
        let (st, body) = get(&format!("{}{bad}", s.url));
        assert_eq!(st, StatusCode::NOT_FOUND, "{bad}: {body}");
    }

    let (st, cap) = get(&format!("{}/capstone", s.url));
    assert_eq!(st, StatusCode::OK);
    for l in ["alice", "bob", "carol"] {
        assert!(
            cap.contains(&format!(">{l}</a>")),
            "{l} on the capstone page"
        );
    }
    assert!(cap.contains("phase6."), "the capstone's items");

    drop(s);
    // The database files are byte-identical. A read-only reader of a WAL
    // database needs SQLite's shared-memory index (-shm) and may leave it and
    // an empty -wal behind (it may not delete them); nothing is written to them.
    let after = files(&dbs);
    let main_files = |f: &[(PathBuf, Vec<u8>)]| {
        f.iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "db"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(main_files(&before).len(), 3);
    assert!(
        main_files(&before) == main_files(&after),
        "a database file changed while browsing"
    );
    for (p, bytes) in &after {
        if p.display().to_string().ends_with("-wal") {
            assert!(bytes.is_empty(), "{} holds writes", p.display());
        }
    }
}

#[test]
fn the_token_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let dbs = cohort(dir.path());
    let token = "0123456789abcdef-token";
    let s = serve(dir.path(), &dbs[..1], &["--token", token]);

    let (st, body) = get(&format!("{}/", s.url));
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body.contains("needs its token") && !body.contains(token));
    let (st, _) = get(&format!("{}/learner/0/alice", s.url));
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = get(&format!("{}/?token=wrong-token-0123456789", s.url));
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    let r = client()
        .get(format!("{}/", s.url))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = client()
        .get(format!("{}/learner/0/alice?token={token}", s.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/learner/0/alice");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap();
    let r = client()
        .get(format!("{}/learner/0/alice", s.url))
        .header("cookie", pair)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[test]
fn bad_settings_are_refused_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let dbs = cohort(dir.path());
    let run = |args: &[&str]| {
        let out = roadmap_cmd(dir.path())
            .arg("dashboard")
            .arg("--db")
            .arg(&dbs[0])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run(&["--addr", "0.0.0.0:0"]);
    assert!(
        e.contains("reachable from other machines") && e.contains("--token"),
        "{e}"
    );
    let e = run(&["--token", "short"]);
    assert!(e.contains("too short"), "{e}");
    let e = roadmap_cmd(dir.path())
        .args(["dashboard", "--db"])
        .arg(dir.path().join("missing.db"))
        .output()
        .unwrap();
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("no progress database at"));
    // Other commands take one database.
    let out = roadmap_cmd(dir.path())
        .arg("status")
        .arg("--db")
        .arg(&dbs[0])
        .arg("--db")
        .arg(&dbs[1])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only `roadmap dashboard` reads several"));
}

#[test]
fn the_html_report_uses_the_dashboard_templates() {
    let dir = tempfile::tempdir().unwrap();
    let dbs = cohort(dir.path());
    let out_file = dir.path().join("report.html");
    let out = roadmap_cmd(dir.path())
        .arg("--db")
        .arg(&dbs[0])
        .args(["report", "--all", "--format", "html", "--out"])
        .arg(&out_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&out_file).unwrap();
    assert!(html.contains("<svg class=\"chart\""));
    assert!(html.contains("✓ score &gt;= 0.5 (got 0.9000)"));
    assert!(html.contains("loss.svg"), "artifacts listed by path");
    assert!(
        !html.contains("<nav>"),
        "a static file has no dashboard links"
    );
}
