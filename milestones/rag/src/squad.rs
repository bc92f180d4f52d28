//! SQuAD-format files (v1.1 JSON): the evaluation corpus and an ingestible source.
//!
//! A SQuAD file holds articles, each with paragraphs (`context`) and the
//! questions asked about each paragraph. As a document, the paragraphs are
//! joined with blank lines; each paragraph is its own section whose heading is
//! the article title, so no chunk ever spans two paragraphs. The byte span of
//! every paragraph is kept: a retrieved chunk is a hit for a question when its
//! span overlaps the span of the question's paragraph.

use serde::Deserialize;

use crate::chunk::ExtractedDoc;
use crate::error::{RagError, Result};

#[derive(Debug, Clone, Deserialize)]
pub struct SquadFile {
    pub data: Vec<Article>,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Article {
    pub title: String,
    pub paragraphs: Vec<Paragraph>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Paragraph {
    pub context: String,
    #[serde(default)]
    pub qas: Vec<Qa>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Qa {
    pub id: String,
    pub question: String,
    #[serde(default)]
    pub answers: Vec<Answer>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    pub text: String,
    #[serde(default)]
    pub answer_start: Option<usize>,
}

/// A question with the span of its gold paragraph in the corpus document.
#[derive(Debug, Clone)]
pub struct EvalQuestion {
    pub id: String,
    pub question: String,
    pub gold_start: usize,
    pub gold_end: usize,
}

/// The corpus built from a SQuAD file: one document, and the questions.
#[derive(Debug, Clone)]
pub struct SquadCorpus {
    pub doc: ExtractedDoc,
    /// Byte span of every paragraph in `doc.text`, in file order.
    pub paragraphs: Vec<(usize, usize)>,
    pub questions: Vec<EvalQuestion>,
}

/// Parses SQuAD JSON; `what` names the input in errors.
pub fn parse(bytes: &[u8], what: &str) -> Result<SquadFile> {
    let file: SquadFile = serde_json::from_slice(bytes).map_err(|e| RagError::Squad {
        path: what.to_string(),
        reason: format!("{e} (expected {{\"data\": [{{\"title\", \"paragraphs\": [{{\"context\", \"qas\"}}]}}]}})"),
    })?;
    if file.data.iter().all(|a| a.paragraphs.is_empty()) {
        return Err(RagError::Squad {
            path: what.to_string(),
            reason: "it has no paragraphs".into(),
        });
    }
    Ok(file)
}

/// Builds the corpus from the first `articles` articles (all when `None`).
pub fn corpus(file: &SquadFile, articles: Option<usize>) -> SquadCorpus {
    let mut text = String::new();
    let mut sections = Vec::new();
    let mut paragraphs = Vec::new();
    let mut questions = Vec::new();
    for article in file.data.iter().take(articles.unwrap_or(usize::MAX)) {
        let title = article.title.replace('_', " ");
        for p in &article.paragraphs {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            let start = text.len();
            text.push_str(p.context.trim_end());
            let end = text.len();
            sections.push((start, vec![title.clone()]));
            paragraphs.push((start, end));
            for qa in &p.qas {
                questions.push(EvalQuestion {
                    id: qa.id.clone(),
                    question: qa.question.clone(),
                    gold_start: start,
                    gold_end: end,
                });
            }
        }
    }
    SquadCorpus {
        doc: ExtractedDoc { text, sections },
        paragraphs,
        questions,
    }
}

/// The shipped evaluation subset (`data/squad/squad_dev_subset.json`, 10
/// articles of the SQuAD v1.1 dev set, CC BY-SA 4.0; see its PROVENANCE.md).
pub const SHIPPED: &str = include_str!("../../../data/squad/squad_dev_subset.json");
