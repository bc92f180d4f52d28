//! Answer quality on SQuAD: exact match and token F1 with the official SQuAD
//! v1.1 evaluation script's normalisation, and the citation-support rate.
//!
//! Normalisation (`normalize_answer` in the official script): lowercase, remove
//! punctuation, remove the articles *a*, *an*, *the*, collapse whitespace. A
//! prediction is scored against every gold answer and keeps the best score.

use std::collections::HashMap;
use std::time::Instant;

use crate::embedder::TextEmbedder;
use crate::error::Result;
use crate::generate::Generator;
use crate::ingest::{index_document, IngestOptions};
use crate::retrieve::{search, Mode, SearchOptions};
use crate::squad::{self, SquadFile};
use crate::store::{SqliteStore, VectorStore};

/// SQuAD's normalisation: lowercase, drop punctuation, drop the articles a/an/the, collapse
/// whitespace. (The official script removes `string.punctuation`, i.e. ASCII punctuation; we also
/// remove Unicode punctuation such as curly quotes and dashes, which occur in model output.)
pub fn normalize(s: &str) -> String {
    let lower = s.to_lowercase();
    let no_punct: String = lower
        .chars()
        .filter(|c| !(c.is_ascii_punctuation() || is_unicode_punct(*c)))
        .collect();
    no_punct
        .split_whitespace()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_unicode_punct(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205E}' | '\u{00A1}' | '\u{00AB}' | '\u{00B7}' | '\u{00BB}' | '\u{00BF}'
    )
}

/// 1.0 if the normalised strings are equal, else 0.0.
pub fn exact_match(prediction: &str, gold: &str) -> f64 {
    f64::from(u8::from(normalize(prediction) == normalize(gold)))
}

/// Token F1 of the normalised strings:
///
/// ```text
/// common    = Σ_t min(count_pred(t), count_gold(t))      (multiset overlap)
/// precision = common / |pred|,  recall = common / |gold|
/// F1        = 2 · precision · recall / (precision + recall)   (0 when common = 0)
/// ```
pub fn f1(prediction: &str, gold: &str) -> f64 {
    let p = normalize(prediction);
    let g = normalize(gold);
    let p: Vec<&str> = p.split_whitespace().collect();
    let g: Vec<&str> = g.split_whitespace().collect();
    if p.is_empty() || g.is_empty() {
        // The official v1.1 script returns 0 here unless both are empty (then the Counter overlap
        // is 0 too): an empty prediction never scores.
        return 0.0;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &g {
        *counts.entry(t).or_default() += 1;
    }
    let mut common = 0usize;
    for t in &p {
        if let Some(c) = counts.get_mut(t) {
            if *c > 0 {
                *c -= 1;
                common += 1;
            }
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / p.len() as f64;
    let recall = common as f64 / g.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// The best of `metric(prediction, gold)` over the gold answers (0 with none).
pub fn max_over_gold(metric: fn(&str, &str) -> f64, prediction: &str, golds: &[String]) -> f64 {
    golds
        .iter()
        .map(|g| metric(prediction, g))
        .fold(0.0, f64::max)
}

/// Removes citation markers `[n]` from an answer (they are not part of the answer text).
pub fn strip_citations(answer: &str) -> String {
    let mut out = String::with_capacity(answer.len());
    let mut rest = answer;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after.as_bytes().get(digits) == Some(&b']') {
            rest = &after[digits + 1..];
        } else {
            out.push('[');
            rest = after;
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Is the answer supported by its citations? Every sentence of the answer
/// (citation markers removed, normalised) must occur in the normalised text of
/// one of the cited chunks. An answer without citations is unsupported.
pub fn citation_supported(answer: &str, cited_texts: &[&str]) -> bool {
    if cited_texts.is_empty() {
        return false;
    }
    let sources: Vec<String> = cited_texts.iter().map(|t| normalize(t)).collect();
    // Split on the markers themselves: each cited span is checked on its own. Brackets that are
    // not markers ("Warszawa [varˈʂava]") stay in the text.
    let mut spans = Vec::new();
    let mut start = 0;
    let mut from = 0;
    while let Some(off) = answer[from..].find('[') {
        let i = from + off;
        let after = &answer[i + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after.as_bytes().get(digits) == Some(&b']') {
            spans.push(&answer[start..i]);
            start = i + 1 + digits + 1;
            from = start;
        } else {
            from = i + 1;
        }
    }
    spans.push(&answer[start..]);
    let spans: Vec<String> = spans
        .into_iter()
        .map(normalize)
        .filter(|s| !s.is_empty())
        .collect();
    !spans.is_empty()
        && spans
            .iter()
            .all(|s| sources.iter().any(|src| src.contains(s.as_str())))
}

/// Settings of an answer-quality evaluation.
#[derive(Debug, Clone)]
pub struct AnswerEvalOptions {
    /// Use only the first N articles.
    pub articles: Option<usize>,
    /// Answer only the first N questions (LLM generators are slow).
    pub questions: Option<usize>,
    pub mode: Mode,
    /// Chunks retrieved and passed to the generator.
    pub k: usize,
    pub progress: bool,
}

impl Default for AnswerEvalOptions {
    fn default() -> Self {
        Self {
            articles: None,
            questions: None,
            mode: Mode::Hybrid,
            k: 3,
            progress: true,
        }
    }
}

/// Answer quality of one generator on a SQuAD file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AnswerReport {
    pub generator: String,
    pub retrieval_mode: Mode,
    pub k: usize,
    pub questions: usize,
    /// Mean over questions of the best exact match over the gold answers (citations removed).
    pub exact_match: f64,
    /// Mean over questions of the best token F1 over the gold answers.
    pub f1: f64,
    /// Share of answers every part of which is found in the chunks it cites.
    pub citation_support: f64,
    /// Share of answers with at least one citation written by the generator.
    pub with_citations: f64,
    /// Share of answers without citations that were attributed to a passage by word overlap
    /// (`generate::attribute`); attribution never counts towards `citation_support`.
    pub attributed: f64,
    /// Share of questions where some gold answer occurs (normalised) in the answer: a recall-style
    /// view that does not punish the extractive generator for answering with a whole sentence.
    pub answer_contains_gold: f64,
    /// Mean milliseconds per answer (retrieval + generation).
    pub ms_per_answer: f64,
}

/// Ingests the SQuAD paragraphs into a private in-memory store, then for each
/// question retrieves `k` chunks, asks `generator`, and scores the answer.
pub fn evaluate_answers(
    file: &SquadFile,
    embedder: &dyn TextEmbedder,
    generator: &mut dyn Generator,
    opts: &AnswerEvalOptions,
) -> Result<AnswerReport> {
    let corpus = squad::corpus(file, opts.articles);
    let gold: HashMap<&str, Vec<String>> = file
        .data
        .iter()
        .flat_map(|a| &a.paragraphs)
        .flat_map(|p| &p.qas)
        .map(|q| {
            (
                q.id.as_str(),
                q.answers.iter().map(|a| a.text.clone()).collect(),
            )
        })
        .collect();
    let mut store = SqliteStore::in_memory()?;
    let ingest = IngestOptions {
        collection: "squad-answers".into(),
        progress: false,
        ..Default::default()
    };
    let coll = ingest.collection.clone();
    store.ensure_collection(&coll, &embedder.model_id(), embedder.dim())?;
    index_document(
        &mut store,
        embedder,
        &ingest,
        "squad",
        "squad-json",
        "-",
        corpus.doc.clone(),
    )?;
    let n = corpus
        .questions
        .len()
        .min(opts.questions.unwrap_or(usize::MAX));
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(n as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} answering [{bar:30}] {pos}/{len} {elapsed} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let search_opts = SearchOptions {
        k: opts.k,
        mode: opts.mode,
        ..Default::default()
    };
    let (mut em, mut f, mut sup, mut contains) = (0.0, 0.0, 0.0, 0.0);
    let (mut with_citations, mut attributed) = (0.0, 0.0);
    let t = Instant::now();
    for q in corpus.questions.iter().take(n) {
        let hits = search(&store, embedder, &coll, &q.question, &search_opts)?;
        let a = generator.answer(&q.question, &hits, &mut |_| true)?;
        let golds = gold.get(q.id.as_str()).cloned().unwrap_or_default();
        let plain = strip_citations(&a.text);
        em += max_over_gold(exact_match, &plain, &golds);
        f += max_over_gold(f1, &plain, &golds);
        let norm = format!(" {} ", normalize(&plain));
        if golds
            .iter()
            .any(|g| !normalize(g).is_empty() && norm.contains(&format!(" {} ", normalize(g))))
        {
            contains += 1.0;
        }
        let cited: Vec<&str> = a
            .cited
            .iter()
            .filter_map(|&c| hits.get(c - 1).map(|h| h.text.as_str()))
            .collect();
        if citation_supported(&a.text, &cited) {
            sup += 1.0;
        }
        if !a.cited.is_empty() {
            with_citations += 1.0;
        } else if !a.attributed.is_empty() {
            attributed += 1.0;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let d = n.max(1) as f64;
    Ok(AnswerReport {
        generator: generator.name().to_string(),
        retrieval_mode: opts.mode,
        k: opts.k,
        questions: n,
        exact_match: em / d,
        f1: f / d,
        citation_support: sup / d,
        with_citations: with_citations / d,
        attributed: attributed / d,
        answer_contains_gold: contains / d,
        ms_per_answer: t.elapsed().as_secs_f64() * 1e3 / d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_matches_the_official_script() {
        assert_eq!(normalize("The  Eiffel Tower!"), "eiffel tower");
        assert_eq!(normalize("an apple, a pear; THE end."), "apple pear end");
        // Articles go only as whole words.
        assert_eq!(normalize("Theatre and anathema"), "theatre and anathema");
        assert_eq!(normalize("1,889"), "1889");
        assert_eq!(normalize("“Denver Broncos”"), "denver broncos");
    }

    #[test]
    fn exact_match_and_f1_on_hand_made_cases() {
        assert_eq!(exact_match("the Denver Broncos", "Denver Broncos"), 1.0);
        assert_eq!(exact_match("Broncos", "Denver Broncos"), 0.0);
        // pred {denver, broncos, won}, gold {denver, broncos}: P = 2/3, R = 1, F1 = 0.8.
        assert!((f1("Denver Broncos won", "the Denver Broncos") - 0.8).abs() < 1e-12);
        assert_eq!(f1("Carolina", "Denver Broncos"), 0.0);
        assert_eq!(f1("", "Denver"), 0.0);
        // Repeated tokens count once per occurrence: pred {a,b,b}→{b,b} vs gold {b}: P=1/2, R=1.
        assert!((f1("b b", "b") - 2.0 / 3.0).abs() < 1e-12);
        let golds = vec!["Santa Clara".to_string(), "Levi's Stadium".to_string()];
        assert_eq!(max_over_gold(exact_match, "Levi's Stadium.", &golds), 1.0);
        assert!(
            (max_over_gold(f1, "in Santa Clara, California", &golds) - 2.0 * 0.5 / 1.5).abs()
                < 1e-12
        );
    }

    #[test]
    fn citations_are_stripped_and_checked() {
        assert_eq!(
            strip_citations("It was 1889 [2]. Iron [1][3]"),
            "It was 1889 . Iron"
        );
        assert_eq!(strip_citations("array[i] [x]"), "array[i] [x]");
        let chunk = "The Eiffel Tower was completed in 1889. It is made of iron.";
        assert!(citation_supported(
            "The Eiffel Tower was completed in 1889. [1] It is made of iron. [1]",
            &[chunk]
        ));
        assert!(!citation_supported(
            "It was completed in 1925. [1]",
            &[chunk]
        ));
        assert!(!citation_supported("completed in 1889", &[]));
        // A bracket that is not a citation marker must not stop the splitting.
        let warsaw = "Warsaw (Polish: Warszawa [varˈʂava]) is the capital of Poland. It is large.";
        assert!(citation_supported(
            "Warsaw (Polish: Warszawa [varˈʂava]) is the capital of Poland. [2]",
            &[warsaw]
        ));
    }
}
