//! The crate's error type: one enum, each variant says what went wrong, where,
//! and (when there is one) the command that fixes it.

use std::path::PathBuf;

/// Everything the knowledge base can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RagError {
    #[error("the store at {path} could not be opened or used: {source}")]
    Store {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database error while {what}: {source}")]
    Sql {
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "collection `{collection}` was embedded with `{stored_model}` ({stored_dim} dimensions), \
         but this run uses `{new_model}` ({new_dim} dimensions); vectors from two models cannot be mixed.\n\
         Re-embed the collection with the new model: `roadmap rag ingest PATH... --collection {collection} --reembed`,\n\
         or keep using the original model for this collection."
    )]
    ModelMismatch {
        collection: String,
        stored_model: String,
        stored_dim: usize,
        new_model: String,
        new_dim: usize,
    },
    #[error("collection `{0}` does not exist yet: ingest something first (`roadmap rag ingest PATH... --collection {0}`)")]
    NoCollection(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a SQuAD-format file: {reason}")]
    Squad { path: String, reason: String },
    #[error("embedding failed: {0}")]
    Embed(String),
    #[error("the embedder returned {got} vectors of dimension {dim} for {asked} texts (expected dimension {expected})")]
    EmbedShape {
        asked: usize,
        got: usize,
        dim: usize,
        expected: usize,
    },
    #[error("cannot connect to PostgreSQL at {url}: {reason}\n{hint}")]
    PgConnect {
        /// The URL without its password.
        url: String,
        reason: String,
        hint: String,
    },
    #[error("PostgreSQL at {url} cannot store vectors: {reason}\n{hint}")]
    PgVector {
        url: String,
        reason: String,
        hint: String,
    },
    #[error("PostgreSQL error while {what}: {source}")]
    Pg {
        what: &'static str,
        #[source]
        source: postgres::Error,
    },
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
}

pub type Result<T, E = RagError> = std::result::Result<T, E>;

/// Attaches "while doing X" to a PostgreSQL error.
pub(crate) trait PgContext<T> {
    fn pg(self, what: &'static str) -> Result<T>;
}

impl<T> PgContext<T> for std::result::Result<T, postgres::Error> {
    fn pg(self, what: &'static str) -> Result<T> {
        self.map_err(|source| RagError::Pg { what, source })
    }
}

/// Attaches "while doing X" to a rusqlite error.
pub(crate) trait SqlContext<T> {
    fn sql(self, what: &'static str) -> Result<T>;
}

impl<T> SqlContext<T> for std::result::Result<T, rusqlite::Error> {
    fn sql(self, what: &'static str) -> Result<T> {
        self.map_err(|source| RagError::Sql { what, source })
    }
}
