//! A/B experiments inside the service: which variant a request's user gets,
//! what that variant changes about the request, and the guard that keeps a
//! running experiment's split from changing under its users.
//!
//! **Loading.** At start the service reads `[experiments] file` with
//! `roadmap_abtest`'s parser (every problem with its line refuses the
//! start), then checks what the running experiments need: a variant may not
//! set an override the service cannot apply (`memory`, `prompt_template`:
//! the service answers single questions with its one prompt) or name a
//! generator this server did not load. Either would compare two arms that
//! are in fact the same, or fail every request of one arm.
//!
//! **Assignment.** A request's user key is the body's `user` or the
//! `X-User-Id` header. Without one the request is anonymous: it gets no
//! variant and is not logged for analysis (GrowthBook skips an experiment
//! when the hash attribute is missing, for the same reason: a per-request
//! key would give one person several variants). A user is in at most one
//! experiment per request: the first *running*, started, not ended
//! experiment of the file that assigns them (coverage and namespace can
//! leave them out) — the request log has one experiment per row, and two
//! experiments' overrides on the same request would confound both. Use
//! namespaces to make experiments exclusive by design. Assignment is
//! `roadmap_abtest`'s GrowthBook-identical rule with one prebuilt
//! [`Assigner`] per experiment ([`Experiment::decide`] without rebuilding it).
//!
//! **Overrides.** A variant replaces the service's configured defaults
//! (`[retrieval]`, `[generation]`); fields the client sets explicitly in its
//! body (`k`, `mode`, `generator`) still win, as the API promises.
//! [`search_options`] and [`generator_for`] are the one place overrides turn
//! into settings — `roadmap ab simulate` calls them too, so a replay applies
//! a variant exactly as the live service does.
//!
//! **The guard** (issue 14: "changing weights of a running experiment is
//! refused unless forced"). Changing a running experiment's seed, hash
//! version, variants or weights (or shrinking its coverage or namespace)
//! moves already-exposed users to another arm and mixes the arms' data. The
//! service therefore remembers, in the request log's store, the assignment
//! settings each running experiment last ran with (`experiment_configs`) and
//! compares at start with `roadmap_abtest::config::check_update`. A
//! reshuffling change of an experiment that already has exposures refuses
//! the start, naming the experiment, the old and new weights and the setting
//! that forces it: `[experiments] force_reassign = true` (environment
//! `ROADMAP_RAG_EXPERIMENTS_FORCE_REASSIGN=true`, or `roadmap rag serve
//! --force-experiment-change`). Adding an experiment, stopping one, raising
//! coverage or editing overrides is always fine; so is re-weighting an
//! experiment nobody has been exposed to yet.

use std::path::Path;

use chrono::{DateTime, Utc};
use roadmap_abtest::assign::{Assigner, Assignment, HashVersion, Namespace};
use roadmap_abtest::config::{
    check_update, Experiment, ExperimentsFile, Status, Variant as AbVariant,
};
use roadmap_abtest::overrides::{FusionMethod, Generator as GenChoice, Overrides, RetrievalMode};
use roadmap_rag::retrieve::{Fusion, Mode, SearchOptions};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::config::{ExperimentsSection, GenerationSection, RetrievalSection};
use crate::requestlog::now_unix;
use crate::ServiceError;

/// The request header naming the user when the body has no `user`.
pub const USER_HEADER: &str = "x-user-id";
/// The response header with the assigned variant's name.
pub const VARIANT_HEADER: &str = "x-experiment-variant";
/// The response header with the experiment's key.
pub const KEY_HEADER: &str = "x-experiment-key";

/// A running experiment with its assignment rule built once.
struct Live {
    experiment: Experiment,
    assigner: Assigner,
}

/// The service's experiments (none when `[experiments] file` is unset).
#[derive(Default)]
pub struct Experiments {
    live: Vec<Live>,
}

/// A request's variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assigned<'a> {
    pub experiment: &'a str,
    pub variant: &'a str,
    pub overrides: &'a Overrides,
}

/// A request's experiment and variant, owned (for the log row and the
/// answer headers, which outlive the borrow of the service state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arm {
    pub experiment: String,
    pub variant: String,
}

impl From<Assigned<'_>> for Arm {
    fn from(a: Assigned<'_>) -> Arm {
        Arm {
            experiment: a.experiment.to_owned(),
            variant: a.variant.to_owned(),
        }
    }
}

/// What [`Experiments::load`] found worth saying at start.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Keys of the running experiments, in file order.
    pub running: Vec<String>,
    /// Forced or harmless reshuffles that were accepted, one line each.
    pub accepted_changes: Vec<String>,
    /// Running experiments that can never assign anyone, and why.
    pub shadowed: Vec<String>,
}

impl Experiments {
    /// Reads and checks the experiments file, then applies the guard against
    /// the settings remembered in `log` (the request log's SQLite file;
    /// `None` when the request log is off: nothing is remembered, nothing
    /// guarded). `generators` are the LLM generators this server loaded.
    pub fn load(
        section: &ExperimentsSection,
        log: Option<&Path>,
        generators: &[&str],
    ) -> Result<(Experiments, LoadReport), ServiceError> {
        let Some(path) = &section.file else {
            return Ok((Experiments::default(), LoadReport::default()));
        };
        let file = ExperimentsFile::load(path).map_err(|e| ServiceError::Config(e.to_string()))?;
        let running: Vec<&Experiment> = file
            .experiments
            .iter()
            .filter(|e| e.status == Status::Running)
            .collect();
        let mut problems = Vec::new();
        for e in &running {
            for v in &e.variants {
                problems.extend(unsupported(e, v, generators));
            }
        }
        if !problems.is_empty() {
            return Err(ServiceError::Config(format!(
                "{} cannot run on this server:\n{}",
                path.display(),
                problems
                    .iter()
                    .map(|p| format!("  - {p}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )));
        }
        let mut report = LoadReport {
            running: running.iter().map(|e| e.key.clone()).collect(),
            ..Default::default()
        };
        // One experiment per request: behind an experiment that takes every
        // user whenever it runs, a later one gets nobody in that time.
        for (i, later) in running.iter().enumerate() {
            if let Some(first) = running[..i].iter().find(|e| {
                e.coverage >= 1.0
                    && e.namespace.is_none()
                    && e.start <= later.start
                    && e.stop.is_none()
            }) {
                report.shadowed.push(format!(
                    "experiment `{}` assigns nobody: `{}` comes first in the file and takes every user \
                     (coverage 1, no namespace); give both a namespace, lower the first one's coverage, \
                     or run them one after the other",
                    later.key, first.key
                ));
            }
        }
        if let Some(log) = log {
            report.accepted_changes = guard(&file, log, section.force_reassign)?;
        }
        let live = running
            .into_iter()
            .map(|e| Live {
                assigner: e.assigner(),
                experiment: e.clone(),
            })
            .collect();
        Ok((Experiments { live }, report))
    }

    /// [`Experiments::load`] for the service's start: the request log only
    /// when it is enabled; what was accepted or can never assign is logged.
    pub fn start(
        config: &crate::config::ServiceConfig,
        request_log: Option<&Path>,
        generators: &[&str],
    ) -> Result<Experiments, ServiceError> {
        let log = request_log.filter(|_| config.request_log.enabled);
        let (experiments, report) = Experiments::load(&config.experiments, log, generators)?;
        for change in &report.accepted_changes {
            tracing::warn!(change = %change, "experiment assignment changed");
        }
        for why in &report.shadowed {
            tracing::warn!("{why}");
        }
        if !report.running.is_empty() {
            if log.is_none() {
                tracing::warn!("experiments run without a request log: no exposures are recorded and weight changes are not guarded");
            }
            tracing::info!(running = %report.running.join(", "), "experiments");
        }
        Ok(experiments)
    }

    /// Whether any experiment is running.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// The variant of `user` at `now`: the first running experiment that is
    /// active and assigns the user (see the module doc), else `None`.
    pub fn assign(&self, user: &str, now: DateTime<Utc>) -> Option<Assigned<'_>> {
        self.live.iter().find_map(|l| {
            l.experiment.activity(now).ok()?;
            match l.assigner.assign(user) {
                Assignment::Variant { index } => {
                    let v = &l.experiment.variants[index];
                    Some(Assigned {
                        experiment: &l.experiment.key,
                        variant: &v.name,
                        overrides: &v.overrides,
                    })
                }
                Assignment::NotInExperiment => None,
            }
        })
    }
}

/// Why a running experiment's variant cannot be served here, if it cannot.
fn unsupported(e: &Experiment, v: &AbVariant, generators: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let o = &v.overrides;
    for (set, key) in [
        (o.memory.is_some(), "memory"),
        (o.prompt_template.is_some(), "prompt_template"),
    ] {
        if set {
            out.push(format!(
                "experiment `{}` (line {}), variant `{}`: override `{key}` cannot take effect in the \
                 service (it answers single questions with its one prompt); remove it, or set the \
                 experiment's status to draft",
                e.key, e.line, v.name
            ));
        }
    }
    let generator = match o.generator {
        Some(GenChoice::Local) => Some("local"),
        Some(GenChoice::Openai) => Some("openai"),
        _ => None,
    };
    if let Some(g) = generator.filter(|g| !generators.contains(g)) {
        out.push(format!(
            "experiment `{}` (line {}), variant `{}` answers with the `{g}` generator, which this \
             server did not load (start it with `--with {g}`, or set the experiment to draft)",
            e.key, e.line, v.name
        ));
    }
    out
}

/// The retrieval settings of a request: the client's explicit `k` and
/// `mode` first, then the variant's overrides, then the configuration.
pub fn search_options(
    base: &RetrievalSection,
    overrides: Option<&Overrides>,
    k: Option<usize>,
    mode: Option<Mode>,
) -> SearchOptions {
    let none = Overrides::default();
    let o = overrides.unwrap_or(&none);
    let mode = mode.unwrap_or(match o.mode {
        Some(RetrievalMode::Dense) => Mode::Dense,
        Some(RetrievalMode::Bm25) => Mode::Bm25,
        Some(RetrievalMode::Hybrid) => Mode::Hybrid,
        None => base.mode.parse().unwrap_or(Mode::Hybrid),
    });
    let rrf = match o.fusion {
        Some(f) => f == FusionMethod::Rrf,
        None => base.fusion == "rrf",
    };
    let fusion = if rrf {
        Fusion::Rrf {
            k: o.rrf_k.unwrap_or(base.rrf_k),
        }
    } else {
        Fusion::Convex {
            alpha: o.alpha.unwrap_or(base.alpha),
        }
    };
    let k = k.or(o.k).unwrap_or(base.k);
    SearchOptions {
        k,
        mode,
        fusion,
        // Each retriever contributes at least k candidates, whatever k a variant asks for.
        pool: SearchOptions::default().pool.max(k),
        ..Default::default()
    }
}

/// The generator of a request: the client's explicit choice, then the
/// variant's override, then `generation.default`.
pub fn generator_for(
    base: &GenerationSection,
    overrides: Option<&Overrides>,
    requested: Option<&str>,
) -> &'static str {
    let name = |g: GenChoice| match g {
        GenChoice::Extractive => "extractive",
        GenChoice::Local => "local",
        GenChoice::Openai => "openai",
    };
    match requested
        .or(overrides.and_then(|o| o.generator).map(name))
        .unwrap_or(&base.default)
    {
        "local" => "local",
        "openai" => "openai",
        _ => "extractive",
    }
}

/// The user key of a request: the body's `user`, else a valid `X-User-Id`
/// header. `Err` names what is wrong with the header or the pair.
pub fn user_key<'a>(
    body: Option<&'a str>,
    headers: &'a axum::http::HeaderMap,
) -> Result<Option<&'a str>, String> {
    let header = match headers.get(USER_HEADER) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| "X-User-Id must be visible ASCII text".to_string())?;
            let n = v.chars().count();
            if v.trim().is_empty() || n > crate::api::MAX_USER_CHARS {
                return Err(format!(
                    "X-User-Id must have 1 to {} characters and not be blank",
                    crate::api::MAX_USER_CHARS
                ));
            }
            Some(v)
        }
    };
    match (body, header) {
        (Some(b), Some(h)) if b != h => Err(
            "the body's `user` and the X-User-Id header name different users; send one of them"
                .to_string(),
        ),
        (Some(b), _) => Ok(Some(b)),
        (None, h) => Ok(h),
    }
}

/// The assignment settings of an experiment as remembered in `experiment_configs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pinned {
    seed: String,
    hash_version: HashVersion,
    /// `(variant, weight)` in file order.
    weights: Vec<(String, f64)>,
    coverage: f64,
    namespace: Option<(String, f64, f64)>,
}

impl Pinned {
    fn of(e: &Experiment) -> Pinned {
        Pinned {
            seed: e.seed.clone(),
            hash_version: e.hash_version,
            weights: e
                .variants
                .iter()
                .map(|v| (v.name.clone(), v.weight))
                .collect(),
            coverage: e.coverage,
            namespace: e
                .namespace
                .as_ref()
                .map(|n| (n.name.clone(), n.range.0, n.range.1)),
        }
    }

    /// `next` with this pin's assignment settings: the experiment as it ran.
    fn as_experiment(&self, next: &Experiment) -> Experiment {
        let mut e = next.clone();
        e.status = Status::Running;
        e.seed = self.seed.clone();
        e.hash_version = self.hash_version;
        e.coverage = self.coverage;
        e.namespace = self.namespace.as_ref().map(|(name, lo, hi)| Namespace {
            name: name.clone(),
            range: (*lo, *hi),
        });
        e.variants = self
            .weights
            .iter()
            .map(|(name, weight)| AbVariant {
                name: name.clone(),
                weight: *weight,
                overrides: Overrides::default(),
            })
            .collect();
        e
    }

    fn weights_text(&self) -> String {
        self.weights
            .iter()
            .map(|(n, w)| format!("{n} {w}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn log_err(log: &Path) -> impl Fn(rusqlite::Error) -> ServiceError + '_ {
    move |e| ServiceError::RequestLog(format!("{}: {e}", log.display()))
}

/// Compares every running experiment with its remembered settings, refuses
/// reshuffles of exposed experiments unless `force`, and remembers the
/// settings that run now. Returns the accepted reshuffles.
fn guard(file: &ExperimentsFile, log: &Path, force: bool) -> Result<Vec<String>, ServiceError> {
    let err = log_err(log);
    let mut conn = Connection::open(log).map_err(&err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(&err)?;
    conn.execute_batch(crate::requestlog::SQLITE_SCHEMA)
        .map_err(&err)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(&err)?;
    let mut refused = Vec::new();
    let mut accepted = Vec::new();
    for next in file
        .experiments
        .iter()
        .filter(|e| e.status == Status::Running)
    {
        let now_pin = Pinned::of(next);
        let old: Option<String> = tx
            .query_row(
                "SELECT settings FROM experiment_configs WHERE experiment = ?1",
                [&next.key],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)?;
        let old = old
            .map(|text| {
                serde_json::from_str::<Pinned>(&text).map_err(|e| {
                    ServiceError::RequestLog(format!(
                        "{}: experiment_configs row of `{}` is not readable ({e}); delete that row to \
                         start the guard afresh",
                        log.display(),
                        next.key
                    ))
                })
            })
            .transpose()?;
        if let Some(old) = &old {
            let changes = check_update(&old.as_experiment(next), next, true)
                .expect("a forced check is never refused");
            if !changes.is_empty() {
                let exposed: i64 = tx
                    .query_row(
                        "SELECT COUNT(DISTINCT user_hash) FROM exposures WHERE experiment = ?1",
                        [&next.key],
                        |r| r.get(0),
                    )
                    .map_err(&err)?;
                let summary = format!(
                    "experiment `{}`: weights [{}] → [{}]; {}",
                    next.key,
                    old.weights_text(),
                    now_pin.weights_text(),
                    changes.join("; ")
                );
                if exposed == 0 {
                    accepted.push(format!("{summary} (nobody exposed yet, so nobody moves)"));
                } else if force {
                    accepted.push(format!(
                        "{summary} (FORCED: {exposed} exposed users may change variant)"
                    ));
                } else {
                    refused.push(format!(
                        "experiment `{}` is running and {exposed} users were already exposed; this change \
                         moves some of them to another variant:\n    old weights: {}\n    new weights: {}\n{}",
                        next.key,
                        old.weights_text(),
                        now_pin.weights_text(),
                        changes
                            .iter()
                            .map(|c| format!("    - {c}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ));
                }
            }
        }
        if old.as_ref() != Some(&now_pin) {
            let text = serde_json::to_string(&now_pin)
                .map_err(|e| ServiceError::RequestLog(format!("internal: {e}")))?;
            let weights = serde_json::to_string(&now_pin.weights)
                .map_err(|e| ServiceError::RequestLog(format!("internal: {e}")))?;
            let now = now_unix();
            tx.execute(
                "INSERT INTO experiment_configs (experiment, seed, weights, settings, first_seen_unix, updated_unix)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT (experiment) DO UPDATE SET seed = ?2, weights = ?3, settings = ?4, updated_unix = ?5",
                params![next.key, now_pin.seed, weights, text, now],
            )
            .map_err(&err)?;
        }
    }
    if !refused.is_empty() {
        // Dropping the transaction rolls back: nothing is remembered from a refused start.
        return Err(ServiceError::Config(format!(
            "{}: refusing to start, a running experiment's assignment changed since it last ran (remembered in {}):\n{}\n\
             Stop the experiment and start a new one (a new key or seed), restore the old settings, or \
             force the change with `force_reassign = true` under [experiments] in the service config \
             (ROADMAP_RAG_EXPERIMENTS_FORCE_REASSIGN=true, or `roadmap rag serve --force-experiment-change`).",
            file.path,
            log.display(),
            refused.join("\n")
        )));
    }
    tx.commit().map_err(&err)?;
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[experiment]]
key = "depth"
status = "running"
start = 2026-01-01T00:00:00Z

[[experiment.variant]]
name = "k5"
weight = 0.5
overrides = { k = 5 }

[[experiment.variant]]
name = "k1"
weight = 0.5
overrides = { k = 1, fusion = "rrf", rrf_k = 30 }
"#;

    #[test]
    fn explicit_request_fields_beat_the_variant_which_beats_the_config() {
        let f = roadmap_abtest::config::parse(FILE, "t.toml").unwrap();
        let o = &f.experiments[0].variants[1].overrides;
        let base = RetrievalSection::default();
        let s = search_options(&base, Some(o), None, None);
        assert_eq!(s.k, 1);
        assert_eq!(s.fusion, Fusion::Rrf { k: 30.0 });
        assert_eq!(s.mode, Mode::Hybrid);
        let s = search_options(&base, Some(o), Some(3), Some(Mode::Bm25));
        assert_eq!((s.k, s.mode), (3, Mode::Bm25));
        let s = search_options(&base, None, None, None);
        assert_eq!(s.k, base.k);
        assert_eq!(s.fusion, Fusion::Convex { alpha: base.alpha });
        let big = Overrides {
            k: Some(80),
            ..Default::default()
        };
        assert_eq!(search_options(&base, Some(&big), None, None).pool, 80);

        let g = GenerationSection::default();
        let local = Overrides {
            generator: Some(GenChoice::Local),
            ..Default::default()
        };
        assert_eq!(generator_for(&g, Some(&local), None), "local");
        assert_eq!(
            generator_for(&g, Some(&local), Some("extractive")),
            "extractive"
        );
        assert_eq!(generator_for(&g, None, None), "extractive");
    }

    #[test]
    fn the_user_comes_from_the_body_or_the_header_never_both_different() {
        let mut h = axum::http::HeaderMap::new();
        assert_eq!(user_key(None, &h), Ok(None));
        assert_eq!(user_key(Some("ada"), &h), Ok(Some("ada")));
        h.insert(USER_HEADER, "bob".parse().unwrap());
        assert_eq!(user_key(None, &h), Ok(Some("bob")));
        assert_eq!(user_key(Some("bob"), &h), Ok(Some("bob")));
        assert!(user_key(Some("ada"), &h).unwrap_err().contains("different"));
        h.insert(USER_HEADER, "  ".parse().unwrap());
        assert!(user_key(None, &h).unwrap_err().contains("not be blank"));
    }

    fn section(dir: &Path, text: &str, force: bool) -> ExperimentsSection {
        let path = dir.join("experiments.toml");
        std::fs::write(&path, text).unwrap();
        ExperimentsSection {
            file: Some(path),
            force_reassign: force,
        }
    }

    fn expose(log: &Path, user: &str) {
        Connection::open(log)
            .unwrap()
            .execute(
                "INSERT INTO exposures VALUES ('depth', ?1, 'k5', 1.0)",
                [user],
            )
            .unwrap();
    }

    #[test]
    fn reweighting_is_free_before_exposures_and_needs_force_after() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("rag.sqlite");
        let (e, r) = Experiments::load(&section(dir.path(), FILE, false), Some(&log), &[]).unwrap();
        assert_eq!(r.running, ["depth"]);
        assert!(!e.is_empty());
        let reweighted = FILE.replacen("weight = 0.5", "weight = 0.3", 1).replacen(
            "weight = 0.5",
            "weight = 0.7",
            1,
        );
        // Nobody exposed: the new weights are accepted and remembered.
        let (_, r) =
            Experiments::load(&section(dir.path(), &reweighted, false), Some(&log), &[]).unwrap();
        assert_eq!(r.accepted_changes.len(), 1, "{r:?}");
        expose(&log, "u1");
        let e = match Experiments::load(&section(dir.path(), FILE, false), Some(&log), &[]) {
            Err(ServiceError::Config(m)) => m,
            other => panic!("accepted: {:?}", other.map(|x| x.1)),
        };
        assert!(e.contains("experiment `depth`"), "{e}");
        assert!(e.contains("old weights: k5 0.3, k1 0.7"), "{e}");
        assert!(e.contains("new weights: k5 0.5, k1 0.5"), "{e}");
        assert!(e.contains("force_reassign = true"), "{e}");
        // Overrides and a stop are not reshuffles.
        let edited = reweighted.replace("rrf_k = 30", "rrf_k = 60");
        Experiments::load(&section(dir.path(), &edited, false), Some(&log), &[]).unwrap();
        let stopped = FILE.replace("status = \"running\"", "status = \"stopped\"");
        let (e, _) =
            Experiments::load(&section(dir.path(), &stopped, false), Some(&log), &[]).unwrap();
        assert!(e.is_empty());
        let (_, r) = Experiments::load(&section(dir.path(), FILE, true), Some(&log), &[]).unwrap();
        assert!(r.accepted_changes[0].contains("FORCED"), "{r:?}");
        // The forced weights are now the remembered ones.
        Experiments::load(&section(dir.path(), FILE, false), Some(&log), &[]).unwrap();
    }

    #[test]
    fn an_experiment_behind_one_that_takes_everyone_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let two = format!("{FILE}\n{}", FILE.replace("\"depth\"", "\"depth2\""));
        let (e, r) = Experiments::load(&section(dir.path(), &two, false), None, &[]).unwrap();
        assert_eq!(r.shadowed.len(), 1, "{r:?}");
        assert!(r.shadowed[0].contains("`depth2` assigns nobody"), "{r:?}");
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        assert_eq!(e.assign("anyone", now).unwrap().experiment, "depth");
    }

    #[test]
    fn overrides_the_service_cannot_apply_refuse_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let text = FILE.replace(
            "overrides = { k = 5 }",
            "overrides = { generator = \"local\", memory = 2 }",
        );
        let e = match Experiments::load(&section(dir.path(), &text, false), None, &[]) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted"),
        };
        assert!(e.contains("override `memory` cannot take effect"), "{e}");
        assert!(e.contains("`--with local`"), "{e}");
        let text = FILE.replace(
            "overrides = { k = 5 }",
            "overrides = { generator = \"local\" }",
        );
        assert!(Experiments::load(&section(dir.path(), &text, false), None, &["local"]).is_ok());
    }
}
