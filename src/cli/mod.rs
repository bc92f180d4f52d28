//! The command line: global options here, one file per subcommand.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use roadmap_common::redact::redact_text;

use crate::db::Db;
use crate::roadmap::Roadmap;
use crate::runners::RunContext;

mod ab;
mod assets;
mod audit;
mod cohort;
mod completions;
mod dashboard;
mod data;
mod embed;
mod explain;
mod history;
mod llm;
mod log;
mod mark;
mod monitor;
mod note;
mod predict;
pub mod rag;
mod report;
mod run;
mod serve;
mod show;
mod status;
mod tui;
mod validate;
mod verify;

#[derive(Debug, Parser)]
#[command(
    name = "roadmap",
    version,
    about = "The Machine Learning Engineer roadmap: track your progress and run each phase's milestone",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Without a subcommand: the TUI on a terminal, else the status and what to do next.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Progress database file [default: <user data dir>/roadmap/progress.db]; `dashboard` takes several
    #[arg(long, env = "ROADMAP_DB", global = true, value_name = "PATH", action = clap::ArgAction::Append)]
    pub db: Vec<PathBuf>,
    /// Roadmap file to use instead of the embedded roadmap.toml
    #[arg(long, env = "ROADMAP_FILE", global = true, value_name = "PATH")]
    pub roadmap: Option<PathBuf>,
    /// Whose progress to read and write [default: `learner` in config.toml, else the OS user]
    #[arg(long, env = "ROADMAP_LEARNER", global = true, value_name = "NAME")]
    pub learner: Option<String>,
    /// Where fetched models are cached [default: <user cache dir>/roadmap]
    #[arg(long, env = "ROADMAP_CACHE", global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Where run artifacts and knowledge bases live [default: the database's folder]
    #[arg(long, env = "ROADMAP_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Progress per phase, the next step and your pace
    Status(status::Args),
    /// The full-screen tracker: phases, items, time, runs (also `roadmap` alone on a terminal)
    Tui(tui::Args),
    /// The mentor's read-only web dashboard over one or more progress databases
    Dashboard(dashboard::Args),
    /// Details of a phase or an item
    Show(show::Args),
    /// Mark an item as in progress
    Start(mark::Args),
    /// Mark an item as done
    Done(mark::Args),
    /// Mark an item as skipped
    Skip(mark::Args),
    /// Forget an item's status (back to todo)
    Reset(mark::ResetArgs),
    /// Log a study session: `roadmap log 1h30m phase1.math-for-ml`
    Log(log::Args),
    /// Attach a note to an item
    Note(note::Args),
    /// Every change, oldest first
    History(history::Args),
    /// Run a phase's milestone (`roadmap run phase1 --json`; `roadmap run phase1 --help` lists its flags)
    #[command(disable_help_flag = true)]
    Run(run::Args),
    /// Score your own implementation of a milestone (`roadmap verify phase1 --help` lists its flags)
    #[command(disable_help_flag = true)]
    Verify(verify::Args),
    /// Export a milestone's data for your own implementation
    #[command(subcommand)]
    Data(data::Command),
    /// The mentor's report
    Report(report::Args),
    /// Compare several learners' databases (read-only)
    Cohort(cohort::Args),
    /// Offline models and datasets: list, fetch, verify, path
    #[command(subcommand)]
    Assets(assets::Command),
    /// The local LLM: OpenAI-compatible server, one-off generation, speed benchmark
    Llm(llm::Args),
    /// Sentence embeddings (all-MiniLM-L6-v2) of every line of a file, as float32 rows or JSON
    Embed(embed::Args),
    /// Classify texts with the phase-2 sentiment model: `roadmap predict "great film"` or `--file F`
    Predict(predict::Args),
    /// The phase 5 knowledge base: ingest documents, search (dense, BM25, hybrid), evaluate on SQuAD
    Rag(rag::Args),
    /// Serve the phase-2 sentiment model over HTTP (phase 3): predict, batch, health, metrics, docs
    Serve(serve::Args),
    /// Check a CSV file against a schema (pandera-style lazy validation), or infer a schema
    Validate(validate::Args),
    /// Data drift between a reference and a current dataset (Evidently-style tests)
    Monitor(monitor::Args),
    /// A/B experiments on the RAG service: assign users, run statistics
    Ab(ab::Args),
    /// Bias audit: train the tabular model, fairness metrics (fairlearn), text counterfactuals
    Audit(audit::Args),
    /// SHAP explanations of the audit's model (linear, KernelSHAP, exact) or of a text's sentiment
    Explain(explain::Args),
    /// Print a shell completion script
    Completions(completions::Args),
}

/// Resolved global settings, shared by every subcommand.
pub struct Globals {
    args: GlobalArgs,
    dirs: Option<directories::ProjectDirs>,
}

impl Globals {
    pub fn new(args: GlobalArgs) -> Self {
        Globals {
            args,
            dirs: directories::ProjectDirs::from("", "", "roadmap"),
        }
    }

    pub fn db_path(&self) -> Result<PathBuf> {
        match (self.args.db.as_slice(), &self.dirs) {
            ([p], _) => Ok(p.clone()),
            ([], Some(d)) => Ok(d.data_dir().join("progress.db")),
            ([], None) => anyhow::bail!(
                "cannot find a home directory for the progress database: pass --db PATH"
            ),
            (many, _) => anyhow::bail!(
                "--db is given {} times: this command uses one database (only `roadmap dashboard` reads several)",
                many.len()
            ),
        }
    }

    /// Every `--db` given, or the default database (`roadmap dashboard`).
    pub fn db_paths(&self) -> Result<Vec<PathBuf>> {
        if self.args.db.is_empty() {
            return Ok(vec![self.db_path()?]);
        }
        Ok(self.args.db.clone())
    }

    pub fn open_db(&self) -> Result<Db> {
        let path = self.db_path()?;
        Db::open(&path)
    }

    pub fn roadmap(&self) -> Result<Roadmap> {
        Ok(Roadmap::load(self.args.roadmap.as_deref(), &|name| {
            crate::runners::find(name).map(|r| r.metrics().iter().map(|m| m.to_string()).collect())
        })?)
    }

    /// Whose progress to read and write: `--learner` / `ROADMAP_LEARNER`, else
    /// `learner` in the config file, else the OS user. A config file that
    /// exists but cannot be read is an error: silently falling back would put
    /// progress under another learner's name.
    pub fn learner(&self) -> Result<String> {
        if let Some(l) = &self.args.learner {
            return Ok(l.clone());
        }
        if let Some(l) = self.config()?.learner {
            return Ok(l);
        }
        Ok(["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
            .unwrap_or_else(|| "learner".to_string()))
    }

    /// The config file's path: `ROADMAP_CONFIG`, else `<config dir>/roadmap/config.toml`.
    fn config_path(&self) -> Option<PathBuf> {
        std::env::var_os("ROADMAP_CONFIG")
            .map(PathBuf::from)
            .or_else(|| {
                self.dirs
                    .as_ref()
                    .map(|d| d.config_dir().join("config.toml"))
            })
    }

    /// The user's config file (absent = defaults).
    pub fn config(&self) -> Result<UserConfig> {
        let Some(path) = self.config_path() else {
            return Ok(UserConfig::default());
        };
        UserConfig::load(&path)
    }
    pub fn cache_dir(&self) -> PathBuf {
        self.args
            .cache_dir
            .clone()
            .or_else(|| self.dirs.as_ref().map(|d| d.cache_dir().to_path_buf()))
            .unwrap_or_else(|| std::env::temp_dir().join("roadmap-cache"))
    }

    pub fn data_dir(&self) -> Result<PathBuf> {
        if let Some(d) = &self.args.data_dir {
            return Ok(d.clone());
        }
        if let [db] = self.args.db.as_slice() {
            let parent = db
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            return Ok(parent.to_path_buf());
        }
        match &self.dirs {
            Some(d) => Ok(d.data_dir().to_path_buf()),
            None => anyhow::bail!("cannot find a home directory for data: pass --data-dir DIR"),
        }
    }

    /// The global flags that make a child `roadmap` process (a run started
    /// from the TUI) use this process's database, learner, roadmap and folders.
    pub fn child_args(&self, learner: &str) -> Result<Vec<std::ffi::OsString>> {
        let mut a: Vec<std::ffi::OsString> = vec![
            "--db".into(),
            self.db_path()?.into(),
            "--learner".into(),
            learner.into(),
            "--data-dir".into(),
            self.data_dir()?.into(),
            "--cache-dir".into(),
            self.cache_dir().into(),
        ];
        if let Some(r) = &self.args.roadmap {
            a.extend(["--roadmap".into(), r.clone().into()]);
        }
        Ok(a)
    }

    /// A run context whose artifact dir is `dir` (created).
    pub fn run_context_in(&self, db: &Db, dir: PathBuf) -> Result<RunContext> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the artifact directory {}", dir.display()))?;
        Ok(RunContext {
            artifact_dir: dir,
            cache_dir: self.cache_dir(),
            latest_models: db.latest_models()?,
        })
    }
}

/// `config.toml`: the user's defaults. Unknown keys are refused (a typo such
/// as `lerner = "ana"` would otherwise be ignored without a word).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The default learner name.
    pub learner: Option<String>,
}

impl UserConfig {
    /// Reads `path`; a missing file means defaults, anything else that goes
    /// wrong is an error naming the file and, for bad TOML, line and column.
    pub fn load(path: &Path) -> Result<UserConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(UserConfig::default()),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the config file {}", path.display()))
            }
        };
        let config: UserConfig = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}\n  (fix the file, or point ROADMAP_CONFIG at another one)",
                roadmap_common::toml_error::describe(&path.display().to_string(), &text, &e)
            )
        })?;
        if let Some(l) = &config.learner {
            if l.trim().is_empty() {
                anyhow::bail!(
                    "{}: `learner` is empty; give a name or remove the line",
                    path.display()
                );
            }
        }
        Ok(config)
    }
}

pub use crate::tracker::check_id;

/// `roadmap run --help` (no phase): the subcommand's own help, since its
/// `--help` flag is left to the runners.
pub fn print_subcommand_help(name: &str) -> Result<ExitCode> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    if let Some(sub) = cmd.find_subcommand_mut(name) {
        sub.print_help()?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = Globals::new(cli.global);
    let Some(command) = cli.command else {
        use std::io::IsTerminal;
        let result = if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
            tui::open(&g)
        } else {
            status::overview(&g)
        };
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => report_error(&e),
        };
    };
    let result = match command {
        Command::Status(a) => status::run(a, &g),
        Command::Tui(a) => tui::run(a, &g),
        Command::Dashboard(a) => dashboard::run(a, &g),
        Command::Show(a) => show::run(a, &g),
        Command::Start(a) => mark::run(a, crate::db::Status::InProgress, &g),
        Command::Done(a) => mark::run(a, crate::db::Status::Done, &g),
        Command::Skip(a) => mark::run(a, crate::db::Status::Skipped, &g),
        Command::Reset(a) => mark::reset(a, &g),
        Command::Log(a) => log::run(a, &g),
        Command::Note(a) => note::run(a, &g),
        Command::History(a) => history::run(a, &g),
        Command::Run(a) => run::run(a, &g),
        Command::Verify(a) => verify::run(a, &g),
        Command::Data(c) => data::run(c, &g),
        Command::Report(a) => report::run(a, &g),
        Command::Cohort(a) => cohort::run(a, &g),
        Command::Assets(c) => assets::run(c, &g),
        Command::Llm(a) => llm::run(a, &g),
        Command::Embed(a) => embed::run(a, &g).map(|()| ExitCode::SUCCESS),
        Command::Predict(a) => predict::run(a, &g).map(|()| ExitCode::SUCCESS),
        Command::Rag(a) => rag::run(a, &g).map(|()| ExitCode::SUCCESS),
        Command::Serve(a) => serve::run(a, &g),
        Command::Validate(a) => validate::run(a, &g),
        Command::Monitor(a) => monitor::run(a, &g),
        Command::Ab(a) => ab::run(a, &g),
        Command::Audit(a) => audit::run(a, &g),
        Command::Explain(a) => explain::run(a, &g),
        Command::Completions(a) => completions::run(a, &g),
    };
    match result {
        Ok(code) => code,
        Err(e) => report_error(&e),
    }
}

/// Prints an error and its causes; errors can quote what the user typed (a
/// store URL, a flag), so they are printed without secrets, like everything else.
fn report_error(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", redact_text(&e.to_string()));
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {}", redact_text(&cause.to_string()));
    }
    ExitCode::FAILURE
}
