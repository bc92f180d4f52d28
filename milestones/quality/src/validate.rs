//! Lazy, streaming validation of a CSV file against a [`Schema`] — pandera's `schema.validate(df,
//! lazy=True)` without loading the table.
//!
//! One pass over the records; each cell is trimmed of leading spaces, tested for null (pandas' NA
//! strings), parsed to the column's type and run through the column's checks. **Every** failure is
//! collected (lazy), into pandera's failure-case table:
//!
//! | column | meaning |
//! |---|---|
//! | `schema_context` | `Column` for column checks, `DataFrameSchema` for table checks |
//! | `column` | the column (empty for table-wide checks such as a missing column) |
//! | `check` | pandera's name for the check: `in_range(17, 90)`, `isin(['a', 'b'])`, `not_nullable`, `coerce_dtype('int64')`, `field_uniqueness`, `column_in_dataframe`, … |
//! | `check_number` | the check's position among the column's numbered checks (empty for the others) |
//! | `failure_case` | the offending value as written in the file (empty for a null) |
//! | `index` | 0-based data row (empty for table-wide checks) |
//!
//! Memory stays flat as the file grows: one record buffer is reused, and only uniqueness checks keep
//! state (a 128-bit hash and a row number per distinct value). The failure cases themselves are kept in
//! memory for the report; [`ValidateOptions::max_failure_cases`] caps them (the counts stay exact).
//!
//! **Where this deliberately differs from pandera 0.35** (with `coerce=True` on every column, reading
//! the file with `pd.read_csv(path, skipinitialspace=True)`):
//! - a value that does not parse as the column's type gives **one** `coerce_dtype('int64')` failure at
//!   its row and the rest of the column is still checked; pandera also reports a `dtype('int64')` row for
//!   it and then fails every other check of that column with a single `TypeError` row (index empty),
//!   hiding the real failures;
//! - a null in a non-nullable int column is one `not_nullable` failure (pandera adds `coerce_dtype` and
//!   `dtype` rows for the same cell, because NaN cannot be an int64). A *nullable* int column is
//!   pandas' nullable `Int64` in the equivalent pandera schema (with `int64` every null would fail
//!   coercion), so its type failures read `coerce_dtype('Int64')`;
//! - uniqueness follows pandera: `field_uniqueness` ignores nulls, and `multiple_fields_uniqueness`
//!   treats nulls as equal when comparing rows but leaves the null cells out of the table;
//! - `failure_case` is the text in the file (`"100"`), where pandera shows the parsed pandas value
//!   (`100.0` in a float column);
//! - a bool cell must be one of pandas' literals (`True/TRUE/true/False/FALSE/false`); pandera's
//!   `astype(bool)` turns any non-empty string into `True` without a failure;
//! - an int cell must be an integer (`7`, or `7.0` with no fraction); pandas' `astype('int64')` would
//!   silently truncate `7.5`;
//! - a row count outside `[min_rows, max_rows]` is a `DataFrameSchema` failure
//!   `row_count_in_range(min, max)` whose `failure_case` is the row count (pandera has no built-in check).
//!
//! Datetime cells accept `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fff]]` (or with `T`) and RFC 3339 with an
//! offset, each cell on its own; pandas infers one format from the first value and pandera then fails
//! the whole column (one `coerce_dtype` row without an index) when a later value uses another.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::io::{Read, Write};
use std::path::Path;

use serde::Serialize;

use crate::schema::{Check, ColumnSchema, DType, Literal, Schema};
use crate::table::{self, CsvSource};
use crate::{QualityError, Result};

/// Options of a validation run.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Keep at most this many failure cases in the report (every failure is still counted). `None` keeps all.
    pub max_failure_cases: Option<usize>,
    /// Read and check on the calling thread only (by default a second thread parses the CSV while this
    /// one checks, which halves the wall time on an otherwise idle multi-core machine).
    pub single_thread: bool,
}

/// One row of pandera's failure-case table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureCase {
    pub schema_context: String,
    pub column: Option<String>,
    pub check: String,
    pub check_number: Option<usize>,
    pub failure_case: Option<String>,
    pub index: Option<u64>,
}

/// How many failures one check had.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckFailures {
    pub column: Option<String>,
    pub check: String,
    pub failures: u64,
}

/// The outcome of a validation run.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// Where the data came from.
    pub origin: String,
    /// Data rows read.
    pub rows: u64,
    /// The data's columns, in file order.
    pub columns: Vec<String>,
    /// The failure cases, ordered by table checks first, then by schema column, check and row.
    pub failure_cases: Vec<FailureCase>,
    /// Every failure, including any left out of `failure_cases` by the cap.
    pub failure_count: u64,
    /// True when `max_failure_cases` left some out.
    pub truncated: bool,
    /// Failures per check, in the same order as the table.
    pub checks: Vec<CheckFailures>,
}

impl ValidationReport {
    /// True when anything failed (the CLI exits with status 1).
    pub fn has_failures(&self) -> bool {
        self.failure_count > 0
    }

    /// The process exit status for this report: 1 when anything failed, else 0 (an unusable schema is
    /// an `Err` with [`QualityError::is_schema_error`], status 2).
    pub fn exit_code(&self) -> i32 {
        i32::from(self.has_failures())
    }

    /// A short human summary: verdict, then one line per failing check with a few example rows.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} rows, {} columns\n",
            self.origin,
            self.rows,
            self.columns.len()
        );
        if !self.has_failures() {
            s.push_str("OK: every check passed\n");
            return s;
        }
        s.push_str(&format!(
            "FAILED: {} failure case{} in {} check{}\n",
            self.failure_count,
            if self.failure_count == 1 { "" } else { "s" },
            self.checks.len(),
            if self.checks.len() == 1 { "" } else { "s" }
        ));
        for c in &self.checks {
            let rows: Vec<String> = self
                .failure_cases
                .iter()
                .filter(|f| f.column == c.column && f.check == c.check)
                .take(5)
                .map(|f| match (f.index, &f.failure_case) {
                    (Some(i), Some(v)) => format!("row {i}: {v:?}"),
                    (Some(i), None) => format!("row {i}: null"),
                    (None, Some(v)) => v.clone(),
                    (None, None) => "-".into(),
                })
                .collect();
            let more = if c.failures > rows.len() as u64 {
                ", …"
            } else {
                ""
            };
            let check: String = if c.check.chars().count() > 40 {
                c.check
                    .chars()
                    .take(39)
                    .chain(std::iter::once('…'))
                    .collect()
            } else {
                c.check.clone()
            };
            s.push_str(&format!(
                "  {:<20} {:<40} {:>7}  {}{}\n",
                c.column.as_deref().unwrap_or("(table)"),
                check,
                c.failures,
                rows.join(", "),
                more
            ));
        }
        if self.truncated {
            s.push_str(&format!(
                "  (only the first {} failure cases were kept)\n",
                self.failure_cases.len()
            ));
        }
        s
    }

    /// Writes the failure cases as CSV with pandera's columns (empty cells for missing values).
    pub fn write_failures_csv<W: Write>(&self, out: W) -> Result<()> {
        let mut w = csv::Writer::from_writer(out);
        let io = |e: csv::Error| QualityError::Render(format!("writing failure cases: {e}"));
        w.write_record([
            "schema_context",
            "column",
            "check",
            "check_number",
            "failure_case",
            "index",
        ])
        .map_err(io)?;
        for f in &self.failure_cases {
            w.write_record([
                f.schema_context.as_str(),
                f.column.as_deref().unwrap_or(""),
                f.check.as_str(),
                &f.check_number.map(|n| n.to_string()).unwrap_or_default(),
                f.failure_case.as_deref().unwrap_or(""),
                &f.index.map(|n| n.to_string()).unwrap_or_default(),
            ])
            .map_err(io)?;
        }
        w.flush()
            .map_err(|e| QualityError::io("writing failure cases", e))
    }

    /// The report as JSON (`valid`, `rows`, `failure_count`, `checks`, `failure_cases`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "origin": self.origin,
            "valid": !self.has_failures(),
            "rows": self.rows,
            "columns": self.columns,
            "failure_count": self.failure_count,
            "truncated": self.truncated,
            "checks": self.checks,
            "failure_cases": self.failure_cases,
        })
    }
}

/// Validates a CSV file (header row first) against `schema`, streaming.
pub fn validate_csv(
    schema: &Schema,
    path: &Path,
    opts: &ValidateOptions,
) -> Result<ValidationReport> {
    let src = CsvSource::open(path)?;
    // A small file is done before a second thread would pay for itself.
    let small = std::fs::metadata(path).is_ok_and(|m| m.len() < SMALL_FILE);
    if small && !opts.single_thread {
        let opts = ValidateOptions {
            single_thread: true,
            ..opts.clone()
        };
        return run(schema, src, &opts);
    }
    run(schema, src, opts)
}

/// Files below this size are validated on one thread.
const SMALL_FILE: u64 = 4 << 20;

/// Validates CSV text from any reader.
pub fn validate_reader<R: Read + Send>(
    schema: &Schema,
    input: R,
    opts: &ValidateOptions,
) -> Result<ValidationReport> {
    run(schema, CsvSource::new(input, "<input>".into())?, opts)
}

/// A column's value after parsing, reduced to what uniqueness compares.
#[derive(Hash)]
enum Key<'a> {
    Null,
    Int(i64),
    Float(u64),
    Bool(bool),
    Text(&'a [u8]),
}

fn float_key(v: f64) -> Key<'static> {
    // 0.0 and −0.0 are equal values.
    Key::Float(if v == 0.0 { 0 } else { v.to_bits() })
}

/// A 128-bit hash from two independently keyed SipHashers: with 10⁹ distinct values the chance of any
/// collision is ~10⁻²¹, so uniqueness can remember hashes instead of values.
struct Hash128(
    std::collections::hash_map::RandomState,
    std::collections::hash_map::RandomState,
);

impl Hash128 {
    fn new() -> Self {
        Hash128(Default::default(), Default::default())
    }
    fn of<T: Hash + ?Sized>(&self, v: &T) -> u128 {
        ((self.0.hash_one(v) as u128) << 64) | self.1.hash_one(v) as u128
    }
}

/// Seen values of one uniqueness check: first row and whether that row was reported already.
#[derive(Default)]
struct Seen(HashMap<u128, (u64, bool)>);

impl Seen {
    /// Returns the rows to report as duplicates (the first occurrence once, then every later one).
    fn see(&mut self, key: u128, row: u64) -> (Option<u64>, bool) {
        match self.0.get_mut(&key) {
            None => {
                self.0.insert(key, (row, false));
                (None, false)
            }
            Some((first, reported)) => {
                let first_row = if *reported { None } else { Some(*first) };
                *reported = true;
                (first_row, true)
            }
        }
    }
}

enum Allowed {
    Ints(Vec<i64>),
    Floats(Vec<f64>),
    Bools(Vec<bool>),
    /// Allowed strings bucketed by byte length, each with its first 8 bytes as an integer: a lookup
    /// compares one integer per same-length candidate and the full text only on a prefix hit, which
    /// beats hashing for the short category lists schemas have.
    Texts(Vec<Vec<(u64, Box<str>)>>),
}

#[inline]
fn prefix(s: &str) -> u64 {
    // Built from registers, not through a stack buffer: a variable-length copy followed by an 8-byte
    // load stalls on store forwarding and cost an eighth of the whole pass.
    match s.as_bytes().first_chunk::<8>() {
        Some(b) => u64::from_le_bytes(*b),
        None => s.bytes().rev().fold(0u64, |acc, b| (acc << 8) | b as u64),
    }
}

fn text_buckets(values: &[Literal]) -> Vec<Vec<(u64, Box<str>)>> {
    let mut buckets: Vec<Vec<(u64, Box<str>)>> = Vec::new();
    for v in values {
        if let Literal::Str(s) = v {
            if buckets.len() <= s.len() {
                buckets.resize(s.len() + 1, Vec::new());
            }
            buckets[s.len()].push((prefix(s), s.as_str().into()));
        }
    }
    buckets
}

enum Compiled {
    Range {
        lo: f64,
        hi: f64,
        lo_inc: bool,
        hi_inc: bool,
    },
    Allowed(Allowed),
    Regex(regex::Regex),
    Length {
        min: u64,
        max: u64,
    },
}

struct Plan<'s> {
    spec: &'s ColumnSchema,
    pos: Option<usize>,
    checks: Vec<(String, Compiled)>,
    coerce_name: String,
    seen: Option<Seen>,
}

enum Value<'a> {
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(i64),
    Text(&'a str),
}

fn compile(check: &Check, dtype: DType) -> Compiled {
    match check {
        Check::Range {
            min,
            max,
            min_inclusive,
            max_inclusive,
        } => Compiled::Range {
            lo: min.map(|m| m.value()).unwrap_or(f64::NEG_INFINITY),
            hi: max.map(|m| m.value()).unwrap_or(f64::INFINITY),
            lo_inc: *min_inclusive || min.is_none(),
            hi_inc: *max_inclusive || max.is_none(),
        },
        Check::Allowed(values) => Compiled::Allowed(match dtype {
            DType::Int => Allowed::Ints(
                values
                    .iter()
                    .filter_map(|v| {
                        if let Literal::Int(i) = v {
                            Some(*i)
                        } else {
                            None
                        }
                    })
                    .collect(),
            ),
            DType::Float => Allowed::Floats(
                values
                    .iter()
                    .filter_map(|v| match v {
                        Literal::Int(i) => Some(*i as f64),
                        Literal::Float(f) => Some(*f),
                        _ => None,
                    })
                    .collect(),
            ),
            DType::Bool => Allowed::Bools(
                values
                    .iter()
                    .filter_map(|v| {
                        if let Literal::Bool(b) = v {
                            Some(*b)
                        } else {
                            None
                        }
                    })
                    .collect(),
            ),
            _ => Allowed::Texts(text_buckets(values)),
        }),
        Check::Regex { compiled, .. } => Compiled::Regex(compiled.clone()),
        Check::Length { min, max } => Compiled::Length {
            min: min.unwrap_or(0),
            max: max.unwrap_or(u64::MAX),
        },
    }
}

fn passes(check: &Compiled, v: &Value) -> bool {
    match (check, v) {
        (
            Compiled::Range {
                lo,
                hi,
                lo_inc,
                hi_inc,
            },
            _,
        ) => {
            let x = match v {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => return true,
            };
            (if *lo_inc { x >= *lo } else { x > *lo }) && (if *hi_inc { x <= *hi } else { x < *hi })
        }
        (Compiled::Allowed(Allowed::Ints(a)), Value::Int(i)) => a.contains(i),
        (Compiled::Allowed(Allowed::Floats(a)), Value::Float(f)) => a.contains(f),
        (Compiled::Allowed(Allowed::Bools(a)), Value::Bool(b)) => a.contains(b),
        (Compiled::Allowed(Allowed::Texts(a)), Value::Text(t)) => a.get(t.len()).is_some_and(|b| {
            let p = prefix(t);
            b.iter()
                .any(|(q, v)| *q == p && (t.len() <= 8 || **v == **t))
        }),
        (Compiled::Allowed(_), _) => false,
        (Compiled::Regex(re), Value::Text(t)) => re.is_match(t),
        (Compiled::Length { min, max }, Value::Text(t)) => {
            let n = t.chars().count() as u64;
            n >= *min && n <= *max
        }
        _ => true,
    }
}

/// Parses a datetime cell to nanoseconds since the epoch (UTC for offset-carrying values).
fn parse_datetime(s: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt();
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return d.and_utc().timestamp_nanos_opt();
        }
    }
    DateTime::parse_from_rfc3339(s).ok()?.timestamp_nanos_opt()
}

struct Collector {
    cases: Vec<(SortKey, FailureCase)>,
    cap: Option<usize>,
    count: u64,
    per_check: Vec<(SortKey, CheckFailures)>,
    per_check_index: HashMap<(u8, usize, i64), usize>,
}

/// Orders the table: group (0 structure, 1 row count, 2 columns, 3 multi-column uniqueness), schema
/// column, check order, row.
type SortKey = (u8, usize, i64, u64);

impl Collector {
    /// Counts a failure; the case itself is built only when it is kept (or names a new check), so a
    /// capped run with millions of failures allocates nothing per failure.
    fn push(&mut self, key: SortKey, make: impl FnOnce() -> FailureCase) {
        self.count += 1;
        // One summary line per check: table-structure checks group across columns.
        let id = (key.0, if key.0 == 0 { 0 } else { key.1 }, key.2);
        let keep = self.cap.is_none_or(|c| self.cases.len() < c);
        match self.per_check_index.get(&id) {
            Some(&i) => {
                self.per_check[i].1.failures += 1;
                if keep {
                    self.cases.push((key, make()));
                }
            }
            None => {
                let case = make();
                self.per_check_index.insert(id, self.per_check.len());
                self.per_check.push((
                    (key.0, key.1, key.2, 0),
                    CheckFailures {
                        column: case.column.clone(),
                        check: case.check.clone(),
                        failures: 1,
                    },
                ));
                if keep {
                    self.cases.push((key, case));
                }
            }
        }
    }
}

fn column_case(
    col: &str,
    check: &str,
    number: Option<usize>,
    value: Option<&str>,
    row: u64,
) -> FailureCase {
    FailureCase {
        schema_context: "Column".into(),
        column: Some(col.to_string()),
        check: check.to_string(),
        check_number: number,
        failure_case: value.map(str::to_string),
        index: Some(row),
    }
}

fn table_case(
    column: Option<&str>,
    check: &str,
    value: Option<String>,
    index: Option<u64>,
) -> FailureCase {
    FailureCase {
        schema_context: "DataFrameSchema".into(),
        column: column.map(str::to_string),
        check: check.to_string(),
        check_number: None,
        failure_case: value,
        index,
    }
}

/// All the state of one validation pass: compiled column plans, uniqueness memories, collected failures.
struct Validator<'s> {
    schema: &'s Schema,
    plans: Vec<Plan<'s>>,
    groups: Vec<(Vec<(usize, usize)>, Seen)>,
    row_keys: Vec<u128>,
    need_row_keys: bool,
    hasher: Hash128,
    out: Collector,
}

impl<'s> Validator<'s> {
    fn new(schema: &'s Schema, headers: &[String], opts: &ValidateOptions) -> Self {
        let mut out = Collector {
            cases: Vec::new(),
            cap: opts.max_failure_cases,
            count: 0,
            per_check: Vec::new(),
            per_check_index: HashMap::new(),
        };
        // Table structure: missing required columns, columns not in a strict schema, column order.
        for (ci, col) in schema.columns.iter().enumerate() {
            if col.required && !headers.contains(&col.name) {
                out.push((0, ci, 0, 0), || {
                    table_case(None, "column_in_dataframe", Some(col.name.clone()), None)
                });
            }
        }
        for (hi, h) in headers.iter().enumerate() {
            if schema.dataset.strict && schema.column(h).is_none() {
                out.push((0, schema.columns.len() + hi, 1, 0), || {
                    table_case(None, "column_in_schema", Some(h.clone()), None)
                });
            }
        }
        if schema.dataset.ordered {
            // pandera: walk the data's columns; each schema column must be the next schema column present.
            let mut expected = schema
                .columns
                .iter()
                .filter(|c| headers.contains(&c.name))
                .map(|c| &c.name);
            for (hi, h) in headers.iter().enumerate() {
                if schema.column(h).is_some() && expected.next() != Some(h) {
                    out.push((0, schema.columns.len() + hi, 2, 0), || {
                        table_case(None, "column_ordered", Some(h.clone()), None)
                    });
                }
            }
        }
        let plans: Vec<Plan> = schema
            .columns
            .iter()
            .map(|c| Plan {
                spec: c,
                pos: headers.iter().position(|h| h == &c.name),
                checks: c
                    .checks
                    .iter()
                    .map(|k| (k.pandera_name(), compile(k, c.dtype)))
                    .collect(),
                coerce_name: format!("coerce_dtype('{}')", c.pandas_dtype()),
                seen: c.unique.then(Seen::default),
            })
            .collect();
        // Multi-column uniqueness groups: dataset.unique, and every schema column for no_duplicate_rows.
        let present = |names: Vec<&String>| -> Vec<(usize, usize)> {
            names
                .into_iter()
                .filter_map(|n| {
                    Some((
                        schema.columns.iter().position(|c| &c.name == n)?,
                        headers.iter().position(|h| h == n)?,
                    ))
                })
                .collect()
        };
        let mut groups: Vec<(Vec<(usize, usize)>, Seen)> = Vec::new();
        if !schema.dataset.unique.is_empty() {
            groups.push((
                present(schema.dataset.unique.iter().collect()),
                Seen::default(),
            ));
        }
        if schema.dataset.no_duplicate_rows {
            groups.push((
                present(schema.columns.iter().map(|c| &c.name).collect()),
                Seen::default(),
            ));
        }
        groups.retain(|(cols, _)| !cols.is_empty());
        Validator {
            schema,
            need_row_keys: !groups.is_empty(),
            row_keys: vec![0; schema.columns.len()],
            plans,
            groups,
            hasher: Hash128::new(),
            out,
        }
    }

    /// Checks one data row (`row` = 0-based data row index).
    fn row(&mut self, record: &csv::StringRecord, row: u64) {
        let (out, hasher, row_keys, need_row_keys) = (
            &mut self.out,
            &self.hasher,
            &mut self.row_keys,
            self.need_row_keys,
        );
        for (ci, plan) in self.plans.iter_mut().enumerate() {
            let Some(pos) = plan.pos else { continue };
            let text = table::trim_start(&record[pos]);
            let spec = plan.spec;
            if table::is_na(text.as_bytes()) {
                if !spec.nullable {
                    out.push((2, ci, -2, row), || {
                        column_case(&spec.name, "not_nullable", None, None, row)
                    });
                }
                // pandera's field_uniqueness ignores nulls; duplicate *rows* treat nulls as equal.
                if need_row_keys {
                    row_keys[ci] = hasher.of(&Key::Null);
                }
                continue;
            }
            let value = match spec.dtype {
                DType::Int => table::parse_int(text)
                    .or_else(|| {
                        let f = table::parse_float(text)?;
                        (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
                    })
                    .map(Value::Int),
                DType::Float => table::parse_float(text).map(Value::Float),
                DType::Bool => table::parse_bool(text).map(Value::Bool),
                DType::Datetime => parse_datetime(text).map(Value::Datetime),
                DType::String | DType::Category => Some(Value::Text(text)),
            };
            let Some(value) = value else {
                out.push((2, ci, -3, row), || {
                    column_case(&spec.name, &plan.coerce_name, None, Some(text), row)
                });
                if need_row_keys {
                    row_keys[ci] = hasher.of(&Key::Text(text.as_bytes()));
                }
                continue;
            };
            for (number, (name, check)) in plan.checks.iter().enumerate() {
                if !passes(check, &value) {
                    out.push((2, ci, number as i64, row), || {
                        column_case(&spec.name, name, Some(number), Some(text), row)
                    });
                }
            }
            if !need_row_keys && plan.seen.is_none() {
                continue;
            }
            let key = match value {
                Value::Int(i) => Key::Int(i),
                Value::Float(f) => float_key(f),
                Value::Bool(b) => Key::Bool(b),
                Value::Datetime(t) => Key::Int(t),
                Value::Text(t) => Key::Text(t.as_bytes()),
            };
            row_keys[ci] = hasher.of(&key);
            if let Some(seen) = plan.seen.as_mut() {
                report_dup(
                    seen.see(row_keys[ci], row),
                    out,
                    ci,
                    &spec.name,
                    Some(text),
                    row,
                );
            }
        }
        for (gi, (cols, seen)) in self.groups.iter_mut().enumerate() {
            let keys: Vec<u128> = cols.iter().map(|&(ci, _)| row_keys[ci]).collect();
            let (first, dup) = seen.see(hasher.of(&keys), row);
            if !dup {
                continue;
            }
            for r in first.into_iter().chain(std::iter::once(row)) {
                for (order, &(ci, pos)) in cols.iter().enumerate() {
                    let raw = table::trim_start(&record[pos]);
                    // pandera drops the null cells of a duplicate row from its table.
                    if table::is_na(raw.as_bytes()) {
                        continue;
                    }
                    let name = &self.schema.columns[ci].name;
                    out.push((3, gi, order as i64, r), || {
                        table_case(
                            Some(name),
                            "multiple_fields_uniqueness",
                            Some(raw.to_string()),
                            Some(r),
                        )
                    });
                }
            }
        }
    }

    fn finish(mut self, origin: String, headers: Vec<String>, rows: u64) -> ValidationReport {
        let d = &self.schema.dataset;
        if d.min_rows.is_some_and(|m| rows < m) || d.max_rows.is_some_and(|m| rows > m) {
            let f = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "None".into());
            let name = format!("row_count_in_range({}, {})", f(d.min_rows), f(d.max_rows));
            self.out.push((1, 0, 0, 0), || {
                table_case(None, &name, Some(rows.to_string()), None)
            });
        }
        let mut out = self.out;
        out.cases.sort_by_key(|(k, _)| *k);
        out.per_check.sort_by_key(|(k, _)| *k);
        let truncated = out.count > out.cases.len() as u64;
        ValidationReport {
            origin,
            rows,
            columns: headers,
            failure_cases: out.cases.into_iter().map(|(_, c)| c).collect(),
            failure_count: out.count,
            truncated,
            checks: out.per_check.into_iter().map(|(_, c)| c).collect(),
        }
    }
}

/// Rows per batch handed from the reading thread to the checking thread.
const BATCH: usize = 2048;

/// Reads on one thread and checks on the calling one: parsing CSV and checking cells each take about
/// half the work, so on two cores the pass takes about as long as the slower half. Batches of records
/// go back to the reader for reuse, so no allocation happens per row; the bounded channel keeps at most
/// a few batches in flight (memory stays flat).
fn run<R: Read + Send>(
    schema: &Schema,
    mut src: CsvSource<R>,
    opts: &ValidateOptions,
) -> Result<ValidationReport> {
    use std::sync::mpsc::{channel, sync_channel};
    let headers = src.headers.clone();
    let origin = src.origin.clone();
    let mut validator = Validator::new(schema, &headers, opts);
    if opts.single_thread {
        while src.advance()? {
            validator.row(src.record(), src.next_row - 1);
        }
        let rows = src.next_row;
        return Ok(validator.finish(origin, headers, rows));
    }
    let (tx, rx) = sync_channel::<Result<(Vec<csv::StringRecord>, usize)>>(4);
    let (back_tx, back_rx) = channel::<Vec<csv::StringRecord>>();
    let rows = std::thread::scope(|scope| -> Result<u64> {
        scope.spawn(move || loop {
            let mut batch = back_rx
                .try_recv()
                .unwrap_or_else(|_| vec![csv::StringRecord::new(); BATCH]);
            let mut n = 0;
            while n < BATCH {
                match src.read_into(&mut batch[n]) {
                    Ok(true) => n += 1,
                    Ok(false) => break,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            let last = n < BATCH;
            if tx.send(Ok((batch, n))).is_err() || last {
                return;
            }
        });
        let mut row = 0u64;
        for msg in rx {
            let (batch, n) = msg?;
            for record in &batch[..n] {
                validator.row(record, row);
                row += 1;
            }
            let _ = back_tx.send(batch);
        }
        Ok(row)
    })?;
    Ok(validator.finish(origin, headers, rows))
}

fn report_dup(
    seen: (Option<u64>, bool),
    out: &mut Collector,
    ci: usize,
    name: &str,
    text: Option<&str>,
    row: u64,
) {
    let (first, dup) = seen;
    if !dup {
        return;
    }
    if let Some(first) = first {
        out.push((2, ci, -1, first), || {
            column_case(name, "field_uniqueness", None, text, first)
        });
    }
    out.push((2, ci, -1, row), || {
        column_case(name, "field_uniqueness", None, text, row)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(schema: &str, data: &str) -> ValidationReport {
        let s = Schema::from_toml_str(schema).unwrap();
        validate_reader(&s, data.as_bytes(), &ValidateOptions::default()).unwrap()
    }

    #[test]
    fn wrong_type_is_its_own_failure_and_the_column_is_still_checked() {
        let r = check(
            "[[columns]]\nname = \"a\"\ntype = \"int\"\nmax = 5\n",
            "a\n1\nx\n9\n",
        );
        let got: Vec<(String, Option<u64>)> = r
            .failure_cases
            .iter()
            .map(|f| (f.check.clone(), f.index))
            .collect();
        assert_eq!(
            got,
            [
                ("coerce_dtype('int64')".to_string(), Some(1)),
                ("less_than_or_equal_to(5)".to_string(), Some(2))
            ]
        );
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn uniqueness_reports_every_occurrence() {
        let r = check(
            "[[columns]]\nname = \"a\"\ntype = \"string\"\nunique = true\n",
            "a\nx\ny\nx\nx\n",
        );
        let rows: Vec<u64> = r.failure_cases.iter().filter_map(|f| f.index).collect();
        assert_eq!(rows, [0, 2, 3]);
    }

    #[test]
    fn pipelined_and_single_threaded_runs_agree() {
        // More rows than one batch, with range failures, nulls and duplicates spread over the batches.
        let data: String = std::iter::once("a,b\n".to_string())
            .chain((0..5000).map(|i| {
                if i % 997 == 0 {
                    format!(",{}\n", i % 1500)
                } else {
                    format!("{},{}\n", i % 300, i % 1500)
                }
            }))
            .collect();
        let schema = Schema::from_toml_str(
            "[dataset]\nunique = [\"a\", \"b\"]\n[[columns]]\nname = \"a\"\ntype = \"int\"\nmax = 250\n\
             [[columns]]\nname = \"b\"\ntype = \"int\"\nunique = true\n",
        )
        .unwrap();
        let run = |single_thread| {
            let opts = ValidateOptions {
                single_thread,
                ..Default::default()
            };
            validate_reader(&schema, data.as_bytes(), &opts).unwrap()
        };
        let (a, b) = (run(false), run(true));
        assert!(a.failure_count > 1000);
        assert_eq!(a.failure_cases, b.failure_cases);
        assert_eq!(a.checks, b.checks);
        assert_eq!(a.rows, 5000);
    }

    #[test]
    fn clean_data_passes() {
        let r = check(
            "[[columns]]\nname = \"a\"\ntype = \"float\"\nnullable = true\n",
            "a\n1.5\nNA\n2\n",
        );
        assert!(!r.has_failures());
        assert_eq!(r.rows, 3);
        assert!(r.summary().contains("OK"));
    }
}
