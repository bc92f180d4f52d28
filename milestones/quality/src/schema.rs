//! The declarative schema: what a valid table looks like, written in TOML.
//!
//! ```toml
//! [dataset]                 # optional; every key optional
//! strict = true             # columns not in the schema are failures      (pandera strict=True)
//! ordered = false           # schema columns must appear in schema order  (pandera ordered=True)
//! unique = ["id", "day"]    # no two rows share these values              (pandera unique=[…])
//! no_duplicate_rows = true  # no two rows share all schema columns        (pandera unique=<all columns>)
//! min_rows = 1              # row-count range (inclusive)
//! max_rows = 1000000
//!
//! [[columns]]
//! name = "age"
//! type = "int"              # int | float | string | bool | category | datetime
//! nullable = false          # default false, as in pandera
//! unique = false
//! required = true           # a missing required column is a failure (default true)
//! min = 17                  # range; inclusive unless min_inclusive / max_inclusive = false
//! max = 90
//! allowed = [1, 2, 3]       # allowed values (isin)
//! regex = "^[A-Z]"          # must match at the start of the value (pandera str_matches / re.match)
//! min_length = 1            # string length in characters (str_length)
//! max_length = 40
//! drift_test = "psi"        # drift overrides for this column (see drift::StatTest)
//! drift_threshold = 0.2
//! ```
//!
//! Each column's checks are numbered in this fixed order, which is the pandera schema this crate is
//! equivalent to (so `check_number` matches pandera's): **0** the range (`in_range(min, max)` when both
//! bounds are given, else `greater_than_or_equal_to` / `greater_than` / `less_than_or_equal_to` /
//! `less_than`), then `isin([…])`, then `str_matches('…')`, then `str_length(min, max)` — absent checks
//! take no number. `nullable`, `unique` and the type are pandera's separate `not_nullable`,
//! `field_uniqueness` and `coerce_dtype('int64')` checks, which carry no number.
//!
//! Every error names the line and column in the TOML text: a syntax error, an unknown key (unknown
//! checks are errors, not silently ignored), a wrong value type, a regex that does not compile, a bound
//! that does not fit the column type.

use std::fmt::Write as _;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::drift::StatTest;
use crate::{QualityError, Result};

/// Column types, with the pandas dtype each corresponds to in the equivalent pandera schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    Int,
    Float,
    String,
    Bool,
    Category,
    Datetime,
}

impl DType {
    /// All type names accepted in a schema.
    pub const NAMES: [&'static str; 6] = ["int", "float", "string", "bool", "category", "datetime"];

    pub fn parse(name: &str) -> Option<DType> {
        Some(match name {
            "int" => DType::Int,
            "float" => DType::Float,
            "string" => DType::String,
            "bool" => DType::Bool,
            "category" => DType::Category,
            "datetime" => DType::Datetime,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::Int => "int",
            DType::Float => "float",
            DType::String => "string",
            DType::Bool => "bool",
            DType::Category => "category",
            DType::Datetime => "datetime",
        }
    }

    /// The pandas dtype string pandera prints (`coerce_dtype('int64')`).
    pub fn pandas_dtype(self) -> &'static str {
        match self {
            DType::Int => "int64",
            DType::Float => "float64",
            DType::String => "str",
            DType::Bool => "bool",
            DType::Category => "category",
            DType::Datetime => "datetime64[ns]",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, DType::Int | DType::Float)
    }

    pub fn is_text(self) -> bool {
        matches!(self, DType::String | DType::Category)
    }
}

/// A number in a schema, keeping whether it was written as an integer (pandera prints `17`, not `17.0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn value(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// A literal value (allowed values).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

/// One numbered column check.
#[derive(Debug, Clone)]
pub enum Check {
    /// `min ≤ x ≤ max` (each bound optional, each inclusive or not).
    Range {
        min: Option<Number>,
        max: Option<Number>,
        min_inclusive: bool,
        max_inclusive: bool,
    },
    /// The value is one of these.
    Allowed(Vec<Literal>),
    /// The value matches this regex at its start (Python `re.match` semantics, as pandera's `str_matches`).
    Regex {
        pattern: String,
        compiled: regex::Regex,
    },
    /// Length in characters within `[min, max]`.
    Length { min: Option<u64>, max: Option<u64> },
}

impl Check {
    /// The name pandera gives the equivalent check (its `check` column).
    pub fn pandera_name(&self) -> String {
        match self {
            Check::Range { min, max, .. } => match (min, max) {
                (Some(lo), Some(hi)) => format!("in_range({}, {})", py_number(*lo), py_number(*hi)),
                (Some(lo), None) => {
                    if self.min_inclusive() {
                        format!("greater_than_or_equal_to({})", py_number(*lo))
                    } else {
                        format!("greater_than({})", py_number(*lo))
                    }
                }
                (None, Some(hi)) => {
                    if self.max_inclusive() {
                        format!("less_than_or_equal_to({})", py_number(*hi))
                    } else {
                        format!("less_than({})", py_number(*hi))
                    }
                }
                (None, None) => "in_range(None, None)".to_string(),
            },
            Check::Allowed(values) => {
                let items: Vec<String> = values.iter().map(py_literal).collect();
                format!("isin([{}])", items.join(", "))
            }
            Check::Regex { pattern, .. } => format!("str_matches('{pattern}')"),
            Check::Length { min, max } => {
                let f = |v: &Option<u64>| {
                    v.map(|x| x.to_string())
                        .unwrap_or_else(|| "None".to_string())
                };
                format!("str_length({}, {})", f(min), f(max))
            }
        }
    }

    fn min_inclusive(&self) -> bool {
        matches!(
            self,
            Check::Range {
                min_inclusive: true,
                ..
            }
        )
    }

    fn max_inclusive(&self) -> bool {
        matches!(
            self,
            Check::Range {
                max_inclusive: true,
                ..
            }
        )
    }
}

/// Python's `repr` of a float: the shortest text that round-trips, with an exponent below 1e-4 and from
/// 1e16 on (`1e-07`, `1e+16`), and `.0` on integral values.
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let exp = x.abs().log10().floor() as i32;
    if !(-4..16).contains(&exp) {
        let s = format!("{x:e}");
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let s = format!("{x}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

fn py_number(n: Number) -> String {
    match n {
        Number::Int(i) => i.to_string(),
        Number::Float(f) => py_float(f),
    }
}

/// Python's `repr` of a str: single quotes unless the text holds a `'` and no `"`.
pub fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn py_literal(l: &Literal) -> String {
    match l {
        Literal::Int(i) => i.to_string(),
        Literal::Float(f) => py_float(*f),
        Literal::Str(s) => py_str(s),
        Literal::Bool(b) => if *b { "True" } else { "False" }.to_string(),
    }
}

/// One column of the schema.
#[derive(Debug, Clone)]
pub struct ColumnSchema {
    pub name: String,
    pub dtype: DType,
    pub nullable: bool,
    pub unique: bool,
    pub required: bool,
    /// Numbered checks, in pandera order (see the module docs).
    pub checks: Vec<Check>,
    pub drift_test: Option<StatTest>,
    pub drift_threshold: Option<f64>,
}

impl ColumnSchema {
    /// The pandas dtype of this column in the equivalent pandera schema: a nullable int column is
    /// pandas' nullable `Int64` (NumPy's `int64` cannot hold a null).
    pub fn pandas_dtype(&self) -> &'static str {
        if self.dtype == DType::Int && self.nullable {
            "Int64"
        } else {
            self.dtype.pandas_dtype()
        }
    }

    /// A column of this type with no checks (nullable false, required true: pandera's defaults).
    pub fn new(name: impl Into<String>, dtype: DType) -> Self {
        ColumnSchema {
            name: name.into(),
            dtype,
            nullable: false,
            unique: false,
            required: true,
            checks: Vec::new(),
            drift_test: None,
            drift_threshold: None,
        }
    }
}

/// Table-level checks.
#[derive(Debug, Clone, Default)]
pub struct DatasetChecks {
    pub strict: bool,
    pub ordered: bool,
    pub unique: Vec<String>,
    pub no_duplicate_rows: bool,
    pub min_rows: Option<u64>,
    pub max_rows: Option<u64>,
}

/// A parsed, checked schema.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub dataset: DatasetChecks,
    pub columns: Vec<ColumnSchema>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    dataset: Option<RawDataset>,
    #[serde(default)]
    columns: Vec<Spanned<RawColumn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    strict: Option<bool>,
    ordered: Option<bool>,
    unique: Option<Spanned<Vec<String>>>,
    no_duplicate_rows: Option<bool>,
    min_rows: Option<Spanned<i64>>,
    max_rows: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: Spanned<String>,
    #[serde(rename = "type")]
    dtype: Spanned<String>,
    nullable: Option<bool>,
    unique: Option<bool>,
    required: Option<bool>,
    min: Option<Spanned<toml::Value>>,
    max: Option<Spanned<toml::Value>>,
    min_inclusive: Option<bool>,
    max_inclusive: Option<bool>,
    allowed: Option<Spanned<Vec<toml::Value>>>,
    regex: Option<Spanned<String>>,
    min_length: Option<Spanned<i64>>,
    max_length: Option<Spanned<i64>>,
    drift_test: Option<Spanned<String>>,
    drift_threshold: Option<Spanned<f64>>,
}

/// Turns byte offsets into the "line, column" of errors.
struct Locator<'a> {
    origin: &'a str,
    text: &'a str,
}

impl Locator<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> QualityError {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        QualityError::Schema {
            origin: self.origin.to_string(),
            line,
            col,
            message: message.into(),
        }
    }
}

impl Schema {
    /// Reads and checks a schema file.
    pub fn from_path(path: &std::path::Path) -> Result<Schema> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| QualityError::io(format!("cannot read schema {}", path.display()), e))?;
        Schema::parse(&text, &path.display().to_string())
    }

    /// Parses schema text (errors name it `<schema>`).
    pub fn from_toml_str(text: &str) -> Result<Schema> {
        Schema::parse(text, "<schema>")
    }

    /// Parses schema text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Schema> {
        let loc = Locator { origin, text };
        let raw: RawSchema = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            loc.error(span, e.message().trim().to_string())
        })?;
        let mut schema = Schema::default();
        for col in raw.columns {
            let span = col.span();
            let col = col.into_inner();
            let name = col.name.get_ref().trim().to_string();
            if name.is_empty() {
                return Err(loc.error(col.name.span(), "a column needs a non-empty `name`"));
            }
            if schema.columns.iter().any(|c| c.name == name) {
                return Err(loc.error(
                    col.name.span(),
                    format!("column `{name}` is declared twice"),
                ));
            }
            let dtype = DType::parse(col.dtype.get_ref()).ok_or_else(|| {
                loc.error(
                    col.dtype.span(),
                    format!(
                        "unknown type `{}` for column `{name}`; use one of {}",
                        col.dtype.get_ref(),
                        DType::NAMES.join(", ")
                    ),
                )
            })?;
            let mut out = ColumnSchema::new(&name, dtype);
            out.nullable = col.nullable.unwrap_or(false);
            out.unique = col.unique.unwrap_or(false);
            out.required = col.required.unwrap_or(true);

            let number = |v: &Spanned<toml::Value>, key: &str| -> Result<Number> {
                if !dtype.is_numeric() {
                    return Err(loc.error(
                        v.span(),
                        format!(
                            "`{key}` applies to int and float columns; `{name}` is {}",
                            dtype.name()
                        ),
                    ));
                }
                match v.get_ref() {
                    toml::Value::Integer(i) => Ok(Number::Int(*i)),
                    toml::Value::Float(f) if !f.is_nan() => Ok(Number::Float(*f)),
                    other => {
                        Err(loc.error(v.span(), format!("`{key}` must be a number, got {other}")))
                    }
                }
            };
            let min = col.min.as_ref().map(|v| number(v, "min")).transpose()?;
            let max = col.max.as_ref().map(|v| number(v, "max")).transpose()?;
            if let (Some(lo), Some(hi)) = (min, max) {
                if lo.value() > hi.value() {
                    let span = col.min.as_ref().map(|v| v.span()).unwrap_or(span.clone());
                    return Err(loc.error(
                        span,
                        format!(
                            "column `{name}`: min {} is above max {}",
                            lo.value(),
                            hi.value()
                        ),
                    ));
                }
            }
            if min.is_some() || max.is_some() {
                out.checks.push(Check::Range {
                    min,
                    max,
                    min_inclusive: col.min_inclusive.unwrap_or(true),
                    max_inclusive: col.max_inclusive.unwrap_or(true),
                });
            }
            if let Some(allowed) = &col.allowed {
                let mut values = Vec::new();
                for v in allowed.get_ref() {
                    let lit = match (dtype, v) {
                        (DType::Int, toml::Value::Integer(i)) => Literal::Int(*i),
                        (DType::Float, toml::Value::Integer(i)) => Literal::Int(*i),
                        (DType::Float, toml::Value::Float(f)) => Literal::Float(*f),
                        (DType::String | DType::Category, toml::Value::String(s)) => {
                            Literal::Str(s.clone())
                        }
                        (DType::Bool, toml::Value::Boolean(b)) => Literal::Bool(*b),
                        (DType::Datetime, toml::Value::String(s)) => Literal::Str(s.clone()),
                        _ => {
                            return Err(loc.error(
                                allowed.span(),
                                format!(
                                    "allowed value {v} does not fit column `{name}` of type {}",
                                    dtype.name()
                                ),
                            ))
                        }
                    };
                    values.push(lit);
                }
                if values.is_empty() {
                    return Err(loc.error(
                        allowed.span(),
                        format!("column `{name}`: `allowed` is empty"),
                    ));
                }
                out.checks.push(Check::Allowed(values));
            }
            if let Some(re) = &col.regex {
                if !dtype.is_text() {
                    return Err(loc.error(
                        re.span(),
                        format!(
                            "`regex` applies to string and category columns; `{name}` is {}",
                            dtype.name()
                        ),
                    ));
                }
                let compiled =
                    regex::Regex::new(&format!(r"\A(?:{})", re.get_ref())).map_err(|e| {
                        loc.error(
                            re.span(),
                            format!(
                                "the regex `{}` of column `{name}` does not compile: {e}",
                                re.get_ref()
                            ),
                        )
                    })?;
                out.checks.push(Check::Regex {
                    pattern: re.get_ref().clone(),
                    compiled,
                });
            }
            let length = |v: &Option<Spanned<i64>>, key: &str| -> Result<Option<u64>> {
                match v {
                    None => Ok(None),
                    Some(v) if !dtype.is_text() => Err(loc.error(
                        v.span(),
                        format!(
                            "`{key}` applies to string and category columns; `{name}` is {}",
                            dtype.name()
                        ),
                    )),
                    Some(v) if *v.get_ref() < 0 => {
                        Err(loc.error(v.span(), format!("`{key}` must be ≥ 0")))
                    }
                    Some(v) => Ok(Some(*v.get_ref() as u64)),
                }
            };
            let (lmin, lmax) = (
                length(&col.min_length, "min_length")?,
                length(&col.max_length, "max_length")?,
            );
            if let (Some(a), Some(b)) = (lmin, lmax) {
                if a > b {
                    let s = col
                        .min_length
                        .as_ref()
                        .map(|v| v.span())
                        .unwrap_or(span.clone());
                    return Err(loc.error(
                        s,
                        format!("column `{name}`: min_length {a} is above max_length {b}"),
                    ));
                }
            }
            if lmin.is_some() || lmax.is_some() {
                out.checks.push(Check::Length {
                    min: lmin,
                    max: lmax,
                });
            }
            if let Some(t) = &col.drift_test {
                out.drift_test = Some(StatTest::parse(t.get_ref()).ok_or_else(|| {
                    loc.error(
                        t.span(),
                        format!(
                            "unknown drift test `{}`; use one of {}",
                            t.get_ref(),
                            StatTest::NAMES.join(", ")
                        ),
                    )
                })?);
            }
            if let Some(t) = &col.drift_threshold {
                if !(t.get_ref().is_finite() && *t.get_ref() >= 0.0) {
                    return Err(
                        loc.error(t.span(), "`drift_threshold` must be a finite number ≥ 0")
                    );
                }
                out.drift_threshold = Some(*t.get_ref());
            }
            schema.columns.push(out);
        }
        if let Some(ds) = raw.dataset {
            let d = &mut schema.dataset;
            d.strict = ds.strict.unwrap_or(false);
            d.ordered = ds.ordered.unwrap_or(false);
            d.no_duplicate_rows = ds.no_duplicate_rows.unwrap_or(false);
            if let Some(u) = ds.unique {
                for name in u.get_ref() {
                    if !schema.columns.iter().any(|c| &c.name == name) {
                        return Err(loc.error(u.span(), format!("dataset.unique names `{name}`, which is not a column of the schema")));
                    }
                }
                d.unique = u.into_inner();
            }
            let rows = |v: &Option<Spanned<i64>>, key: &str| -> Result<Option<u64>> {
                match v {
                    Some(v) if *v.get_ref() < 0 => {
                        Err(loc.error(v.span(), format!("`{key}` must be ≥ 0")))
                    }
                    Some(v) => Ok(Some(*v.get_ref() as u64)),
                    None => Ok(None),
                }
            };
            d.min_rows = rows(&ds.min_rows, "min_rows")?;
            d.max_rows = rows(&ds.max_rows, "max_rows")?;
            if let (Some(a), Some(b), Some(span)) = (
                d.min_rows,
                d.max_rows,
                ds.min_rows.as_ref().map(|s| s.span()),
            ) {
                if a > b {
                    return Err(loc.error(span, format!("min_rows {a} is above max_rows {b}")));
                }
            }
        }
        Ok(schema)
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Writes the schema back as TOML in the format [`Schema::parse`] reads.
    pub fn to_toml(&self) -> String {
        let mut s = String::from(
            "# roadmap-quality schema (format: the `schema` module of the roadmap-quality crate)\n",
        );
        let d = &self.dataset;
        let mut ds = String::new();
        if d.strict {
            ds.push_str("strict = true\n");
        }
        if d.ordered {
            ds.push_str("ordered = true\n");
        }
        if !d.unique.is_empty() {
            let names: Vec<String> = d.unique.iter().map(|n| toml_str(n)).collect();
            let _ = writeln!(ds, "unique = [{}]", names.join(", "));
        }
        if d.no_duplicate_rows {
            ds.push_str("no_duplicate_rows = true\n");
        }
        if let Some(v) = d.min_rows {
            let _ = writeln!(ds, "min_rows = {v}");
        }
        if let Some(v) = d.max_rows {
            let _ = writeln!(ds, "max_rows = {v}");
        }
        if !ds.is_empty() {
            s.push_str("\n[dataset]\n");
            s.push_str(&ds);
        }
        for c in &self.columns {
            let _ = write!(
                s,
                "\n[[columns]]\nname = {}\ntype = \"{}\"\n",
                toml_str(&c.name),
                c.dtype.name()
            );
            if c.nullable {
                s.push_str("nullable = true\n");
            }
            if c.unique {
                s.push_str("unique = true\n");
            }
            if !c.required {
                s.push_str("required = false\n");
            }
            for check in &c.checks {
                match check {
                    Check::Range {
                        min,
                        max,
                        min_inclusive,
                        max_inclusive,
                    } => {
                        if let Some(v) = min {
                            let _ = writeln!(s, "min = {}", toml_number(*v));
                            if !min_inclusive {
                                s.push_str("min_inclusive = false\n");
                            }
                        }
                        if let Some(v) = max {
                            let _ = writeln!(s, "max = {}", toml_number(*v));
                            if !max_inclusive {
                                s.push_str("max_inclusive = false\n");
                            }
                        }
                    }
                    Check::Allowed(values) => {
                        let items: Vec<String> = values
                            .iter()
                            .map(|v| match v {
                                Literal::Int(i) => i.to_string(),
                                Literal::Float(f) => toml_number(Number::Float(*f)),
                                Literal::Str(t) => toml_str(t),
                                Literal::Bool(b) => b.to_string(),
                            })
                            .collect();
                        let _ = writeln!(s, "allowed = [{}]", items.join(", "));
                    }
                    Check::Regex { pattern, .. } => {
                        let _ = writeln!(s, "regex = {}", toml_str(pattern));
                    }
                    Check::Length { min, max } => {
                        if let Some(v) = min {
                            let _ = writeln!(s, "min_length = {v}");
                        }
                        if let Some(v) = max {
                            let _ = writeln!(s, "max_length = {v}");
                        }
                    }
                }
            }
            if let Some(t) = c.drift_test {
                let _ = writeln!(s, "drift_test = \"{}\"", t.name());
            }
            if let Some(t) = c.drift_threshold {
                let _ = writeln!(s, "drift_threshold = {}", toml_number(Number::Float(t)));
            }
        }
        s
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_number(n: Number) -> String {
    match n {
        Number::Int(i) => i.to_string(),
        Number::Float(f) => toml::Value::Float(f).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Schema::from_toml_str(text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_check_is_an_error_with_its_line() {
        let e = err("[[columns]]\nname = \"a\"\ntype = \"int\"\nmaximum = 3\n");
        assert!(e.contains("line 4") && e.contains("maximum"), "{e}");
    }

    #[test]
    fn bad_regex_names_the_regex_and_line() {
        let e = err("[[columns]]\nname = \"a\"\ntype = \"string\"\n\nregex = \"(ab\"\n");
        assert!(
            e.contains("line 5") && e.contains("(ab") && e.contains("does not compile"),
            "{e}"
        );
    }

    #[test]
    fn type_mismatches_are_errors() {
        assert!(err("[[columns]]\nname = \"a\"\ntype = \"integer\"\n")
            .contains("unknown type `integer`"));
        assert!(err("[[columns]]\nname = \"a\"\ntype = \"string\"\nmin = 1\n").contains("line 4"));
        assert!(
            err("[[columns]]\nname = \"a\"\ntype = \"int\"\nallowed = [\"x\"]\n")
                .contains("does not fit")
        );
        assert!(
            err("[[columns]]\nname = \"a\"\ntype = \"int\"\nmin = 5\nmax = 1\n")
                .contains("above max")
        );
        assert!(err("[dataset]\nunique = [\"zz\"]\n").contains("not a column"));
        assert!(
            err("[[columns]]\nname = \"a\"\ntype = \"int\"\ndrift_test = \"kss\"\n")
                .contains("unknown drift test")
        );
        assert!(err("[[columns]\n").contains("line 1"));
    }

    #[test]
    fn pandera_check_names() {
        let s = Schema::from_toml_str(
            "[[columns]]\nname = \"a\"\ntype = \"float\"\nmin = 0\nmax = 1.5\nallowed = [1, 0.5]\n\
             [[columns]]\nname = \"b\"\ntype = \"category\"\nallowed = [\"x\", \"it's\"]\nregex = \"a.\"\nmax_length = 3\n\
             [[columns]]\nname = \"c\"\ntype = \"int\"\nmin = 1\nmin_inclusive = false\n",
        )
        .unwrap();
        let names: Vec<String> = s
            .columns
            .iter()
            .flat_map(|c| c.checks.iter().map(Check::pandera_name))
            .collect();
        assert_eq!(
            names,
            [
                "in_range(0, 1.5)",
                "isin([1, 0.5])",
                "isin(['x', \"it's\"])",
                "str_matches('a.')",
                "str_length(None, 3)",
                "greater_than(1)"
            ]
        );
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float(17.0), "17.0");
        assert_eq!(py_float(1e-7), "1e-07");
        assert_eq!(py_float(1.5e16), "1.5e+16");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(123456.789), "123456.789");
    }

    #[test]
    fn to_toml_round_trips() {
        let text = "[dataset]\nstrict = true\nunique = [\"a\"]\nmin_rows = 1\n\n[[columns]]\nname = \"a\"\ntype = \"int\"\nnullable = true\nmin = 0\nmax = 9\nmax_inclusive = false\n\n[[columns]]\nname = \"b\"\ntype = \"string\"\nregex = \"x\\\\d\"\nmin_length = 1\ndrift_test = \"psi\"\ndrift_threshold = 0.2\n";
        let s = Schema::from_toml_str(text).unwrap();
        let again = Schema::from_toml_str(&s.to_toml()).unwrap();
        assert_eq!(s.to_toml(), again.to_toml());
        assert_eq!(
            again.columns[1].checks[0].pandera_name(),
            "str_matches('x\\d')"
        );
        assert!(again.dataset.strict && again.dataset.min_rows == Some(1));
    }
}
