//! Reading CSV the way the reference libraries see it (pandas `read_csv` defaults), one record at a time.
//!
//! Why a module of its own: validation and drift must agree with pandera and Evidently, which both start
//! from a pandas DataFrame, so *what counts as missing* and *which type a column has* follow pandas:
//! - a cell is **null** when, after dropping leading spaces (pandas `skipinitialspace=True`, which the
//!   anchors use), it is one of pandas' default NA strings ([`NA_VALUES`]);
//! - a column is **int** when every non-null cell parses as a 64-bit integer and none is null, **float**
//!   when every non-null cell parses as a number (nulls allowed), **bool** when every cell is one of
//!   `True/TRUE/true/False/FALSE/false` and none is null, else **object** (strings) — pandas' C parser
//!   inference ([`InferredType`]).
//!
//! Records stream through a reused buffer, so memory does not grow with the file. Bad input is an error
//! naming the line: ragged rows, non-UTF-8 bytes (checked once per record), an empty file, a duplicate
//! header name.

use std::io::Read;

use crate::{QualityError, Result};

/// pandas' default NA strings (`pandas._libs.parsers.STR_NA_VALUES`, pandas 2.3.3).
pub const NA_VALUES: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// True when a (leading-space-trimmed) cell is missing by pandas' default rules ([`NA_VALUES`], spelled
/// out as a `match` so the compiler turns it into a length switch).
#[inline]
pub fn is_na(cell: &[u8]) -> bool {
    // Fast exit for the common case: every NA string is at most 8 bytes and starts with one of these.
    match cell.first() {
        None => return true,
        Some(b'#' | b'-' | b'1' | b'<' | b'N' | b'n') if cell.len() <= 8 => {}
        Some(_) => return false,
    }
    matches!(
        cell,
        b"" | b"#N/A"
            | b"#N/A N/A"
            | b"#NA"
            | b"-1.#IND"
            | b"-1.#QNAN"
            | b"-NaN"
            | b"-nan"
            | b"1.#IND"
            | b"1.#QNAN"
            | b"<NA>"
            | b"N/A"
            | b"NA"
            | b"NULL"
            | b"NaN"
            | b"None"
            | b"n/a"
            | b"nan"
            | b"null"
    )
}

/// Drops leading spaces and tabs (pandas `skipinitialspace=True`).
#[inline]
pub fn trim_start(cell: &str) -> &str {
    match cell.as_bytes().first() {
        Some(b' ' | b'\t') => cell.trim_start_matches([' ', '\t']),
        _ => cell,
    }
}

/// Parses an integer cell as pandas' C parser does for an int64 column (optional sign, digits,
/// surrounding spaces allowed).
#[inline]
pub fn parse_int(cell: &str) -> Option<i64> {
    let b = cell.as_bytes();
    // Fast path for the common case, plain digits that cannot overflow (≤ 18 of them): one multiply-add
    // per digit instead of the checked arithmetic of `str::parse`, which handles everything else.
    if !b.is_empty() && b.len() <= 18 && b.iter().all(u8::is_ascii_digit) {
        return Some(b.iter().fold(0i64, |acc, d| acc * 10 + (d - b'0') as i64));
    }
    trim_end(cell).parse::<i64>().ok()
}

/// Drops trailing whitespace, checking the last byte first (most cells have none).
#[inline]
fn trim_end(cell: &str) -> &str {
    match cell.as_bytes().last() {
        Some(b) if b.is_ascii_whitespace() || *b >= 0x80 => cell.trim_end(),
        _ => cell,
    }
}

/// Parses a numeric cell as a float64 (decimal or exponent notation, `inf`/`-inf`).
#[inline]
pub fn parse_float(cell: &str) -> Option<f64> {
    let s = trim_end(cell);
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Parses pandas' boolean literals.
#[inline]
pub fn parse_bool(cell: &str) -> Option<bool> {
    match cell {
        "True" | "TRUE" | "true" => Some(true),
        "False" | "FALSE" | "false" => Some(false),
        _ => None,
    }
}

/// The dtype pandas' `read_csv` would give a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InferredType {
    Int,
    Float,
    Bool,
    Object,
}

/// Running inference of [`InferredType`] over the cells of one column.
#[derive(Debug, Clone)]
pub struct TypeTracker {
    pub maybe_int: bool,
    pub maybe_float: bool,
    pub maybe_bool: bool,
    pub nulls: u64,
    pub non_null: u64,
}

impl Default for TypeTracker {
    fn default() -> Self {
        TypeTracker {
            maybe_int: true,
            maybe_float: true,
            maybe_bool: true,
            nulls: 0,
            non_null: 0,
        }
    }
}

impl TypeTracker {
    /// Records one trimmed cell; returns its float value when it is numeric.
    pub fn push(&mut self, cell: &str) -> Option<f64> {
        if is_na(cell.as_bytes()) {
            self.nulls += 1;
            return None;
        }
        self.non_null += 1;
        if self.maybe_bool && parse_bool(cell).is_none() {
            self.maybe_bool = false;
        }
        if self.maybe_int && parse_int(cell).is_none() {
            self.maybe_int = false;
        }
        if self.maybe_float {
            match parse_float(cell) {
                Some(v) => return Some(v),
                None => self.maybe_float = false,
            }
        }
        None
    }

    /// The final dtype. An all-null column is float64 in pandas.
    pub fn dtype(&self) -> InferredType {
        if self.non_null == 0 {
            InferredType::Float
        } else if self.maybe_bool && self.nulls == 0 {
            InferredType::Bool
        } else if self.maybe_int && self.nulls == 0 {
            InferredType::Int
        } else if self.maybe_int || self.maybe_float {
            InferredType::Float
        } else {
            InferredType::Object
        }
    }
}

/// A CSV source being read record by record.
pub struct CsvSource<R: Read> {
    pub origin: String,
    pub headers: Vec<String>,
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    /// 0-based index of the next data row.
    pub next_row: u64,
}

impl CsvSource<std::fs::File> {
    /// Opens a CSV file; the first line is the header.
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let file = std::fs::File::open(path)
            .map_err(|e| QualityError::io(format!("cannot open {}", path.display()), e))?;
        CsvSource::new(file, path.display().to_string())
    }
}

impl<R: Read> CsvSource<R> {
    /// Wraps any reader; `origin` names it in errors.
    pub fn new(input: R, origin: String) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(input);
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(&origin, e))?
            .clone();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(QualityError::EmptyFile { origin });
        }
        let mut headers = Vec::with_capacity(header.len());
        for field in header.iter() {
            let name = std::str::from_utf8(field).map_err(|_| QualityError::NotUtf8 {
                origin: origin.clone(),
                line: 1,
                column: " (header)".to_string(),
            })?;
            let name = name.trim().to_string();
            if headers.contains(&name) {
                return Err(QualityError::DuplicateColumn { origin, name });
            }
            headers.push(name);
        }
        Ok(CsvSource {
            origin,
            headers,
            reader,
            record: csv::StringRecord::new(),
            next_row: 0,
        })
    }

    /// Moves to the next data record (see [`CsvSource::record`]); false at the end. Ragged rows are errors.
    pub fn advance(&mut self) -> Result<bool> {
        let CsvSource {
            origin,
            headers,
            reader,
            record,
            next_row,
        } = self;
        read_checked(reader, origin, headers, next_row, record)
    }

    /// Reads the next data record into `record` (for callers that keep their own buffers); false at the
    /// end. Ragged rows and non-UTF-8 bytes are errors naming the line.
    pub fn read_into(&mut self, record: &mut csv::StringRecord) -> Result<bool> {
        let CsvSource {
            origin,
            headers,
            reader,
            next_row,
            ..
        } = self;
        read_checked(reader, origin, headers, next_row, record)
    }

    /// The current record's fields (UTF-8, not yet trimmed).
    pub fn record(&self) -> &csv::StringRecord {
        &self.record
    }

    /// Line number (1-based, header = line 1) of the record last returned.
    pub fn line(&self) -> u64 {
        self.record.position().map(|p| p.line()).unwrap_or(0)
    }
}

/// One record with the checks of [`CsvSource::read_into`] (a free function so that `advance` can read
/// into the source's own buffer without taking it out, which would allocate a new one per row).
fn read_checked<R: Read>(
    reader: &mut csv::Reader<R>,
    origin: &str,
    headers: &[String],
    next_row: &mut u64,
    record: &mut csv::StringRecord,
) -> Result<bool> {
    // A StringRecord checks UTF-8 once per record (not per field), and names the line when it fails.
    let more = match reader.read_record(record) {
        Ok(more) => more,
        Err(e) => {
            if let csv::ErrorKind::Utf8 { pos, err } = e.kind() {
                return Err(QualityError::NotUtf8 {
                    origin: origin.to_string(),
                    line: pos.as_ref().map(|p| p.line()).unwrap_or(0),
                    column: format!(
                        ", column `{}`",
                        headers.get(err.field()).map(String::as_str).unwrap_or("?")
                    ),
                });
            }
            return Err(csv_error(origin, e));
        }
    };
    if !more {
        return Ok(false);
    }
    if record.len() != headers.len() {
        return Err(QualityError::Ragged {
            origin: origin.to_string(),
            line: record.position().map(|p| p.line()).unwrap_or(0),
            row: *next_row,
            found: record.len(),
            expected: headers.len(),
        });
    }
    *next_row += 1;
    Ok(true)
}

fn csv_error(origin: &str, e: csv::Error) -> QualityError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => QualityError::io(format!("reading {origin}"), source),
        other => QualityError::Csv {
            origin: origin.to_string(),
            line,
            message: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pandas_dtype_inference() {
        let infer = |cells: &[&str]| {
            let mut t = TypeTracker::default();
            for c in cells {
                t.push(trim_start(c));
            }
            t.dtype()
        };
        assert_eq!(infer(&["1", "2", " 3"]), InferredType::Int);
        assert_eq!(infer(&["1", "", "3"]), InferredType::Float);
        assert_eq!(infer(&["1", "2.5"]), InferredType::Float);
        assert_eq!(infer(&["True", "false"]), InferredType::Bool);
        assert_eq!(infer(&["True", "NA"]), InferredType::Object);
        assert_eq!(infer(&["1", "x"]), InferredType::Object);
        assert_eq!(infer(&["", "NaN"]), InferredType::Float);
    }

    #[test]
    fn integers_parse_on_both_paths() {
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("123456789012345678"), Some(123456789012345678));
        assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_int("-42 "), Some(-42));
        assert_eq!(parse_int("+7"), Some(7));
        assert_eq!(parse_int("4.0"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_float("2.5\t"), Some(2.5));
    }

    #[test]
    fn bom_and_crlf_are_read_like_pandas() {
        let mut src = CsvSource::new("\u{feff}a,b\r\n1,x\r\n".as_bytes(), "t.csv".into()).unwrap();
        assert_eq!(src.headers, ["a", "b"]);
        assert!(src.advance().unwrap());
        assert_eq!(&src.record()[1], "x");
        assert!(!src.advance().unwrap());
    }

    #[test]
    fn ragged_row_names_its_line() {
        let mut src = CsvSource::new("a,b\n1,2\n3\n".as_bytes(), "t.csv".into()).unwrap();
        assert!(src.advance().unwrap());
        let err = src.advance().unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("data row 1") && err.contains("1 fields"),
            "{err}"
        );
    }
}
