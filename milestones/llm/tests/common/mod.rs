//! Shared by the integration tests: the real SmolLM2 GGUF, fetched once by the asset manager.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use roadmap_llm::{LoadOptions, LocalLlm};

/// The asset folder: `ROADMAP_SMOLLM2_135M_INSTRUCT_DIR` if set, else fetched (and sha256-checked)
/// into `ROADMAP_CACHE` or the target directory's scratch space.
#[allow(dead_code)]
pub fn model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cache = std::env::var_os("ROADMAP_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("assets"));
        roadmap_common::assets::ensure(&cache, "smollm2-135m-instruct")
            .expect("fetching the SmolLM2 GGUF")
    })
    .clone()
}

/// One model per test binary (loading requantises ~135M weights), shared behind a lock.
#[allow(dead_code)]
pub fn shared_llm() -> &'static Mutex<LocalLlm> {
    static LLM: OnceLock<Mutex<LocalLlm>> = OnceLock::new();
    LLM.get_or_init(|| {
        Mutex::new(
            LocalLlm::load(&model_dir(), &LoadOptions::default()).expect("loading the model"),
        )
    })
}
