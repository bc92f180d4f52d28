//! Deterministic, sticky assignment identical to GrowthBook's SDKs.
//!
//! Why copy GrowthBook instead of inventing a scheme: a learner (or a web page
//! running GrowthBook's JavaScript SDK) can then check any assignment of this
//! service with a GrowthBook client, and the published SDK test cases
//! (`packages/sdk-js/test/cases.json` in the growthbook repository, spec
//! 0.8.0) become our tests (`tests/growthbook_cases.rs`).
//!
//! The pieces, each named after the SDK function it equals
//! (`packages/sdk-js/src/util.ts` and `core.ts`, growthbook commit
//! 8f1db4456915a8e7b7faf23d5632ca7219d2f469):
//!
//! - [`fnv1a32`] (`hashFnv32a`): 32-bit FNV-1a, `h = 0x811c9dc5`, then per
//!   UTF-16 code unit `c`: `h = (h XOR c) · 16777619 mod 2³²`. The SDK writes
//!   the multiply as `h + (h<<1) + (h<<4) + (h<<7) + (h<<8) + (h<<24)`, which is
//!   `h · (1 + 2 + 16 + 128 + 256 + 2²⁴) = h · 16777619` modulo 2³².
//!   JavaScript strings are UTF-16, so a character outside the Basic
//!   Multilingual Plane (an emoji) contributes its two surrogates; for ASCII
//!   keys (the usual case) this is FNV-1a over the bytes.
//! - [`hash`] (`hash`): version 2 (unbiased) is
//!   `fnv1a32(decimal(fnv1a32(seed + user))) mod 10000 / 10000`, version 1
//!   (the original, kept for old experiments) `fnv1a32(user + seed) mod 1000 / 1000`.
//!   Both give a number in `[0, 1)`.
//! - [`bucket_ranges`] (`getBucketRanges`): variant `i` owns
//!   `[Σ_{j<i} w_j, Σ_{j<i} w_j + coverage · w_i)`. Coverage shrinks every range
//!   from its *start*, so raising coverage later never moves an enrolled user
//!   to another variant.
//! - [`choose_variation`] (`chooseVariation`) and [`in_range`] (`inRange`,
//!   half-open `[lo, hi)`): the first range holding the hash wins; none = not
//!   in the experiment.
//! - [`in_namespace`] (`inNamespace`): `hash("__" + name, user, 1)` must fall in
//!   `[lo, hi)`; mutually exclusive experiments share a namespace name with
//!   disjoint ranges.
//! - [`is_included_in_rollout`] (`isIncludedInRollout`): a range if given,
//!   otherwise `hash ≤ coverage` (note: `≤`, unlike `inRange`).
//!
//! [`Assigner`] precomputes the ranges and the FNV state after the seed, so one
//! assignment is two short FNV passes, a modulo and a scan of a few ranges
//! (`benches/assign.rs`; the README has the measured rate).

use serde::Serialize;

/// FNV-1a offset basis.
const FNV_OFFSET: u32 = 0x811c_9dc5;
/// FNV 32-bit prime, `2²⁴ + 2⁸ + 0x93`.
const FNV_PRIME: u32 = 0x0100_0193;

/// Which of GrowthBook's two hash functions an experiment uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum HashVersion {
    /// `fnv1a32(user + seed) mod 1000 / 1000`: 1,000 buckets, and biased for
    /// seeds that share a prefix (why version 2 exists).
    V1,
    /// `fnv1a32(decimal(fnv1a32(seed + user))) mod 10000 / 10000`: 10,000 buckets.
    V2,
}

impl From<HashVersion> for u8 {
    fn from(v: HashVersion) -> u8 {
        match v {
            HashVersion::V1 => 1,
            HashVersion::V2 => 2,
        }
    }
}

impl TryFrom<u8> for HashVersion {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        HashVersion::from_number(i64::from(v))
            .ok_or_else(|| format!("hash version {v} does not exist: use 1 or 2"))
    }
}

impl HashVersion {
    /// GrowthBook's numbering; anything but 1 and 2 is unknown (`hash` returns null).
    pub fn from_number(v: i64) -> Option<HashVersion> {
        match v {
            1 => Some(HashVersion::V1),
            2 => Some(HashVersion::V2),
            _ => None,
        }
    }
}

impl std::fmt::Display for HashVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", u8::from(*self))
    }
}

/// Continues an FNV-1a state over the UTF-16 code units of `s`.
#[inline]
fn fnv_continue(mut h: u32, s: &str) -> u32 {
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x80 {
            // The first non-ASCII byte starts a character: the rest goes
            // through the UTF-16 encoder, as JavaScript sees it.
            return s[i..]
                .encode_utf16()
                .fold(h, |h, unit| (h ^ u32::from(unit)).wrapping_mul(FNV_PRIME));
        }
        // An ASCII byte is its own UTF-16 code unit.
        h = (h ^ u32::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// Continues an FNV-1a state over the decimal digits of `v` (JavaScript's
/// `v + ""` for an unsigned 32-bit integer), without building a string.
#[inline]
fn fnv_decimal(mut h: u32, mut v: u32) -> u32 {
    let mut digits = [0u8; 10];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in digits[..len].iter().rev() {
        h = (h ^ u32::from(d)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// 32-bit FNV-1a of a string's UTF-16 code units (GrowthBook's `hashFnv32a`).
pub fn fnv1a32(s: &str) -> u32 {
    fnv_continue(FNV_OFFSET, s)
}

/// GrowthBook's `hash(seed, value, version)`: a number in `[0, 1)`.
pub fn hash(seed: &str, user: &str, version: HashVersion) -> f64 {
    match version {
        HashVersion::V2 => {
            let inner = fnv_continue(fnv_continue(FNV_OFFSET, seed), user);
            f64::from(fnv_decimal(FNV_OFFSET, inner) % 10_000) / 10_000.0
        }
        HashVersion::V1 => {
            f64::from(fnv_continue(fnv_continue(FNV_OFFSET, user), seed) % 1_000) / 1_000.0
        }
    }
}

/// `[lo, hi)`: the share of the hash space one variant owns.
pub type Range = (f64, f64);

/// GrowthBook's `getEqualWeights`: `n` weights of `1/n` (none for `n ≤ 0`).
pub fn equal_weights(n: usize) -> Vec<f64> {
    vec![1.0 / n as f64; n]
}

/// GrowthBook's `getBucketRanges(numVariations, coverage, weights)`, with its
/// forgiving fallbacks: coverage is clamped to `[0, 1]`; missing weights, a
/// weight list of the wrong length, or weights whose sum is outside
/// `[0.99, 1.01]` become equal weights. (Experiments loaded from
/// `experiments.toml` never reach the fallbacks: [`crate::config`] refuses such
/// files.) Range `i` is `[c_i, c_i + coverage · w_i)` with `c_i = Σ_{j<i} w_j`.
pub fn bucket_ranges(num_variations: usize, coverage: f64, weights: Option<&[f64]>) -> Vec<Range> {
    let coverage = coverage.clamp(0.0, 1.0);
    let equal = equal_weights(num_variations);
    let mut weights = match weights {
        Some(w) if w.len() == num_variations => w.to_vec(),
        _ => equal.clone(),
    };
    let total: f64 = weights.iter().sum();
    if !(0.99..=1.01).contains(&total) {
        weights = equal;
    }
    let mut cumulative = 0.0;
    weights
        .iter()
        .map(|&w| {
            let start = cumulative;
            cumulative += w;
            (start, start + coverage * w)
        })
        .collect()
}

/// GrowthBook's `inRange`: `lo ≤ n < hi`.
#[inline]
pub fn in_range(n: f64, range: Range) -> bool {
    n >= range.0 && n < range.1
}

/// GrowthBook's `chooseVariation`: the first range holding `n`, or `None`
/// (the SDK's `-1`: the user is outside the experiment's coverage).
#[inline]
pub fn choose_variation(n: f64, ranges: &[Range]) -> Option<usize> {
    ranges.iter().position(|&r| in_range(n, r))
}

/// A namespace: experiments sharing `name` with disjoint `[lo, hi)` never
/// share a user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Namespace {
    pub name: String,
    pub range: Range,
}

/// GrowthBook's `inNamespace(user, [name, lo, hi])`: `hash("__" + name, user, 1) ∈ [lo, hi)`.
pub fn in_namespace(user: &str, namespace: &Namespace) -> bool {
    let n = hash(&format!("__{}", namespace.name), user, HashVersion::V1);
    in_range(n, namespace.range)
}

/// GrowthBook's `isIncludedInRollout` for a user with a (non-empty) key:
/// nothing given = included; `coverage = 0` without a range = excluded;
/// otherwise the hash must fall in `range` (half-open) or be `≤ coverage`.
/// A user with an empty key is never included (the SDK's missing hash value).
pub fn is_included_in_rollout(
    seed: &str,
    user: &str,
    range: Option<Range>,
    coverage: Option<f64>,
    version: HashVersion,
) -> bool {
    if range.is_none() && coverage.is_none() {
        return true;
    }
    if range.is_none() && coverage == Some(0.0) {
        return false;
    }
    if user.is_empty() {
        return false;
    }
    let n = hash(seed, user, version);
    match (range, coverage) {
        (Some(r), _) => in_range(n, r),
        (None, Some(c)) => n <= c,
        (None, None) => true,
    }
}

/// Where a user landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Assignment {
    /// In the experiment, in variant `index` (0 = control).
    Variant { index: usize },
    /// Hashed outside every range (coverage below 1) or outside the namespace.
    NotInExperiment,
}

impl Assignment {
    pub fn variant(self) -> Option<usize> {
        match self {
            Assignment::Variant { index } => Some(index),
            Assignment::NotInExperiment => None,
        }
    }
}

/// An experiment's assignment rule, precomputed for speed: what GrowthBook's
/// `run()` does for a user with a non-empty key and no conditions, forcing or
/// sticky buckets (steps 6.5 namespace, 9 hash and ranges, 10 coverage).
#[derive(Debug, Clone)]
pub struct Assigner {
    seed: String,
    /// FNV state after the seed (version 2 hashes `seed + user`).
    seed_state: u32,
    version: HashVersion,
    ranges: Vec<Range>,
    namespace: Option<Namespace>,
}

impl Assigner {
    /// `weights` and `coverage` go through [`bucket_ranges`] exactly as the SDK
    /// does. GrowthBook skips experiments with fewer than two variations; so
    /// does [`Assigner::assign`] (everyone is `NotInExperiment`).
    pub fn new(seed: &str, version: HashVersion, weights: &[f64], coverage: f64) -> Self {
        Assigner {
            seed: seed.to_owned(),
            seed_state: fnv_continue(FNV_OFFSET, seed),
            version,
            ranges: bucket_ranges(weights.len(), coverage, Some(weights)),
            namespace: None,
        }
    }

    /// Restricts the experiment to the users whose namespace hash falls in the range.
    pub fn with_namespace(mut self, namespace: Option<Namespace>) -> Self {
        self.namespace = namespace;
        self
    }

    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    /// The hash in `[0, 1)` this experiment gives `user`.
    #[inline]
    pub fn hash(&self, user: &str) -> f64 {
        match self.version {
            HashVersion::V2 => {
                let inner = fnv_continue(self.seed_state, user);
                f64::from(fnv_decimal(FNV_OFFSET, inner) % 10_000) / 10_000.0
            }
            HashVersion::V1 => hash(&self.seed, user, HashVersion::V1),
        }
    }

    /// The variant of `user`. An empty key is never in an experiment
    /// (GrowthBook: "Skip because missing hashAttribute").
    #[inline]
    pub fn assign(&self, user: &str) -> Assignment {
        if user.is_empty() || self.ranges.len() < 2 {
            return Assignment::NotInExperiment;
        }
        if let Some(ns) = &self.namespace {
            if !in_namespace(user, ns) {
                return Assignment::NotInExperiment;
            }
        }
        match choose_variation(self.hash(user), &self.ranges) {
            Some(index) => Assignment::Variant { index },
            None => Assignment::NotInExperiment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_published_test_vectors() {
        // FNV-1a 32 reference vectors (Fowler/Noll/Vo): "" -> offset basis, "a" -> 0xe40c292c.
        assert_eq!(fnv1a32(""), 0x811c9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9cf968);
    }

    #[test]
    fn non_ascii_hashes_utf16_code_units_like_javascript() {
        // "é" is one UTF-16 unit (0xE9), not its two UTF-8 bytes.
        let by_unit = (FNV_OFFSET ^ 0xE9).wrapping_mul(FNV_PRIME);
        assert_eq!(fnv1a32("é"), by_unit);
        // An emoji is a surrogate pair: two units.
        let pair = "😀".encode_utf16().collect::<Vec<_>>();
        assert_eq!(pair.len(), 2);
        let expected = pair.iter().fold(FNV_OFFSET, |h, &u| {
            (h ^ u32::from(u)).wrapping_mul(FNV_PRIME)
        });
        assert_eq!(fnv1a32("😀"), expected);
    }

    #[test]
    fn decimal_digits_hash_like_the_string() {
        for v in [0u32, 7, 10, 4_294_967_295, 123_456_789] {
            assert_eq!(fnv_decimal(FNV_OFFSET, v), fnv1a32(&v.to_string()));
        }
    }

    #[test]
    fn assigner_equals_the_free_functions() {
        let a = Assigner::new("seed-x", HashVersion::V2, &[0.2, 0.3, 0.5], 0.8);
        for i in 0..2000 {
            let user = format!("u{i}");
            let n = hash("seed-x", &user, HashVersion::V2);
            assert_eq!(a.hash(&user), n);
            assert_eq!(a.assign(&user).variant(), choose_variation(n, a.ranges()));
        }
    }

    #[test]
    fn split_follows_the_weights() {
        let a = Assigner::new("split", HashVersion::V2, &[0.25, 0.75], 1.0);
        let mut counts = [0usize; 2];
        for i in 0..100_000 {
            counts[a.assign(&format!("user-{i}")).variant().unwrap()] += 1;
        }
        // 100,000 draws: the binomial sd of the share is 0.0014; 0.01 is 7 sd.
        let share = counts[0] as f64 / 100_000.0;
        assert!((share - 0.25).abs() < 0.01, "control share {share}");
    }

    #[test]
    fn empty_key_and_single_variant_are_never_assigned() {
        let a = Assigner::new("s", HashVersion::V2, &[0.5, 0.5], 1.0);
        assert_eq!(a.assign(""), Assignment::NotInExperiment);
        let one = Assigner::new("s", HashVersion::V2, &[1.0], 1.0);
        assert_eq!(one.assign("u"), Assignment::NotInExperiment);
    }

    #[test]
    fn raising_coverage_never_moves_an_enrolled_user() {
        let low = Assigner::new("cov", HashVersion::V2, &[0.5, 0.5], 0.3);
        let high = Assigner::new("cov", HashVersion::V2, &[0.5, 0.5], 0.9);
        for i in 0..5000 {
            let u = format!("{i}");
            if let Some(v) = low.assign(&u).variant() {
                assert_eq!(high.assign(&u).variant(), Some(v));
            }
        }
    }

    #[test]
    fn hash_version_round_trips_and_rejects_unknown() {
        assert_eq!(HashVersion::try_from(2u8), Ok(HashVersion::V2));
        assert!(HashVersion::try_from(99u8).is_err());
        assert_eq!(HashVersion::from_number(1), Some(HashVersion::V1));
    }
}
