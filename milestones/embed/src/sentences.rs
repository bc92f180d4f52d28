//! Splitting a document into sentences, streamed, with byte offsets and line numbers.
//!
//! Sentence boundaries come from Unicode's segmentation rules (UAX #29, via
//! `unicode-segmentation`), with three corrections for real documents:
//!
//! - **Newlines.** UAX #29 ends a sentence at every line break, which cuts
//!   hard-wrapped prose into fragments. Here a single line break inside a
//!   paragraph counts as a space; a blank line ends the paragraph (and so the
//!   sentence).
//! - **Abbreviations.** "Dr. Smith" or "J. R. R. Tolkien" end a UAX #29
//!   sentence at the period before the capital. A segment whose last word is a
//!   known abbreviation, or a single capital letter and a period, is joined
//!   with the next one.
//! - **Very long lines.** A "sentence" longer than [`MAX_SENTENCE_BYTES`]
//!   (a log line, a table row, a text without punctuation) is cut at the last
//!   whitespace before the limit, so no piece exceeds what the model reads
//!   (256 tokens ≈ 1,000–1,200 characters of English).
//!
//! The reader holds at most about [`BLOCK_BYTES`] of text at a time, whatever
//! the size of the file, and reports how many bytes it has consumed (for a
//! progress bar). It refuses binary files (a NUL byte) and invalid UTF-8, with
//! the byte offset and line of the first bad byte.

use std::io::Read;
use std::path::{Path, PathBuf};

use unicode_segmentation::UnicodeSegmentation;

use crate::error::EmbedError;

/// Longest sentence piece, in bytes.
pub const MAX_SENTENCE_BYTES: usize = 1000;
/// How much text the reader segments at once.
pub const BLOCK_BYTES: usize = 64 * 1024;

/// Words that end with a period without ending the sentence (compared lowercase).
const ABBREVIATIONS: &[&str] = &[
    "mr.", "mrs.", "ms.", "dr.", "prof.", "sr.", "jr.", "st.", "vs.", "etc.", "e.g.", "i.e.",
    "cf.", "al.", "fig.", "figs.", "eq.", "eqs.", "sec.", "ch.", "no.", "vol.", "pp.", "approx.",
    "inc.", "ltd.", "co.", "corp.", "dept.", "univ.", "jan.", "feb.", "mar.", "apr.", "jun.",
    "jul.", "aug.", "sep.", "sept.", "oct.", "nov.", "dec.", "ref.", "refs.", "resp.",
];

/// One sentence of a document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sentence {
    /// The sentence with every run of whitespace (line breaks included) made one space.
    pub text: String,
    /// Byte offset of its first byte in the document.
    pub start: usize,
    /// Byte offset just past its last byte.
    pub end: usize,
    /// 1-based line of its first byte.
    pub line: usize,
}

/// Splits a whole text (see the module docs for the rules).
pub fn split_sentences(text: &str) -> Vec<Sentence> {
    SentenceReader::new(text.as_bytes(), Path::new("<text>"))
        .collect::<Result<Vec<_>, _>>()
        .expect("a &str is valid UTF-8 and reading it cannot fail")
}

/// Streams the sentences of a UTF-8 document.
pub struct SentenceReader<R: Read> {
    reader: R,
    path: PathBuf,
    /// Bytes read but not yet segmented; `pending[0]` is at `offset` in the document.
    pending: Vec<u8>,
    offset: usize,
    /// Line number of `pending[0]`.
    line: usize,
    eof: bool,
    checked_binary: bool,
    ready: std::collections::VecDeque<Sentence>,
    consumed: usize,
    failed: bool,
}

impl<R: Read> SentenceReader<R> {
    /// `path` only names the document in error messages.
    pub fn new(reader: R, path: &Path) -> Self {
        Self {
            reader,
            path: path.to_path_buf(),
            pending: Vec::new(),
            offset: 0,
            line: 1,
            eof: false,
            checked_binary: false,
            ready: Default::default(),
            consumed: 0,
            failed: false,
        }
    }

    /// Bytes of the document read so far.
    pub fn bytes_read(&self) -> usize {
        self.consumed
    }

    fn bad(&self, reason: String) -> EmbedError {
        EmbedError::BadDocument {
            path: self.path.clone(),
            reason,
        }
    }

    /// Reads up to one block more and segments what is complete.
    fn fill(&mut self) -> Result<(), EmbedError> {
        let want = BLOCK_BYTES;
        let old = self.pending.len();
        self.pending.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match self.reader.read(&mut self.pending[old + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(EmbedError::io(&self.path, e)),
            }
        }
        self.pending.truncate(old + got);
        self.consumed += got;
        if !self.checked_binary && (self.pending.len() >= 8192 || self.eof) {
            self.checked_binary = true;
            let head = &self.pending[..self.pending.len().min(8192)];
            if let Some(pos) = head.iter().position(|&b| b == 0) {
                return Err(self.bad(format!(
                    "this looks like a binary file (a NUL byte at byte {}), not text: give a UTF-8 text document",
                    self.offset + pos
                )));
            }
        }
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() && !self.eof => e.valid_up_to(),
            Err(e) => {
                let at = e.valid_up_to();
                let line = self.line + self.pending[..at].iter().filter(|&&b| b == b'\n').count();
                return Err(self.bad(format!(
                    "not valid UTF-8 at byte {} (line {line}): convert the file to UTF-8 (for example with iconv)",
                    self.offset + at
                )));
            }
        };
        let text = std::str::from_utf8(&self.pending[..valid]).expect("validated above");
        if text.contains('\0') {
            let pos = text.find('\0').unwrap_or(0);
            return Err(self.bad(format!(
                "a NUL byte at byte {}: this is not a text document",
                self.offset + pos
            )));
        }
        // How much of `text` is complete: all of it at the end of the file;
        // else up to the last blank line; else, for a block without blank
        // lines, everything but its last sentence.
        let cut = if self.eof && valid == self.pending.len() {
            valid
        } else if let Some(end) = last_blank_line_end(text) {
            end
        } else if valid >= BLOCK_BYTES {
            let sents = segment(text, 0, 1);
            match sents.last() {
                Some(last) if last.start > 0 => last.start,
                _ => valid,
            }
        } else {
            0
        };
        if cut > 0 {
            let done = &text[..cut];
            self.ready.extend(segment(done, self.offset, self.line));
            self.line += done.bytes().filter(|&b| b == b'\n').count();
            self.offset += cut;
            self.pending.drain(..cut);
        }
        Ok(())
    }
}

impl<R: Read> Iterator for SentenceReader<R> {
    type Item = Result<Sentence, EmbedError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(s) = self.ready.pop_front() {
                return Some(Ok(s));
            }
            if self.failed || (self.eof && self.pending.is_empty()) {
                return None;
            }
            if let Err(e) = self.fill() {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }
}

/// End of the last complete line that holds only whitespace (the byte after its '\n').
fn last_blank_line_end(text: &str) -> Option<usize> {
    let mut pos = 0;
    let mut found = None;
    for line in text.split_inclusive('\n') {
        pos += line.len();
        if line.ends_with('\n') && line.trim().is_empty() {
            found = Some(pos);
        }
    }
    found
}

/// Segments complete text starting at document offset `base`, line `line`.
fn segment(text: &str, base: usize, line: usize) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut line_no = line;
    let mut counted = 0;
    let mut emit = |start: usize, end: usize, out: &mut Vec<Sentence>| {
        let piece = &text[start..end];
        let trimmed = piece.trim_start();
        let s = start + (piece.len() - trimmed.len());
        let e = s + trimmed.trim_end().len();
        if s >= e || !text[s..e].chars().any(char::is_alphanumeric) {
            return;
        }
        for (ps, pe) in cut_long(&text[s..e]) {
            let (ps, pe) = (s + ps, s + pe);
            line_no += text.as_bytes()[counted..ps]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted = ps;
            out.push(Sentence {
                text: text[ps..pe]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                start: base + ps,
                end: base + pe,
                line: line_no,
            });
        }
    };
    for (p0, p1) in paragraphs(text) {
        // Line breaks inside a paragraph become spaces (same byte length, so
        // offsets carry over), then UAX #29 finds the sentence boundaries.
        let flat: String = text[p0..p1]
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        let mut start: Option<usize> = None;
        let mut bounds = flat.split_sentence_bound_indices().peekable();
        while let Some((i, seg)) = bounds.next() {
            let s = *start.get_or_insert(i);
            let end = i + seg.len();
            if bounds.peek().is_some() && ends_with_abbreviation(&flat[s..end]) {
                continue;
            }
            emit(p0 + s, p0 + end, &mut out);
            start = None;
        }
    }
    out
}

/// Paragraphs: ranges separated by lines that hold only whitespace.
fn paragraphs(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let next = pos + line.len();
        if line.trim().is_empty() {
            if pos > start {
                out.push((start, pos));
            }
            start = next;
        }
        pos = next;
    }
    if pos > start {
        out.push((start, pos));
    }
    out
}

fn ends_with_abbreviation(segment: &str) -> bool {
    let Some(word) = segment.split_whitespace().last() else {
        return false;
    };
    let word = word.trim_start_matches(['(', '"', '\'', '[', '“', '‘']);
    let lower = word.to_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return true;
    }
    // An initial: "J." in "J. Smith".
    let mut chars = word.chars();
    matches!((chars.next(), chars.next(), chars.next()), (Some(c), Some('.'), None) if c.is_uppercase())
}

/// Cuts `s` into pieces of at most [`MAX_SENTENCE_BYTES`], at whitespace when
/// there is any in the second half of the window, else at a character boundary.
fn cut_long(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while s.len() - start > MAX_SENTENCE_BYTES {
        let mut limit = start + MAX_SENTENCE_BYTES;
        while !s.is_char_boundary(limit) {
            limit -= 1;
        }
        let window = &s[start..limit];
        let cut = match window.rfind(char::is_whitespace) {
            Some(ws) if ws > MAX_SENTENCE_BYTES / 2 => start + ws,
            _ => limit,
        };
        out.push((start, cut));
        start = cut;
        while let Some(c) = s[start..].chars().next().filter(|c| c.is_whitespace()) {
            start += c.len_utf8();
        }
    }
    if start < s.len() {
        out.push((start, s.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split_sentences(s).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn wrapped_lines_abbreviations_and_offsets() {
        let doc = "Dr. Smith trains models on GPUs.\nThe loss, e.g. cross-entropy, falls\nslowly. J. R. Tolkien wrote books.\n\nA new paragraph";
        let s = split_sentences(doc);
        let t: Vec<&str> = s.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            t,
            [
                "Dr. Smith trains models on GPUs.",
                "The loss, e.g. cross-entropy, falls slowly.",
                "J. R. Tolkien wrote books.",
                "A new paragraph"
            ]
        );
        for x in &s {
            assert_eq!(
                doc[x.start..x.end]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                x.text
            );
        }
        assert_eq!(s.iter().map(|x| x.line).collect::<Vec<_>>(), [1, 2, 3, 5]);
    }

    #[test]
    fn crlf_and_blank_lines_with_spaces() {
        let t = texts("First one.\r\n  \r\nSecond\r\nhalf.  Third!\r\n");
        assert_eq!(t, ["First one.", "Second half.", "Third!"]);
    }

    #[test]
    fn long_lines_are_cut_near_the_limit() {
        let line = "word ".repeat(2000);
        let s = split_sentences(&line);
        assert!(s.len() >= 10, "{}", s.len());
        assert!(s.iter().all(|x| x.end - x.start <= MAX_SENTENCE_BYTES));
        assert_eq!(
            s.iter().map(|x| x.text.split(' ').count()).sum::<usize>(),
            2000
        );
        // Without any whitespace: cut at character boundaries.
        let blob = "é".repeat(3000);
        let s = split_sentences(&blob);
        assert_eq!(
            s.iter().map(|x| x.text.chars().count()).sum::<usize>(),
            3000
        );
    }

    #[test]
    fn empty_and_punctuation_only() {
        assert!(split_sentences("").is_empty());
        assert!(split_sentences(" \n\n --- \n").is_empty());
    }

    #[test]
    fn streaming_matches_whole_text_across_block_edges() {
        // Paragraphs and a long paragraph without blank lines, bigger than a block.
        let mut doc = String::new();
        for i in 0..3000 {
            doc.push_str(&format!(
                "Sentence number {i} talks about gradient descent.\n"
            ));
            if i % 700 == 0 {
                doc.push('\n');
            }
        }
        let streamed: Vec<Sentence> =
            SentenceReader::new(std::io::Cursor::new(doc.as_bytes()), Path::new("x"))
                .map(|r| r.unwrap())
                .collect();
        assert_eq!(streamed.len(), 3000);
        for (i, s) in streamed.iter().enumerate() {
            assert_eq!(
                s.text,
                format!("Sentence number {i} talks about gradient descent.")
            );
            assert_eq!(&doc[s.start..s.end], s.text);
            assert_eq!(s.line, doc[..s.start].matches('\n').count() + 1);
        }
    }

    #[test]
    fn binary_and_invalid_utf8_are_refused() {
        let err = SentenceReader::new(&b"abc\0def"[..], Path::new("f.bin"))
            .next()
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("binary"), "{err}");
        let mut bytes = b"Fine line.\nBad \xff byte.\n".to_vec();
        bytes.extend(b"more");
        let err = SentenceReader::new(&bytes[..], Path::new("f.txt"))
            .find_map(|r| r.err())
            .unwrap();
        let msg = err.to_string();
        assert!(
            msg.contains("UTF-8") && msg.contains("byte 15") && msg.contains("line 2"),
            "{msg}"
        );
    }
}
