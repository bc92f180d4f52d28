//! The TUI without a terminal: ratatui's `TestBackend` renders the main
//! screens (insta snapshots in tests/snapshots/), and key-driven tests check
//! that what the TUI writes equals what the CLI writes for the same actions.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use roadmap::db::{Db, Status};
use roadmap::roadmap::Roadmap;
use roadmap::tracker::{self, SessionInput};
use roadmap::tui::state::Mode;
use roadmap::tui::{ui, App, Launcher, Theme};

fn roadmap() -> Roadmap {
    Roadmap::load(None, &|name| {
        roadmap::runners::find(name).map(|r| r.metrics().iter().map(|m| m.to_string()).collect())
    })
    .unwrap()
}

fn selftest_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/roadmap-selftest.toml")
}

fn selftest_roadmap() -> Roadmap {
    Roadmap::load(Some(&selftest_file()), &|name| {
        roadmap::runners::find(name).map(|r| r.metrics().iter().map(|m| m.to_string()).collect())
    })
    .unwrap()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn press(app: &mut App, keys: &[KeyCode]) {
    for k in keys {
        app.key(key(*k));
    }
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.key(key(KeyCode::Char(c)));
    }
}

fn render(app: &App, w: u16, h: u16, theme: Theme) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(f, app, &theme)).unwrap();
    t
}

const PLAIN: Theme = Theme { color: false };

/// A learner a few weeks in, with dates fixed so the screens are reproducible.
fn fixture_app(dir: &Path) -> App {
    let roadmap = roadmap();
    let mut db = Db::open(&dir.join("p.db")).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 3, 18).unwrap();
    for (item, status) in [
        ("phase1.math-for-ml", Status::Done),
        ("phase1.python-for-everybody", Status::Skipped),
        ("phase1.ml-specialization", Status::InProgress),
    ] {
        tracker::set_status(&mut db, &roadmap, "ada", item, status).unwrap();
    }
    for (duration, item, date) in [
        ("2h", "phase1.math-for-ml", "2026-01-26"),
        ("1h30m", "phase1.math-for-ml", "2026-02-10"),
        ("3h", "phase1.ml-specialization", "2026-03-03"),
        ("45m", "phase1.ml-specialization", "2026-03-16"),
    ] {
        let s = SessionInput {
            duration,
            item,
            date: Some(date),
            note: None,
        }
        .check(&roadmap, today)
        .unwrap();
        tracker::log_session(&mut db, "ada", &s).unwrap();
    }
    App::new(roadmap, db, "ada".into(), today, None).unwrap()
}

#[test]
fn main_screen_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let app = fixture_app(dir.path());
    insta::assert_snapshot!("main", render(&app, 120, 34, PLAIN).backend());
}

#[test]
fn dialogs_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = fixture_app(dir.path());
    press(&mut app, &[KeyCode::Char('?')]);
    insta::assert_snapshot!("help", render(&app, 120, 34, PLAIN).backend());
    press(&mut app, &[KeyCode::Esc, KeyCode::Char('l')]);
    type_text(&mut app, "90");
    press(&mut app, &[KeyCode::Enter]);
    insta::assert_snapshot!("log_form_error", render(&app, 120, 34, PLAIN).backend());
    press(&mut app, &[KeyCode::Esc, KeyCode::Char('/')]);
    type_text(&mut app, "rag");
    insta::assert_snapshot!("search", render(&app, 120, 34, PLAIN).backend());
    // An item nobody touched: no timestamps on the screen.
    press(&mut app, &[KeyCode::Esc, KeyCode::Char('/')]);
    type_text(&mut app, "phase2.deep-learning");
    press(&mut app, &[KeyCode::Enter, KeyCode::Enter]);
    insta::assert_snapshot!("detail", render(&app, 120, 34, PLAIN).backend());
}

#[test]
fn resizing_lays_out_again_and_colours_follow_the_theme() {
    let dir = tempfile::tempdir().unwrap();
    let app = fixture_app(dir.path());
    // Narrow: the chart labels weeks by ISO number; wide: by their Monday.
    let narrow = format!("{}", render(&app, 80, 24, PLAIN).backend());
    let wide = format!("{}", render(&app, 200, 50, PLAIN).backend());
    assert!(narrow.contains("(ISO week)"), "{narrow}");
    assert!(
        wide.contains("(week starting)") && wide.contains("03-16"),
        "{wide}"
    );
    // Tiny terminals must not panic.
    render(&app, 20, 6, PLAIN);

    let coloured = |theme| {
        let t = render(&app, 120, 34, theme);
        let buf = t.backend().buffer().clone();
        buf.content()
            .iter()
            .filter(|c| c.fg != ratatui::style::Color::Reset)
            .count()
    };
    assert!(coloured(Theme { color: true }) > 0);
    assert_eq!(coloured(PLAIN), 0, "NO_COLOR / TERM=dumb: no colour at all");
}

/// Rows a change leaves behind, without timestamps or ids.
fn rows(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT 'event', item_id, kind, detail FROM events ORDER BY id",
        "SELECT 'status', item_id, status, started_at IS NOT NULL FROM item_status ORDER BY item_id",
        "SELECT 'session', item_id, date, minutes || ' ' || IFNULL(note, '-') FROM study_sessions ORDER BY id",
        "SELECT 'note', item_id, text, '' FROM notes ORDER BY id",
    ] {
        let mut stmt = c.prepare(sql).unwrap();
        let r = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{} {:?} {:?} {:?}",
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, rusqlite::types::Value>(2)?,
                    r.get::<_, rusqlite::types::Value>(3)?
                ))
            })
            .unwrap();
        out.extend(r.map(Result::unwrap));
    }
    out
}

fn cli(db: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roadmap"))
        .args(args)
        .env("ROADMAP_DB", db)
        .env("ROADMAP_LEARNER", "ada")
        .env_remove("ROADMAP_FILE")
        .env("ROADMAP_CONFIG", db.with_extension("no-config.toml"))
        .output()
        .unwrap();
    out
}

#[test]
fn keys_write_the_same_rows_as_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (tui_db, cli_db) = (dir.path().join("tui.db"), dir.path().join("cli.db"));
    let today = roadmap::progress::today();
    let mut app = App::new(
        roadmap(),
        Db::open(&tui_db).unwrap(),
        "ada".into(),
        today,
        None,
    )
    .unwrap();
    // A fresh learner opens on phase 1, first item.
    assert_eq!(app.selected_item().as_deref(), Some("phase1.math-for-ml"));
    press(
        &mut app,
        &[KeyCode::Char('s'), KeyCode::Char('d'), KeyCode::Char('l')],
    );
    type_text(&mut app, "1h30m");
    press(&mut app, &[KeyCode::Tab, KeyCode::Tab]);
    type_text(&mut app, "gradients");
    press(&mut app, &[KeyCode::Enter, KeyCode::Char('n')]);
    type_text(&mut app, "revisit eigenvectors");
    press(
        &mut app,
        &[KeyCode::Enter, KeyCode::Char('j'), KeyCode::Char('x')],
    );
    // Reset asks first: `n` keeps the status, `y` resets it.
    press(&mut app, &[KeyCode::Char('r'), KeyCode::Char('n')]);
    assert_eq!(
        app.data.status("phase1.python-for-everybody"),
        Status::Skipped
    );
    press(&mut app, &[KeyCode::Char('r'), KeyCode::Char('y')]);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.data.status("phase1.python-for-everybody"), Status::Todo);
    // Log on the third item: a todo item becomes in progress, as with the CLI.
    press(&mut app, &[KeyCode::Char('j'), KeyCode::Char('l')]);
    type_text(&mut app, "45m");
    press(&mut app, &[KeyCode::Enter]);

    for args in [
        &["start", "phase1.math-for-ml"][..],
        &["done", "phase1.math-for-ml"],
        &["log", "1h30m", "phase1.math-for-ml", "--note", "gradients"],
        &["note", "phase1.math-for-ml", "revisit eigenvectors"],
        &["skip", "phase1.python-for-everybody"],
        &["reset", "phase1.python-for-everybody", "--yes"],
        &["log", "45m", "phase1.ml-specialization"],
    ] {
        let out = cli(&cli_db, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (t, c) = (rows(&tui_db), rows(&cli_db));
    assert_eq!(t, c);
    assert!(t.len() >= 10, "{t:#?}");
    // The status line says what the CLI prints.
    assert_eq!(
        app.message.as_ref().unwrap().text,
        format!("logged 0h45m on phase1.ml-specialization for {today}")
    );
}

#[test]
fn bad_input_gives_the_cli_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tui.db");
    let mut app = App::new(
        roadmap(),
        Db::open(&db).unwrap(),
        "ada".into(),
        roadmap::progress::today(),
        None,
    )
    .unwrap();
    for (duration, date) in [("90", ""), ("1h", "2026-13-01"), ("1h", "2999-01-01")] {
        press(&mut app, &[KeyCode::Char('l')]);
        type_text(&mut app, duration);
        press(&mut app, &[KeyCode::Tab]);
        type_text(&mut app, date);
        press(&mut app, &[KeyCode::Enter]);
        let Mode::Log(form) = &app.mode else {
            panic!("the form stays open on an error: {:?}", app.mode)
        };
        let mut args = vec!["log", duration, "phase1.math-for-ml"];
        if !date.is_empty() {
            args.extend(["--date", date]);
        }
        let out = cli(&dir.path().join("cli.db"), &args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            format!("error: {}", form.error.as_deref().unwrap()),
            stderr.lines().next().unwrap()
        );
        press(&mut app, &[KeyCode::Esc]);
    }
    // An empty note is refused too, and nothing was written.
    press(
        &mut app,
        &[KeyCode::Char('n'), KeyCode::Char(' '), KeyCode::Enter],
    );
    assert_eq!(app.message.as_ref().unwrap().text, "the note is empty");
    assert!(rows(&db).is_empty(), "{:?}", rows(&db));
}

#[test]
fn search_jumps_to_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = fixture_app(dir.path());
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "capstone requirement that does not exist");
    press(&mut app, &[KeyCode::Enter]);
    assert!(app
        .message
        .as_ref()
        .unwrap()
        .text
        .starts_with("no item matches"));
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "phase4.milestone");
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.selected_item().as_deref(), Some("phase4.milestone"));
    assert_eq!(app.selected_phase().id, "phase4");
}

fn selftest_app(dir: &Path) -> App {
    let db_path = dir.join("p.db");
    let launcher = Launcher {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_roadmap")),
        global_args: [
            "--db".into(),
            db_path.clone().into_os_string(),
            "--learner".into(),
            "ada".into(),
            "--roadmap".into(),
            selftest_file().into_os_string(),
            "--data-dir".into(),
            dir.as_os_str().to_owned(),
            "--cache-dir".into(),
            dir.join("cache").into_os_string(),
        ]
        .to_vec(),
    };
    App::new(
        selftest_roadmap(),
        Db::open(&db_path).unwrap(),
        "ada".into(),
        roadmap::progress::today(),
        Some(launcher),
    )
    .unwrap()
}

fn wait_for(app: &mut App, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(app) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
        app.tick();
    }
}

fn run_status(db: &Path) -> Vec<(String, Option<String>)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut stmt = c
        .prepare("SELECT status, error FROM runs ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_run_streams_into_the_pane_and_is_recorded_like_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = selftest_app(dir.path());
    press(&mut app, &[KeyCode::Char('R')]);
    assert!(matches!(app.mode, Mode::RunArgs { .. }));
    type_text(&mut app, "--metric score=0.9");
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.mode, Mode::Run);
    wait_for(&mut app, "the run to finish", |a| {
        a.run.as_ref().is_some_and(|r| r.recorded.is_some())
    });
    let run = app.run.as_ref().unwrap();
    assert_eq!(run.recorded.as_ref().unwrap().1, "passed");
    let text: Vec<&str> = run.lines.iter().map(|l| l.text.as_str()).collect();
    assert!(text.contains(&"score = 0.9"), "{text:?}");
    assert!(
        text.iter().any(|l| l.contains("✓ score >= 0.5")),
        "{text:?}"
    );
    // The passed run marked the milestone done, and the screen shows it.
    assert_eq!(app.data.status("phase1.milestone"), Status::Done);
    let screen = format!("{}", render(&app, 120, 34, PLAIN).backend());
    assert!(
        screen.contains("run #1 passed · checks ✓ 1 ✗ 0"),
        "{screen}"
    );
    press(&mut app, &[KeyCode::Char('q')]);
    assert_eq!(app.mode, Mode::Normal);
    let screen = format!("{}", render(&app, 120, 34, PLAIN).backend());
    assert!(screen.contains("#1 run passed"), "{screen}");
}

#[test]
fn cancelling_a_run_records_it_interrupted_as_ctrl_c_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let mut app = selftest_app(dir.path());
    press(&mut app, &[KeyCode::Char('R')]);
    type_text(&mut app, "--sleep 30 --metric score=1");
    press(&mut app, &[KeyCode::Enter]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while run_status(&db).is_empty() {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The child installs its Ctrl-C handler right after recording the run.
    std::thread::sleep(Duration::from_millis(300));
    // Quitting is refused while the run goes on.
    press(&mut app, &[KeyCode::Char('b'), KeyCode::Char('q')]);
    assert!(!app.quit);
    press(&mut app, &[KeyCode::Char('v')]);
    app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    wait_for(&mut app, "the cancelled run to end", |a| {
        a.run.as_ref().is_some_and(|r| r.recorded.is_some())
    });
    assert_eq!(
        run_status(&db),
        [(
            "interrupted".to_string(),
            Some("interrupted by a signal (Ctrl-C or SIGTERM)".to_string())
        )]
    );
    assert_eq!(app.run.as_ref().unwrap().exit.unwrap().code(), Some(130));
    press(&mut app, &[KeyCode::Esc, KeyCode::Char('q')]);
    assert!(app.quit);
}

#[test]
fn a_phase_without_a_runner_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // The test roadmap's phase 6 has no runner (the shipped one has the capstone's).
    let mut app = selftest_app(dir.path());
    press(&mut app, &[KeyCode::Char('6'), KeyCode::Char('R')]);
    assert_eq!(app.mode, Mode::Normal);
    let m = app.message.as_ref().unwrap();
    assert!(m.error && m.text.contains("tracked by hand"), "{m:?}");
}
