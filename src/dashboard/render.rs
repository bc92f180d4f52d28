//! The HTML templates (minijinja, embedded in the binary) shared by the
//! dashboard and `roadmap report --format html`.
//!
//! Templates are named `*.html`, so minijinja escapes every value for HTML;
//! nothing is marked safe. Charts are inline SVG drawn from
//! [`super::views::Chart`]; there is no JavaScript and nothing is loaded from
//! the network.

use std::sync::OnceLock;

use anyhow::{Context, Result};
use minijinja::value::{Serde, Value};
use minijinja::Environment;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("cohort.html", include_str!("templates/cohort.html")),
    ("learner.html", include_str!("templates/learner.html")),
    ("capstone.html", include_str!("templates/capstone.html")),
    ("report.html", include_str!("templates/report.html")),
    ("error.html", include_str!("templates/error.html")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, src) in TEMPLATES {
            env.add_template(name, src)
                .unwrap_or_else(|e| panic!("template {name} does not parse: {e:#}"));
        }
        env
    })
}

/// Renders template `name` with `ctx` (any serialisable value).
pub fn render(name: &str, ctx: &impl serde::Serialize) -> Result<String> {
    env()
        .get_template(name)?
        .render(Value::from(Serde(ctx)))
        .with_context(|| format!("cannot render the {name} template"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        for (name, _) in super::TEMPLATES {
            super::env().get_template(name).unwrap();
        }
    }

    #[test]
    fn values_are_escaped() {
        let html = super::render(
            "error.html",
            &serde_json::json!({"heading": "<script>x</script>", "message": "a & b", "nav": true}),
        )
        .unwrap();
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
    }
}
