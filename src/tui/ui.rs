//! Drawing: the main screen (phases, items, milestone, pace, weekly chart)
//! and the dialogs over it, from an [`App`] that drawing never changes.
//!
//! Colours come from a [`Theme`]: none when `NO_COLOR` is set (non-empty, see
//! <https://no-color.org>) or `TERM=dumb`; meaning is then carried by glyphs
//! and reverse video alone. The layout is recomputed from the frame's size on
//! every draw, so resizing the terminal just works.

use chrono::Datelike;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Bar, BarChart, BarGroup, Block, Clear, Gauge, Paragraph, Row, Table, TableState, Wrap,
};
use ratatui::Frame;

use super::form::LogForm;
use super::state::{App, Mode, CHART_WEEKS};
use crate::db::Status;
use crate::progress::{bar, hours};
use crate::roadmap::ItemKind;

/// Colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// No colours when `NO_COLOR` is set to anything non-empty, or on a dumb terminal.
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Theme {
            color: !no_color && !dumb,
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    fn status(&self, s: Status) -> Style {
        match s {
            Status::Done => self.fg(Color::Green),
            Status::InProgress => self.fg(Color::Yellow),
            Status::Skipped => self.fg(Color::DarkGray),
            Status::Todo => Style::new(),
        }
    }

    fn run_status(&self, s: &str) -> Style {
        match s {
            "passed" => self.fg(Color::Green),
            "failed" => self.fg(Color::Red),
            "interrupted" => self.fg(Color::Magenta),
            _ => self.fg(Color::Yellow),
        }
    }

    fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

/// The status column: a glyph and a word, readable without colour.
pub fn status_label(s: Status) -> &'static str {
    match s {
        Status::Todo => "· todo",
        Status::InProgress => "▶ doing",
        Status::Done => "✓ done",
        Status::Skipped => "– skipped",
    }
}

pub fn draw(f: &mut Frame, app: &App, theme: &Theme) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(f.area());
    f.render_widget(
        Line::from(vec![
            Span::styled(app.roadmap.title.clone(), theme.bold()),
            Span::raw(format!(" — learner: {}", app.learner)),
            Span::styled("   ? keys · q quit", theme.fg(Color::DarkGray)),
        ]),
        header,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(body);
    let phases_h = app.roadmap.phases.len() as u16 + 2;
    let [phases, pace, chart] = Layout::vertical([
        Constraint::Length(phases_h),
        Constraint::Length(6),
        Constraint::Min(5),
    ])
    .areas(left);
    let [items, milestone] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(9)]).areas(right);
    draw_phases(f, app, theme, phases);
    draw_pace(f, app, theme, pace);
    draw_chart(f, app, theme, chart);
    draw_items(f, app, theme, items);
    draw_milestone(f, app, theme, milestone);
    draw_footer(f, app, theme, footer);

    match &app.mode {
        Mode::Normal => {}
        Mode::Help => draw_help(f, theme),
        Mode::ConfirmReset(item) => {
            let area = popup(f.area(), 60, 5);
            f.render_widget(Clear, area);
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(format!("Reset {item} to todo?")),
                    Line::from("Sessions and notes are kept."),
                    Line::styled("y: reset · any other key: keep", theme.bold()),
                ])
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(" reset ")),
                area,
            );
        }
        Mode::Log(form) => draw_log_form(f, theme, form),
        Mode::Note { item, input } => {
            let area = popup(f.area(), 70, 5);
            f.render_widget(Clear, area);
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(format!("› {}", input.value)),
                    Line::styled("Enter: save · Esc: cancel", theme.fg(Color::DarkGray)),
                ])
                .block(Block::bordered().title(format!(" note on {item} "))),
                area,
            );
            f.set_cursor_position((area.x + 3 + input.cursor as u16, area.y + 1));
        }
        Mode::Search { input, selected } => {
            let hits = app.search(&input.value);
            let area = popup(f.area(), 80, 16);
            f.render_widget(Clear, area);
            let mut lines = vec![Line::from(format!("/ {}", input.value)), Line::from("")];
            if hits.is_empty() && !input.value.trim().is_empty() {
                lines.push(Line::from("no item matches"));
            }
            for (i, h) in hits.iter().enumerate().take(12) {
                let style = if i == *selected {
                    theme.selected()
                } else {
                    Style::new()
                };
                let marker = if i == *selected { "›" } else { " " };
                lines.push(Line::styled(
                    format!("{marker} {:<34} {}", h.id, h.title),
                    style,
                ));
            }
            f.render_widget(
                Paragraph::new(lines).block(
                    Block::bordered().title(" search items (↑↓ choose · Enter go · Esc close) "),
                ),
                area,
            );
            f.set_cursor_position((area.x + 3 + input.cursor as u16, area.y + 1));
        }
        Mode::Detail(item) => draw_detail(f, app, theme, item),
        Mode::RunArgs { phase, input } => {
            let area = popup(f.area(), 76, 6);
            f.render_widget(Clear, area);
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(format!("roadmap run {phase} {}", input.value)),
                    Line::styled(
                        "flags for the runner (empty: its defaults) · Enter: run · Esc: cancel",
                        theme.fg(Color::DarkGray),
                    ),
                    Line::styled(
                        format!("`roadmap run {phase} --help` lists them"),
                        theme.fg(Color::DarkGray),
                    ),
                ])
                .wrap(Wrap { trim: false })
                .block(Block::bordered().title(" run the milestone ")),
                area,
            );
            let x = area.x + 1 + format!("roadmap run {phase} ").chars().count() as u16;
            f.set_cursor_position((x + input.cursor as u16, area.y + 1));
        }
        Mode::Run => draw_run(f, app, theme),
    }
}

fn draw_phases(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let o = &app.data.overview;
    let lines: Vec<Line> = o
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let current = o.current_phase.as_deref() == Some(p.id.as_str());
            let style = if i == app.phase {
                theme.selected()
            } else {
                Style::new()
            };
            let bar_style = if p.complete() {
                theme.fg(Color::Green)
            } else {
                theme.fg(Color::Cyan)
            };
            Line::from(vec![
                Span::raw(if current { "▶ " } else { "  " }),
                Span::raw(format!("{} ", p.id)),
                Span::styled(bar(p.fraction(), 10), bar_style),
                Span::raw(format!(" {}/{} {}", p.done + p.skipped, p.total, p.title)),
            ])
            .style(style)
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" phases (←→ 1-6) ")),
        area,
    );
}

fn draw_pace(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let o = &app.data.overview;
    let t = &app.roadmap.timeline;
    let mut lines = Vec::new();
    match &o.pace {
        None => lines.push(Line::from("no activity yet: l logs study time")),
        Some(p) => {
            lines.push(Line::from(format!(
                "{} logged · started {} ({} days)",
                hours(o.total_minutes),
                p.started,
                p.days_elapsed
            )));
            lines.push(Line::from(match (p.forecast_finish, p.projected_months) {
                (Some(d), Some(m)) => format!(
                    "{:.0}% done · forecast {d} (~{m:.1} months)",
                    p.fraction_done * 100.0
                ),
                _ => format!("{:.0}% done", p.fraction_done * 100.0),
            }));
            let color = if p.verdict.starts_with("ahead") || p.verdict.starts_with("on the focused")
            {
                Color::Green
            } else if p.verdict.starts_with("behind") {
                Color::Red
            } else {
                Color::Yellow
            };
            lines.push(Line::styled(p.verdict.clone(), theme.fg(color)));
        }
    }
    lines.push(Line::styled(
        format!(
            "plans: focused {}, part-time {}",
            t.focused_months, t.part_time_months
        ),
        theme.fg(Color::DarkGray),
    ));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" pace ")),
        area,
    );
}

fn draw_chart(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let weeks = &app.data.weeks;
    let inner = area.width.saturating_sub(2);
    let n = CHART_WEEKS as u16;
    let bar_width = (inner / n).saturating_sub(1).clamp(1, 5);
    let bars: Vec<Bar> = weeks
        .iter()
        .map(|w| {
            let label = if bar_width >= 5 {
                w.start.format("%m-%d").to_string()
            } else {
                format!("{:02}", w.start.iso_week().week())
            };
            let h = w.minutes as f64 / 60.0;
            let text = if w.minutes == 0 {
                String::new()
            } else if h < 10.0 {
                format!("{h:.1}")
            } else {
                format!("{h:.0}")
            };
            Bar::default()
                .value(w.minutes as u64)
                .label(Line::from(label))
                .text_value(text)
        })
        .collect();
    let title = if bar_width >= 5 {
        " hours per week (week starting) "
    } else {
        " hours per week (ISO week) "
    };
    f.render_widget(
        BarChart::default()
            .block(Block::bordered().title(title))
            .bar_width(bar_width)
            .bar_gap(1)
            .bar_style(theme.fg(Color::Cyan))
            .value_style(theme.selected())
            .data(BarGroup::default().bars(&bars)),
        area,
    );
}

fn draw_items(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let phase = app.selected_phase();
    let rows: Vec<Row> = phase
        .items()
        .iter()
        .map(|i| {
            let s = app.data.status(i.id);
            let kind = match i.kind {
                ItemKind::Resource => "",
                ItemKind::Milestone => "★ ",
                ItemKind::Requirement => "◆ ",
            };
            let minutes = app.data.minutes(i.id);
            let notes = app.data.notes_of(i.id).count();
            Row::new(vec![
                Span::styled(status_label(s), theme.status(s)),
                Span::raw(format!("{kind}{}", i.title)),
                Span::raw(if minutes > 0 {
                    hours(minutes)
                } else {
                    String::new()
                }),
                Span::raw(if notes > 0 {
                    format!("✎{notes}")
                } else {
                    String::new()
                }),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Min(10),
            Constraint::Length(6),
            Constraint::Length(3),
        ],
    )
    .row_highlight_style(theme.selected())
    .highlight_symbol("› ")
    .block(Block::bordered().title(format!(
        " {} — {} ({}) ",
        phase.id, phase.title, phase.duration_months
    )));
    let mut state = TableState::default().with_selected(Some(app.item));
    f.render_stateful_widget(table, area, &mut state);
}

fn draw_milestone(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let phase = app.selected_phase();
    let mut lines = Vec::new();
    match &phase.milestone {
        None => lines.push(Line::from("no milestone")),
        Some(m) => {
            lines.push(Line::from(vec![
                Span::styled(m.title.clone(), theme.bold()),
                Span::raw(match &m.runner {
                    Some(r) => format!(" — runner {r} (R runs it)"),
                    None => " — tracked by hand".to_string(),
                }),
            ]));
            if !m.criteria.is_empty() {
                let c: Vec<String> = m.criteria.iter().map(|c| c.to_string()).collect();
                lines.push(Line::from(format!("criteria: {}", c.join(", "))));
            }
            let mut any = false;
            for r in app.data.runs_of(&phase.id).take(4) {
                any = true;
                let metrics: Vec<String> = r
                    .metrics
                    .iter()
                    .map(|(k, v)| format!("{k}={v:.4}"))
                    .collect();
                lines.push(Line::from(vec![
                    Span::raw(format!("#{} {} ", r.id, r.kind)),
                    Span::styled(r.status.clone(), theme.run_status(&r.status)),
                    Span::raw(format!(
                        " {} {} {}",
                        r.started_at.get(..10).unwrap_or(&r.started_at),
                        r.duration_seconds
                            .map(|d| format!("{d:.1}s"))
                            .unwrap_or_default(),
                        metrics.join(" ")
                    )),
                ]));
            }
            if !any && m.runner.is_some() {
                lines.push(Line::styled("no runs yet", theme.fg(Color::DarkGray)));
            }
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" milestone ")),
        area,
    );
}

fn draw_footer(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let line = match &app.message {
        Some(m) if m.error => Line::styled(m.text.clone(), theme.fg(Color::Red)),
        Some(m) => Line::from(m.text.clone()),
        None => Line::styled(
            "s start · d done · x skip · r reset · l log · n note · / search · Enter details · R run",
            theme.fg(Color::DarkGray),
        ),
    };
    f.render_widget(line, area);
}

/// The keys, as `?` shows them (and the README lists them).
pub const KEYS: &[(&str, &str)] = &[
    ("↑↓ j k", "choose an item"),
    ("←→ Tab 1-6", "choose a phase"),
    ("s / d / x", "start / done / skip the item"),
    ("r", "reset the item to todo (asks first)"),
    ("l", "log study time: duration, date, note"),
    ("n", "add a note to the item"),
    ("/", "search every item by id or title"),
    (
        "Enter",
        "the item's details: resource, criteria, sessions, notes",
    ),
    ("R", "run the phase's milestone (output streamed here)"),
    (
        "Esc, Ctrl-C",
        "in the run pane: cancel the run (recorded interrupted)",
    ),
    ("v", "show the last run's pane again"),
    ("?", "this help"),
    ("q", "quit"),
];

fn draw_help(f: &mut Frame, theme: &Theme) {
    let area = popup(f.area(), 70, KEYS.len() as u16 + 4);
    f.render_widget(Clear, area);
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<12}"), theme.bold()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::styled("any key closes", theme.fg(Color::DarkGray)));
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys ")),
        area,
    );
}

fn draw_log_form(f: &mut Frame, theme: &Theme, form: &LogForm) {
    let area = popup(f.area(), 70, 11);
    f.render_widget(Clear, area);
    let mut lines = Vec::new();
    for (i, (label, field)) in LogForm::LABELS.iter().zip(&form.fields).enumerate() {
        let marker = if i == form.focus { "›" } else { " " };
        lines.push(Line::styled(format!("{marker} {label}"), theme.bold()));
        lines.push(Line::from(format!("  {}", field.value)));
    }
    lines.push(Line::from(""));
    match &form.error {
        Some(e) => lines.push(Line::styled(e.clone(), theme.fg(Color::Red))),
        None => lines.push(Line::styled(
            "Tab: next field · Enter: log · Esc: cancel",
            theme.fg(Color::DarkGray),
        )),
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(format!(" log time on {} ", form.item))),
        area,
    );
    let field = &form.fields[form.focus];
    f.set_cursor_position((
        area.x + 3 + field.cursor as u16,
        area.y + 2 + 2 * form.focus as u16,
    ));
}

fn draw_detail(f: &mut Frame, app: &App, theme: &Theme, id: &str) {
    let mut lines = Vec::new();
    let Some(item) = app.roadmap.item(id) else {
        return;
    };
    let phase = item.phase;
    let s = app.data.status(id);
    lines.push(Line::from(vec![
        Span::styled(item.title.to_string(), theme.bold()),
        Span::raw("  "),
        Span::styled(status_label(s), theme.status(s)),
    ]));
    if let Some(st) = app.data.states.get(id) {
        lines.push(Line::from(format!(
            "started {} · finished {}",
            st.started_at.as_deref().unwrap_or("-"),
            st.finished_at.as_deref().unwrap_or("-")
        )));
    }
    match item.kind {
        ItemKind::Resource => {
            if let Some(r) = phase.resources.iter().find(|r| r.id == id) {
                lines.push(Line::from(format!(
                    "{:?} by {} — part of {} ({})",
                    r.kind, r.provider, phase.id, phase.title
                )));
            }
        }
        ItemKind::Requirement => lines.push(Line::from(format!(
            "a requirement of {} ({})",
            phase.id, phase.title
        ))),
        ItemKind::Milestone => {
            if let Some(m) = &phase.milestone {
                lines.push(Line::from(m.description.clone()));
                for c in &m.criteria {
                    lines.push(Line::from(format!("  criterion: {c}")));
                }
            }
        }
    }
    lines.push(Line::from(""));
    let sessions: Vec<_> = app
        .data
        .sessions
        .iter()
        .filter(|x| x.item_id == id)
        .collect();
    lines.push(Line::styled(
        format!(
            "sessions: {} ({})",
            sessions.len(),
            hours(app.data.minutes(id))
        ),
        theme.bold(),
    ));
    for x in sessions.iter().rev().take(5) {
        lines.push(Line::from(format!(
            "  {} {} {}",
            x.date,
            hours(x.minutes),
            x.note.as_deref().unwrap_or("")
        )));
    }
    let notes: Vec<_> = app.data.notes_of(id).collect();
    lines.push(Line::styled(
        format!("notes: {}", notes.len()),
        theme.bold(),
    ));
    for n in notes.iter().rev().take(6) {
        lines.push(Line::from(format!(
            "  {} {}",
            n.created_at.get(..10).unwrap_or(&n.created_at),
            n.text
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled("any key closes", theme.fg(Color::DarkGray)));
    // Room for the lines, plus wrapped description lines and the borders.
    let area = popup(f.area(), 86, lines.len() as u16 + 5);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(format!(" {id} "))),
        area,
    );
}

fn draw_run(f: &mut Frame, app: &App, theme: &Theme) {
    let Some(run) = &app.run else { return };
    let full = f.area();
    let area = popup(
        full,
        full.width.saturating_sub(4),
        full.height.saturating_sub(2),
    );
    f.render_widget(Clear, area);
    let secs = run.elapsed().as_secs_f64();
    let state = match (&run.recorded, run.running()) {
        (_, true) if run.cancelled => "cancelling".to_string(),
        (_, true) => "running".to_string(),
        (Some((id, status)), false) => format!("run #{id} {status}"),
        (None, false) => "ended without a recorded run".to_string(),
    };
    // Checks a runner reports as they pass or fail (phase 6's capstone prints
    // one `✓ name: detail` / `✗ name: detail` line per check).
    let count = |mark: char| {
        run.lines
            .iter()
            .filter(|l| l.text.trim_start().starts_with(mark))
            .count()
    };
    let (passed, failed) = (count('✓'), count('✗'));
    let checks = if passed + failed > 0 {
        format!(" · checks ✓ {passed} ✗ {failed}")
    } else {
        String::new()
    };
    let title = format!(
        " roadmap run {} {} — {state}{checks} ",
        run.phase,
        run.args.join(" ")
    );
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [gauge, out, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let label = match (run.running(), run.estimate) {
        (true, Some(e)) => format!("{secs:.0}s of ~{e:.0}s (the last run's time)"),
        (true, None) => format!("{secs:.0}s (no earlier run to estimate from)"),
        (false, _) => format!("finished in {secs:.1}s"),
    };
    let gauge_style = match &run.recorded {
        Some((_, s)) => theme.run_status(s),
        None => theme.fg(Color::Cyan),
    };
    f.render_widget(
        Gauge::default()
            .ratio(run.fraction().unwrap_or(0.0))
            .label(label)
            .gauge_style(gauge_style),
        gauge,
    );
    let h = out.height as usize;
    let end = run
        .lines
        .len()
        .saturating_sub(run.scroll.min(run.lines.len()));
    let start = end.saturating_sub(h);
    let lines: Vec<Line> = run.lines[start..end]
        .iter()
        .map(|l| {
            let t = l.text.trim_start();
            let style = if t.starts_with('✓') {
                theme.fg(Color::Green)
            } else if t.starts_with('✗') || t.starts_with("error") {
                theme.fg(Color::Red)
            } else if l.stderr {
                theme.fg(Color::Gray)
            } else {
                Style::new()
            };
            Line::styled(l.text.clone(), style)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), out);
    let hint_text = if run.running() {
        "Esc / Ctrl-C: cancel (recorded interrupted) · b: back (keeps running) · ↑↓ PgUp PgDn: scroll"
    } else {
        "q / Esc: close · ↑↓ PgUp PgDn: scroll"
    };
    f.render_widget(Line::styled(hint_text, theme.fg(Color::DarkGray)), hint);
}

/// A centred rectangle `w` × `h`, clipped to `area`.
fn popup(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
