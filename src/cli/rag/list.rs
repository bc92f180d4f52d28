//! `roadmap rag list`: the collections in the store.

use anyhow::Result;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::*;

#[derive(Debug, clap::Args)]
pub(super) struct ListArgs {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(super) fn list_cmd(a: &ListArgs, loc: &StoreLoc) -> Result<()> {
    let store = open_store(loc)?;
    let cols = store.collections()?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "store": loc.to_string(), "collections": cols })
        );
        return Ok(());
    }
    if cols.is_empty() {
        println!(
            "no collections in {} yet (`roadmap rag ingest PATH...`)",
            loc
        );
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["collection", "model", "dim", "documents", "chunks"]);
    for c in cols {
        t.add_row([
            c.name,
            c.model_id,
            c.dim.to_string(),
            c.documents.to_string(),
            c.chunks.to_string(),
        ]);
    }
    println!("{t}");
    Ok(())
}
