//! Embeds the roadmap's own documents (the built-in knowledge base) in the crate:
//! `roadmap.toml` and every `README.md` at the repository root and under
//! `milestones/*/`, as they are when the crate is built, plus `roadmap-guide.md`:
//! `roadmap.toml` rendered as prose, one section per phase.

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
    // roadmap.toml rendered as prose, one section per phase, so that questions
    // in words ("what do I build in phase 4") meet sentences, not TOML keys.
    if let Ok(text) = std::fs::read_to_string(root.join("roadmap.toml")) {
        let guide = roadmap_guide(&text);
        writeln!(out, "    (\"roadmap-guide.md\", {guide:?}),").unwrap();
    }
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

/// A Markdown guide to the roadmap, written from `roadmap.toml`.
fn roadmap_guide(text: &str) -> String {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return String::new();
    };
    let str_of = |v: &toml::Value, key: &str| {
        v.get(key)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let months = |v: Option<&toml::Value>| {
        let num = |k: &str| {
            v.and_then(|m| m.get(k))
                .and_then(|x| x.as_float().or_else(|| x.as_integer().map(|i| i as f64)))
                .unwrap_or_default()
        };
        format!("{}–{} months", num("min"), num("max"))
    };
    let mut g = format!(
        "# {}: the phases in words\n\n",
        doc.get("title")
            .and_then(|t| t.as_str())
            .unwrap_or("The roadmap")
    );
    if let Some(t) = doc.get("timeline") {
        let _ = writeln!(
            g,
            "How long does the whole roadmap take? About {} at a focused pace, {} part-time while working.\n",
            months(t.get("focused_months")),
            months(t.get("part_time_months"))
        );
    }
    for phase in doc
        .get("phases")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let id = str_of(phase, "id");
        let number = id.trim_start_matches("phase");
        let _ = writeln!(
            g,
            "## Phase {number}: {} ({})\n",
            str_of(phase, "title"),
            months(phase.get("duration_months"))
        );
        if let Some(m) = phase.get("milestone") {
            let _ = write!(
                g,
                "What do I build in phase {number}? In phase {number} you build the milestone project \"{}\": {}",
                str_of(m, "title"),
                str_of(m, "description")
            );
            if m.get("runner").is_some() {
                let criteria: Vec<&str> = m
                    .get("criteria")
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str())
                    .collect();
                let _ = write!(
                    g,
                    " Run the reference implementation with `roadmap run {id}`; it passes when {}.",
                    criteria.join(" and ")
                );
            }
            g.push_str("\n\n");
        }
        if let Some(o) = phase.get("objective").and_then(|o| o.as_str()) {
            let _ = writeln!(g, "The objective of phase {number}: {o}\n");
        }
        let resources: Vec<String> = phase
            .get("resources")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{} ({}, {})",
                    str_of(r, "title"),
                    str_of(r, "kind"),
                    str_of(r, "provider")
                )
            })
            .collect();
        if !resources.is_empty() {
            let _ = writeln!(
                g,
                "What do I learn in phase {number}? {}.\n",
                resources.join("; ")
            );
        }
        let requirements: Vec<String> = phase
            .get("requirements")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
            .map(|r| str_of(r, "title"))
            .collect();
        if !requirements.is_empty() {
            let _ = writeln!(
                g,
                "The requirements of phase {number} are: {}\n",
                requirements.join(" ")
            );
        }
        if let Some(o) = phase.get("outcome").and_then(|o| o.as_str()) {
            let _ = writeln!(g, "After phase {number} you are: {o}\n");
        }
    }
    g
}
