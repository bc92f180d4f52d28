//! Capstone part `deploy` (issue 16): the RAG service run from its container
//! image, driven by the same scripted workload as the `service` part.
//!
//! 1. The Docker engine is asked for its version (bounded in time); without an
//!    answer the part is skipped, saying what was tried and what came back.
//! 2. Leftovers of an earlier run that was killed (containers labelled
//!    `org.roadmap.capstone=deploy` whose owner process is gone) are removed.
//! 3. The base image `debian:bookworm-slim` is reused when present; else it is
//!    made from Debian's packages by `deploy/docker/base-image.sh`, embedded in
//!    this binary and run as it is (debootstrap, root, 1–3 min; serialised by
//!    the script's lock, so the test and `.ci/deploy-e2e` share one image).
//!    Absent, with no debootstrap or no root: skipped, saying how to fix it.
//! 4. The service image `roadmap-rag:capstone` packs the *running* binary
//!    (`std::env::current_exe()`, stripped) with the embedded
//!    `deploy/docker/Dockerfile.runtime` (target `rag`), so an installed binary
//!    needs no source tree. The image carries the binary's SHA-256 as a label
//!    and is reused while that matches. Its size, user, health check, stop
//!    signal and labels are checked.
//! 5. One container: read-only root, tmpfs for the writable paths, no
//!    capabilities, no privilege escalation, the models of the host's asset
//!    cache mounted read-only (`/models/…`, where the image's
//!    `ROADMAP_*_DIR` point), an API key made for this run in a mounted file,
//!    the port published on 127.0.0.1 at a port the engine picks (always free).
//!    Time to ready: `docker run` → first `/readyz` 200 (the container indexes
//!    the built-in knowledge base with MiniLM first, as a fresh deployment
//!    does). A container that exits or never becomes ready fails the check
//!    with the tail of its logs.
//! 6. The workload (`roadmap_rag_service::workload`, the part-1 script) runs
//!    through the published port; `/metrics` is scraped; Docker must report
//!    the image's HEALTHCHECK healthy; `docker stop` (SIGTERM) must drain and
//!    exit 0; the container is removed and nothing of the run may be left.
//!    The container is removed on every exit path (a guard's `Drop`).
//!
//! Recorded: image size (MB, the engine's `Size`), seconds from `docker run` to
//! ready, the workload's requests, error ratio and p50/p95 latencies (client
//! view, NumPy-linear percentiles), the answers the service counted on
//! `/metrics`, and seconds `docker stop` took.

mod docker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use roadmap_rag_service::workload::{self, Workload};
use serde_json::{json, Value};

use self::docker::docker;
use super::{service, Ran, Reporter, Settings};
use crate::knowledge;

pub const METRICS: &[&str] = &[
    "deploy_image_mb",
    "deploy_ready_s",
    "deploy_requests",
    "deploy_error_ratio",
    "deploy_search_p50_ms",
    "deploy_search_p95_ms",
    "deploy_ask_p50_ms",
    "deploy_ask_p95_ms",
    "deploy_answers",
    "deploy_stop_s",
];

/// The tag every Dockerfile of the project starts `FROM`.
const BASE_IMAGE: &str = "debian:bookworm-slim";
/// The service image this part builds (or reuses).
const IMAGE: &str = "roadmap-rag:capstone";
/// What every object of the project carries (`.ci/deploy-e2e` and compose use it too).
const PROJECT_LABEL: &str = "org.roadmap.project=roadmap";
/// What this part's containers carry, to find leftovers of a killed run.
const PART_LABEL: &str = "org.roadmap.capstone=deploy";
/// The process that started a container (leftovers are those whose owner is gone).
const OWNER_LABEL: &str = "org.roadmap.capstone.pid";
/// The binary an image packs, so an image of the same binary is reused.
const BINARY_LABEL: &str = "org.roadmap.binary-sha256";

/// `deploy/docker/base-image.sh`, run as it is when the base image is missing.
const BASE_IMAGE_SCRIPT: &str = include_str!("../../../deploy/docker/base-image.sh");
/// `deploy/docker/Dockerfile.runtime`: the runtime stages around a host-built binary.
const DOCKERFILE: &str = include_str!("../../../deploy/docker/Dockerfile.runtime");

/// The image-size goal of issue 16 for the service without models.
const IMAGE_GOAL_MB: f64 = 120.0;
/// The glibc of Debian bookworm: a binary needing a newer one cannot start in the image.
const BOOKWORM_GLIBC_MINOR: u32 = 36;

/// How long the engine may take to answer `docker version`.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);
/// Quick engine calls (inspect, ps, port, logs, rm).
const QUICK: Duration = Duration::from_secs(60);
/// debootstrap of bookworm: 1–3 min measured; generous for a slow mirror.
const BASE_IMAGE_TIMEOUT: Duration = Duration::from_secs(900);
/// `docker build` of the service image (context: the stripped binary).
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);
/// From `docker run` to `/readyz` 200: MiniLM indexes the knowledge base
/// first (and SmolLM2 loads with a burst), on whatever cores the host has.
const READY_TIMEOUT: Duration = Duration::from_secs(300);
/// Docker's first health probe runs 10 s after the start (the image's `--interval`).
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(60);
/// `docker stop -t`: the service drains within `server.drain_seconds` (20 s by default).
const STOP_GRACE_SECONDS: u64 = 30;

pub fn run(s: &Settings, rep: &mut Reporter) -> Result<Ran> {
    let scratch = tempfile::Builder::new()
        .prefix("roadmap-deploy.")
        .tempdir()
        .context("cannot create a scratch folder for the deploy part")?;
    let scratch = scratch.path();
    rep.progress("asking the Docker engine for its version");
    let version = match docker::engine_version(scratch, ENGINE_TIMEOUT) {
        Ok(v) => v,
        Err(why) => {
            return Ok(Ran::Skipped(format!(
                "no Docker engine answers ({why}); start one (for example `sudo systemctl start docker`) \
                 to check the deployment"
            )))
        }
    };

    let base = match base_image_state(scratch)? {
        BaseImage::Present(detail) => Ok(detail),
        BaseImage::Absent => match base_image_blocker() {
            Some(why) => return Ok(Ran::Skipped(why)),
            None => Err(()),
        },
    };
    rep.check("engine", true, format!("Docker engine {version}"));

    let removed = remove_leftovers(scratch)?;
    rep.check(
        "leftovers",
        true,
        if removed == 0 {
            "no container of a killed earlier run".to_string()
        } else {
            format!(
                "removed {removed} container(s) of a killed earlier run (by label {PART_LABEL})"
            )
        },
    );

    let mut metrics = BTreeMap::new();
    let mut details = json!({ "engine": version });
    let done = |metrics: BTreeMap<String, f64>, details: Value| Ok(Ran::Done { metrics, details });

    // The base image.
    let base_detail = match base {
        Ok(detail) => detail,
        Err(()) => {
            rep.progress(&format!(
                "making {BASE_IMAGE} with debootstrap (deploy/docker/base-image.sh; 1–3 min)"
            ));
            match make_base_image(scratch) {
                Ok(detail) => detail,
                Err(e) => {
                    rep.check("base_image", false, format!("{e:#}"));
                    return done(metrics, details);
                }
            }
        }
    };
    rep.check("base_image", true, base_detail);

    // The service image, packing this very binary.
    rep.progress(&format!("building {IMAGE} around the running binary"));
    let image = match service_image(scratch) {
        Ok(i) => i,
        Err(e) => {
            rep.check("image", false, format!("{e:#}"));
            return done(metrics, details);
        }
    };
    let mb = image.size_bytes / 1e6;
    metrics.insert("deploy_image_mb".to_string(), mb);
    rep.check(
        "image",
        true,
        format!(
            "{IMAGE} {} ({mb:.1} MB{}{}, sha256 {}…)",
            if image.reused {
                "reused: it packs this binary".to_string()
            } else {
                format!("built in {:.1} s", image.build_s)
            },
            if cfg!(debug_assertions) {
                format!(
                    "; a debug build: the ≤ {IMAGE_GOAL_MB} MB goal is judged on release builds"
                )
            } else {
                String::new()
            },
            if image.reused {
                String::new()
            } else {
                format!(", binary {:.1} MB stripped", image.binary_mb)
            },
            &image.sha256[..12]
        ),
    );
    // The goal is for a release binary; a debug build's (what the tests and CI
    // pack) is unoptimised code, twice the size stripped, so it is reported, not judged.
    if !cfg!(debug_assertions) {
        rep.check(
            "image_size",
            mb <= IMAGE_GOAL_MB,
            format!("{mb:.1} MB without models, release build (goal ≤ {IMAGE_GOAL_MB} MB)"),
        );
    }
    let problems = image_config_problems(&image.inspect);
    rep.check(
        "image_config",
        problems.is_empty(),
        if problems.is_empty() {
            "user 10001:10001, HEALTHCHECK, STOPSIGNAL SIGTERM, OCI labels version/revision/source, project label".to_string()
        } else {
            problems.join("; ")
        },
    );
    details["image"] = json!({
        "tag": IMAGE,
        "size_mb": mb,
        "reused": image.reused,
        "build_s": image.build_s,
        "binary_mb": image.binary_mb,
        "binary_sha256": image.sha256,
    });

    // Models from the host's asset cache, mounted read-only.
    let burst = s.service_burst;
    let mut models = vec!["all-minilm-l6-v2"];
    if burst > 0 {
        models.push("smollm2-135m-instruct");
    }
    let mut mounts = Vec::new();
    for m in &models {
        match roadmap_common::assets::ensure(&s.cache_dir, m) {
            Ok(dir) => mounts.push((dir, format!("/models/{m}"))),
            Err(e) => {
                rep.check(
                    "models",
                    false,
                    format!("{m}: {e} (`roadmap assets fetch {m}`)"),
                );
                return done(metrics, details);
            }
        }
    }

    // The container.
    let key = run_key()?;
    let key_file = scratch.join("api_keys");
    write_readable(&key_file, &format!("{key}\n"))?;
    let container = Container::new(scratch);
    rep.progress("starting the container");
    let started = Instant::now();
    let port = match container.start(&mounts, &key_file, burst > 0) {
        Ok(port) => port,
        Err(e) => {
            // A container that dies at once (a model it cannot load) may be
            // gone before its port can be read: that is a start followed by a
            // failed `ready`, with the container's own logs saying why.
            match container.stopped(started) {
                Some(why) => {
                    rep.check(
                        "start",
                        true,
                        format!("{} started by `docker run`", container.name),
                    );
                    rep.check("ready", false, why);
                }
                None => {
                    rep.check("start", false, format!("{e:#}"));
                }
            }
            container.remove();
            return done(metrics, details);
        }
    };
    rep.check(
        "start",
        true,
        format!(
            "{} on 127.0.0.1:{port}: read-only root, tmpfs for the writable paths, no capabilities, models {} mounted read-only",
            container.name,
            models.join(" and ")
        ),
    );
    let base_url = format!("http://127.0.0.1:{port}");
    rep.progress("waiting for /readyz (the container indexes the knowledge base first)");
    match container.wait_ready(&base_url, started) {
        Ok(()) => {
            let ready_s = started.elapsed().as_secs_f64();
            metrics.insert("deploy_ready_s".to_string(), ready_s);
            rep.check(
                "ready",
                true,
                format!("/readyz 200 {ready_s:.1} s after `docker run`"),
            );
        }
        Err(why) => {
            rep.check("ready", false, why);
            container.remove();
            return done(metrics, details);
        }
    }

    rep.progress("driving the workload against the container");
    let w = Workload {
        base_url: base_url.clone(),
        api_key: key,
        questions: service::QUESTIONS
            .iter()
            .map(|q| (q.to_string(), knowledge::COLLECTION.to_string()))
            .collect(),
        ingest_collection: "capstone".into(),
        burst,
        burst_capacity: service::CONCURRENCY + service::QUEUE_DEPTH,
        timeout: Duration::from_secs_f64(service::REQUEST_TIMEOUT_SECONDS + 30.0),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime for the workload")?;
    let report = runtime.block_on(workload::run(w, |step| {
        eprintln!("  … deploy: {step}");
    }));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            rep.check(
                "workload",
                false,
                format!("{e}\n{}", container.logs_tail(30)),
            );
            container.remove();
            return done(metrics, details);
        }
    };
    for c in &report.checks {
        rep.check(&c.name, c.passed, c.detail.clone());
    }
    metrics.extend(service::workload_figures("deploy", &report));
    details["workload"] = json!({
        "latency": report.latency,
        "server_errors": report.server_errors,
        "grounded_share": report.grounded_share,
        "burst": burst,
        "burst_ok": report.burst_ok,
        "burst_429": report.burst_429,
        "burst_other": report.burst_other,
    });

    // /metrics as Prometheus would scrape it from the container.
    match scrape(&base_url) {
        Ok(text) => {
            let answers = workload::counter_sum(&text, "roadmap_rag_answers_total");
            let build = text
                .lines()
                .find(|l| l.starts_with("roadmap_rag_build_info{"))
                .unwrap_or("")
                .to_string();
            metrics.insert("deploy_answers".to_string(), answers);
            rep.check(
                "metrics",
                answers >= 1.0 && !build.is_empty(),
                format!(
                    "GET /metrics: {} samples; roadmap_rag_answers_total {answers}; {}",
                    text.lines().filter(|l| !l.starts_with('#')).count(),
                    if build.is_empty() {
                        "no roadmap_rag_build_info"
                    } else {
                        &build
                    }
                ),
            );
        }
        Err(e) => {
            rep.check("metrics", false, format!("GET /metrics: {e:#}"));
        }
    }

    // Docker's own view: the image's HEALTHCHECK.
    match container.wait_healthy(started) {
        Ok(after) => rep.check(
            "healthcheck",
            true,
            format!("Docker reports the container healthy (image HEALTHCHECK, GET /healthz) {after:.1} s after `docker run`"),
        ),
        Err(why) => rep.check("healthcheck", false, why),
    };

    // SIGTERM: drain and exit 0.
    rep.progress("stopping the container (SIGTERM)");
    match container.stop() {
        Ok((code, secs)) => {
            metrics.insert("deploy_stop_s".to_string(), secs);
            rep.check(
                "stop",
                code == 0,
                format!("`docker stop` (SIGTERM): exit code {code} after {secs:.1} s (0: drained and exited; 137: killed)"),
            );
        }
        Err(e) => {
            rep.check("stop", false, format!("{e:#}"));
        }
    }
    container.remove();
    let left = container.left();
    rep.check(
        "cleanup",
        matches!(&left, Ok(l) if l.is_empty()),
        match left {
            Ok(l) if l.is_empty() => "the container and its tmpfs are gone".to_string(),
            Ok(l) => format!("still there: {l}"),
            Err(e) => format!("{e:#}"),
        },
    );
    done(metrics, details)
}

// ---- the base image -------------------------------------------------------------------

enum BaseImage {
    /// Present: what it is.
    Present(String),
    Absent,
}

fn base_image_state(scratch: &Path) -> Result<BaseImage> {
    let o = docker(
        scratch,
        &[
            "image",
            "inspect",
            "--format",
            "{{.Size}} {{index .Config.Labels \"org.roadmap.project\"}}",
            BASE_IMAGE,
        ],
        QUICK,
    )?;
    if !o.ok {
        return Ok(BaseImage::Absent);
    }
    let mut it = o.stdout.split_whitespace();
    let size: f64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let ours = it.next() == Some("roadmap");
    Ok(BaseImage::Present(format!(
        "{BASE_IMAGE} reused ({:.1} MB, {})",
        size / 1e6,
        if ours {
            "made by deploy/docker/base-image.sh"
        } else {
            "not made by this project (e.g. pulled from a registry)"
        }
    )))
}

/// Why the base image cannot be made here, if it cannot.
fn base_image_blocker() -> Option<String> {
    let how = format!(
        "make it once with `sudo deploy/docker/base-image.sh` from a checkout, or `docker pull {BASE_IMAGE}` \
         where a registry is reachable"
    );
    if !on_path("debootstrap") {
        return Some(format!(
            "no {BASE_IMAGE} image and no debootstrap to make it from Debian's packages: install it \
             (`sudo apt-get install debootstrap`) and run again as root, or {how}"
        ));
    }
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").ok()?);
    if uid != 0 {
        return Some(format!(
            "no {BASE_IMAGE} image, and debootstrap needs root to make it (this runs as uid {uid}): \
             run `sudo roadmap run phase6 --parts deploy` once, or {how}"
        ));
    }
    None
}

fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|d| d.join(program).is_file())
}

/// Runs the embedded `deploy/docker/base-image.sh`; a description of the image made.
fn make_base_image(scratch: &Path) -> Result<String> {
    let script = scratch.join("base-image.sh");
    std::fs::write(&script, BASE_IMAGE_SCRIPT)
        .with_context(|| format!("cannot write {}", script.display()))?;
    let started = Instant::now();
    let o = docker::run(
        scratch,
        "bash",
        &[&script.to_string_lossy(), "--tag", BASE_IMAGE],
        BASE_IMAGE_TIMEOUT,
    )?;
    if !o.ok {
        anyhow::bail!(
            "deploy/docker/base-image.sh failed (exit {:?}):\n{}",
            o.code,
            o.tail(25)
        );
    }
    let last = o.stdout.lines().last().unwrap_or("").trim().to_string();
    Ok(format!(
        "{BASE_IMAGE} made from Debian's packages in {:.0} s ({last})",
        started.elapsed().as_secs_f64()
    ))
}

// ---- the service image ----------------------------------------------------------------

struct Image {
    reused: bool,
    build_s: f64,
    size_bytes: f64,
    binary_mb: f64,
    sha256: String,
    inspect: Value,
}

fn inspect_image(scratch: &Path, tag: &str) -> Result<Option<Value>> {
    let o = docker(scratch, &["image", "inspect", tag], QUICK)?;
    if !o.ok {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(&o.stdout).context("`docker image inspect` output")?;
    Ok(v.get(0).cloned())
}

/// Builds `roadmap-rag:capstone` around the running binary, or reuses it when
/// it already packs that binary.
fn service_image(scratch: &Path) -> Result<Image> {
    let exe = std::env::current_exe().context("cannot find the running binary")?;
    let sha256 = roadmap_common::assets::sha256_reader(
        std::fs::File::open(&exe).with_context(|| format!("cannot open {}", exe.display()))?,
    )
    .with_context(|| format!("cannot read {}", exe.display()))?;
    if let Some(v) = inspect_image(scratch, IMAGE)? {
        if v["Config"]["Labels"][BINARY_LABEL].as_str() == Some(sha256.as_str()) {
            return Ok(Image {
                reused: true,
                build_s: 0.0,
                size_bytes: v["Size"].as_f64().unwrap_or(0.0),
                binary_mb: 0.0,
                sha256,
                inspect: v,
            });
        }
    }

    let ctx = scratch.join("context");
    std::fs::create_dir_all(&ctx)?;
    let packed = ctx.join("roadmap");
    // Full strip, as build.sh and the multi-stage build do: line tables and
    // symbols are most of a debug binary and a container needs neither.
    let stripped = docker::run(
        scratch,
        "strip",
        &["-o", &packed.to_string_lossy(), &exe.to_string_lossy()],
        QUICK,
    )
    .map(|o| o.ok)
    .unwrap_or(false);
    if !stripped {
        std::fs::copy(&exe, &packed)
            .with_context(|| format!("cannot copy {} into the build context", exe.display()))?;
    }
    let bytes = std::fs::read(&packed)?;
    if let Some(minor) = glibc_needed(&bytes) {
        if minor > BOOKWORM_GLIBC_MINOR {
            anyhow::bail!(
                "{} needs glibc 2.{minor}, the bookworm image has 2.{BOOKWORM_GLIBC_MINOR}: build roadmap on \
                 Debian bookworm, or build the image with the multi-stage Dockerfile",
                exe.display()
            );
        }
    }
    let binary_mb = bytes.len() as f64 / 1e6;
    drop(bytes);
    std::fs::write(ctx.join("Dockerfile"), DOCKERFILE)?;

    let version = env!("CARGO_PKG_VERSION");
    let revision = option_env!("ROADMAP_REVISION").unwrap_or("unknown");
    let source = option_env!("CARGO_PKG_REPOSITORY")
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown");
    let args = [
        "build".to_string(),
        "--force-rm".into(),
        "--target".into(),
        "rag".into(),
        "--build-arg".into(),
        format!("VERSION={version}"),
        "--build-arg".into(),
        format!("REVISION={revision}"),
        "--build-arg".into(),
        format!("SOURCE={source}"),
        "--label".into(),
        format!("{BINARY_LABEL}={sha256}"),
        "-t".into(),
        IMAGE.into(),
        ctx.to_string_lossy().into_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let o = docker(scratch, &args, BUILD_TIMEOUT)?;
    let build_s = started.elapsed().as_secs_f64();
    // The binary stage's image and the image this one replaces (both
    // untagged now, both labelled) are not needed.
    let _ = docker(
        scratch,
        &[
            "image",
            "prune",
            "--force",
            "--filter",
            &format!("label={PROJECT_LABEL}"),
        ],
        QUICK,
    );
    if !o.ok {
        anyhow::bail!("`docker build` of {IMAGE} failed:\n{}", o.tail(25));
    }
    let v = inspect_image(scratch, IMAGE)?
        .with_context(|| format!("{IMAGE} is not there after `docker build`"))?;
    Ok(Image {
        reused: false,
        build_s,
        size_bytes: v["Size"].as_f64().unwrap_or(0.0),
        binary_mb,
        sha256,
        inspect: v,
    })
}

/// The newest `GLIBC_2.N` symbol version a binary names (N), if any.
fn glibc_needed(bytes: &[u8]) -> Option<u32> {
    const TAG: &[u8] = b"GLIBC_2.";
    bytes
        .windows(TAG.len())
        .enumerate()
        .filter(|(_, w)| *w == TAG)
        .filter_map(|(i, _)| {
            let digits: Vec<u8> = bytes[i + TAG.len()..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            std::str::from_utf8(&digits).ok()?.parse().ok()
        })
        .max()
}

/// What the image's configuration lacks of what issue 16 asks for.
fn image_config_problems(inspect: &Value) -> Vec<String> {
    let c = &inspect["Config"];
    let mut p = Vec::new();
    if c["User"].as_str() != Some("10001:10001") {
        p.push(format!("user {} (want 10001:10001)", c["User"]));
    }
    if c["Healthcheck"]["Test"]
        .as_array()
        .is_none_or(|t| t.is_empty())
    {
        p.push("no HEALTHCHECK".into());
    }
    if c["StopSignal"].as_str() != Some("SIGTERM") {
        p.push(format!("stop signal {} (want SIGTERM)", c["StopSignal"]));
    }
    let labels = &c["Labels"];
    if labels["org.opencontainers.image.version"].as_str() != Some(env!("CARGO_PKG_VERSION")) {
        p.push(format!(
            "label org.opencontainers.image.version {} (want {})",
            labels["org.opencontainers.image.version"],
            env!("CARGO_PKG_VERSION")
        ));
    }
    for l in [
        "org.opencontainers.image.revision",
        "org.opencontainers.image.source",
    ] {
        if labels[l].as_str().is_none_or(str::is_empty) {
            p.push(format!("no label {l}"));
        }
    }
    if labels["org.roadmap.project"].as_str() != Some("roadmap") {
        p.push("no label org.roadmap.project=roadmap".into());
    }
    p
}

// ---- the container --------------------------------------------------------------------

/// A one-off API key for the run: 128 random bits, kept in memory and in a
/// file of the scratch folder (removed with it), never printed.
fn run_key() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for the run's API key")?;
    Ok(format!(
        "capstone-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Writes a file the container's user (uid 10001) can read through a bind mount.
fn write_readable(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444))
        .with_context(|| format!("cannot make {} readable", path.display()))
}

/// Removes containers of this part whose owner process is gone; how many.
fn remove_leftovers(scratch: &Path) -> Result<usize> {
    let o = docker(
        scratch,
        &[
            "ps",
            "--all",
            "--filter",
            &format!("label={PART_LABEL}"),
            "--format",
            &format!("{{{{.ID}}}} {{{{.Label \"{OWNER_LABEL}\"}}}}"),
        ],
        QUICK,
    )?;
    if !o.ok {
        anyhow::bail!("`docker ps`: {}", o.error_line());
    }
    let mut removed = 0;
    for line in o.stdout.lines() {
        let mut it = line.split_whitespace();
        let (Some(id), owner) = (it.next(), it.next()) else {
            continue;
        };
        let alive = owner
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let r = docker(scratch, &["rm", "--force", "--volumes", id], QUICK)?;
            if !r.ok {
                anyhow::bail!("cannot remove leftover container {id}: {}", r.error_line());
            }
            removed += 1;
        }
    }
    Ok(removed)
}

/// The part's container; removed when dropped, so an error or a panic of the
/// part never leaves it running.
struct Container<'a> {
    scratch: &'a Path,
    name: String,
}

impl<'a> Container<'a> {
    fn new(scratch: &'a Path) -> Container<'a> {
        Container {
            scratch,
            name: format!("roadmap-capstone-deploy-{}", std::process::id()),
        }
    }

    /// `docker run`; the host port the engine picked on 127.0.0.1.
    fn start(&self, models: &[(PathBuf, String)], key_file: &Path, local: bool) -> Result<u16> {
        // A container of the same name from this very process (a part run twice).
        let _ = docker(
            self.scratch,
            &["rm", "--force", "--volumes", &self.name],
            QUICK,
        );
        let mut args: Vec<String> = [
            "run",
            "--detach",
            "--name",
            &self.name,
            "--label",
            PROJECT_LABEL,
            "--label",
            PART_LABEL,
            "--label",
            &format!("{OWNER_LABEL}={}", std::process::id()),
            "--read-only",
            "--tmpfs",
            "/tmp",
            // The two writable folders of the image, owned by its user, in memory.
            "--tmpfs",
            "/var/lib/roadmap:uid=10001,gid=10001,mode=0750",
            "--tmpfs",
            "/var/cache/roadmap:uid=10001,gid=10001,mode=0750",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--memory",
            "2g",
            // Port 0 on the host side: the engine picks a free one.
            "--publish",
            "127.0.0.1::8080",
            "--volume",
            &format!("{}:/run/secrets/api_keys:ro", key_file.display()),
            "--env",
            "ROADMAP_API_KEYS_FILE=/run/secrets/api_keys",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (dir, at) in models {
            args.push("--volume".into());
            args.push(format!("{}:{at}:ro", dir.display()));
        }
        // The service part's generation settings (`ROADMAP_RAG_SECTION_KEY`).
        for (k, v) in [
            ("GENERATION_CONCURRENCY", service::CONCURRENCY.to_string()),
            ("GENERATION_QUEUE_DEPTH", service::QUEUE_DEPTH.to_string()),
            (
                "GENERATION_MAX_TOKENS",
                service::BURST_MAX_TOKENS.to_string(),
            ),
            (
                "SERVER_REQUEST_TIMEOUT_SECONDS",
                service::REQUEST_TIMEOUT_SECONDS.to_string(),
            ),
        ] {
            args.push("--env".into());
            args.push(format!("ROADMAP_RAG_{k}={v}"));
        }
        args.push(IMAGE.into());
        for a in ["rag", "serve", "--addr", "0.0.0.0:8080"] {
            args.push(a.into());
        }
        if local {
            args.extend(["--with".to_string(), "local".to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = docker(self.scratch, &args, QUICK)?;
        if !o.ok {
            anyhow::bail!("`docker run` of {IMAGE}: {}", o.error_line());
        }
        let p = docker(self.scratch, &["port", &self.name, "8080/tcp"], QUICK)?;
        p.stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("127.0.0.1:")?.parse().ok())
            .with_context(|| {
                format!(
                    "no 127.0.0.1 port published for 8080/tcp (`docker port`: {})",
                    if p.ok {
                        p.stdout.trim().to_string()
                    } else {
                        p.error_line()
                    }
                )
            })
    }

    /// `running`, `exited`… and the exit code.
    fn state(&self) -> Result<(String, i64)> {
        let o = docker(
            self.scratch,
            &[
                "inspect",
                "--format",
                "{{.State.Status}} {{.State.ExitCode}}",
                &self.name,
            ],
            QUICK,
        )?;
        if !o.ok {
            anyhow::bail!("`docker inspect`: {}", o.error_line());
        }
        let mut it = o.stdout.split_whitespace();
        Ok((
            it.next().unwrap_or("unknown").to_string(),
            it.next().and_then(|c| c.parse().ok()).unwrap_or(-1),
        ))
    }

    fn logs_tail(&self, n: usize) -> String {
        match docker(
            self.scratch,
            &["logs", "--tail", &n.to_string(), &self.name],
            QUICK,
        ) {
            Ok(o) => format!(
                "last {n} log lines of {}:\n{}",
                self.name,
                roadmap_common::redact::redact_text(&o.tail(n))
            ),
            Err(e) => format!("no logs: {e:#}"),
        }
    }

    /// Why the container is no longer running (its state, exit code and the
    /// tail of its logs), or `None` while it runs (or cannot be inspected).
    fn stopped(&self, started: Instant) -> Option<String> {
        match self.state() {
            Ok((s, code)) if s != "running" && s != "created" => Some(format!(
                "the container stopped before it was ready ({s}, exit code {code}) after {:.1} s; {}",
                started.elapsed().as_secs_f64(),
                self.logs_tail(30)
            )),
            _ => None,
        }
    }

    /// Polls `/readyz` until 200; the reason (with the logs' tail) when it
    /// never comes or the container exits.
    fn wait_ready(&self, base_url: &str, started: Instant) -> Result<(), String> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let url = format!("{base_url}/readyz");
        let mut last = String::from("no answer yet");
        let mut polls = 0u32;
        while started.elapsed() < READY_TIMEOUT {
            match client.get(&url).send() {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => {
                    last = format!(
                        "{}: {}",
                        r.status().as_u16(),
                        r.text().unwrap_or_default().trim()
                    )
                }
                Err(e) => last = e.to_string(),
            }
            polls += 1;
            if polls.is_multiple_of(4) {
                if let Err(e) = self.state() {
                    return Err(format!("{e:#}"));
                }
                if let Some(why) = self.stopped(started) {
                    return Err(why);
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!(
            "/readyz not 200 within {} s (last: {}); {}",
            READY_TIMEOUT.as_secs(),
            roadmap_common::redact::redact_text(&last),
            self.logs_tail(30)
        ))
    }

    /// Waits for Docker's health status `healthy`; seconds since `docker run`.
    fn wait_healthy(&self, started: Instant) -> Result<f64, String> {
        let deadline = Instant::now() + HEALTHY_TIMEOUT;
        let mut status = String::new();
        while Instant::now() < deadline {
            let o = docker(
                self.scratch,
                &[
                    "inspect",
                    "--format",
                    "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
                    &self.name,
                ],
                QUICK,
            )
            .map_err(|e| format!("{e:#}"))?;
            status = o.stdout.trim().to_string();
            if status == "healthy" {
                return Ok(started.elapsed().as_secs_f64());
            }
            if status == "none" || status == "unhealthy" {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let probes = docker(
            self.scratch,
            &[
                "inspect",
                "--format",
                "{{if .State.Health}}{{range .State.Health.Log}}exit {{.ExitCode}}: {{.Output}} {{end}}{{end}}",
                &self.name,
            ],
            QUICK,
        )
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_default();
        Err(format!(
            "health status {status} (want healthy within {} s); probes: {}",
            HEALTHY_TIMEOUT.as_secs(),
            if probes.is_empty() { "none" } else { &probes }
        ))
    }

    /// `docker stop`: the exit code and the seconds it took.
    fn stop(&self) -> Result<(i64, f64)> {
        let started = Instant::now();
        let o = docker(
            self.scratch,
            &[
                "stop",
                "--time",
                &STOP_GRACE_SECONDS.to_string(),
                &self.name,
            ],
            Duration::from_secs(STOP_GRACE_SECONDS + 30),
        )?;
        let secs = started.elapsed().as_secs_f64();
        if !o.ok {
            anyhow::bail!("`docker stop`: {}", o.error_line());
        }
        Ok((self.state()?.1, secs))
    }

    fn remove(&self) {
        let _ = docker(
            self.scratch,
            &["rm", "--force", "--volumes", &self.name],
            QUICK,
        );
    }

    /// Containers of this process still there (empty: none).
    fn left(&self) -> Result<String> {
        let o = docker(
            self.scratch,
            &[
                "ps",
                "--all",
                "--quiet",
                "--filter",
                &format!("label={OWNER_LABEL}={}", std::process::id()),
            ],
            QUICK,
        )?;
        if !o.ok {
            anyhow::bail!("`docker ps`: {}", o.error_line());
        }
        Ok(o.stdout.trim().to_string())
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `GET /metrics` through the published port.
fn scrape(base_url: &str) -> Result<String> {
    let r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?
        .get(format!("{base_url}/metrics"))
        .send()?;
    anyhow::ensure!(r.status().is_success(), "status {}", r.status());
    Ok(r.text()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_needed_is_the_newest_symbol_version() {
        let bin = b"\0GLIBC_2.2.5\0memcpy\0GLIBC_2.34\0GLIBC_2.17\0GLIBC_PRIVATE\0";
        assert_eq!(glibc_needed(bin), Some(34));
        assert_eq!(glibc_needed(b"no versions here"), None);
    }

    #[test]
    fn the_image_config_check_names_what_is_missing() {
        let good = json!({"Config": {
            "User": "10001:10001",
            "Healthcheck": {"Test": ["CMD", "bash", "-c", "true"]},
            "StopSignal": "SIGTERM",
            "Labels": {
                "org.opencontainers.image.version": env!("CARGO_PKG_VERSION"),
                "org.opencontainers.image.revision": "abc",
                "org.opencontainers.image.source": "unknown",
                "org.roadmap.project": "roadmap"
            }
        }});
        assert!(image_config_problems(&good).is_empty());
        let mut root = good.clone();
        root["Config"]["User"] = json!("");
        root["Config"]["Healthcheck"] = Value::Null;
        root["Config"]["Labels"]["org.opencontainers.image.revision"] = json!("");
        let p = image_config_problems(&root);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("user") && p[1].contains("HEALTHCHECK") && p[2].contains("revision"));
    }

    #[test]
    fn the_embedded_files_are_the_ones_in_deploy() {
        // A Dockerfile without the `rag` target, or a script without its
        // tag flag, would only fail at run time against a real engine.
        assert!(DOCKERFILE.contains("FROM runtime AS rag"));
        assert!(DOCKERFILE.contains(&format!("FROM {BASE_IMAGE} AS runtime")));
        assert!(BASE_IMAGE_SCRIPT.contains("--tag)"));
    }

    #[test]
    fn workload_figures_cover_the_declared_metrics_with_the_rest_of_the_part() {
        let mut latency = BTreeMap::new();
        for route in ["/v1/search", "/v1/ask"] {
            latency.insert(
                route.to_string(),
                workload::RouteLatency {
                    requests: 5,
                    p50_ms: 1.0,
                    p95_ms: 2.0,
                    max_ms: 3.0,
                },
            );
        }
        let report = workload::WorkloadReport {
            latency,
            requests: 20,
            server_errors: 0,
            error_ratio: 0.0,
            burst_429: 0,
            burst_ok: 0,
            burst_other: 0,
            grounded_share: 1.0,
            validation_rejected: 8,
            validation_expected: 8,
            ingest_rejected: 1,
            ingest_ingested: 3,
            checks: Vec::new(),
        };
        let mut names: Vec<String> = service::workload_figures("deploy", &report)
            .into_keys()
            .collect();
        // The rest are set by `run` itself, each next to the check it belongs to.
        names.extend(
            [
                "deploy_image_mb",
                "deploy_ready_s",
                "deploy_answers",
                "deploy_stop_s",
            ]
            .map(String::from),
        );
        names.sort();
        let mut declared: Vec<String> = METRICS.iter().map(|m| m.to_string()).collect();
        declared.sort();
        assert_eq!(names, declared);
    }
}
