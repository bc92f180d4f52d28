//! What the service holds while it runs, and what its caller hands it.
//!
//! The caller (the CLI, the phase-6 runner, a test) loads the heavy things —
//! the embedding model, the local LLM, the API keys — and passes them in
//! [`Resources`]; the service never reads the progress database, and a test
//! can pass the `hash` embedder and a hand-made generator.
//!
//! **Stores.** A `VectorStore` is one connection and is not thread-safe, so
//! the service keeps a small pool: several reader connections (searches run in
//! parallel) and one writer (ingests are serialised). The SQLite store caches
//! a collection's vectors per connection; after every write the pool's epoch
//! is bumped and each reader reopens before its next search, so no reader
//! serves stale vectors. A reader whose operation failed with a store error
//! (server gone, file unreadable) is dropped and reopened on next use, which
//! is how the service recovers when the store comes back.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use roadmap_rag::generate::Generator;
use roadmap_rag::{RagError, TextEmbedder, VectorStore};

/// A store connection the service may move between threads.
pub type Store = Box<dyn VectorStore + Send>;

/// Opens a new connection to the service's store.
pub type OpenStore = Arc<dyn Fn() -> Result<Store, RagError> + Send + Sync>;

/// A loaded generator the service may move between threads.
pub type BoxedGenerator = Box<dyn Generator + Send>;

/// What the caller provides to [`crate::service::start`].
pub struct Resources {
    /// Opens a connection to the store (called once per pool slot, and again
    /// to reconnect).
    pub open_store: OpenStore,
    /// How the store is shown in messages (a path, or a URL without password).
    pub store_label: String,
    /// The query and document embedder.
    pub embedder: Arc<dyn TextEmbedder + Send + Sync>,
    /// LLM generators by name (`local`, `openai`): one instance per
    /// concurrent generation (`generation.concurrency`). The extractive
    /// generator is always available and needs no entry.
    pub generators: Vec<(&'static str, Vec<BoxedGenerator>)>,
    /// Generators that could not be loaded, with the reason (`/readyz` says it).
    pub unavailable: Vec<(&'static str, String)>,
    /// Keys accepted for writes (and reads when `auth.read_requires_key`).
    pub api_keys: roadmap_http::ApiKeys,
    /// The request log's SQLite file (`None`: no request log).
    pub request_log: Option<std::path::PathBuf>,
    /// The salt of user hashes in the request log (stable per deployment).
    pub user_salt: String,
    /// The source revision, for `roadmap_rag_build_info`.
    pub revision: String,
}

struct Slot {
    store: Option<Store>,
    epoch: u64,
}

/// Reader connections plus one writer (see the module doc).
pub struct StorePool {
    open: OpenStore,
    readers: Vec<Mutex<Slot>>,
    writer: Mutex<Slot>,
    epoch: AtomicU64,
    next: AtomicUsize,
}

/// Whether an error means the connection itself is bad (drop and reconnect).
fn is_connection_error(e: &RagError) -> bool {
    matches!(
        e,
        RagError::Store { .. }
            | RagError::Sql { .. }
            | RagError::Pg { .. }
            | RagError::PgConnect { .. }
            | RagError::Io { .. }
    )
}

impl StorePool {
    pub fn new(open: OpenStore, readers: usize) -> StorePool {
        let slot = || {
            Mutex::new(Slot {
                store: None,
                epoch: 0,
            })
        };
        StorePool {
            open,
            readers: (0..readers.max(1)).map(|_| slot()).collect(),
            writer: slot(),
            epoch: AtomicU64::new(0),
            next: AtomicUsize::new(0),
        }
    }

    fn run<T>(
        &self,
        slot: &Mutex<Slot>,
        f: impl FnOnce(&mut dyn VectorStore) -> Result<T, RagError>,
    ) -> Result<T, RagError> {
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        let epoch = self.epoch.load(Ordering::Acquire);
        if slot.epoch != epoch {
            slot.store = None;
        }
        if slot.store.is_none() {
            slot.store = Some((self.open)()?);
            slot.epoch = epoch;
        }
        let store = slot.store.as_mut().expect("opened above");
        let r = f(store.as_mut());
        if let Err(e) = &r {
            if is_connection_error(e) {
                slot.store = None;
            }
        }
        r
    }

    /// Runs a read on one of the reader connections. Blocking.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn VectorStore) -> Result<T, RagError>,
    ) -> Result<T, RagError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        // Prefer a free connection over waiting for the round-robin one.
        for j in 0..self.readers.len() {
            let k = (i + j) % self.readers.len();
            if let Ok(guard) = self.readers[k].try_lock() {
                drop(guard);
                return self.run(&self.readers[k], f);
            }
        }
        self.run(&self.readers[i], f)
    }

    /// Runs a write on the writer connection, then makes readers reopen. Blocking.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut dyn VectorStore) -> Result<T, RagError>,
    ) -> Result<T, RagError> {
        let r = self.run(&self.writer, f);
        // The writer's own cache is current; everyone else reloads.
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        w.epoch = epoch;
        r
    }
}

/// A pool of loaded generators of one kind; the generation queue bounds how
/// many are checked out at once.
pub struct GeneratorPool {
    free: Mutex<Vec<BoxedGenerator>>,
}

impl GeneratorPool {
    pub fn new(instances: Vec<BoxedGenerator>) -> GeneratorPool {
        GeneratorPool {
            free: Mutex::new(instances),
        }
    }

    /// Takes an instance (None when all are busy: more admitted than loaded).
    pub fn take(&self) -> Option<BoxedGenerator> {
        self.free.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    /// Gives an instance back.
    pub fn put(&self, g: BoxedGenerator) {
        self.free.lock().unwrap_or_else(|p| p.into_inner()).push(g);
    }
}
