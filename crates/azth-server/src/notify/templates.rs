//! Message templates (minijinja): azth's built-in texts for every message it
//! sends, each with a subject, a text part and an HTML part, overridable per
//! tenant. Auto-escaping applies to the HTML part only.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

/// The names of the templates azth sends.
pub const NAMES: [&str; 6] = ["verification", "password_reset", "otp", "account_locked", "new_sign_in", "invitation"];

/// One template's three parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// The built-in template `name`.
pub fn builtin(name: &str) -> Option<Template> {
    let (subject, text, html) = match name {
        "verification" => (
            "Verify your email for {{ tenant_name }}",
            "Confirm this address for your {{ tenant_name }} account:\n\n{{ link }}\n\nThe link works once, for 24 hours.",
            "<p>Confirm this address for your {{ tenant_name }} account:</p><p><a href=\"{{ link }}\">Verify my email</a></p><p>The link works once, for 24 hours.</p>",
        ),
        "password_reset" => (
            "Reset your {{ tenant_name }} password",
            "Someone asked to reset the password of your {{ tenant_name }} account. If it was you:\n\n{{ link }}\n\nThe link works once, for one hour. If it was not you, ignore this message.",
            "<p>Someone asked to reset the password of your {{ tenant_name }} account. If it was you:</p><p><a href=\"{{ link }}\">Choose a new password</a></p><p>The link works once, for one hour. If it was not you, ignore this message.</p>",
        ),
        "otp" => (
            "Your {{ tenant_name }} code",
            "Your {{ tenant_name }} code is {{ code }}. It expires in {{ expires_minutes }} minutes.",
            "<p>Your {{ tenant_name }} code is <strong>{{ code }}</strong>. It expires in {{ expires_minutes }} minutes.</p>",
        ),
        "account_locked" => (
            "Your {{ tenant_name }} account is locked",
            "After several failed sign-in attempts your {{ tenant_name }} account is locked for {{ lockout_minutes }} minutes. If this was not you, consider resetting your password.",
            "<p>After several failed sign-in attempts your {{ tenant_name }} account is locked for {{ lockout_minutes }} minutes. If this was not you, consider resetting your password.</p>",
        ),
        "new_sign_in" => (
            "New sign-in to {{ tenant_name }}",
            "Your {{ tenant_name }} account was signed in from {{ ip }} ({{ user_agent }}). If this was not you, reset your password.",
            "<p>Your {{ tenant_name }} account was signed in from {{ ip }} ({{ user_agent }}). If this was not you, reset your password.</p>",
        ),
        "invitation" => (
            "You are invited to {{ tenant_name }}",
            "You have an account at {{ tenant_name }}. Choose your password here:\n\n{{ link }}\n\nThe link works once.",
            "<p>You have an account at {{ tenant_name }}.</p><p><a href=\"{{ link }}\">Choose your password</a></p><p>The link works once.</p>",
        ),
        _ => return None,
    };
    Some(Template { subject: subject.to_owned(), text_body: text.to_owned(), html_body: Some(html.to_owned()) })
}

/// Example values for every variable a template may use (for validation).
pub fn sample_context() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("tenant_name", "Example".to_owned()),
        ("link", "https://id.example.com/verify-email?token=sample".to_owned()),
        ("code", "123456".to_owned()),
        ("expires_minutes", "10".to_owned()),
        ("lockout_minutes", "15".to_owned()),
        ("ip", "203.0.113.7".to_owned()),
        ("user_agent", "Example/1.0".to_owned()),
        ("email", "user@example.com".to_owned()),
    ])
}

/// Renders `template` with `context`. Unknown variables are errors, so a
/// typo fails at save time instead of sending a blank.
pub fn render(template: &Template, context: &BTreeMap<&'static str, String>) -> Result<Rendered, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
    env.add_template_owned("subject.txt", template.subject.clone()).map_err(|e| format!("subject: {e}"))?;
    env.add_template_owned("body.txt", template.text_body.clone()).map_err(|e| format!("text_body: {e}"))?;
    if let Some(html) = &template.html_body {
        env.add_template_owned("body.html", html.clone()).map_err(|e| format!("html_body: {e}"))?;
    }
    let part = |name: &str, field: &str| -> Result<String, String> {
        env.get_template(name).and_then(|t| t.render(context)).map_err(|e| format!("{field}: {e}"))
    };
    let subject = part("subject.txt", "subject")?.trim().replace(['\r', '\n'], " ");
    let text = part("body.txt", "text_body")?;
    let html = match template.html_body {
        Some(_) => Some(part("body.html", "html_body")?),
        None => None,
    };
    Ok(Rendered { subject, text, html })
}

/// Checks a template a tenant wants to save: it must render with the sample
/// values, and stay within sane sizes.
pub fn validate(template: &Template) -> Result<(), (&'static str, String)> {
    if template.subject.is_empty() || template.subject.len() > 500 {
        return Err(("subject", "1 to 500 characters".into()));
    }
    if template.text_body.is_empty() || template.text_body.len() > 20_000 {
        return Err(("text_body", "1 to 20000 characters".into()));
    }
    if template.html_body.as_ref().is_some_and(|h| h.len() > 50_000) {
        return Err(("html_body", "at most 50000 characters".into()));
    }
    render(template, &sample_context()).map(|_| ()).map_err(|e| {
        let field = if e.starts_with("subject") {
            "subject"
        } else if e.starts_with("html_body") {
            "html_body"
        } else {
            "text_body"
        };
        (field, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_renders_with_the_sample_values() {
        for name in NAMES {
            let t = builtin(name).unwrap();
            let r = render(&t, &sample_context()).unwrap();
            assert!(!r.subject.is_empty() && !r.text.is_empty() && r.html.is_some(), "{name}");
            assert!(validate(&t).is_ok(), "{name}");
        }
        assert!(builtin("nope").is_none());
    }

    #[test]
    fn html_is_escaped_text_is_not() {
        let t = Template {
            subject: "Hi {{ tenant_name }}".into(),
            text_body: "{{ tenant_name }}".into(),
            html_body: Some("<b>{{ tenant_name }}</b>".into()),
        };
        let mut ctx = sample_context();
        ctx.insert("tenant_name", "<script>".into());
        let r = render(&t, &ctx).unwrap();
        assert_eq!(r.text, "<script>");
        assert_eq!(r.html.unwrap(), "<b>&lt;script&gt;</b>");
    }

    #[test]
    fn broken_templates_are_rejected_with_their_field() {
        let mut t = builtin("otp").unwrap();
        t.text_body = "{{ code ".into();
        assert_eq!(validate(&t).unwrap_err().0, "text_body");
        let mut t = builtin("otp").unwrap();
        t.subject = "{{ no_such_variable }}".into();
        assert_eq!(validate(&t).unwrap_err().0, "subject");
        let mut t = builtin("otp").unwrap();
        t.html_body = Some("{% if %}".into());
        assert_eq!(validate(&t).unwrap_err().0, "html_body");
    }
}
