//! `{project}` and `{home}` in resource patterns: places that differ from one action to the
//! next, so that one policy serves every project and every person.
//!
//! `{project}` is the directory the agent works in (`context.cwd`); `{home}` is the home
//! directory (`context.home`, else the agent's envelope). A file resource below one of them is
//! also matched in a second form with the place's token in front (`file://$PROJECT/src/a.rs`);
//! a pattern written with the placeholder is compiled with the token, so the index treats it
//! like any literal prefix. A place that would cover too much (`/`, a home, a top-level
//! directory, or an unknown one) is never a project, so nothing is matched in its name.

use preflight_core::Action;
use preflight_inspect::normalize_path;
use preflight_inspect::paths::is_sweeping;
use smallvec::SmallVec;

/// The token `{project}` becomes; never the start of a real file resource (`file:///…`).
const PROJECT_TOKEN: &str = "$PROJECT";
/// The token `{home}` becomes.
const HOME_TOKEN: &str = "$HOME";

/// A resource pattern with its placeholders replaced by their tokens.
pub(crate) fn in_pattern(pattern: &str) -> std::borrow::Cow<'_, str> {
    if pattern.contains("{project}") || pattern.contains("{home}") {
        pattern
            .replace("{project}", PROJECT_TOKEN)
            .replace("{home}", HOME_TOKEN)
            .into()
    } else {
        pattern.into()
    }
}

/// The places of one action, as `file://` URIs.
#[derive(Debug, Default)]
pub(crate) struct Places {
    project: Option<String>,
    home: Option<String>,
}

impl Places {
    /// The places `action` runs in; `envelope_home` is the agent's home when the action names
    /// none.
    pub(crate) fn of(action: &Action, envelope_home: Option<&str>) -> Self {
        let home = action
            .context
            .home
            .as_deref()
            .or(envelope_home)
            .filter(|h| h.starts_with('/'))
            .map(|h| normalize_path(h, None, None))
            .filter(|h| h != "/" && !h.contains('*'));
        let project = action
            .context
            .cwd
            .as_deref()
            .filter(|c| c.starts_with('/') || c.starts_with('~'))
            .map(|c| normalize_path(c, None, home.as_deref()))
            .filter(|c| !is_sweeping(c, home.as_deref()));
        Self {
            project: project.map(|p| format!("file://{p}")),
            home: home.map(|h| format!("file://{h}")),
        }
    }

    /// The other forms `resource` is matched in: one per place it lies in.
    pub(crate) fn alternates(&self, resource: &str) -> SmallVec<[String; 2]> {
        let mut forms = SmallVec::new();
        if !resource.starts_with("file:///") {
            return forms;
        }
        for (place, token) in [(&self.project, PROJECT_TOKEN), (&self.home, HOME_TOKEN)] {
            let Some(place) = place else { continue };
            if let Some(rest) = resource.strip_prefix(place.as_str()) {
                if rest.is_empty() || rest.starts_with('/') {
                    forms.push(format!("file://{token}{rest}"));
                }
            }
        }
        forms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(cwd: &str, home: Option<&str>) -> Action {
        let mut action = Action::new("Bash", serde_json::json!({"command": "true"}));
        action.context.cwd = Some(cwd.into());
        action.context.home = home.map(String::from);
        action
    }

    #[test]
    fn a_file_below_a_place_gains_its_form() {
        let places = Places::of(&action("/work/app", Some("/home/alice")), None);
        assert_eq!(
            places.alternates("file:///work/app/src/main.rs").as_slice(),
            ["file://$PROJECT/src/main.rs"]
        );
        assert_eq!(
            places.alternates("file:///work/app").as_slice(),
            ["file://$PROJECT"]
        );
        assert!(places.alternates("file:///work/application").is_empty());
        assert!(places.alternates("cmd://ls").is_empty());
        assert_eq!(
            places.alternates("file:///home/alice/.bashrc").as_slice(),
            ["file://$HOME/.bashrc"]
        );
    }

    #[test]
    fn a_project_inside_home_gives_both_forms() {
        let places = Places::of(&action("/home/alice/code/app", Some("/home/alice")), None);
        assert_eq!(
            places
                .alternates("file:///home/alice/code/app/x")
                .as_slice(),
            ["file://$PROJECT/x", "file://$HOME/code/app/x"]
        );
    }

    #[test]
    fn a_place_too_wide_is_never_a_project() {
        for cwd in [
            "/",
            "/home/alice",
            "/home",
            "/etc",
            "relative/dir",
            "/**/app",
        ] {
            let places = Places::of(&action(cwd, Some("/home/alice")), None);
            assert!(
                !places
                    .alternates("file:///home/alice/x")
                    .iter()
                    .any(|f| f.contains("PROJECT")),
                "{cwd}"
            );
        }
        let rootless = Places::of(&action("/work/app", Some("/")), None);
        assert!(rootless.alternates("file:///etc/passwd").is_empty());
    }

    #[test]
    fn placeholders_become_tokens() {
        assert_eq!(in_pattern("file://{project}/**"), "file://$PROJECT/**");
        assert_eq!(in_pattern("file://{home}/.ssh/**"), "file://$HOME/.ssh/**");
        assert_eq!(in_pattern("file:///tmp/**"), "file:///tmp/**");
    }
}
