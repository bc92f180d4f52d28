//! Property tests of extraction and chunking (proptest): on arbitrary input,
//! extraction never panics, and every chunk is a span of the extracted text
//! that round-trips (`text[start..end] == chunk.text`), with 1-based line
//! numbers that match the span; on plain text the chunks cover every
//! non-whitespace character.

use proptest::prelude::*;
use roadmap_rag::chunk::{chunk_document, ChunkConfig};
use roadmap_rag::extract::{extract, Kind};
use roadmap_rag::HashEmbedder;

/// Text made of words, punctuation, newlines, Markdown and HTML syntax and
/// some non-ASCII, so sentence, line and heading boundaries all occur.
fn texty() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-zA-Z]{1,12}",
            Just(" ".to_string()),
            Just(". ".to_string()),
            Just("? ".to_string()),
            Just("\n".to_string()),
            Just("\n\n".to_string()),
            Just("# ".to_string()),
            Just("## ".to_string()),
            Just("```\n".to_string()),
            Just("[t]\n".to_string()),
            Just("<p>".to_string()),
            Just("</p>".to_string()),
            Just("é".to_string()),
            Just("日本語".to_string()),
            Just("\u{1F600}".to_string()),
            Just("\t".to_string()),
        ],
        0..300,
    )
    .prop_map(|v| v.concat())
}

fn check_chunks(text: &str, cfg: &ChunkConfig, kind: Kind) -> Result<(), TestCaseError> {
    let Ok(doc) = extract(kind, text.as_bytes(), "prop") else {
        return Ok(()); // empty or unreadable: skipped with a reason, not a panic
    };
    let chunks = chunk_document(&doc, cfg, &HashEmbedder::default());
    let mut prev_start = 0;
    for c in &chunks {
        prop_assert!(c.start < c.end && c.end <= doc.text.len(), "{c:?}");
        prop_assert!(doc.text.is_char_boundary(c.start) && doc.text.is_char_boundary(c.end));
        prop_assert_eq!(&doc.text[c.start..c.end], c.text.as_str());
        prop_assert!(c.start >= prev_start, "chunks out of order");
        prev_start = c.start;
        let line_of = |off: usize| doc.text[..off].matches('\n').count() + 1;
        prop_assert_eq!(c.line_start, line_of(c.start));
        prop_assert!(c.line_end >= c.line_start);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn chunks_are_round_tripping_spans(
        text in texty(),
        max_tokens in 8usize..80,
        overlap in 0usize..20,
    ) {
        let cfg = ChunkConfig { max_tokens, overlap_tokens: overlap.min(max_tokens / 2) };
        for kind in [Kind::Markdown, Kind::Text, Kind::Toml, Kind::Html] {
            check_chunks(&text, &cfg, kind)?;
        }
    }

    #[test]
    fn plain_text_chunks_cover_every_visible_character(
        text in texty(),
        max_tokens in 8usize..80,
    ) {
        let cfg = ChunkConfig { max_tokens, overlap_tokens: 0 };
        let Ok(doc) = extract(Kind::Text, text.as_bytes(), "prop") else { return Ok(()) };
        let chunks = chunk_document(&doc, &cfg, &HashEmbedder::default());
        for (i, ch) in doc.text.char_indices() {
            if !ch.is_whitespace() {
                prop_assert!(
                    chunks.iter().any(|c| c.start <= i && i < c.end),
                    "byte {i} ({ch:?}) of {:?} is in no chunk", doc.text
                );
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_an_extractor(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        for kind in [Kind::Markdown, Kind::Text, Kind::Toml, Kind::Html, Kind::SquadJson, Kind::Pdf] {
            let _ = extract(kind, &bytes, "prop");
        }
    }
}
