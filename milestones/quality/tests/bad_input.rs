//! Bad input gives a clear error (what, where, how to fix) or a reported failure case — never a panic.

use std::io::Write;

use roadmap_quality::drift::{drift_csv, drift_readers, DriftOptions, StatTest};
use roadmap_quality::validate::{validate_csv, validate_reader, ValidateOptions};
use roadmap_quality::{QualityError, Schema};

fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f
}

fn schema(text: &str) -> Schema {
    Schema::from_toml_str(text).unwrap()
}

const AB: &str =
    "[[columns]]\nname = \"a\"\ntype = \"int\"\n[[columns]]\nname = \"b\"\ntype = \"string\"\n";

#[test]
fn ragged_row_is_an_error_with_its_line_and_row() {
    let data = file(b"a,b\n1,x\n2,y,extra\n3,z\n");
    let err = validate_csv(&schema(AB), data.path(), &ValidateOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            QualityError::Ragged {
                line: 3,
                row: 1,
                found: 3,
                expected: 2,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("line 3") && msg.contains("data row 1") && msg.contains("3 fields"),
        "{msg}"
    );
    let good = file(b"a,b\n1,x\n");
    let err = drift_csv(good.path(), data.path(), &DriftOptions::default()).unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn column_missing_from_current_data_is_named() {
    let err = drift_readers(
        "a,b\n1,x\n2,y\n".as_bytes(),
        "a\n1\n2\n".as_bytes(),
        &DriftOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, QualityError::MissingColumn { column, .. } if column == "b"),
        "{err}"
    );
    assert!(err.to_string().contains("`b`"));
}

#[test]
fn missing_required_column_is_a_failure_case_in_validation() {
    let r = validate_reader(
        &schema(AB),
        "a\n1\n".as_bytes(),
        &ValidateOptions::default(),
    )
    .unwrap();
    assert_eq!(r.failure_cases.len(), 1);
    assert_eq!(r.failure_cases[0].check, "column_in_dataframe");
    assert_eq!(r.failure_cases[0].failure_case.as_deref(), Some("b"));
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn empty_files_and_header_only_files() {
    let empty = file(b"");
    let err = validate_csv(&schema(AB), empty.path(), &ValidateOptions::default()).unwrap_err();
    assert!(matches!(err, QualityError::EmptyFile { .. }), "{err}");
    assert!(err.to_string().contains("no header row"));
    let header_only = file(b"a,b\n");
    let s = schema(&format!("[dataset]\nmin_rows = 1\n{AB}"));
    let r = validate_csv(&s, header_only.path(), &ValidateOptions::default()).unwrap();
    assert_eq!(r.rows, 0);
    assert_eq!(r.failure_cases[0].check, "row_count_in_range(1, None)");
    assert_eq!(r.failure_cases[0].failure_case.as_deref(), Some("0"));
    let err = drift_csv(
        header_only.path(),
        header_only.path(),
        &DriftOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, QualityError::NoRows { .. }), "{err}");
    let err = drift_csv(empty.path(), header_only.path(), &DriftOptions::default()).unwrap_err();
    assert!(matches!(err, QualityError::EmptyFile { .. }), "{err}");
}

#[test]
fn all_null_columns_are_failures_or_skipped_columns() {
    let s = schema("[[columns]]\nname = \"a\"\ntype = \"float\"\n[[columns]]\nname = \"b\"\ntype = \"float\"\nnullable = true\n");
    let r = validate_reader(&s, "a,b\n,\nNA,\n".as_bytes(), &ValidateOptions::default()).unwrap();
    let checks: Vec<(&str, Option<u64>)> = r
        .failure_cases
        .iter()
        .map(|f| (f.check.as_str(), f.index))
        .collect();
    assert_eq!(
        checks,
        [("not_nullable", Some(0)), ("not_nullable", Some(1))]
    );
    let d = drift_readers(
        "x,n\n1,\n2,\n3,\n".as_bytes(),
        "x,n\n1,\n5,\n9,\n".as_bytes(),
        &DriftOptions::default(),
    )
    .unwrap();
    let n = &d.columns[1];
    assert!(
        n.skipped.as_deref().unwrap().contains("no numeric value"),
        "{:?}",
        n.skipped
    );
    assert!(!n.drifted);
    assert_eq!(
        d.number_of_columns, 1,
        "a skipped column does not count towards the drift share"
    );
}

#[test]
fn non_utf8_bytes_are_an_error_naming_line_and_column() {
    let data = file(b"a,b\n1,ok\n2,caf\xe9\n");
    let err = validate_csv(&schema(AB), data.path(), &ValidateOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("line 3")
            && msg.contains("column `b`")
            && msg.contains("UTF-8")
            && msg.contains("iconv"),
        "{msg}"
    );
    let err = drift_csv(data.path(), data.path(), &DriftOptions::default()).unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    let err = validate_reader(
        &schema(AB),
        &b"a,\xff\n1,2\n"[..],
        &ValidateOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("header"), "{err}");
}

#[test]
fn unknown_check_and_bad_regex_are_schema_errors_with_lines() {
    let err =
        Schema::from_toml_str("[[columns]]\nname = \"a\"\ntype = \"int\"\nis_positive = true\n")
            .unwrap_err();
    assert!(err.is_schema_error());
    let msg = err.to_string();
    assert!(
        msg.contains("line 4") && msg.contains("is_positive"),
        "{msg}"
    );
    let err =
        Schema::from_toml_str("[[columns]]\nname = \"a\"\ntype = \"string\"\nregex = \"[a-z\"\n")
            .unwrap_err();
    let msg = err.to_string();
    assert!(
        err.is_schema_error()
            && msg.contains("line 4")
            && msg.contains("[a-z")
            && msg.contains("does not compile"),
        "{msg}"
    );
    let err = Schema::from_toml_str("[dataset]\nstrictt = true\n").unwrap_err();
    assert!(
        err.to_string().contains("line 2") && err.to_string().contains("strictt"),
        "{err}"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_its_own_failure_and_the_column_is_still_checked() {
    let s = schema("[[columns]]\nname = \"n\"\ntype = \"int\"\nnullable = true\nmax = 10\n[[columns]]\nname = \"t\"\ntype = \"datetime\"\n[[columns]]\nname = \"f\"\ntype = \"bool\"\n");
    let r = validate_reader(&s, "n,t,f\n1,2024-01-02,True\nabc,2024-13-01,yes\n50,2024-01-03 10:00:00,false\n,2024-01-04T10:00:00Z,FALSE\n".as_bytes(), &ValidateOptions::default()).unwrap();
    let got: Vec<(String, String, Option<u64>)> = r
        .failure_cases
        .iter()
        .map(|f| (f.column.clone().unwrap(), f.check.clone(), f.index))
        .collect();
    let want = [
        ("n", "coerce_dtype('Int64')", Some(1)),
        ("n", "less_than_or_equal_to(10)", Some(2)),
        ("t", "coerce_dtype('datetime64[ns]')", Some(1)),
        ("f", "coerce_dtype('bool')", Some(1)),
    ];
    let want: Vec<(String, String, Option<u64>)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn invalid_drift_overrides_are_errors() {
    let mut opts = DriftOptions::default();
    opts.stattest.insert("c".into(), StatTest::Ks);
    let err = drift_readers("c\na\nb\n".as_bytes(), "c\na\na\n".as_bytes(), &opts).unwrap_err();
    assert!(err.to_string().contains("does not apply"), "{err}");
    let mut opts = DriftOptions::default();
    opts.stattest.insert("c".into(), StatTest::Z);
    let err = drift_readers(
        "c\na\nb\nc\na\nb\nc\n".as_bytes(),
        "c\na\na\nb\nb\nc\nc\n".as_bytes(),
        &opts,
    )
    .unwrap_err();
    assert!(err.to_string().contains("two categories"), "{err}");
}

#[test]
fn failure_cases_can_be_capped_while_counts_stay_exact() {
    let s = schema("[[columns]]\nname = \"a\"\ntype = \"int\"\nmax = 0\n");
    let data: String = std::iter::once("a\n".to_string())
        .chain((1..=100).map(|i| format!("{i}\n")))
        .collect();
    let r = validate_reader(
        &s,
        data.as_bytes(),
        &ValidateOptions {
            max_failure_cases: Some(10),
            single_thread: true,
        },
    )
    .unwrap();
    assert_eq!(r.failure_count, 100);
    assert_eq!(r.failure_cases.len(), 10);
    assert!(r.truncated && r.summary().contains("first 10"));
    assert_eq!(r.checks[0].failures, 100);
}

#[test]
fn reports_render_as_csv_json_table_and_small_html() {
    let s = schema(AB);
    let r = validate_reader(&s, "a,b\nx,1\n".as_bytes(), &ValidateOptions::default()).unwrap();
    let mut csv = Vec::new();
    r.write_failures_csv(&mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv, "schema_context,column,check,check_number,failure_case,index\nColumn,a,coerce_dtype('int64'),,x,0\n");
    assert_eq!(r.to_json()["valid"], false);

    let rows: String = (0..2000)
        .map(|i| format!("{},{}\n", i % 97, ["p", "q", "r"][i % 3]))
        .collect();
    let shifted: String = (0..2000)
        .map(|i| format!("{},{}\n", i % 89 + 5, ["p", "q", "q"][i % 3]))
        .collect();
    let d = drift_readers(
        format!("x,c\n{rows}").as_bytes(),
        format!("x,c\n{shifted}").as_bytes(),
        &DriftOptions::default(),
    )
    .unwrap();
    let json = d.to_json();
    assert!(json["dataset_drift"].is_boolean() && json["share_drifted"].is_number());
    let col = &json["columns"][0];
    for key in [
        "test",
        "threshold",
        "score",
        "drifted",
        "ks_statistic",
        "ks_pvalue",
        "wasserstein",
        "wasserstein_normed",
        "psi",
        "jensenshannon",
        "chisquare",
        "chisquare_pvalue",
    ] {
        assert!(!col[key].is_null(), "{key} missing from {col}");
    }
    let table = d.render_table();
    assert!(
        table.contains("wasserstein") && table.contains("jensenshannon"),
        "{table}"
    );
    let html = d.to_html().unwrap();
    assert!(
        html.contains("<svg") && !html.contains("<script") && html.len() < 100_000,
        "{} bytes",
        html.len()
    );
}
