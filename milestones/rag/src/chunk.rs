//! Sentence-aware chunking, budgeted in the embedder's own tokens.
//!
//! A document is cut into *sections* at its hard breaks (Markdown headings,
//! SQuAD paragraph starts): a chunk never straddles two sections, so every
//! chunk has one heading path and, for SQuAD, one paragraph. Inside a section
//! the text is split into sentences (Unicode sentence boundaries, UAX #29) and
//! sentences are packed greedily while the chunk stays within `max_tokens`.
//! The next chunk starts with the last sentences of the previous one, up to
//! `overlap_tokens`, so a fact cut by a boundary is still whole in one chunk.
//! A single sentence longer than the budget is cut at word boundaries.
//!
//! Every chunk is a byte span `[start, end)` of the document text: the chunk
//! text is exactly `text[start..end]`, which is what citations point at.

use unicode_segmentation::UnicodeSegmentation;

use crate::embedder::TextEmbedder;

/// Chunking parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkConfig {
    /// Upper bound on a chunk's tokens, heading prefix included (the model's window is 256).
    pub max_tokens: usize,
    /// Tokens of trailing sentences repeated at the start of the next chunk.
    pub overlap_tokens: usize,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        Self {
            max_tokens: 250,
            overlap_tokens: 40,
        }
    }
}

impl ChunkConfig {
    /// A short tag folded into document hashes so that changing the chunker re-chunks.
    pub fn tag(&self) -> String {
        format!("chunk-v1-{}-{}", self.max_tokens, self.overlap_tokens)
    }
}

/// A text ready for chunking: what extraction produces.
#[derive(Debug, Clone, Default)]
pub struct ExtractedDoc {
    pub text: String,
    /// Sections: byte offset where a section starts, with its heading path
    /// (for example `["Install", "From source"]`). Sorted by offset; text before
    /// the first section has an empty heading path.
    pub sections: Vec<(usize, Vec<String>)>,
}

/// One chunk of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Byte span in the document text.
    pub start: usize,
    pub end: usize,
    /// 1-based inclusive line range.
    pub line_start: usize,
    pub line_end: usize,
    /// Heading path, outermost first.
    pub heading: Vec<String>,
    /// `text[start..end]`.
    pub text: String,
}

impl Chunk {
    /// What gets embedded and indexed: the heading path gives a chunk its context
    /// ("Installation > Linux" tells what a bare "run make" is about).
    pub fn embed_text(&self) -> String {
        embed_text(&self.heading, &self.text)
    }
}

pub(crate) fn embed_text(heading: &[String], text: &str) -> String {
    if heading.is_empty() {
        text.to_string()
    } else {
        format!("{}\n{}", heading.join(" > "), text)
    }
}

/// Cuts a document into chunks. See the module documentation for the rules.
pub fn chunk_document(doc: &ExtractedDoc, cfg: &ChunkConfig, emb: &dyn TextEmbedder) -> Vec<Chunk> {
    let text = doc.text.as_str();
    let mut bounds: Vec<(usize, Vec<String>)> = Vec::new();
    if doc.sections.first().map(|s| s.0) != Some(0) {
        bounds.push((0, Vec::new()));
    }
    bounds.extend(doc.sections.iter().cloned());
    let line_index = LineIndex::new(text);
    let mut chunks = Vec::new();
    for (i, (start, heading)) in bounds.iter().enumerate() {
        let end = bounds.get(i + 1).map(|b| b.0).unwrap_or(text.len());
        if *start >= end {
            continue;
        }
        let heading_cost = if heading.is_empty() {
            0
        } else {
            emb.count_tokens(&heading.join(" > ")) + 1
        };
        // At least a few tokens of body per chunk even under a very long heading.
        let budget = cfg
            .max_tokens
            .min(emb.max_tokens())
            .saturating_sub(heading_cost)
            .max(8);
        for (s, e) in chunk_section(text, *start, end, budget, cfg.overlap_tokens, emb) {
            chunks.push(Chunk {
                start: s,
                end: e,
                line_start: line_index.line_of(s),
                line_end: line_index.line_of(e.saturating_sub(1).max(s)),
                heading: heading.clone(),
                text: text[s..e].to_string(),
            });
        }
    }
    chunks
}

/// Sentence pieces of `text[start..end]` with their token costs; whitespace-only
/// pieces are dropped and each piece is trimmed, so chunk spans start and end on
/// visible characters.
fn pieces(
    text: &str,
    start: usize,
    end: usize,
    budget: usize,
    emb: &dyn TextEmbedder,
) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for (off, sentence) in text[start..end].split_sentence_bound_indices() {
        let Some((s, e)) = trim_span(sentence) else {
            continue;
        };
        let (s, e) = (start + off + s, start + off + e);
        let cost = emb.count_tokens(&text[s..e]);
        if cost <= budget {
            out.push((s, e, cost));
            continue;
        }
        // An over-long "sentence" (a table, a list without full stops): cut at word bounds.
        let mut cur: Option<(usize, usize)> = None;
        let mut cur_cost = 0;
        for (woff, word) in text[s..e].split_word_bound_indices() {
            let w_cost = emb.count_tokens(word);
            let (ws, we) = (s + woff, s + woff + word.len());
            match cur {
                Some((cs, _)) if cur_cost + w_cost > budget => {
                    if let Some((ts, te)) = trim_span(&text[cs..ws]) {
                        out.push((cs + ts, cs + te, cur_cost));
                    }
                    cur = Some((ws, we));
                    cur_cost = w_cost;
                }
                Some((cs, _)) => {
                    cur = Some((cs, we));
                    cur_cost += w_cost;
                }
                None => {
                    cur = Some((ws, we));
                    cur_cost = w_cost;
                }
            }
        }
        if let Some((cs, ce)) = cur {
            if let Some((ts, te)) = trim_span(&text[cs..ce]) {
                out.push((cs + ts, cs + te, cur_cost));
            }
        }
    }
    out
}

/// Greedy packing of sentence pieces into spans of at most `budget` tokens
/// (sum of piece costs; a piece longer than the budget on its own after word
/// splitting cannot occur except for a single enormous "word").
fn chunk_section(
    text: &str,
    start: usize,
    end: usize,
    budget: usize,
    overlap: usize,
    emb: &dyn TextEmbedder,
) -> Vec<(usize, usize)> {
    let ps = pieces(text, start, end, budget, emb);
    let mut spans = Vec::new();
    let mut i = 0;
    while i < ps.len() {
        let mut j = i;
        let mut cost = 0;
        while j < ps.len() && (j == i || cost + ps[j].2 <= budget) {
            cost += ps[j].2;
            j += 1;
        }
        spans.push((ps[i].0, ps[j - 1].1));
        if j >= ps.len() {
            break;
        }
        // Step back over trailing pieces worth at most `overlap` tokens, but always advance.
        let mut k = j;
        let mut back = 0;
        while k > i + 1 && back + ps[k - 1].2 <= overlap {
            back += ps[k - 1].2;
            k -= 1;
        }
        i = k;
    }
    spans
}

fn trim_span(s: &str) -> Option<(usize, usize)> {
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    if trimmed.is_empty() {
        None
    } else {
        Some((lead, lead + trimmed.len()))
    }
}

/// Byte offset → 1-based line number, by binary search over line starts.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedder::HashEmbedder;

    #[test]
    fn line_index_maps_offsets() {
        let idx = LineIndex::new("ab\ncd\n\nef");
        assert_eq!(idx.line_of(0), 1);
        assert_eq!(idx.line_of(2), 1);
        assert_eq!(idx.line_of(3), 2);
        assert_eq!(idx.line_of(6), 3);
        assert_eq!(idx.line_of(7), 4);
    }

    #[test]
    fn long_section_is_split_with_overlap_and_budget() {
        let emb = HashEmbedder::default();
        let text: String = (0..60)
            .map(|i| format!("Sentence number {i} has a few words in it. "))
            .collect();
        let doc = ExtractedDoc {
            text: text.clone(),
            sections: vec![],
        };
        let cfg = ChunkConfig {
            max_tokens: 50,
            overlap_tokens: 12,
        };
        let chunks = chunk_document(&doc, &cfg, &emb);
        assert!(chunks.len() > 5);
        for c in &chunks {
            assert!(emb.count_tokens(&c.text) <= 50, "{}", c.text);
            assert_eq!(&text[c.start..c.end], c.text);
        }
        for w in chunks.windows(2) {
            assert!(w[1].start < w[0].end, "consecutive chunks overlap");
            assert!(w[1].start > w[0].start, "chunking advances");
        }
        assert_eq!(chunks.last().unwrap().end, text.trim_end().len());
    }

    #[test]
    fn giant_sentence_is_cut_at_words() {
        let emb = HashEmbedder::default();
        let text = "word ".repeat(1000);
        let doc = ExtractedDoc {
            text: text.clone(),
            sections: vec![],
        };
        let chunks = chunk_document(&doc, &ChunkConfig::default(), &emb);
        assert!(chunks.len() >= 4);
        for c in &chunks {
            assert!(emb.count_tokens(&c.text) <= ChunkConfig::default().max_tokens);
        }
    }
}
