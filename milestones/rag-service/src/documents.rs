//! Ingestion over HTTP: `POST /v1/collections/{name}/documents` (JSON
//! documents, or multipart files `.md .txt .html .pdf`) and
//! `DELETE /v1/collections/{name}/documents/{id}`.
//!
//! Documents are judged one by one: an empty document, one over
//! `ingest.max_document_bytes`, an unsupported type, one whose text cannot be
//! extracted (not UTF-8, a PDF without a text layer) or a duplicate of another
//! document's content is **rejected with its reason**, and the rest of the
//! batch is ingested. Nothing is half-written: each document replaces its
//! previous version (chunks, vectors, full-text rows) in one transaction, so
//! a failure leaves it entirely old or entirely new, and the per-document
//! result says which. A document whose content did not change is `unchanged`
//! and not re-embedded.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roadmap_http::{
    ApiError, FromJson, HttpErrorBody, LocItem, ValidationErrorBody, ValidationIssue,
};
use roadmap_rag::extract::{extract, Kind};
use roadmap_rag::ingest::{content_hash, index_document, IngestOptions};
use roadmap_rag::RagError;
use serde_json::json;

use crate::api::{is_document_id, DocumentResult, DocumentsRequest, DocumentsResponse};
use crate::metrics::ResultLabel;
use crate::routes::{store_error, with_deadline};
use crate::service::AppState;
use crate::validate::is_collection_name;

/// One submitted document before judgement.
struct Submitted {
    id: String,
    /// `None`: a type the service cannot read (the reason says which).
    kind: Result<Kind, String>,
    bytes: Vec<u8>,
}

fn kind_of_name(name: &str) -> Result<Kind, String> {
    match std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("md" | "markdown") => Ok(Kind::Markdown),
        Some("txt" | "text") => Ok(Kind::Text),
        Some("html" | "htm") => Ok(Kind::Html),
        Some("pdf") => Ok(Kind::Pdf),
        other => Err(format!(
            "unsupported type `{}`: send .md, .txt, .html or .pdf files",
            other.map_or("(no extension)".to_string(), |e| format!(".{e}"))
        )),
    }
}

fn path_problem(field: &str, msg: String) -> ApiError {
    ApiError::Validation(vec![ValidationIssue::new(
        vec![LocItem::from("path"), LocItem::from(field)],
        msg,
        "string_pattern_mismatch",
    )])
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if is_collection_name(name) {
        Ok(())
    } else {
        Err(path_problem(
            "name",
            format!("collection `{name}` must match [a-z0-9_-]{{1,64}}"),
        ))
    }
}

/// Reads the body: JSON documents or multipart files.
async fn submitted(s: &AppState, req: Request) -> Result<Vec<Submitted>, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("multipart/form-data") {
        let limit = s.config.server.max_body_bytes;
        let mut mp = Multipart::from_request(req, &()).await.map_err(|e| {
            ApiError::http(
                StatusCode::BAD_REQUEST,
                format!("malformed multipart body: {}", e.body_text()),
            )
        })?;
        let mut out = Vec::new();
        let mut i = 0usize;
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(ApiError::http(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        roadmap_http::json::too_large(Some(limit)),
                    ))
                }
                Err(e) => {
                    return Err(ApiError::http(
                        e.status(),
                        format!("malformed multipart body: {}", e.body_text()),
                    ))
                }
            };
            let Some(file_name) = field.file_name().map(str::to_string) else {
                return Err(ApiError::Validation(vec![ValidationIssue::new(
                    vec![LocItem::from("body"), LocItem::from(i)],
                    "every multipart part must be a file (with a filename)",
                    "missing",
                )]));
            };
            let id = file_name
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or("")
                .to_string();
            if !is_document_id(&id) {
                return Err(ApiError::Validation(vec![ValidationIssue::new(
                    vec![LocItem::from("body"), LocItem::from(i)],
                    "file names must be 1 to 200 characters of [A-Za-z0-9._-]",
                    "string_pattern_mismatch",
                )]));
            }
            let bytes = match field.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(ApiError::http(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        roadmap_http::json::too_large(Some(limit)),
                    ))
                }
                Err(e) => {
                    return Err(ApiError::http(
                        e.status(),
                        format!("malformed multipart body: {}", e.body_text()),
                    ))
                }
            };
            out.push(Submitted {
                kind: kind_of_name(&id),
                id,
                bytes,
            });
            i += 1;
        }
        return Ok(out);
    }
    let value = roadmap_http::json::json_value(req, &()).await?;
    let body = DocumentsRequest::from_json(value).map_err(ApiError::Validation)?;
    Ok(body
        .documents
        .into_iter()
        .map(|d| Submitted {
            kind: match d.kind.as_deref() {
                Some("markdown") => Ok(Kind::Markdown),
                Some("html") => Ok(Kind::Html),
                Some(_) => Ok(Kind::Text),
                None => Ok(kind_of_name(&d.id).unwrap_or(Kind::Text)),
            },
            id: d.id,
            bytes: d.text.into_bytes(),
        })
        .collect())
}

/// Ingest documents into a collection (created on first use).
#[utoipa::path(post, path = "/v1/collections/{name}/documents", tag = "collections",
    params(("name" = String, Path, description = "Collection, [a-z0-9_-]{1,64}")),
    request_body(content = DocumentsRequest, description = "JSON documents, or multipart/form-data files (.md .txt .html .pdf)"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Per-document result", body = DocumentsResponse),
        (status = 401, description = "Missing or wrong API key", body = HttpErrorBody),
        (status = 413, description = "Body too large", body = HttpErrorBody),
        (status = 422, description = "Malformed entries, too many documents", body = ValidationErrorBody),
    ))]
pub async fn ingest(State(s): State<AppState>, Path(name): Path<String>, req: Request) -> Response {
    match ingest_inner(&s, name, req).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn ingest_inner(
    s: &AppState,
    name: String,
    req: Request,
) -> Result<DocumentsResponse, ApiError> {
    check_name(&name)?;
    let docs = submitted(s, req).await?;
    let max = s.config.ingest.max_documents;
    if docs.len() > max {
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            vec![LocItem::from("body"), LocItem::from("documents")],
            format!(
                "at most {max} documents per request, got {}: split the batch",
                docs.len()
            ),
            "too_long",
        )]));
    }
    if name == s.config.retrieval.default_collection
        && name == roadmap_rag::ingest::BUILTIN_COLLECTION
    {
        return Err(ApiError::http(
            StatusCode::CONFLICT,
            format!("`{name}` is the built-in knowledge base, kept in sync with the binary: ingest into another collection"),
        ));
    }
    let state = s.clone();
    let work = async move {
        let _one_writer = state.ingest_lock.lock().await;
        let st = state.clone();
        tokio::task::spawn_blocking(move || judge_and_store(&st, &name, docs))
            .await
            .map_err(|e| ApiError::http(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(store_error)
    };
    let resp = with_deadline(s, work).await?;
    for r in &resp.results {
        s.metrics
            .documents
            .get_or_create(&ResultLabel { result: r.status })
            .inc();
    }
    Ok(resp)
}

fn judge_and_store(
    s: &AppState,
    name: &str,
    docs: Vec<Submitted>,
) -> Result<DocumentsResponse, RagError> {
    let max_bytes = s.config.ingest.max_document_bytes;
    let opts = IngestOptions {
        collection: name.to_string(),
        progress: false,
        ..Default::default()
    };
    let embedder = s.embedder.clone();
    let (model_id, dim) = (s.embedder_id.clone(), s.embedder_dim);
    let results = s.stores.write(|store| {
        let exists = store.collection(name)?.is_some();
        let known: HashMap<String, String> = if exists {
            store.document_hashes(name)?
        } else {
            HashMap::new()
        };
        let mut owner_of: HashMap<String, String> = known
            .iter()
            .map(|(id, h)| (h.clone(), id.clone()))
            .collect();
        let mut ensured = exists;
        let mut results = Vec::with_capacity(docs.len());
        for d in docs {
            let reject = |id: &str, reason: String| DocumentResult {
                id: id.to_string(),
                status: "rejected",
                reason: Some(reason),
                chunks: None,
            };
            let kind = match d.kind {
                Ok(k) => k,
                Err(why) => {
                    results.push(reject(&d.id, why));
                    continue;
                }
            };
            if d.bytes.is_empty()
                || (kind != Kind::Pdf && String::from_utf8_lossy(&d.bytes).trim().is_empty())
            {
                results.push(reject(&d.id, "the document is empty".into()));
                continue;
            }
            if d.bytes.len() > max_bytes {
                results.push(reject(
                    &d.id,
                    format!(
                        "{} bytes, over the {max_bytes}-byte limit per document: split it",
                        d.bytes.len()
                    ),
                ));
                continue;
            }
            let hash = content_hash(&d.bytes, kind, &opts.chunking);
            if known.get(&d.id) == Some(&hash) {
                results.push(DocumentResult {
                    id: d.id,
                    status: "unchanged",
                    reason: None,
                    chunks: None,
                });
                continue;
            }
            if let Some(other) = owner_of.get(&hash).filter(|o| **o != d.id) {
                results.push(reject(
                    &d.id,
                    format!("duplicate content of document `{other}`"),
                ));
                continue;
            }
            let doc = match extract(kind, &d.bytes, &d.id) {
                Ok(doc) if !doc.text.trim().is_empty() => doc,
                Ok(_) => {
                    results.push(reject(&d.id, "no text after extraction".into()));
                    continue;
                }
                Err(reason) => {
                    results.push(reject(&d.id, reason));
                    continue;
                }
            };
            if !ensured {
                store.ensure_collection(name, &model_id, dim)?;
                ensured = true;
            }
            match index_document(
                store,
                embedder.as_ref(),
                &opts,
                &d.id,
                kind.as_str(),
                &hash,
                doc,
            ) {
                Ok(chunks) => {
                    owner_of.insert(hash, d.id.clone());
                    results.push(DocumentResult {
                        id: d.id,
                        status: "ingested",
                        reason: None,
                        chunks: Some(chunks),
                    });
                }
                // The store itself failed: stop, report nothing half-written
                // (this document's transaction rolled back; earlier ones stand).
                Err(
                    e @ (RagError::Store { .. }
                    | RagError::Sql { .. }
                    | RagError::Pg { .. }
                    | RagError::PgConnect { .. }),
                ) => return Err(e),
                Err(e) => results.push(reject(&d.id, format!("could not be indexed: {e}"))),
            }
        }
        Ok(results)
    })?;
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    Ok(DocumentsResponse {
        collection: name.to_string(),
        ingested: count("ingested"),
        unchanged: count("unchanged"),
        rejected: count("rejected"),
        results,
    })
}

/// Delete one document (and its chunks) from a collection.
#[utoipa::path(delete, path = "/v1/collections/{name}/documents/{id}", tag = "collections",
    params(("name" = String, Path, description = "Collection"), ("id" = String, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted"),
        (status = 401, description = "Missing or wrong API key", body = HttpErrorBody),
        (status = 404, description = "No such collection or document", body = HttpErrorBody),
    ))]
pub async fn delete_document(
    State(s): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    let r = async {
        check_name(&name)?;
        if !is_document_id(&id) {
            return Err(path_problem(
                "id",
                "document ids are 1 to 200 characters of [A-Za-z0-9._-]".into(),
            ));
        }
        let (state, n, i) = (s.clone(), name.clone(), id.clone());
        let work = async move {
            let _one_writer = state.ingest_lock.lock().await;
            let st = state.clone();
            tokio::task::spawn_blocking(move || {
                st.stores.write(|store| {
                    if store.collection(&n)?.is_none() {
                        return Err(RagError::NoCollection(n.clone()));
                    }
                    store.remove_documents(&n, std::slice::from_ref(&i))
                })
            })
            .await
            .map_err(|e| ApiError::http(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(store_error)
        };
        match with_deadline(&s, work).await? {
            0 => Err(ApiError::http(
                StatusCode::NOT_FOUND,
                format!("collection `{name}` has no document `{id}`"),
            )),
            _ => Ok(Json(json!({"collection": name, "id": id, "deleted": true}))),
        }
    }
    .await;
    match r {
        Ok(j) => j.into_response(),
        Err(e) => e.into_response(),
    }
}
