//! The HTTP contract: request bodies (validated completely before any work,
//! every problem in one 422, see [`crate::validate`]) and response bodies.
//!
//! Bodies are parsed from a `serde_json::Value` field by field rather than by
//! `#[derive(Deserialize)]`, because serde stops at the first error; unknown
//! fields are problems too (`"colection"` is a typo, not something to ignore).

use roadmap_http::{FromJson, LocItem, ValidationIssue};
use roadmap_rag::explain::MAX_EXPLAINED_PASSAGES;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::validate::{self, Problem};

/// Retrieval modes accepted on the wire.
pub const MODES: [&str; 3] = ["dense", "bm25", "hybrid"];
/// Generators accepted on the wire.
pub const GENERATORS: [&str; 3] = ["extractive", "local", "openai"];
/// Feedback ratings.
pub const RATINGS: [&str; 2] = ["up", "down"];
/// Longest `user` value (an opaque id chosen by the client).
pub const MAX_USER_CHARS: usize = 128;
/// Longest feedback comment.
pub const MAX_COMMENT_CHARS: usize = 2000;

fn issue(p: Problem) -> ValidationIssue {
    let loc = p
        .loc
        .into_iter()
        .map(|v| match v {
            Value::Number(n) => LocItem::Index(n.as_u64().unwrap_or(0) as usize),
            Value::String(s) => LocItem::Key(s),
            other => LocItem::Key(other.to_string()),
        })
        .collect();
    ValidationIssue::new(loc, p.msg, p.kind)
}

/// A JSON object body being taken apart, with the problems found so far.
struct Fields {
    map: Map<String, Value>,
    problems: Vec<Problem>,
}

impl Fields {
    fn of(value: Value, example: &str) -> Result<Fields, Vec<ValidationIssue>> {
        match value {
            Value::Object(map) => Ok(Fields {
                map,
                problems: Vec::new(),
            }),
            _ => Err(vec![ValidationIssue::new(
                vec!["body".into()],
                format!("Input should be a JSON object like {example}"),
                "model_attributes_type",
            )]),
        }
    }

    fn string(&mut self, field: &str, required: bool) -> Option<String> {
        match self.map.remove(field) {
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                self.problems
                    .push(Problem::body(field, "Field required", "missing"));
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.problems.push(Problem::body(
                    field,
                    "Input should be a valid string",
                    "string_type",
                ));
                None
            }
        }
    }

    fn int(&mut self, field: &str) -> Option<i64> {
        match self.map.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(_) => {
                self.problems.push(Problem::body(
                    field,
                    "Input should be a valid integer",
                    "int_type",
                ));
                None
            }
        }
    }

    fn bool(&mut self, field: &str) -> Option<bool> {
        match self.map.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(b),
            Some(_) => {
                self.problems.push(Problem::body(
                    field,
                    "Input should be a valid boolean",
                    "bool_type",
                ));
                None
            }
        }
    }

    fn finish(mut self) -> Result<(), Vec<ValidationIssue>> {
        let extra: Vec<String> = self.map.keys().cloned().collect();
        for key in extra {
            self.problems.push(Problem::body(
                &key,
                format!("unknown field `{key}`: check its spelling"),
                "extra_forbidden",
            ));
        }
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self.problems.into_iter().map(issue).collect())
        }
    }
}

/// A `user` field: 1 to [`MAX_USER_CHARS`] characters, not blank.
fn check_user(user: Option<&str>, problems: &mut Vec<Problem>) {
    if let Some(u) = user {
        let n = u.chars().count();
        if u.trim().is_empty() || n > MAX_USER_CHARS {
            problems.push(Problem::body(
                "user",
                format!("user must have 1 to {MAX_USER_CHARS} characters and not be blank"),
                if n > MAX_USER_CHARS {
                    "string_too_long"
                } else {
                    "string_too_short"
                },
            ));
        }
    }
}

/// `POST /v1/search` body.
#[derive(Debug, Clone, ToSchema)]
pub struct SearchRequest {
    /// What to search for: 1 to 2,000 characters, not blank.
    #[schema(example = "how is hybrid retrieval scored")]
    pub query: String,
    /// `[a-z0-9_-]{1,64}` [default: the configured collection].
    pub collection: Option<String>,
    /// Passages returned, 1..=50 [default: configured].
    pub k: Option<usize>,
    /// `dense`, `bm25` or `hybrid` [default: configured].
    pub mode: Option<String>,
    /// An opaque user id (stored only as a salted hash), 1..=128 characters;
    /// or the `X-User-Id` header. Decides the user's A/B variant.
    pub user: Option<String>,
}

impl FromJson for SearchRequest {
    fn from_json(value: Value) -> Result<Self, Vec<ValidationIssue>> {
        let mut f = Fields::of(value, "{\"query\": \"...\"}")?;
        let query = f.string("query", true);
        if let Some(q) = &query {
            validate::check_text("query", q, &mut f.problems);
        }
        let collection = f.string("collection", false);
        validate::check_collection(collection.as_deref(), &mut f.problems);
        let k = f.int("k");
        validate::check_k(k, &mut f.problems);
        let mode = f.string("mode", false);
        validate::check_choice("mode", mode.as_deref(), &MODES, &mut f.problems);
        let user = f.string("user", false);
        check_user(user.as_deref(), &mut f.problems);
        f.finish()?;
        Ok(SearchRequest {
            query: query.unwrap_or_default(),
            collection,
            k: k.map(|k| k as usize),
            mode,
            user,
        })
    }
}

/// `POST /v1/ask` body.
#[derive(Debug, Clone, ToSchema)]
pub struct AskRequest {
    /// The question: 1 to 2,000 characters, not blank.
    #[schema(example = "what do I build in phase 4")]
    pub question: String,
    pub collection: Option<String>,
    pub k: Option<usize>,
    pub mode: Option<String>,
    /// `extractive`, `local` or `openai` [default: configured].
    pub generator: Option<String>,
    /// Answer as Server-Sent Events: `token` events, then one `done` event.
    pub stream: bool,
    /// An opaque user id (stored only as a salted hash), 1..=128 characters;
    /// or the `X-User-Id` header. Decides the user's A/B variant.
    pub user: Option<String>,
    /// Explain the answer by its passages: exact Shapley values over passage
    /// subsets (k ≤ 6; an unset k is the configured one, at most 6).
    pub explain: bool,
}

impl FromJson for AskRequest {
    fn from_json(value: Value) -> Result<Self, Vec<ValidationIssue>> {
        let mut f = Fields::of(value, "{\"question\": \"...\"}")?;
        let question = f.string("question", true);
        if let Some(q) = &question {
            validate::check_text("question", q, &mut f.problems);
        }
        let collection = f.string("collection", false);
        validate::check_collection(collection.as_deref(), &mut f.problems);
        let k = f.int("k");
        validate::check_k(k, &mut f.problems);
        let mode = f.string("mode", false);
        validate::check_choice("mode", mode.as_deref(), &MODES, &mut f.problems);
        let generator = f.string("generator", false);
        validate::check_choice(
            "generator",
            generator.as_deref(),
            &GENERATORS,
            &mut f.problems,
        );
        let stream = f.bool("stream").unwrap_or(false);
        let explain = f.bool("explain").unwrap_or(false);
        if explain && k.is_some_and(|k| k > MAX_EXPLAINED_PASSAGES as i64) {
            f.problems.push(Problem::body(
                "k",
                format!(
                    "explain enumerates every subset of the retrieved passages: k must be at most {MAX_EXPLAINED_PASSAGES} with explain"
                ),
                "less_than_equal",
            ));
        }
        let user = f.string("user", false);
        check_user(user.as_deref(), &mut f.problems);
        f.finish()?;
        Ok(AskRequest {
            question: question.unwrap_or_default(),
            collection,
            k: k.map(|k| k as usize),
            mode,
            generator,
            stream,
            user,
            explain,
        })
    }
}

/// `POST /v1/feedback` body.
#[derive(Debug, Clone, ToSchema)]
pub struct FeedbackRequest {
    /// The `request_id` of an earlier `/v1/ask` or `/v1/search` answer.
    pub request_id: String,
    /// `up` or `down`.
    pub rating: String,
    /// At most 2,000 characters.
    pub comment: Option<String>,
}

impl FromJson for FeedbackRequest {
    fn from_json(value: Value) -> Result<Self, Vec<ValidationIssue>> {
        let mut f = Fields::of(value, "{\"request_id\": \"...\", \"rating\": \"up\"}")?;
        let request_id = f.string("request_id", true);
        if let Some(id) = &request_id {
            if !roadmap_http::observe::is_sane_request_id(id) {
                f.problems.push(Problem::body(
                    "request_id",
                    "request_id must be 1 to 64 characters of [A-Za-z0-9._:-], as returned by /v1/ask",
                    "string_pattern_mismatch",
                ));
            }
        }
        let rating = f.string("rating", true);
        validate::check_choice("rating", rating.as_deref(), &RATINGS, &mut f.problems);
        let comment = f.string("comment", false);
        if let Some(c) = &comment {
            if c.chars().count() > MAX_COMMENT_CHARS {
                f.problems.push(Problem::body(
                    "comment",
                    format!("comment has more than {MAX_COMMENT_CHARS} characters"),
                    "string_too_long",
                ));
            }
        }
        f.finish()?;
        Ok(FeedbackRequest {
            request_id: request_id.unwrap_or_default(),
            rating: rating.unwrap_or_default(),
            comment,
        })
    }
}

/// One document of a JSON ingest body.
#[derive(Debug, Clone, ToSchema)]
pub struct DocumentIn {
    /// The document's id in the collection, `[A-Za-z0-9._-]{1,200}`; its
    /// extension (`.md`, `.txt`, `.html`) gives the kind unless `kind` is set.
    pub id: String,
    /// The document's text (Markdown, plain text or HTML).
    pub text: String,
    /// `markdown`, `text` or `html` [default: from the id's extension, else text].
    pub kind: Option<String>,
}

/// `POST /v1/collections/{name}/documents` JSON body.
#[derive(Debug, Clone, ToSchema)]
pub struct DocumentsRequest {
    pub documents: Vec<DocumentIn>,
}

/// Document ids: safe in URLs and logs.
pub fn is_document_id(id: &str) -> bool {
    (1..=200).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl FromJson for DocumentsRequest {
    fn from_json(value: Value) -> Result<Self, Vec<ValidationIssue>> {
        let mut f = Fields::of(
            value,
            "{\"documents\": [{\"id\": \"a.md\", \"text\": \"...\"}]}",
        )?;
        let docs = match f.map.remove("documents") {
            Some(Value::Array(items)) => items,
            Some(_) => {
                f.problems.push(Problem::body(
                    "documents",
                    "Input should be a valid list",
                    "list_type",
                ));
                Vec::new()
            }
            None => {
                f.problems
                    .push(Problem::body("documents", "Field required", "missing"));
                Vec::new()
            }
        };
        // Per-document content problems (empty, too large, duplicate) are not
        // 422s: they reject that document and the rest is ingested. Only a
        // malformed entry (no id, text not a string) fails the whole request.
        let mut out = Vec::with_capacity(docs.len());
        for (i, d) in docs.into_iter().enumerate() {
            let at = |field: &str| -> Vec<Value> {
                vec![
                    Value::from("body"),
                    Value::from("documents"),
                    Value::from(i),
                    Value::from(field),
                ]
            };
            let Value::Object(mut m) = d else {
                f.problems.push(Problem {
                    loc: vec![
                        Value::from("body"),
                        Value::from("documents"),
                        Value::from(i),
                    ],
                    msg: "Input should be an object {\"id\", \"text\"}".into(),
                    kind: "model_attributes_type",
                });
                continue;
            };
            let mut take = |field: &str, required: bool| match m.remove(field) {
                Some(Value::String(s)) => Some(s),
                None | Some(Value::Null) if !required => None,
                None | Some(Value::Null) => {
                    f.problems.push(Problem {
                        loc: at(field),
                        msg: "Field required".into(),
                        kind: "missing",
                    });
                    None
                }
                Some(_) => {
                    f.problems.push(Problem {
                        loc: at(field),
                        msg: "Input should be a valid string".into(),
                        kind: "string_type",
                    });
                    None
                }
            };
            let id = take("id", true);
            let text = take("text", true);
            let kind = take("kind", false);
            // `title` is accepted and ignored (it is in the text's first heading).
            m.remove("title");
            for key in m.keys() {
                f.problems.push(Problem {
                    loc: at(key),
                    msg: format!("unknown field `{key}`"),
                    kind: "extra_forbidden",
                });
            }
            if let Some(id) = &id {
                if !is_document_id(id) {
                    f.problems.push(Problem {
                        loc: at("id"),
                        msg: "id must be 1 to 200 characters of [A-Za-z0-9._-]".into(),
                        kind: "string_pattern_mismatch",
                    });
                }
            }
            if let Some(k) = &kind {
                if !["markdown", "text", "html"].contains(&k.as_str()) {
                    f.problems.push(Problem {
                        loc: at("kind"),
                        msg: format!("kind must be markdown, text or html, got `{k}`"),
                        kind: "enum",
                    });
                }
            }
            if let (Some(id), Some(text)) = (id, text) {
                out.push(DocumentIn { id, text, kind });
            }
        }
        f.finish()?;
        Ok(DocumentsRequest { documents: out })
    }
}

/// One retrieved passage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Passage {
    /// 1-based rank (the `[n]` of citations).
    pub rank: usize,
    pub score: f64,
    /// The document id (or source path).
    pub source: String,
    /// Byte span of the passage in the document's text.
    pub start: usize,
    pub end: usize,
    pub line_start: usize,
    pub line_end: usize,
    pub heading: Vec<String>,
    pub text: String,
}

impl Passage {
    pub fn from_hits(hits: &[roadmap_rag::store::Hit]) -> Vec<Passage> {
        hits.iter()
            .enumerate()
            .map(|(i, h)| Passage {
                rank: i + 1,
                score: h.score,
                source: h
                    .source
                    .strip_prefix(roadmap_rag::ingest::BUILTIN_SCHEME)
                    .unwrap_or(&h.source)
                    .to_string(),
                start: h.start,
                end: h.end,
                line_start: h.line_start,
                line_end: h.line_end,
                heading: h.heading.clone(),
                text: h.text.clone(),
            })
            .collect()
    }
}

/// `POST /v1/search` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResponse {
    pub query: String,
    pub collection: String,
    pub mode: String,
    pub hits: Vec<Passage>,
    pub timings: Timings,
    pub request_id: String,
}

/// Stage latencies in milliseconds.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Timings {
    pub retrieval_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    pub total_ms: f64,
}

/// A citation `[n]` of the answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Citation {
    pub n: usize,
    pub source: String,
    pub start: usize,
    pub end: usize,
}

/// `POST /v1/ask` response (and the `done` event of a stream).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AskResponse {
    pub answer: String,
    /// The passages the answer cites with `[n]`.
    pub citations: Vec<Citation>,
    /// When the answer cites nothing: passages that contain most of its words.
    pub attributed: Vec<usize>,
    /// `cited`, `attributed` or `none`.
    pub grounding: String,
    /// The answer says the passages do not answer the question.
    pub no_answer: bool,
    pub generator: String,
    pub collection: String,
    pub mode: String,
    /// Every retrieved passage, best first.
    pub sources: Vec<Passage>,
    pub timings: Timings,
    pub generated_tokens: usize,
    pub request_id: String,
    /// With `explain: true`: how much of the answer each passage supports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<AnswerExplanation>,
}

/// Exact Shapley values of the retrieved passages for the answer-support game
/// (`roadmap_rag::explain`): v(S) = share of the answer's content words found
/// in the passages S; the values add up to `full_value - base_value`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerExplanation {
    /// v(∅), always 0.
    pub base_value: f64,
    /// v(every passage): the share of the answer the passages support.
    pub full_value: f64,
    /// Coalitions enumerated (2^k).
    pub coalitions: usize,
    /// |base + Σ values − full|.
    pub additivity_error: f64,
    /// One value per passage of `sources`, in order (`n` = its number).
    pub passages: Vec<PassageShare>,
}

/// One passage's Shapley value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PassageShare {
    pub n: usize,
    pub shapley: f64,
}

/// Per-document ingest result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentResult {
    pub id: String,
    /// `ingested`, `unchanged` or `rejected`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<usize>,
}

/// `POST /v1/collections/{name}/documents` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentsResponse {
    pub collection: String,
    pub ingested: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub results: Vec<DocumentResult>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_problem_of_a_body_is_reported() {
        let issues = AskRequest::from_json(json!({
            "question": "  ", "k": 0, "collection": "Bad Name", "mode": "fuzzy",
            "generator": "gpt", "stream": "yes", "colection": "x"
        }))
        .unwrap_err();
        let kinds: Vec<&str> = issues.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "string_too_short",
                "string_pattern_mismatch",
                "greater_than_equal",
                "enum",
                "enum",
                "bool_type",
                "extra_forbidden"
            ]
        );
        let ok = SearchRequest::from_json(json!({"query": "bm25", "k": 3})).unwrap();
        assert_eq!(ok.k, Some(3));
        let e = SearchRequest::from_json(json!({"query": 4, "k": "3"})).unwrap_err();
        assert_eq!(e.len(), 2);
        let e = DocumentsRequest::from_json(json!({"documents": [{"id": "a b"}, 3]})).unwrap_err();
        let locs: Vec<_> = e
            .iter()
            .map(|i| serde_json::to_value(&i.loc).unwrap())
            .collect();
        assert_eq!(
            locs,
            [
                json!(["body", "documents", 0, "text"]),
                json!(["body", "documents", 0, "id"]),
                json!(["body", "documents", 1])
            ]
        );
    }
}
