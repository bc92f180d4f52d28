//! Phase 6 capstone, requirement 4: A/B tests of the RAG service, designed
//! and analysed the way GrowthBook and Statsig do it.
//!
//! Two configurations of the service compete on live or replayed traffic.
//! Users are assigned stickily (the same user always gets the same variant)
//! by GrowthBook's own hash, exposures and outcomes are logged per request,
//! and a report says which variant wins and whether the experiment itself is
//! healthy. Why each piece exists:
//!
//! - [`config`]: experiments are data (`experiments.toml`), validated with
//!   line numbers, and a running experiment's split cannot be changed by
//!   accident ([`config::check_update`]).
//! - [`overrides`]: the knobs a variant may turn, listed once for the file
//!   and the service.
//! - [`assign`]: GrowthBook-identical assignment (FNV-1a, hash versions 1
//!   and 2, bucket ranges, namespaces, coverage), so any GrowthBook SDK
//!   agrees with the service; tested on GrowthBook's own SDK cases.
//! - [`stats`]: sample-ratio mismatch, two-proportion z-test, Welch's
//!   t-test, delta-method lift, mSPRT sequential test, Bayesian chance to
//!   win; each names its definition and the reference it equals (scipy,
//!   statsmodels, gbstats), checked against fixtures.
//! - [`analysis`]: per-user rows or database sums → a [`analysis::Report`]
//!   with per-variant summaries, health and effects; never NaN.
//! - [`render`]: the report as a terminal table, JSON and an HTML page with
//!   an inline SVG chart.
//! - [`stateless`]: `roadmap ab stats …` and `roadmap ab assign --seed …`
//!   from command-line arguments, with precise parse errors.
//! - [`simulate`]: replayed users through the real assignment, answered by a
//!   [`simulate::VariantRunner`] the RAG side implements.
//!
//! ```
//! use roadmap_abtest::{analysis, config, render};
//! let file = config::parse(config::EXAMPLE, "experiments.toml").unwrap();
//! let exp = file.get("fusion-convex-vs-rrf").unwrap();
//! let now = "2026-12-05T00:00:00Z".parse().unwrap();
//! assert!(matches!(exp.decide("alice", now), config::Decision::Assigned { .. }));
//! let empty = analysis::aggregate(exp, &analysis::METRICS, &[]).unwrap();
//! let report = analysis::analyze(exp, &analysis::METRICS, &empty, &Default::default()).unwrap();
//! assert!(render::json(&report).contains("no users"));
//! ```

pub mod analysis;
pub mod assign;
pub mod config;
pub mod overrides;
pub mod render;
pub mod simulate;
pub mod stateless;
pub mod stats;
