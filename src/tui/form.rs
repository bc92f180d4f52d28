//! Text input for the TUI's forms: a one-line editable field, and the log
//! form (duration, date, note) built from three of them.
//!
//! State only: drawing is in `ui.rs`, so forms are tested by feeding keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A one-line text field with a cursor (counted in characters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    pub value: String,
    pub cursor: usize,
}

impl TextInput {
    pub fn new(value: &str) -> TextInput {
        TextInput {
            value: value.to_string(),
            cursor: value.chars().count(),
        }
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.value
            .char_indices()
            .nth(char_idx)
            .map_or(self.value.len(), |(b, _)| b)
    }

    /// Applies an editing key; returns false for keys it does not handle
    /// (Enter, Esc, Tab...), which the form or screen handles instead.
    pub fn key(&mut self, key: KeyEvent) -> bool {
        let len = self.value.chars().count();
        match key.code {
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.value.clear();
                self.cursor = 0;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                let at = self.byte_at(self.cursor);
                self.value.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.value.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }
}

/// The log form: what `roadmap log DURATION ITEM [--date D] [--note N]` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogForm {
    pub item: String,
    /// Duration, date, note.
    pub fields: [TextInput; 3],
    /// Which field has the cursor.
    pub focus: usize,
    /// The last submission's error, shown in the form (same text as the CLI's).
    pub error: Option<String>,
}

impl LogForm {
    pub const LABELS: [&'static str; 3] = [
        "duration (90m, 1h30m, 2h)",
        "date (YYYY-MM-DD, empty = today)",
        "note (optional)",
    ];

    pub fn new(item: &str) -> LogForm {
        LogForm {
            item: item.to_string(),
            fields: Default::default(),
            focus: 0,
            error: None,
        }
    }

    pub fn duration(&self) -> &str {
        &self.fields[0].value
    }
    pub fn date(&self) -> &str {
        &self.fields[1].value
    }
    pub fn note(&self) -> &str {
        &self.fields[2].value
    }

    /// Tab / Shift-Tab / Up / Down move between fields; anything else edits.
    pub fn key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % 3,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + 2) % 3,
            _ => {
                self.fields[self.focus].key(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn edits_at_the_cursor_with_multibyte_text() {
        let mut t = TextInput::new("né");
        t.key(k(KeyCode::Left));
        t.key(k(KeyCode::Char('x')));
        assert_eq!(t.value, "nxé");
        t.key(k(KeyCode::End));
        t.key(k(KeyCode::Backspace));
        assert_eq!(t.value, "nx");
        t.key(k(KeyCode::Home));
        t.key(k(KeyCode::Delete));
        assert_eq!(t.value, "x");
        assert!(!t.key(k(KeyCode::Enter)));
    }

    #[test]
    fn log_form_tabs_between_fields() {
        let mut f = LogForm::new("phase1.math-for-ml");
        for c in "90m".chars() {
            f.key(k(KeyCode::Char(c)));
        }
        f.key(k(KeyCode::Tab));
        f.key(k(KeyCode::Tab));
        f.key(k(KeyCode::Char('x')));
        f.key(k(KeyCode::BackTab));
        assert_eq!(
            (f.duration(), f.date(), f.note(), f.focus),
            ("90m", "", "x", 1)
        );
    }
}
