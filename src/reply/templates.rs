//! The reply and notifier templates (SPEC §5): built in from the repo's `templates/`, overridden
//! file by file from `smtp.templates_dir`, loaded and checked once at start.
//!
//! Templates are minijinja. Files ending in `.html` are HTML-escaped automatically (the
//! approver's words are user input), `.txt` files are not. Every reply template sees the same
//! [`ReplyContext`], all strings (`""` when unknown) plus the `truncated` flag, and is rendered
//! once with a sample context at load, so a broken override fails `check` and start-up with the
//! file's name, never a reply.

use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};

use super::compose::{ReplyContext, ReplyKind};

/// The templates built into the binary: the repo's `templates/` folder.
pub(super) const BUILTIN: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("footer.html", include_str!("../../templates/footer.html")),
    ("footer.txt", include_str!("../../templates/footer.txt")),
    ("rejected.txt", include_str!("../../templates/rejected.txt")),
    (
        "rejected.html",
        include_str!("../../templates/rejected.html"),
    ),
    (
        "already_decided.txt",
        include_str!("../../templates/already_decided.txt"),
    ),
    (
        "already_decided.html",
        include_str!("../../templates/already_decided.html"),
    ),
    (
        "not_found.txt",
        include_str!("../../templates/not_found.txt"),
    ),
    (
        "not_found.html",
        include_str!("../../templates/not_found.html"),
    ),
    ("failed.txt", include_str!("../../templates/failed.txt")),
    ("failed.html", include_str!("../../templates/failed.html")),
    (
        "no_request_id.txt",
        include_str!("../../templates/no_request_id.txt"),
    ),
    (
        "no_request_id.html",
        include_str!("../../templates/no_request_id.html"),
    ),
    (
        "ambiguous_request_id.txt",
        include_str!("../../templates/ambiguous_request_id.txt"),
    ),
    (
        "ambiguous_request_id.html",
        include_str!("../../templates/ambiguous_request_id.html"),
    ),
    (
        "looks_like_approval.txt",
        include_str!("../../templates/looks_like_approval.txt"),
    ),
    (
        "looks_like_approval.html",
        include_str!("../../templates/looks_like_approval.html"),
    ),
    (
        "unknown_notification.txt",
        include_str!("../../templates/unknown_notification.txt"),
    ),
    (
        "unknown_notification.html",
        include_str!("../../templates/unknown_notification.html"),
    ),
    (
        "encrypted.txt",
        include_str!("../../templates/encrypted.txt"),
    ),
    (
        "encrypted.html",
        include_str!("../../templates/encrypted.html"),
    ),
    (
        "forbidden.txt",
        include_str!("../../templates/forbidden.txt"),
    ),
    (
        "forbidden.html",
        include_str!("../../templates/forbidden.html"),
    ),
    (
        "link_required.txt",
        include_str!("../../templates/link_required.txt"),
    ),
    (
        "link_required.html",
        include_str!("../../templates/link_required.html"),
    ),
    // The notifier's mails (SPEC §7, crate::notify::mail).
    (
        "notify_subject.txt",
        include_str!("../../templates/notify_subject.txt"),
    ),
    ("notify.txt", include_str!("../../templates/notify.txt")),
    ("notify.html", include_str!("../../templates/notify.html")),
    (
        "notify_reminder.txt",
        include_str!("../../templates/notify_reminder.txt"),
    ),
    (
        "notify_reminder.html",
        include_str!("../../templates/notify_reminder.html"),
    ),
    (
        "notify_followup.txt",
        include_str!("../../templates/notify_followup.txt"),
    ),
    (
        "notify_followup.html",
        include_str!("../../templates/notify_followup.html"),
    ),
    (
        "notify_outcome.txt",
        include_str!("../../templates/notify_outcome.txt"),
    ),
    (
        "notify_outcome.html",
        include_str!("../../templates/notify_outcome.html"),
    ),
    (
        "notify_details.txt",
        include_str!("../../templates/notify_details.txt"),
    ),
    (
        "notify_details.html",
        include_str!("../../templates/notify_details.html"),
    ),
    (
        "notify_actions.txt",
        include_str!("../../templates/notify_actions.txt"),
    ),
    (
        "notify_actions.html",
        include_str!("../../templates/notify_actions.html"),
    ),
    (
        "notify_footer.txt",
        include_str!("../../templates/notify_footer.txt"),
    ),
    (
        "notify_footer.html",
        include_str!("../../templates/notify_footer.html"),
    ),
];

/// The loaded, checked reply templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from (an override's path, or "built-in …"), for error messages.
    origins: Vec<(String, String)>,
}

impl Templates {
    /// Loads the built-in templates, each replaced by the file of the same name in `dir` when
    /// there is one (files there may also be `{% include %}`d by name), and checks that every
    /// reply renders. The error names the file at fault.
    pub fn load(dir: Option<&Path>) -> Result<Templates, String> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| format!("template syntax: {e}"))?;
        env.set_syntax(syntax);
        // Printing an unknown variable is an error (a typo in an override), `{% if x %}` is not.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let mut origins = Vec::new();
        for (name, builtin) in BUILTIN {
            let override_path: Option<PathBuf> = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let (source, origin) = match override_path {
                Some(p) => {
                    let text = std::fs::read_to_string(&p)
                        .map_err(|e| format!("{}: cannot read: {e}", p.display()))?;
                    (text, p.display().to_string())
                }
                None => (builtin.to_string(), format!("built-in template {name}")),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| format!("{origin}: {e}"))?;
            origins.push((name.to_string(), origin));
        }
        if let Some(d) = dir {
            // Extra files an override includes (a logo block, a shared paragraph, ...).
            env.set_loader(minijinja::path_loader(d));
        }
        let templates = Templates { env, origins };
        for sample in [sample_context(), ReplyContext::default()] {
            for outcome in ReplyKind::ALL {
                templates.render(outcome, &sample)?;
            }
        }
        Ok(templates)
    }

    fn origin(&self, name: &str) -> String {
        self.origins
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, o)| o.clone())
            .unwrap_or_else(|| name.to_string())
    }

    /// Renders the text and the HTML body for `outcome`. The error names the file at fault.
    pub fn render(
        &self,
        outcome: ReplyKind,
        ctx: &ReplyContext,
    ) -> Result<(String, String), String> {
        let value = ctx.to_value();
        let base = outcome.as_str();
        Ok((
            self.render_named(&format!("{base}.txt"), &value)?,
            self.render_named(&format!("{base}.html"), &value)?,
        ))
    }

    /// Renders the template `name` with `value`, leading blank lines removed. The error names
    /// the file at fault.
    pub fn render_named(&self, name: &str, value: &Value) -> Result<String, String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(value))
            .map(|s| s.trim_start_matches(['\n', '\r']).to_string())
            .map_err(|e| format!("{}: {e}", self.origin(name)))
    }
}

/// A context with every field set, for checking that each template renders.
pub(super) fn sample_context() -> ReplyContext {
    ReplyContext {
        request_id: "0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6".into(),
        approver: "alice@example.test".into(),
        justification: "Not during <business> hours".into(),
        graph_justification:
            "Not during <business> hours (rejected by alice@example.test via email)".into(),
        truncated: true,
        status: "approved".into(),
        error: "Graph answered 503 for 600 s".into(),
        original_subject: "Re: Request 0f8e6c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6".into(),
        reason: "ok".into(),
        link_url: "https://bridge.example.test/link/AbC".into(),
        link_minutes: 30,
    }
}
