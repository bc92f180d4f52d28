//! `roadmap llm`: the local language model of phase 5 (SmolLM2-135M-Instruct on candle).
//!
//! - `serve`: an OpenAI-compatible server (`/v1/models`, `/v1/chat/completions`, streaming);
//! - `generate`: one answer streamed to stdout, from the local model or any OpenAI-compatible
//!   server (`--via openai`);
//! - `bench`: tokens/s, prompt tokens/s and time to first token on the llama.cpp anchor's prompt.
//!
//! The library is `roadmap-llm`; this file resolves the model file (asset manager or
//! `--model-dir`), sets the thread count and prints.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use roadmap_llm::client::{BlockingClient, ClientConfig};
use roadmap_llm::server::{serve_until_signal, ServerConfig};
use roadmap_llm::{ChatMessage, GenParams, LoadOptions, LocalLlm, WeightFormat};

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Debug, clap::Args)]
struct ModelArgs {
    /// Directory holding SmolLM2-135M-Instruct.Q4_1.gguf (or the .gguf file itself).
    /// Default: the asset cache (fetched and checksum-verified on first use).
    #[arg(long, global = true, env = "ROADMAP_LLM_MODEL", value_name = "PATH")]
    model_dir: Option<PathBuf>,
    /// Weights in memory: `q8_0` (requantised at load; fastest here) or `as-shipped` (the file's Q4_1).
    #[arg(long, global = true, default_value = "q8_0", value_name = "FORMAT")]
    weights: WeightFormat,
    /// CPU threads for the model [default: all physical cores]. Use 1 when the cores are busy with
    /// other work: candle's worker threads busy-wait and collapse under contention.
    #[arg(long, global = true, env = "ROADMAP_LLM_THREADS")]
    threads: Option<usize>,
    /// Context size in tokens (prompt + answer).
    #[arg(long, global = true, default_value_t = 2048)]
    ctx: usize,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Serve the local model through an OpenAI-compatible API (Ctrl-C stops it gracefully)
    Serve(ServeArgs),
    /// Answer one prompt, streaming the text to stdout
    Generate(GenerateArgs),
    /// Measure generation speed on the llama.cpp anchor's 359-token prompt
    Bench(BenchArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on (keep 127.0.0.1 unless you mean to expose the model).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Require this key as `Authorization: Bearer <key>` [default: no key needed].
    #[arg(long, env = "ROADMAP_LLM_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Requests that may wait while one is generating; more get 503.
    #[arg(long, default_value_t = 16)]
    queue: usize,
    /// `max_tokens` for requests that do not set it.
    #[arg(long, default_value_t = 512)]
    default_max_tokens: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Via {
    /// The embedded model.
    Local,
    /// An OpenAI-compatible server (--base-url / OPENAI_BASE_URL, OPENAI_API_KEY).
    Openai,
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// The user message.
    prompt: String,
    /// An optional system message (none by default, as the model was tuned).
    #[arg(long)]
    system: Option<String>,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Sampling temperature; 0 = greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Nucleus sampling mass (with temperature > 0).
    #[arg(long)]
    top_p: Option<f64>,
    /// Sampling seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Which model answers.
    #[arg(long, value_enum, default_value_t = Via::Local)]
    via: Via,
    /// Base URL of the OpenAI-compatible server (with --via openai) [default: OPENAI_BASE_URL, else http://127.0.0.1:8080/v1].
    #[arg(long)]
    base_url: Option<String>,
    /// Model name on that server.
    #[arg(long, default_value = roadmap_llm::SMOLLM2_ID)]
    llm_model: String,
    /// Print one JSON object (answer, token counts, timings) instead of streaming text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// Timed runs (after one warm-up).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Tokens generated per run.
    #[arg(long, default_value_t = 128)]
    gen: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    match args.cmd {
        Cmd::Generate(a) if a.via == Via::Openai => generate_openai(a),
        Cmd::Serve(a) => serve(a, &args.model, g),
        Cmd::Generate(a) => generate_local(a, &args.model, g),
        Cmd::Bench(a) => bench(a, &args.model, g),
    }
}

fn load(m: &ModelArgs, g: &Globals) -> Result<LocalLlm> {
    if let Some(t) = m.threads {
        anyhow::ensure!(t >= 1, "--threads must be at least 1");
        // Before any model code runs: candle reads these once, when its thread pools start.
        roadmap_llm::configure_threads(t);
    }
    let path = match &m.model_dir {
        Some(p) => p.clone(),
        None => roadmap_common::assets::ensure(&g.cache_dir(), "smollm2-135m-instruct")
            .context("cannot get the SmolLM2 model (or pass --model-dir)")?,
    };
    eprintln!("loading {} ({} weights)…", path.display(), m.weights);
    let t = std::time::Instant::now();
    let llm = LocalLlm::load(
        &path,
        &LoadOptions {
            format: m.weights,
            max_ctx: m.ctx,
        },
    )
    .with_context(|| format!("cannot load the model from {}", path.display()))?;
    eprintln!("loaded in {:.1} s", t.elapsed().as_secs_f64());
    Ok(llm)
}

fn serve(a: ServeArgs, m: &ModelArgs, g: &Globals) -> Result<ExitCode> {
    let llm = load(m, g)?;
    let id = llm.id().to_string();
    let config = ServerConfig {
        api_key: a.api_key,
        queue_limit: a.queue,
        default_max_tokens: a.default_max_tokens,
    };
    let keyed = config.api_key.is_some();
    serve_until_signal(&a.addr, llm, config, |addr| {
        eprintln!(
            "serving `{id}` on http://{addr}/v1 (OpenAI-compatible{}); Ctrl-C stops",
            if keyed { ", API key required" } else { "" }
        );
        eprintln!(
            "  try: OPENAI_BASE_URL=http://{addr}/v1 roadmap llm generate --via openai \"Hello\""
        );
    })
    .context("the server failed")?;
    eprintln!("server stopped");
    Ok(ExitCode::SUCCESS)
}

fn messages(a: &GenerateArgs) -> Result<Vec<ChatMessage>> {
    anyhow::ensure!(
        !a.prompt.trim().is_empty(),
        "the prompt is empty: pass the question as an argument"
    );
    let mut msgs = Vec::new();
    if let Some(s) = &a.system {
        msgs.push(ChatMessage::system(s.clone()));
    }
    msgs.push(ChatMessage::user(a.prompt.clone()));
    Ok(msgs)
}

fn params(a: &GenerateArgs) -> GenParams {
    GenParams {
        max_tokens: a.max_tokens,
        temperature: a.temperature,
        top_p: a.top_p,
        seed: a.seed,
    }
}

/// Streams each piece to stdout as it comes (unless `json`).
fn printer(json: bool) -> impl FnMut(&str) -> bool {
    move |piece| {
        if !json {
            let mut out = std::io::stdout().lock();
            // A closed stdout (e.g. `| head`) stops generation instead of failing later.
            return out
                .write_all(piece.as_bytes())
                .and_then(|_| out.flush())
                .is_ok();
        }
        true
    }
}

fn generate_local(a: GenerateArgs, m: &ModelArgs, g: &Globals) -> Result<ExitCode> {
    let msgs = messages(&a)?;
    let mut llm = load(m, g)?;
    let gen = llm.chat(&msgs, &params(&a), printer(a.json))?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "model": llm.id(), "answer": gen.text, "finish_reason": gen.finish_reason,
                "prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.tokens.len(),
                "prompt_tokens_per_s": gen.prompt_tps, "ttft_ms": gen.ttft_ms, "tokens_per_s": gen.gen_tps,
            })
        );
    } else {
        println!();
        eprintln!(
            "[{} prompt tokens, {} generated, {:?}; prompt {:.0} tok/s, first token {:.0} ms, {:.1} tok/s]",
            gen.prompt_tokens,
            gen.tokens.len(),
            gen.finish_reason,
            gen.prompt_tps,
            gen.ttft_ms,
            gen.gen_tps
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn generate_openai(a: GenerateArgs) -> Result<ExitCode> {
    let msgs = messages(&a)?;
    let client = BlockingClient::new(ClientConfig::new(
        a.base_url.clone(),
        None,
        a.llm_model.clone(),
    ))?;
    let r = if a.json {
        client.chat(&msgs, &params(&a))?
    } else {
        client.chat_stream(&msgs, &params(&a), printer(false))?
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "model": a.llm_model, "base_url": client.config().base_url, "answer": r.text,
                "finish_reason": r.finish_reason, "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
            })
        );
    } else {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(a: BenchArgs, m: &ModelArgs, g: &Globals) -> Result<ExitCode> {
    let mut llm = load(m, g)?;
    eprintln!(
        "1 warm-up + {} timed runs of {} greedy tokens on the anchor prompt…",
        a.runs, a.gen
    );
    let r = roadmap_llm::bench::run(&mut llm, a.runs, a.gen, |i, pp, ttft, gen| {
        eprintln!(
            "run {i}: prompt {pp:.1} tok/s, first token {ttft:.0} ms, generation {gen:.1} tok/s"
        );
    })?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "weights {}, threads {}, {} prompt tokens (ids sha256 {}…)",
        r.weight_format,
        r.threads,
        r.prompt_tokens,
        &r.prompt_ids_sha256[..8]
    );
    println!(
        "prompt processing  best {:>7.1} tok/s  median {:>7.1} tok/s",
        r.pp_tps.best, r.pp_tps.median
    );
    println!(
        "time to 1st token  best {:>7.0} ms     median {:>7.0} ms",
        r.ttft_ms.best, r.ttft_ms.median
    );
    println!(
        "generation         best {:>7.1} tok/s  median {:>7.1} tok/s",
        r.gen_tps.best, r.gen_tps.median
    );
    println!("answer: {}", r.answer);
    println!(
        "capital check: {} ({})",
        if r.paris_ok { "ok" } else { "FAILED" },
        r.capital_answer
    );
    if let Some(load) = r.other_cpu_load {
        println!(
            "other processes used {:.0}% of the CPUs during the timed runs",
            load * 100.0
        );
    }
    Ok(ExitCode::SUCCESS)
}
