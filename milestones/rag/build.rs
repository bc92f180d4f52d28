//! Embeds the roadmap's own documents (the built-in knowledge base) in the crate:
//! `roadmap.toml` and every `README.md` at the repository root and under
//! `milestones/*/`, as they are when the crate is built.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for name in ["roadmap.toml", "README.md"] {
        let p = root.join(name);
        if p.is_file() {
            files.push((name.to_string(), p));
        }
    }
    let mut milestones: Vec<PathBuf> = std::fs::read_dir(root.join("milestones"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    milestones.sort();
    for dir in milestones {
        let readme = dir.join("README.md");
        if readme.is_file() {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            files.push((format!("milestones/{name}/README.md"), readme));
        }
    }
    let mut out = String::from("/// (name, contents) of every built-in document.\npub static BUILTIN_DOCS: &[(&str, &str)] = &[\n");
    for (name, path) in &files {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        println!("cargo:rerun-if-changed={}", abs.display());
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    // A README or roadmap.toml created after the first build is picked up when
    // one of these changes or on a clean build; watching whole folders would
    // rebuild this crate on every source edit elsewhere in the workspace.
    println!("cargo:rerun-if-changed=build.rs");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_docs.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
