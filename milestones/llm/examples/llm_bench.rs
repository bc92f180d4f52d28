//! `cargo run --release -p roadmap-llm --example llm_bench -- MODEL_DIR [q8_0|as-shipped] [threads] [runs]`
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&a[1]);
    let format = a.get(2).map(|s| s.parse().unwrap()).unwrap_or_default();
    if let Some(t) = a.get(3) {
        roadmap_llm::configure_threads(t.parse().unwrap());
    }
    let runs = a.get(4).map(|s| s.parse().unwrap()).unwrap_or(5);
    let t = std::time::Instant::now();
    let mut llm = roadmap_llm::LocalLlm::load(
        &dir,
        &roadmap_llm::LoadOptions {
            format,
            max_ctx: 2048,
        },
    )
    .unwrap();
    eprintln!("load {:.2}s", t.elapsed().as_secs_f64());
    let r = roadmap_llm::bench::run(&mut llm, runs, 128, |i, pp, ttft, g| {
        eprintln!("run {i}: pp {pp:.1} tok/s, ttft {ttft:.1} ms, gen {g:.1} tok/s")
    })
    .unwrap();
    println!("{}", serde_json::to_string(&r).unwrap());
}
