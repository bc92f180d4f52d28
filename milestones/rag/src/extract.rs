//! Turning files into text: what is supported, and why anything else is skipped.
//!
//! - `.md`/`.markdown`: the file itself; ATX headings (`#`..`######`, outside
//!   fenced code) start sections and give chunks their heading path.
//! - `.txt`, `.rst`: the file itself, no sections.
//! - `.toml`: the file itself; every table header (`[a]`, `[[a.b]]`) starts a
//!   section, nested by its dots, named by the table's `title` (and `id`) keys.
//! - `.html`/`.htm`: rendered to plain text by `html2text` (a real HTML5
//!   parser); `<script>` and `<style>` contents are dropped.
//! - `.pdf`: the text layer, through `pdf-extract` (scanned PDFs have none and are skipped).
//! - `.json`: only SQuAD-format files (paragraphs become the text).
//!
//! For text and Markdown, chunk spans index the file's own bytes; for the
//! others they index the extracted text, which the store keeps per document.

use std::path::Path;

use crate::chunk::ExtractedDoc;
use crate::squad;

/// The kind of a source file, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Markdown,
    Text,
    Toml,
    Html,
    Pdf,
    SquadJson,
}

impl Kind {
    pub fn of(path: &Path) -> Option<Kind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "md" | "markdown" => Kind::Markdown,
            "txt" | "text" | "rst" => Kind::Text,
            "toml" => Kind::Toml,
            "html" | "htm" | "xhtml" => Kind::Html,
            "pdf" => Kind::Pdf,
            "json" => Kind::SquadJson,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Markdown => "markdown",
            Kind::Text => "text",
            Kind::Toml => "toml",
            Kind::Html => "html",
            Kind::Pdf => "pdf",
            Kind::SquadJson => "squad-json",
        }
    }
}

/// Extracts the text of a file's bytes. `Err` is a human-readable reason to skip it.
pub fn extract(kind: Kind, bytes: &[u8], what: &str) -> Result<ExtractedDoc, String> {
    let doc = match kind {
        Kind::Markdown => {
            let text = utf8(bytes)?;
            let sections = markdown_sections(&text);
            ExtractedDoc { text, sections }
        }
        Kind::Text => ExtractedDoc {
            text: utf8(bytes)?,
            sections: vec![],
        },
        Kind::Toml => {
            let text = utf8(bytes)?;
            let sections = toml_sections(&text);
            ExtractedDoc { text, sections }
        }
        Kind::Html => {
            // A very wide line so html2text does not hard-wrap sentences.
            let text = html2text::from_read(bytes, 100_000)
                .map_err(|e| format!("HTML could not be rendered: {e}"))?;
            ExtractedDoc {
                text: text
                    .lines()
                    .map(str::trim_end)
                    .collect::<Vec<_>>()
                    .join("\n"),
                sections: vec![],
            }
        }
        Kind::Pdf => {
            // pdf-extract panics on some malformed files; a bad PDF must not end the ingest.
            let result = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes));
            let text = match result {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => return Err(format!("PDF could not be read: {e}")),
                Err(_) => {
                    return Err("PDF could not be read: the parser gave up on this file".into())
                }
            };
            ExtractedDoc {
                text,
                sections: vec![],
            }
        }
        Kind::SquadJson => {
            let file = squad::parse(bytes, what).map_err(|e| e.to_string())?;
            squad::corpus(&file, None).doc
        }
    };
    if doc.text.trim().is_empty() {
        return Err(match kind {
            Kind::Pdf => "no text layer (a scanned PDF? run OCR first)".into(),
            _ => "empty: no text to index".into(),
        });
    }
    Ok(doc)
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        format!(
            "not valid UTF-8 (first bad byte at offset {}); convert it, e.g. `iconv -f latin1 -t utf-8`",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Sections of a Markdown text: one per ATX heading, with the heading path.
pub fn markdown_sections(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut sections = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut fence: Option<&str> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            if trimmed.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if trimmed.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        // At most three spaces of indentation, 1-6 '#', then a space or the end.
        if line.len() - trimmed.len() > 3 {
            continue;
        }
        let level = trimmed.bytes().take_while(|&b| b == b'#').count();
        if level == 0 || level > 6 {
            continue;
        }
        let rest = &trimmed[level..];
        if !(rest.starts_with(' ') || rest.starts_with('\t') || rest.trim().is_empty()) {
            continue;
        }
        let title = rest.trim().trim_end_matches('#').trim().to_string();
        while path.last().is_some_and(|(l, _)| *l >= level) {
            path.pop();
        }
        path.push((level, title));
        sections.push((start, path.iter().map(|(_, t)| t.clone()).collect()));
    }
    sections
}

/// `phase4.milestone` → `phase 4 milestone`: identifiers split into the words a
/// query would use (the full-text tokenizer keeps `phase4` as one token).
fn humanize_id(id: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in id.chars() {
        let sep = matches!(c, '.' | '_' | '-');
        let boundary = prev.is_some_and(|p| {
            (p.is_alphabetic() && c.is_ascii_digit()) || (p.is_ascii_digit() && c.is_alphabetic())
        });
        if sep {
            out.push(' ');
        } else {
            if boundary {
                out.push(' ');
            }
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// Sections of a TOML text: one per table header, nested by the header's dotted
/// depth, named `title (id)` from the table's own keys when it has them.
pub fn toml_sections(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut headers: Vec<(usize, usize, String, usize)> = Vec::new(); // (offset, depth, name, line index)
    let lines: Vec<(usize, &str)> = {
        let mut off = 0;
        text.split_inclusive('\n')
            .map(|l| {
                let o = off;
                off += l.len();
                (o, l)
            })
            .collect()
    };
    for (i, (off, line)) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            let name = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            headers.push((*off, name.matches('.').count() + 1, name, i));
        }
    }
    let value = |from: usize, to: usize, key: &str| {
        lines[from..to].iter().find_map(|(_, l)| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut out = Vec::new();
    for (h, (off, depth, name, line)) in headers.iter().enumerate() {
        let end = headers.get(h + 1).map_or(lines.len(), |n| n.3);
        let label = match (
            value(line + 1, end, "title"),
            value(line + 1, end, "id").map(|id| humanize_id(&id)),
        ) {
            (Some(t), Some(id)) => format!("{t} ({id})"),
            (Some(t), None) => t,
            (None, Some(id)) => id,
            (None, None) => name.clone(),
        };
        while path.last().is_some_and(|(d, _)| d >= depth) {
            path.pop();
        }
        path.push((*depth, label));
        out.push((*off, path.iter().map(|(_, l)| l.clone()).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn toml_tables_are_sections() {
        let t = "title = \"x\"\n[[phases]]\nid = \"p4\"\ntitle = \"Embeddings\"\n[[phases.resources]]\ntitle = \"Paper\"\n[phases.milestone]\nid = \"p4.m\"\n[[phases]]\nid = \"p5\"\n";
        let s = toml_sections(t);
        let paths: Vec<String> = s.iter().map(|(_, p)| p.join(">")).collect();
        assert_eq!(
            paths,
            [
                "Embeddings (p 4)",
                "Embeddings (p 4)>Paper",
                "Embeddings (p 4)>p 4 m",
                "p 5"
            ]
        );
        assert!(t[s[0].0..].starts_with("[[phases]]"));
    }

    use super::*;

    #[test]
    fn markdown_heading_paths() {
        let md = "intro\n# A\ntext\n## B\nmore\n```\n# not a heading\n```\n### C\nx\n# D\ny\n";
        let s = markdown_sections(md);
        let paths: Vec<_> = s.iter().map(|(_, p)| p.join(">")).collect();
        assert_eq!(paths, ["A", "A>B", "A>B>C", "D"]);
        assert_eq!(&md[s[0].0..s[0].0 + 3], "# A");
    }

    #[test]
    fn html_drops_script_and_style() {
        let html = b"<html><head><style>body{color:red}</style><script>var secret=1;</script></head>\
            <body><h1>Title</h1><p>Hello <b>world</b>.</p><script>alert('x')</script></body></html>";
        let doc = extract(Kind::Html, html, "t.html").unwrap();
        assert!(doc.text.contains("Hello"), "{}", doc.text);
        assert!(doc.text.contains("world"));
        assert!(!doc.text.contains("secret"), "{}", doc.text);
        assert!(!doc.text.contains("alert"), "{}", doc.text);
        assert!(!doc.text.contains("color:red"), "{}", doc.text);
    }

    #[test]
    fn bad_inputs_give_reasons() {
        assert!(extract(Kind::Text, b"  \n ", "e.txt")
            .unwrap_err()
            .contains("empty"));
        assert!(extract(Kind::Text, b"ok \xff\xfe", "b.txt")
            .unwrap_err()
            .contains("UTF-8"));
        assert!(extract(Kind::SquadJson, b"{\"a\":1}", "x.json")
            .unwrap_err()
            .contains("SQuAD"));
        assert!(extract(Kind::Pdf, b"%PDF-1.4 garbage", "x.pdf").is_err());
    }
}
