//! The data: the shipped movie-review snippets, and `label,text` CSV files.
//!
//! The shipped file is `data/sentiment/movieReviewSnippets_GroundTruth.txt`
//! (see its PROVENANCE.md): 10,605 Rotten Tomatoes snippets from Pang & Lee's
//! sentence-polarity data, each with the mean of about twenty human ratings on
//! a −4…+4 scale, collected for the VADER study. The label is the sign of the
//! mean rating (positive if > 0); the 37 snippets rated exactly 0 carry no
//! polarity and are dropped. Two snippets occur twice verbatim (with the same
//! sign): the second copy is dropped, otherwise a copy could land in the
//! training split and the other in the test split and inflate the score.
//!
//! The file is tab-separated without quoting (one text holds a lone `"`), with
//! CRLF line ends; it is read with the `csv` crate configured exactly so.

use std::collections::HashSet;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::Error;

/// The shipped ground-truth file, embedded so the milestone runs anywhere.
pub const SHIPPED_GROUND_TRUTH: &str =
    include_str!("../../../data/sentiment/movieReviewSnippets_GroundTruth.txt");

/// Texts with binary labels (1 = positive, 0 = negative).
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub texts: Vec<String>,
    pub labels: Vec<u8>,
}

/// What [`parse_ground_truth`] kept and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoadStats {
    pub rows: usize,
    pub neutral_dropped: usize,
    pub duplicates_dropped: usize,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.texts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
    /// The rows at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Dataset {
        Dataset {
            texts: idx.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
        }
    }
    /// The labels as `f32` targets for the network.
    pub fn targets(&self) -> Vec<f32> {
        self.labels.iter().map(|&l| f32::from(l)).collect()
    }
    pub fn text_refs(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }
    /// Share of positive labels.
    pub fn positive_rate(&self) -> f64 {
        self.labels.iter().map(|&l| f64::from(l)).sum::<f64>() / self.len().max(1) as f64
    }
}

/// The shipped data set, parsed.
pub fn shipped() -> Result<(Dataset, LoadStats), Error> {
    parse_ground_truth(SHIPPED_GROUND_TRUTH, "movieReviewSnippets_GroundTruth.txt")
}

/// SHA-256 (hex) of the shipped file, recorded in the model metadata.
pub fn shipped_sha256() -> String {
    sha256_hex(SHIPPED_GROUND_TRUTH.as_bytes())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parses `id<TAB>mean_rating<TAB>text` lines (see the module docs).
pub fn parse_ground_truth(text: &str, source_name: &str) -> Result<(Dataset, LoadStats), Error> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .quoting(false)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut data = Dataset::default();
    let mut stats = LoadStats::default();
    let mut seen = HashSet::new();
    // Without quoting every record is exactly one line.
    for (line, record) in (1u64..).zip(reader.records()) {
        let record = record.map_err(|e| csv_error(e, source_name))?;
        let bad = |reason: String| Error::Data {
            source_name: source_name.to_string(),
            line,
            reason,
        };
        if record.len() != 3 {
            return Err(bad(format!(
                "expected 3 tab-separated fields (id, rating, text), found {}",
                record.len()
            )));
        }
        stats.rows += 1;
        let rating: f64 = record[1]
            .trim()
            .parse()
            .map_err(|e| bad(format!("rating `{}` is not a number: {e}", &record[1])))?;
        if !(-4.0..=4.0).contains(&rating) {
            return Err(bad(format!("rating {rating} is outside [-4, 4]")));
        }
        let text = record[2].trim();
        if text.is_empty() {
            return Err(bad("empty text".into()));
        }
        if rating == 0.0 {
            stats.neutral_dropped += 1;
            continue;
        }
        if !seen.insert(text.to_string()) {
            stats.duplicates_dropped += 1;
            continue;
        }
        data.texts.push(text.to_string());
        data.labels.push(u8::from(rating > 0.0));
    }
    Ok((data, stats))
}

/// Reads a `label,text` CSV (header required; label 0/1 or negative/positive).
pub fn read_labeled_csv(path: &Path) -> Result<Dataset, Error> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file);
    let headers = reader.headers().map_err(|e| csv_error(e, &name))?.clone();
    let (Some(li), Some(ti)) = (
        headers.iter().position(|h| h.trim() == "label"),
        headers.iter().position(|h| h.trim() == "text"),
    ) else {
        return Err(Error::Data {
            source_name: name,
            line: 1,
            reason: format!(
                "the header must name columns `label` and `text`, found `{}`",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        });
    };
    let mut data = Dataset::default();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(e, &name))?;
        let line = record.position().map_or(0, |p| p.line());
        let bad = |reason: String| Error::Data {
            source_name: name.clone(),
            line,
            reason,
        };
        let label = match record.get(li).map(str::trim) {
            Some("1") | Some("positive") => 1,
            Some("0") | Some("negative") => 0,
            other => {
                return Err(bad(format!(
                    "label must be 0/1 or negative/positive, found `{}`",
                    other.unwrap_or("")
                )))
            }
        };
        let text = record.get(ti).unwrap_or("").trim();
        if text.is_empty() {
            return Err(bad("empty text".into()));
        }
        data.texts.push(text.to_string());
        data.labels.push(label);
    }
    if data.is_empty() {
        return Err(Error::Data {
            source_name: name,
            line: 1,
            reason: "no data rows".into(),
        });
    }
    Ok(data)
}

/// Turns a csv error into a [`Error::Data`] naming the line (invalid UTF-8 included).
pub(crate) fn csv_error(e: csv::Error, source_name: &str) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    let reason = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("invalid UTF-8 ({err}): save the file as UTF-8")
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!(
                "{len} fields where the header has {expected_len} (quote texts containing commas)"
            )
        }
        csv::ErrorKind::Io(err) => format!("read error: {err}"),
        _ => e.to_string(),
    };
    Error::Data {
        source_name: source_name.to_string(),
        line,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_data_counts() {
        let (data, stats) = shipped().unwrap();
        assert_eq!(
            stats,
            LoadStats {
                rows: 10_605,
                neutral_dropped: 37,
                duplicates_dropped: 2
            }
        );
        assert_eq!(data.len(), 10_566);
        let pos = data.labels.iter().filter(|&&l| l == 1).count();
        assert_eq!(pos, 5_241); // 5,242 positive rows, one duplicated
                                // CRLF must not leak into the texts.
        assert!(data
            .texts
            .iter()
            .all(|t| !t.contains('\r') && !t.contains('\n')));
        assert!(data.texts[0].starts_with("The Rock is destined"));
    }

    #[test]
    fn malformed_rows_name_the_line() {
        let err = parse_ground_truth("1\t2.0\tgood\r\n2\tabc\tbad\r\n", "x.txt").unwrap_err();
        assert!(matches!(err, Error::Data { line: 2, .. }), "{err}");
        let err = parse_ground_truth("1\t2.0\r\n", "x.txt").unwrap_err();
        assert!(err.to_string().contains("3 tab-separated"), "{err}");
    }

    #[test]
    fn csv_invalid_utf8_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, b"label,text\n1,fine\n0,bad \xff byte\n").unwrap();
        let err = read_labeled_csv(&path).unwrap_err();
        assert!(matches!(err, Error::Data { line: 3, .. }), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
        std::fs::write(&path, "label,text\n1,\"a, quoted\ntext\"\n0,plain\n").unwrap();
        let d = read_labeled_csv(&path).unwrap();
        assert_eq!(d.texts, vec!["a, quoted\ntext", "plain"]);
        assert_eq!(d.labels, vec![1, 0]);
        std::fs::write(&path, "text,label\nx,2\n").unwrap();
        assert!(read_labeled_csv(&path)
            .unwrap_err()
            .to_string()
            .contains("0/1"));
        std::fs::write(&path, "label,text\n1,good\n0,\"two\nlines\"\n7,bad label\n").unwrap();
        let err = read_labeled_csv(&path).unwrap_err();
        assert!(matches!(err, Error::Data { line: 5, .. }), "{err}");
    }
}
