//! The Adult census data (the `adult-census` asset, 32,561 rows × 15 columns) validated and drift-checked.
//!
//! 1. The file is split in halves: reference = rows [0, 16280), current = rows [16280, 32561) (the split
//!    of `capstone_anchor.py drift`).
//! 2. A **shifted** copy of the current half is written with a documented change, the kind a broken
//!    upstream job or a new population produces:
//!    - `age`: +8 years for every row;
//!    - `hours-per-week`: every 3rd row works 60 hours;
//!    - `workclass`: every 4th row becomes `Self-emp-inc`;
//!    - corruptions: row 10 has age `unknown`, row 11 has hours-per-week `-5`, row 12 has sex `F`.
//! 3. A schema is inferred from the reference half (`schema.toml`), then both current files are
//!    validated against it (failure cases → `failures.csv`).
//! 4. Drift: reference vs current (the same population: no drift expected) with Evidently's defaults,
//!    then reference vs shifted. With the defaults the single `unknown` in `age` would make the column
//!    text-typed (pandas reads it as strings, and Evidently would test it as categorical); the shifted
//!    comparison therefore takes the column types from the schema (`DriftOptions::with_schema`), so
//!    `age` stays numerical and its one bad cell is left out like a null. Tables on the terminal,
//!    `drift.json` and `drift.html` (the shifted comparison).
//!
//! ```sh
//! cargo run --release -p roadmap-quality --example adult -- [--out DIR] [--cache DIR]
//! ```
//! The data comes from the project's asset manager (`ROADMAP_ADULT_CENSUS_DIR` may point at a folder
//! holding `adult.csv`).

use std::path::PathBuf;
use std::time::Instant;

use roadmap_quality::drift::{drift_csv, DriftOptions};
use roadmap_quality::infer_schema;
use roadmap_quality::validate::{validate_csv, ValidateOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::env::temp_dir().join("roadmap-quality-adult");
    let mut cache = std::env::var_os("ROADMAP_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("roadmap-cache"));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(args.next().ok_or("--out needs a folder")?),
            "--cache" => cache = PathBuf::from(args.next().ok_or("--cache needs a folder")?),
            other => {
                return Err(format!("unknown argument {other}; use --out DIR, --cache DIR").into())
            }
        }
    }
    std::fs::create_dir_all(&out)?;
    let dir = roadmap_common::assets::ensure(&cache, "adult-census")?;
    let adult = dir.join("adult.csv");

    // 1–2: halves and the shifted copy.
    let mut reader = csv::Reader::from_path(&adult)?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or(format!("adult.csv has no column {name}"))
    };
    let (age, hours, workclass, sex) = (
        col("age")?,
        col("hours-per-week")?,
        col("workclass")?,
        col("sex")?,
    );
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let half = rows.len() / 2;
    let write = |name: &str,
                 rows: &mut dyn Iterator<Item = csv::StringRecord>|
     -> Result<PathBuf, Box<dyn std::error::Error>> {
        let path = out.join(name);
        let mut w = csv::Writer::from_path(&path)?;
        w.write_record(&headers)?;
        for r in rows {
            w.write_record(&r)?;
        }
        w.flush()?;
        Ok(path)
    };
    let reference = write("reference.csv", &mut rows[..half].iter().cloned())?;
    let current = write("current.csv", &mut rows[half..].iter().cloned())?;
    let shifted = write(
        "current_shifted.csv",
        &mut rows[half..].iter().enumerate().map(|(i, r)| {
            let mut f: Vec<String> = r.iter().map(str::to_string).collect();
            f[age] = (f[age].trim().parse::<i64>().unwrap_or(0) + 8).to_string();
            if i % 3 == 0 {
                f[hours] = "60".into();
            }
            if i % 4 == 0 {
                f[workclass] = "Self-emp-inc".into();
            }
            match i {
                10 => f[age] = "unknown".into(),
                11 => f[hours] = "-5".into(),
                12 => f[sex] = "F".into(),
                _ => {}
            }
            csv::StringRecord::from(f)
        }),
    )?;
    println!(
        "Adult: {} rows; reference {} rows, current {} rows, written to {}",
        rows.len(),
        half,
        rows.len() - half,
        out.display()
    );

    // 3: schema from the reference half, validation of both current files.
    let t = Instant::now();
    let schema = infer_schema(&reference)?;
    std::fs::write(out.join("schema.toml"), schema.to_toml())?;
    println!(
        "\ninferred schema.toml ({} columns) in {:.1} ms",
        schema.columns.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    for path in [&current, &shifted] {
        let t = Instant::now();
        let report = validate_csv(&schema, path, &ValidateOptions::default())?;
        println!(
            "\nvalidation ({:.1} ms)\n{}",
            t.elapsed().as_secs_f64() * 1e3,
            report.summary()
        );
        if report.has_failures() {
            report.write_failures_csv(std::fs::File::create(out.join("failures.csv"))?)?;
        }
    }

    // 4: drift.
    let opts = DriftOptions::default();
    let t = Instant::now();
    let same = drift_csv(&reference, &current, &opts)?;
    println!(
        "\ndrift, reference vs current half ({:.1} ms)\n{}",
        t.elapsed().as_secs_f64() * 1e3,
        same.render_table()
    );
    let t = Instant::now();
    let report = drift_csv(
        &reference,
        &shifted,
        &DriftOptions::default().with_schema(&schema),
    )?;
    println!(
        "drift, reference vs shifted half, column types from the schema ({:.1} ms)\n{}",
        t.elapsed().as_secs_f64() * 1e3,
        report.render_table()
    );
    std::fs::write(
        out.join("drift.json"),
        serde_json::to_string_pretty(&report.to_json())?,
    )?;
    let html = report.to_html()?;
    std::fs::write(out.join("drift.html"), &html)?;
    println!(
        "wrote {} ({} KB), drift.json, schema.toml, failures.csv",
        out.join("drift.html").display(),
        html.len() / 1024
    );
    Ok(())
}
