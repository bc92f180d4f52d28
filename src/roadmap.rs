//! The roadmap as data: `roadmap.toml`, parsed and validated.
//!
//! The binary embeds the shipped file; `--roadmap PATH` (or `ROADMAP_FILE`)
//! loads another. Everything a learner can make progress on is an *item* with
//! a stable id (learning resources, milestones, capstone requirements), and the
//! progress database is keyed by those ids.
//!
//! Validation errors name the file, line and column of the offending value,
//! because a mentor editing the file by hand needs to find it.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The roadmap shipped with the binary.
pub const DEFAULT_ROADMAP: &str = include_str!("../roadmap.toml");
/// The only `format_version` this binary reads.
pub const FORMAT_VERSION: u32 = 1;

/// A parsed and validated roadmap.
#[derive(Debug, Clone, Serialize)]
pub struct Roadmap {
    pub title: String,
    pub timeline: Timeline,
    pub phases: Vec<Phase>,
    /// Where it came from (`<embedded roadmap.toml>` or a path), for messages.
    pub source: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Months {
    pub min: f64,
    pub max: f64,
}

impl Months {
    pub fn mid(&self) -> f64 {
        (self.min + self.max) / 2.0
    }
}

impl fmt::Display for Months {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{} months", self.min, self.max)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub focused_months: Months,
    pub part_time_months: Months,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub duration_months: Months,
    pub outcome: Option<String>,
    pub objective: Option<String>,
    pub resources: Vec<Resource>,
    pub milestone: Option<Milestone>,
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub id: String,
    pub title: String,
    pub provider: String,
    pub kind: ResourceKind,
    /// What the item is and what it is for, in a sentence or two (optional;
    /// the built-in knowledge base of `roadmap rag` answers from it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    Course,
    Book,
    Article,
    Library,
}

#[derive(Debug, Clone, Serialize)]
pub struct Milestone {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The registered runner that executes the reference implementation, if any.
    pub runner: Option<String>,
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    pub id: String,
    pub title: String,
    /// What the item is and what it is for, in a sentence or two (optional;
    /// the built-in knowledge base of `roadmap rag` answers from it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

/// One acceptance threshold: `metric op value`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Criterion {
    pub metric: String,
    pub op: Op,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum Op {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Eq => "==",
        }
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.metric, self.op.symbol(), self.value)
    }
}

impl std::str::FromStr for Criterion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split_whitespace().collect();
        let [metric, op, value] = parts.as_slice() else {
            return Err(format!(
                "criterion `{s}` is not of the form `METRIC OP NUMBER` (for example `accuracy >= 0.95`)"
            ));
        };
        let op = match *op {
            ">=" => Op::Ge,
            ">" => Op::Gt,
            "<=" => Op::Le,
            "<" => Op::Lt,
            "==" => Op::Eq,
            other => {
                return Err(format!(
                    "criterion `{s}`: unknown comparison `{other}` (use >=, >, <=, < or ==)"
                ))
            }
        };
        let value: f64 = value
            .parse()
            .map_err(|_| format!("criterion `{s}`: `{value}` is not a number"))?;
        Ok(Criterion {
            metric: metric.to_string(),
            op,
            value,
        })
    }
}

/// The outcome of checking metrics against criteria.
#[derive(Debug, Clone, Serialize)]
pub struct CriterionResult {
    pub criterion: String,
    pub actual: Option<f64>,
    pub passed: bool,
}

impl Criterion {
    pub fn check(&self, metrics: &BTreeMap<String, f64>) -> CriterionResult {
        let actual = metrics.get(&self.metric).copied();
        let passed = actual.is_some_and(|a| match self.op {
            Op::Ge => a >= self.value,
            Op::Gt => a > self.value,
            Op::Le => a <= self.value,
            Op::Lt => a < self.value,
            Op::Eq => a == self.value,
        });
        CriterionResult {
            criterion: self.to_string(),
            actual,
            passed,
        }
    }
}

/// What kind of thing an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Resource,
    Milestone,
    Requirement,
}

/// A trackable item, borrowed from its phase.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub kind: ItemKind,
    pub phase: &'a Phase,
}

impl Phase {
    /// Every trackable item of the phase, in roadmap order (resources, requirements, milestone).
    pub fn items(&self) -> Vec<Item<'_>> {
        let mut items: Vec<Item<'_>> = self
            .resources
            .iter()
            .map(|r| Item {
                id: &r.id,
                title: &r.title,
                kind: ItemKind::Resource,
                phase: self,
            })
            .collect();
        items.extend(self.requirements.iter().map(|r| Item {
            id: &r.id,
            title: &r.title,
            kind: ItemKind::Requirement,
            phase: self,
        }));
        if let Some(m) = &self.milestone {
            items.push(Item {
                id: &m.id,
                title: &m.title,
                kind: ItemKind::Milestone,
                phase: self,
            });
        }
        items
    }
}

impl Roadmap {
    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    pub fn items(&self) -> Vec<Item<'_>> {
        self.phases.iter().flat_map(|p| p.items()).collect()
    }

    pub fn item(&self, id: &str) -> Option<Item<'_>> {
        self.items().into_iter().find(|i| i.id == id)
    }

    /// Every id a user may type (phases and items), for suggestions.
    pub fn all_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.phases.iter().map(|p| p.id.as_str()).collect();
        ids.extend(self.items().iter().map(|i| i.id));
        ids
    }

    /// The ids closest to `unknown`, best first, for "did you mean" hints.
    pub fn suggest(&self, unknown: &str) -> Vec<String> {
        suggest(unknown, self.all_ids())
    }

    /// Loads the embedded default or the file at `path`.
    pub fn load(
        path: Option<&Path>,
        runners: &dyn Fn(&str) -> Option<Vec<String>>,
    ) -> Result<Self, RoadmapError> {
        match path {
            None => Self::parse(DEFAULT_ROADMAP, "<embedded roadmap.toml>", runners),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| RoadmapError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                Self::parse(&text, &p.display().to_string(), runners)
            }
        }
    }

    /// Parses and validates a roadmap. `runners` maps a runner name to the metric
    /// names it reports, or `None` if no such runner is registered.
    pub fn parse(
        text: &str,
        source: &str,
        runners: &dyn Fn(&str) -> Option<Vec<String>>,
    ) -> Result<Self, RoadmapError> {
        let err = |span: Option<Range<usize>>, message: String| RoadmapError::Invalid {
            source_name: source.to_string(),
            location: span.map(|s| roadmap_common::toml_error::line_col(text, s.start)),
            message,
        };
        let raw: RawRoadmap =
            toml::from_str(text).map_err(|e| err(e.span(), e.message().to_string()))?;

        if *raw.format_version.get_ref() != FORMAT_VERSION {
            return Err(err(
                Some(raw.format_version.span()),
                format!(
                    "format_version {} is not supported: this roadmap binary reads format_version {FORMAT_VERSION}",
                    raw.format_version.get_ref()
                ),
            ));
        }
        let check_months = |m: &Spanned<Months>, what: &str| -> Result<Months, RoadmapError> {
            let v = *m.get_ref();
            if !(v.min.is_finite() && v.max.is_finite()) || v.min <= 0.0 || v.max < v.min {
                return Err(err(
                    Some(m.span()),
                    format!(
                        "bad duration for {what}: min = {}, max = {}; need 0 < min <= max (in months)",
                        v.min, v.max
                    ),
                ));
            }
            Ok(v)
        };
        let timeline = Timeline {
            focused_months: check_months(&raw.timeline.focused_months, "timeline.focused_months")?,
            part_time_months: check_months(
                &raw.timeline.part_time_months,
                "timeline.part_time_months",
            )?,
        };
        if raw.phases.is_empty() {
            return Err(err(None, "the roadmap has no [[phases]]".into()));
        }

        let mut seen: HashSet<String> = HashSet::new();
        let mut claim = |id: &Spanned<String>| -> Result<String, RoadmapError> {
            let s = id.get_ref().trim();
            if s.is_empty() || s.contains(char::is_whitespace) {
                return Err(err(
                    Some(id.span()),
                    format!(
                        "id `{}` must be non-empty and contain no spaces",
                        id.get_ref()
                    ),
                ));
            }
            if !seen.insert(s.to_string()) {
                return Err(err(
                    Some(id.span()),
                    format!("duplicate id `{s}`: every id must be unique"),
                ));
            }
            Ok(s.to_string())
        };

        let mut phases = Vec::new();
        for p in raw.phases {
            let id = claim(&p.id)?;
            let duration_months = check_months(&p.duration_months, &format!("phase `{id}`"))?;
            let mut resources = Vec::new();
            for r in p.resources {
                resources.push(Resource {
                    id: claim(&r.id)?,
                    title: r.title,
                    provider: r.provider,
                    kind: r.kind,
                    about: r.about,
                });
            }
            let mut requirements = Vec::new();
            for r in p.requirements {
                requirements.push(Requirement {
                    id: claim(&r.id)?,
                    title: r.title,
                    about: r.about,
                });
            }
            let milestone = match p.milestone {
                None => None,
                Some(m) => {
                    let mid = claim(&m.id)?;
                    let metrics = match &m.runner {
                        None => None,
                        Some(r) => Some(runners(r.get_ref()).ok_or_else(|| {
                            err(
                                Some(r.span()),
                                format!(
                                    "unknown runner `{}` for milestone `{mid}`; this binary's runners are: {}",
                                    r.get_ref(),
                                    crate::runners::registry()
                                        .iter()
                                        .map(|r| r.name())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                        })?),
                    };
                    let mut criteria = Vec::new();
                    for c in &m.criteria {
                        let parsed: Criterion =
                            c.get_ref().parse().map_err(|e| err(Some(c.span()), e))?;
                        match &metrics {
                            None => {
                                return Err(err(
                                    Some(c.span()),
                                    format!(
                                    "milestone `{mid}` has criteria but no runner to measure them"
                                ),
                                ))
                            }
                            Some(known) if !known.iter().any(|k| k == &parsed.metric) => {
                                return Err(err(
                                    Some(c.span()),
                                    format!(
                                        "criterion on unknown metric `{}`: runner `{}` reports {}",
                                        parsed.metric,
                                        m.runner
                                            .as_ref()
                                            .map(|r| r.get_ref().as_str())
                                            .unwrap_or(""),
                                        known.join(", ")
                                    ),
                                ))
                            }
                            Some(_) => criteria.push(parsed),
                        }
                    }
                    Some(Milestone {
                        id: mid,
                        title: m.title,
                        description: m.description,
                        runner: m.runner.map(Spanned::into_inner),
                        criteria,
                    })
                }
            };
            if resources.is_empty() && requirements.is_empty() && milestone.is_none() {
                return Err(err(
                    Some(p.id.span()),
                    format!(
                        "phase `{id}` is empty: give it resources, requirements or a milestone"
                    ),
                ));
            }
            phases.push(Phase {
                id,
                title: p.title,
                duration_months,
                outcome: p.outcome,
                objective: p.objective,
                resources,
                milestone,
                requirements,
            });
        }
        Ok(Roadmap {
            title: raw.title,
            timeline,
            phases,
            source: source.to_string(),
        })
    }
}

/// Ranks `candidates` by similarity to `unknown` and keeps the plausible ones.
pub fn suggest<'a>(unknown: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(unknown, c), c))
        .filter(|(s, _)| *s > 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect()
}

#[derive(Debug)]
pub enum RoadmapError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    Invalid {
        source_name: String,
        location: Option<(usize, usize)>,
        message: String,
    },
}

impl fmt::Display for RoadmapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoadmapError::Read { path, source } => {
                write!(f, "cannot read roadmap file {}: {source}", path.display())
            }
            RoadmapError::Invalid {
                source_name,
                location: Some((line, col)),
                message,
            } => write!(f, "invalid roadmap {source_name}:{line}:{col}: {message}"),
            RoadmapError::Invalid {
                source_name,
                location: None,
                message,
            } => write!(f, "invalid roadmap {source_name}: {message}"),
        }
    }
}

impl std::error::Error for RoadmapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RoadmapError::Read { source, .. } => Some(source),
            RoadmapError::Invalid { .. } => None,
        }
    }
}

// ---- the file's shape, before validation ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoadmap {
    format_version: Spanned<u32>,
    title: String,
    timeline: RawTimeline,
    #[serde(default)]
    phases: Vec<RawPhase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeline {
    focused_months: Spanned<Months>,
    part_time_months: Spanned<Months>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    id: Spanned<String>,
    title: String,
    duration_months: Spanned<Months>,
    outcome: Option<String>,
    objective: Option<String>,
    #[serde(default)]
    resources: Vec<RawResource>,
    milestone: Option<RawMilestone>,
    #[serde(default)]
    requirements: Vec<RawRequirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    id: Spanned<String>,
    title: String,
    provider: String,
    kind: ResourceKind,
    about: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMilestone {
    id: Spanned<String>,
    title: String,
    description: String,
    runner: Option<Spanned<String>>,
    #[serde(default)]
    criteria: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: Spanned<String>,
    title: String,
    about: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runners(name: &str) -> Option<Vec<String>> {
        crate::runners::find(name).map(|r| r.metrics().iter().map(|m| m.to_string()).collect())
    }

    #[test]
    fn shipped_roadmap_has_six_phases_and_every_fact() {
        let r = Roadmap::parse(DEFAULT_ROADMAP, "roadmap.toml", &runners).unwrap();
        assert_eq!(r.phases.len(), 6);
        let ids: Vec<_> = r.phases.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            ["phase1", "phase2", "phase3", "phase4", "phase5", "phase6"]
        );
        assert_eq!(
            r.timeline.focused_months,
            Months {
                min: 12.0,
                max: 15.0
            }
        );
        assert_eq!(
            r.timeline.part_time_months,
            Months {
                min: 18.0,
                max: 24.0
            }
        );
        assert!(r.phases[2].outcome.is_some() && r.phases[4].outcome.is_some());
        assert_eq!(r.phases[5].requirements.len(), 5);
        for p in &r.phases[..5] {
            let m = p.milestone.as_ref().unwrap();
            assert!(m.runner.is_some() && !m.criteria.is_empty(), "{}", p.id);
        }
    }

    #[test]
    fn criteria_parse_and_check() {
        let c: Criterion = "accuracy >= 0.95".parse().unwrap();
        let mut m = BTreeMap::new();
        m.insert("accuracy".to_string(), 0.96);
        assert!(c.check(&m).passed);
        m.insert("accuracy".to_string(), 0.94);
        assert!(!c.check(&m).passed);
        assert!(!c.check(&BTreeMap::new()).passed);
        assert!("accuracy ~ 1".parse::<Criterion>().is_err());
        assert!("accuracy >=".parse::<Criterion>().is_err());
    }
}
