//! The GGUF-built tokenizer against llama.cpp's ids for the same file.

mod common;

use std::sync::OnceLock;

use roadmap_llm::GgufTokenizer;

fn tokenizer() -> &'static GgufTokenizer {
    static TOK: OnceLock<GgufTokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        GgufTokenizer::from_gguf_file(&common::model_dir().join(roadmap_llm::SMOLLM2_FILE))
            .expect("tokenizer")
    })
}

#[test]
fn hello_world_has_the_reference_ids() {
    assert_eq!(tokenizer().encode("Hello world").unwrap(), vec![19556, 905]);
}

#[test]
fn vocabulary_and_special_tokens() {
    let t = tokenizer();
    assert_eq!(t.vocab_size(), 49_152);
    assert_eq!(t.im_start, 1);
    assert_eq!(t.im_end, 2);
    assert_eq!(t.encode("<|im_start|>user\n").unwrap()[0], 1);
}

#[test]
fn matches_llama_cpp_on_the_reference_sample() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tokenizer_reference.jsonl"
    ))
    .unwrap();
    let mut n = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = v["text"].as_str().unwrap();
        let want: Vec<u32> = v["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(tokenizer().encode(s).unwrap(), want, "text: {s:?}");
        n += want.len();
    }
    assert!(
        n > 2000,
        "the sample should hold over 2,000 tokens, has {n}"
    );
}

#[test]
fn decode_round_trips() {
    let t = tokenizer();
    for s in [
        "Hello world",
        "Ünïcödé café 日本語 🙂👩‍💻",
        "  two  spaces\n\tand tabs 12345",
        "x<=y && y!=z",
    ] {
        let ids = t.encode(s).unwrap();
        assert_eq!(t.decode(&ids, false).unwrap(), s);
    }
}

#[test]
fn anchor_prompt_has_the_anchor_ids() {
    // llama.cpp anchor: 359 tokens, prompt_ids_sha256 975f66a2…c5790321.
    let ids = tokenizer()
        .encode(&roadmap_llm::bench::anchor_prompt())
        .unwrap();
    assert_eq!(ids.len(), 359);
    assert_eq!(
        roadmap_llm::bench::ids_sha256(&ids),
        "975f66a2d2214d5492633ab3c3715785d3966e305142a96906b1bce5c5790321"
    );
}

#[test]
fn special_tokens_are_dropped_when_asked() {
    let t = tokenizer();
    let ids = t.encode("<|im_start|>assistant\nHi<|im_end|>").unwrap();
    assert_eq!(t.decode(&ids, true).unwrap(), "assistant\nHi");
}
