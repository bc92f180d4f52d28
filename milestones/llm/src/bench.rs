//! The generation benchmark, with the llama.cpp anchor's prompt and definitions.
//!
//! The anchor (llama-cpp-python 0.3.36, same GGUF, 2 threads) feeds one fixed ChatML prompt of 359
//! tokens (a system instruction, a made-up 312-token context about a water cooperative, and a
//! question), then generates 128 tokens greedily with EOS ignored. Per run, from an empty KV cache:
//!
//! - `pp_tps`  = prompt tokens / wall time of the prompt's forward pass (one batch);
//! - `ttft_ms` = tokenize + prompt forward + argmax of the first token;
//! - `gen_tps` = 127 / wall time from token 1 to token 128 (each step: one forward + argmax).
//!
//! One untimed warm-up run, then `runs` timed ones; we report the best and the median. Because the
//! machine may be shared, the report also says which share of the CPUs other processes used during
//! the timed runs (from `/proc/stat`, Linux only), as the anchor does.

use std::time::Instant;

use candle_core::D;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::chat::{chatml, ChatMessage};
use crate::{LlmError, LocalLlm};

const SYSTEM: &str = "Answer only from the context.";
const CONTEXT: &str =
    "The Harwick Valley Water Cooperative was founded in 1987 by eleven farming families who had \
grown tired of relying on the county's aging pipeline. Its first project was a 14-kilometre \
gravity-fed channel from Lake Orsel, completed in the spring of 1991 at a cost of 2.3 million \
dollars, most of it raised through loans from the members themselves. In 1998 the cooperative \
added a small hydroelectric turbine at the Tenley weir, which today produces about 1.8 \
gigawatt-hours a year, enough to run its pumps and to sell the surplus to the regional grid. \
The cooperative is governed by a board of seven members elected for three-year terms; the \
current chair, Mirela Osk, a soil engineer, was first elected in 2019. Membership is open to \
any household or business inside the valley that owns a water meter, and each member has \
exactly one vote regardless of how much water it uses. During the drought of 2022 the board \
introduced a tiered tariff: the first 40 cubic metres per month cost 0.60 dollars each, and \
every cubic metre above that costs 1.45 dollars. Revenue from the higher tier is set aside in \
a reserve fund that pays for pipe repairs. The cooperative's headquarters sits in the old \
railway station in the town of Brenna, where a small museum displays the original survey maps \
drawn by the founding engineer, Tomas Verhage.";
const QUESTION: &str =
    "Who chairs the cooperative, and how much does a cubic metre above 40 per month cost?";

/// The anchor's benchmark prompt, byte for byte (`llm_llamacpp.py --print-prompt`).
pub fn anchor_prompt() -> String {
    chatml(&[
        ChatMessage::system(format!("{SYSTEM}\n\nContext:\n{CONTEXT}")),
        ChatMessage::user(format!("Question: {QUESTION}")),
    ])
}

/// sha256 of the comma-joined token ids (the anchor's `prompt_ids_sha256` / `gen_ids_sha256`).
pub fn ids_sha256(ids: &[u32]) -> String {
    let joined = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    hex::encode(Sha256::digest(joined.as_bytes()))
}

/// Best and median of a metric over the timed runs.
#[derive(Clone, Debug, Serialize)]
pub struct Stat {
    pub best: f64,
    pub median: f64,
}

fn stat(mut v: Vec<f64>, higher_is_better: bool) -> Stat {
    v.sort_by(f64::total_cmp);
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    let best = if higher_is_better {
        v[v.len() - 1]
    } else {
        v[0]
    };
    Stat {
        best: (best * 100.0).round() / 100.0,
        median: (median * 100.0).round() / 100.0,
    }
}

/// One benchmark report (the anchor's JSON fields where they exist).
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub engine: String,
    pub weight_format: String,
    pub threads: String,
    pub runs: usize,
    pub prompt_tokens: usize,
    pub prompt_ids_sha256: String,
    pub gen_tokens: usize,
    pub gen_ids_sha256: String,
    pub deterministic: bool,
    pub pp_tps: Stat,
    pub ttft_ms: Stat,
    pub gen_tps: Stat,
    pub answer: String,
    pub capital_answer: String,
    pub paris_ok: bool,
    /// Share of all CPUs that other processes used during the timed runs (0 = quiet machine).
    pub other_cpu_load: Option<f64>,
}

struct RunTimes {
    pp_tps: f64,
    ttft_ms: f64,
    gen_tps: f64,
}

fn greedy_run(
    llm: &mut LocalLlm,
    prompt: &str,
    n_gen: usize,
) -> Result<(Vec<u32>, Vec<u32>, RunTimes), LlmError> {
    llm.model_mut().reset();
    let t0 = Instant::now();
    let ids = llm.tokenizer().encode(prompt)?;
    let t_tok = Instant::now();
    let logits = llm.model_mut().forward(&ids)?;
    let t_pp = Instant::now();
    let mut tok = logits.argmax(D::Minus1)?.to_scalar::<u32>()?;
    let t_first = Instant::now();
    let mut out = vec![tok];
    while out.len() < n_gen {
        let logits = llm.model_mut().forward(&[tok])?;
        tok = logits.argmax(D::Minus1)?.to_scalar::<u32>()?;
        out.push(tok);
    }
    let t_end = Instant::now();
    let times = RunTimes {
        pp_tps: ids.len() as f64 / (t_pp - t_tok).as_secs_f64(),
        ttft_ms: (t_first - t0).as_secs_f64() * 1e3,
        gen_tps: (out.len() - 1) as f64 / (t_end - t_first).as_secs_f64(),
    };
    Ok((out, ids, times))
}

/// (CPU seconds used by all processes, CPU seconds used by this one), from /proc (Linux).
fn cpu_seconds() -> Option<(f64, f64)> {
    // USER_HZ is 100 on every mainstream Linux build; /proc reports times in those ticks.
    const TICKS: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let busy = v.iter().take(8).sum::<f64>() - v.get(3)? - v.get(4)?;
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    let rest = &own[own.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let own_ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some((busy / TICKS, own_ticks / TICKS))
}

/// Runs the benchmark: one warm-up and `runs` timed greedy generations of `n_gen` tokens on the
/// anchor prompt, then the Paris check. `progress` is told after each timed run.
pub fn run(
    llm: &mut LocalLlm,
    runs: usize,
    n_gen: usize,
    mut progress: impl FnMut(usize, f64, f64, f64),
) -> Result<BenchReport, LlmError> {
    let runs = runs.max(1);
    let n_gen = n_gen.max(2);
    let prompt = anchor_prompt();
    greedy_run(llm, &prompt, n_gen)?; // warm-up: page in the weights, start the worker threads

    let before = cpu_seconds();
    let wall0 = Instant::now();
    let mut times = Vec::new();
    let mut first: Option<(Vec<u32>, Vec<u32>)> = None;
    let mut same = true;
    for i in 0..runs {
        let (out, ids, t) = greedy_run(llm, &prompt, n_gen)?;
        progress(i + 1, t.pp_tps, t.ttft_ms, t.gen_tps);
        match &first {
            None => first = Some((out, ids)),
            Some((o, _)) => same &= *o == out,
        }
        times.push(t);
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let other_cpu_load = match (before, cpu_seconds()) {
        (Some((b0, o0)), Some((b1, o1))) => {
            Some((((b1 - b0) - (o1 - o0)).max(0.0) / (wall * cpus) * 1000.0).round() / 1000.0)
        }
        _ => None,
    };
    let (gen_ids, prompt_ids) = first.expect("at least one run");

    let capital = llm.chat(
        &[ChatMessage::user("What is the capital of France?")],
        &crate::GenParams {
            max_tokens: 32,
            ..Default::default()
        },
        |_| true,
    )?;
    let cut = gen_ids
        .iter()
        .position(|&t| t == llm.tokenizer().im_end || Some(t) == llm.tokenizer().eos)
        .unwrap_or(gen_ids.len());
    let answer = llm
        .tokenizer()
        .decode(&gen_ids[..cut], true)?
        .trim()
        .to_string();
    Ok(BenchReport {
        engine: "candle 0.11 quantized (roadmap-llm)".to_string(),
        weight_format: llm.model().format().to_string(),
        threads: std::env::var("CANDLE_NUM_THREADS")
            .unwrap_or_else(|_| "default (physical cores)".into()),
        runs,
        prompt_tokens: prompt_ids.len(),
        prompt_ids_sha256: ids_sha256(&prompt_ids),
        gen_tokens: n_gen,
        gen_ids_sha256: ids_sha256(&gen_ids),
        deterministic: same,
        pp_tps: stat(times.iter().map(|t| t.pp_tps).collect(), true),
        ttft_ms: stat(times.iter().map(|t| t.ttft_ms).collect(), false),
        gen_tps: stat(times.iter().map(|t| t.gen_tps).collect(), true),
        answer,
        paris_ok: capital.text.contains("Paris"),
        capital_answer: capital.text,
        other_cpu_load,
    })
}
