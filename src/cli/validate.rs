//! `roadmap validate`: check a CSV file against a declarative schema (the
//! pandera / Great Expectations equivalent of phase 6), or write a starting
//! schema from clean data with `--infer`.
//!
//! Exit status: 0 when every check passed, 1 when anything failed (the
//! failure cases are listed), 2 when the schema itself is unusable.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use roadmap_quality::{infer_schema, validate_csv, Schema, ValidateOptions};

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data to check (CSV with a header row)
    #[arg(value_name = "DATA.csv", required_unless_present = "infer")]
    data: Option<PathBuf>,
    /// The schema (TOML): columns with type, nullable, unique, min/max, allowed values, regex, length;
    /// dataset checks
    #[arg(long, value_name = "SCHEMA.toml", required_unless_present = "infer")]
    schema: Option<PathBuf>,
    /// Write a starting schema inferred from this clean CSV to stdout (or --out)
    #[arg(long, value_name = "DATA.csv", conflicts_with_all = ["data", "schema", "failures", "json"])]
    infer: Option<PathBuf>,
    /// With --infer: write the schema here instead of stdout
    #[arg(long, value_name = "FILE", requires = "infer")]
    out: Option<PathBuf>,
    /// Print the report as one JSON object (pandera's failure-case columns)
    #[arg(long)]
    json: bool,
    /// Also write every failure case to this CSV (schema_context, column, check, check_number,
    /// failure_case, index)
    #[arg(long, value_name = "OUT.csv")]
    failures: Option<PathBuf>,
    /// Keep at most this many failure cases in the report (all are counted)
    #[arg(long, default_value_t = 100_000, value_parser = crate::flags::count_in(1..=100_000_000))]
    max_failure_cases: usize,
}

pub fn run(args: Args, _g: &Globals) -> Result<ExitCode> {
    if let Some(clean) = &args.infer {
        let schema = infer_schema(clean)?;
        let text = schema.to_toml();
        match &args.out {
            Some(p) => {
                std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?
            }
            None => print!("{text}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (data, schema_path) = (
        args.data.as_ref().expect("clap"),
        args.schema.as_ref().expect("clap"),
    );
    let schema = match Schema::from_path(schema_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let opts = ValidateOptions {
        max_failure_cases: Some(args.max_failure_cases),
        ..Default::default()
    };
    let report = match validate_csv(&schema, data, &opts) {
        Ok(r) => r,
        Err(e) if e.is_schema_error() => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(path) = &args.failures {
        let f = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        report.write_failures_csv(std::io::BufWriter::new(f))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        println!("{}", report.summary());
    }
    Ok(ExitCode::from(report.exit_code() as u8))
}
