//! A starting schema from clean data, in the spirit of pandera's `infer_schema` (and Great Expectations'
//! profiler): one streaming pass records each column's type, nulls, range and distinct values.
//!
//! Rules (a schema to edit, not a verdict):
//! - type: pandas' inference ([`crate::table::TypeTracker`]): int, float, bool; else datetime when every
//!   value parses as one; else **category** when the column has at most [`MAX_CATEGORIES`] distinct
//!   values and they repeat (distinct ≤ half the non-null values), else string;
//! - `nullable = true` only when a null was seen (pandera infers the same);
//! - int/float columns get `min`/`max` = the observed range (pandera infers `in_range(min, max)` checks);
//!   categories get `allowed` = the sorted distinct values;
//! - the dataset gets `strict = true` (no unexpected columns) and `min_rows = 1`.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use crate::schema::{Check, ColumnSchema, DType, Literal, Number, Schema};
use crate::table::{self, CsvSource, InferredType, TypeTracker};
use crate::Result;

/// Most distinct values a column may have to be inferred as a category.
pub const MAX_CATEGORIES: usize = 50;

struct Profile {
    types: TypeTracker,
    min: f64,
    max: f64,
    distinct: Option<BTreeSet<String>>,
    maybe_datetime: bool,
}

/// Infers a schema from a CSV file.
pub fn infer_schema(path: &Path) -> Result<Schema> {
    infer_from(CsvSource::open(path)?)
}

/// Infers a schema from CSV text.
pub fn infer_schema_reader<R: Read>(input: R) -> Result<Schema> {
    infer_from(CsvSource::new(input, "<input>".into())?)
}

fn infer_from<R: Read>(mut src: CsvSource<R>) -> Result<Schema> {
    let mut profiles: Vec<Profile> = src
        .headers
        .iter()
        .map(|_| Profile {
            types: TypeTracker::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            distinct: Some(BTreeSet::new()),
            maybe_datetime: true,
        })
        .collect();
    while src.advance()? {
        let record = src.record();
        for (i, p) in profiles.iter_mut().enumerate() {
            let cell = table::trim_start(&record[i]);
            if let Some(v) = p.types.push(cell) {
                p.min = p.min.min(v);
                p.max = p.max.max(v);
            }
            if table::is_na(cell.as_bytes()) {
                continue;
            }
            let text = cell;
            if p.maybe_datetime && !looks_like_datetime(text) {
                p.maybe_datetime = false;
            }
            if let Some(d) = p.distinct.as_mut() {
                if !d.contains(text) {
                    d.insert(text.to_string());
                    if d.len() > MAX_CATEGORIES {
                        p.distinct = None;
                    }
                }
            }
        }
    }
    let mut schema = Schema::default();
    schema.dataset.strict = true;
    schema.dataset.min_rows = Some(1);
    for (name, p) in src.headers.iter().zip(profiles) {
        let non_null = p.types.non_null;
        let dtype = match p.types.dtype() {
            _ if non_null == 0 => DType::String,
            InferredType::Int => DType::Int,
            InferredType::Float => DType::Float,
            InferredType::Bool => DType::Bool,
            InferredType::Object if p.maybe_datetime => DType::Datetime,
            InferredType::Object => match &p.distinct {
                Some(d) if (d.len() as u64) * 2 <= non_null => DType::Category,
                _ => DType::String,
            },
        };
        let mut col = ColumnSchema::new(name, dtype);
        col.nullable = p.types.nulls > 0;
        match dtype {
            DType::Int => col.checks.push(Check::Range {
                min: Some(Number::Int(p.min as i64)),
                max: Some(Number::Int(p.max as i64)),
                min_inclusive: true,
                max_inclusive: true,
            }),
            DType::Float if p.min.is_finite() && p.max.is_finite() => {
                col.checks.push(Check::Range {
                    min: Some(Number::Float(p.min)),
                    max: Some(Number::Float(p.max)),
                    min_inclusive: true,
                    max_inclusive: true,
                })
            }
            DType::Category => {
                let values = p
                    .distinct
                    .unwrap_or_default()
                    .into_iter()
                    .map(Literal::Str)
                    .collect();
                col.checks.push(Check::Allowed(values));
            }
            _ => {}
        }
        schema.columns.push(col);
    }
    Ok(schema)
}

fn looks_like_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_ranges_and_categories() {
        let data = "id,score,city,when,ok\n1,0.5,Paris,2024-01-01,true\n2,,Paris,2024-01-02,false\n3,2.5,Rome,2024-01-03,true\n4,1,Rome,2024-01-04,true\n";
        let s = infer_schema_reader(data.as_bytes()).unwrap();
        let types: Vec<DType> = s.columns.iter().map(|c| c.dtype).collect();
        assert_eq!(
            types,
            [
                DType::Int,
                DType::Float,
                DType::Category,
                DType::Datetime,
                DType::Bool
            ]
        );
        assert!(s.columns[1].nullable && !s.columns[0].nullable);
        assert_eq!(s.columns[0].checks[0].pandera_name(), "in_range(1, 4)");
        assert_eq!(
            s.columns[2].checks[0].pandera_name(),
            "isin(['Paris', 'Rome'])"
        );
        // The inferred schema accepts the data it came from.
        let r = crate::validate::validate_reader(&s, data.as_bytes(), &Default::default()).unwrap();
        assert!(!r.has_failures(), "{}", r.summary());
        assert!(Schema::from_toml_str(&s.to_toml()).is_ok());
    }
}
