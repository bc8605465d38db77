//! Server-rendered HTML. Every value that comes from an action, a verdict or a person goes
//! through [`escape`]; nothing is ever inserted as markup.

use std::fmt::Write as _;

use preflight_core::{ApprovalStatus, QueuedApproval, Timestamp};

use crate::console::home;
use crate::view::{Summary, duration_text, escape, utc_text};

/// What a page needs to know about the viewer and where it is mounted.
pub(crate) struct PageContext<'a> {
    pub base: &'a str,
    pub identity: &'a str,
    /// The CSRF token of the viewer's session; `None` for bearer-token clients, which need none.
    pub csrf: Option<&'a str>,
    pub now: Timestamp,
    /// How long the permit an approval leads to is valid.
    pub permit_ttl_secs: u64,
}

fn head(out: &mut String, base: &str, title: &str) {
    let base = escape(base);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><link rel=\"stylesheet\" href=\"{base}/assets/console.css\">\
<script src=\"{base}/assets/console.js\" defer></script></head>",
        escape(title)
    );
}

fn top_bar(out: &mut String, ctx: &PageContext<'_>) {
    let base = escape(ctx.base);
    let _ = write!(
        out,
        "<header class=\"top\"><a class=\"brand\" href=\"{}\">preflight</a>\
<span class=\"subtitle\">approvals</span><span class=\"who\">signed in as <b>{}</b></span>",
        escape(&home(ctx.base)),
        escape(ctx.identity)
    );
    if let Some(csrf) = ctx.csrf {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{base}/logout\" class=\"logout\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Sign out</button></form>",
            escape(csrf)
        );
    }
    out.push_str("</header>");
}

/// The console: pending requests, then history.
pub(crate) fn index(
    ctx: &PageContext<'_>,
    pending: &[QueuedApproval],
    history: &[QueuedApproval],
) -> String {
    let mut out = String::with_capacity(4096 + pending.len() * 3072 + history.len() * 256);
    head(&mut out, ctx.base, "preflight approvals");
    let _ = write!(
        out,
        "<body data-base=\"{}\" data-now=\"{}\">",
        escape(ctx.base),
        ctx.now.0
    );
    top_bar(&mut out, ctx);
    let _ = write!(
        out,
        "<main><section class=\"pending\"><h2>Waiting for a decision \
<span id=\"pending-count\" class=\"count\">{}</span>\
<span id=\"live\" class=\"live\" title=\"live updates\">connecting…</span></h2>\
<div id=\"pending\">",
        pending.len()
    );
    for (n, item) in pending.iter().enumerate() {
        card(&mut out, ctx, item, n < OPEN_CARDS);
    }
    let _ = write!(
        out,
        "</div><p id=\"empty\" class=\"empty\"{}>Nothing is waiting for a decision.</p></section>",
        if pending.is_empty() { "" } else { " hidden" }
    );
    out.push_str(
        "<section class=\"history\"><h2>History</h2><table><thead><tr><th>decided</th>\
<th>agent</th><th>tool</th><th>outcome</th><th>by</th><th>comment</th></tr></thead>\
<tbody id=\"history\">",
    );
    for item in history {
        history_row(&mut out, item);
    }
    out.push_str("</tbody></table></section></main></body></html>");
    out
}

/// One request on a page of its own (the link a webhook message points to).
pub(crate) fn detail(ctx: &PageContext<'_>, item: &QueuedApproval) -> String {
    let mut out = String::with_capacity(8192);
    head(&mut out, ctx.base, "preflight approval");
    let _ = write!(
        out,
        "<body data-base=\"{}\" data-now=\"{}\">",
        escape(ctx.base),
        ctx.now.0
    );
    top_bar(&mut out, ctx);
    out.push_str("<main><section class=\"pending\"><div id=\"pending\">");
    card(&mut out, ctx, item, true);
    let _ = write!(
        out,
        "</div><p><a href=\"{}\">All requests</a></p></section></main></body></html>",
        escape(&home(ctx.base))
    );
    out
}

/// How many pending requests the console shows in full; the others show their header line
/// (environment, tool, agent, age, expiry) and load the rest when unfolded, so that a queue of
/// a thousand stays fast to load. Without script, a folded card links to its own page.
pub(crate) const OPEN_CARDS: usize = 20;

/// A pending request as a card; a decided one shows its outcome instead of the form. Folded
/// (`open` false), only its header line shows until the person unfolds it.
pub(crate) fn card(out: &mut String, ctx: &PageContext<'_>, item: &QueuedApproval, open: bool) {
    let s = Summary::of(&item.request);
    let id = escape(&s.id);
    let base = escape(ctx.base);
    let status = effective_status(item, ctx.now);
    let env = if s.derived_environments.is_empty() {
        s.declared_environment
            .clone()
            .unwrap_or_else(|| "unknown".into())
    } else {
        s.derived_environments.join(", ")
    };
    let _ = write!(
        out,
        "<article class=\"card status-{status}{}\" id=\"req-{id}\" data-id=\"{id}\" \
data-requested=\"{}\" data-expires=\"{}\">\
<details{}><summary><span class=\"env\">{}</span><strong class=\"tool\">{}</strong>\
<span class=\"agent-name\">{}</span><span class=\"verdict\">{}</span><span class=\"times\">requested \
<time class=\"age\">{} ago</time> · <span class=\"expiry\">expires in {}</span></span></summary>",
        if open { "" } else { " folded" },
        s.requested_at.0,
        s.expires_at.0,
        if open { " open" } else { "" },
        escape(&env),
        escape(&s.tool),
        escape(&s.agent),
        escape(&s.decision),
        duration_text(ctx.now.0.saturating_sub(s.requested_at.0)),
        duration_text(s.expires_at.0.saturating_sub(ctx.now.0)),
    );
    if !open {
        let _ = write!(
            out,
            "<p class=\"unfold\"><a href=\"{base}/requests/{id}\">Open this request</a></p>\
</details></article>"
        );
        return;
    }
    if s.hidden_characters {
        let _ = write!(
            out,
            "<p class=\"warn hidden-characters\" role=\"alert\">{}</p>",
            escape(crate::view::HIDDEN_WARNING)
        );
    }
    out.push_str("<dl>");
    let mut agent = escape(&s.agent);
    if let Some(who) = &s.on_behalf_of {
        let _ = write!(agent, " <span class=\"muted\">for {}</span>", escape(who));
    }
    row_html(out, "agent", &agent);
    if let Some(task) = &s.task {
        row(out, "task", task);
    }
    let _ = write!(
        out,
        "<dt>reasoning</dt><dd><blockquote class=\"reasoning\">{}</blockquote></dd>",
        escape(s.reasoning.as_deref().unwrap_or("none given"))
    );
    if let Some(confidence) = &s.confidence {
        row(out, "confidence", confidence);
    }
    row(
        out,
        "environment",
        &format!(
            "declared {} · derived {}",
            s.declared_environment.as_deref().unwrap_or("none"),
            if s.derived_environments.is_empty() {
                "none".to_string()
            } else {
                s.derived_environments.join(", ")
            }
        ),
    );
    let _ = write!(
        out,
        "<dt>blast radius</dt><dd><span class=\"k\">declared</span> {}<br>\
<span class=\"k\">derived</span> <span class=\"{}\">{}</span>{}</dd>",
        escape(&s.declared_blast),
        if s.under_declared { "warn" } else { "" },
        escape(&s.derived_blast),
        if s.under_declared {
            " <span class=\"warn\">exceeds what the agent declared</span>"
        } else {
            ""
        }
    );
    out.push_str("<dt>effects</dt><dd><ul class=\"effects\">");
    if s.effects.is_empty() {
        out.push_str("<li class=\"muted\">none derived</li>");
    }
    for effect in &s.effects {
        let _ = write!(out, "<li>{}</li>", escape(effect));
    }
    for note in &s.notes {
        let _ = write!(out, "<li class=\"muted\">note: {}</li>", escape(note));
    }
    out.push_str("</ul></dd><dt>why asked</dt><dd><ul class=\"reasons\">");
    for reason in &s.reasons {
        let _ = write!(out, "<li>{}</li>", escape(reason));
    }
    out.push_str("</ul></dd>");
    if let Some(suggestion) = &s.suggestion {
        row(out, "suggestion", suggestion);
    }
    let _ = write!(
        out,
        "<dt>raw input</dt><dd><pre class=\"raw\">{}</pre></dd></dl>",
        escape(&s.raw_input)
    );
    match (status, ctx.csrf) {
        ("pending", csrf) => {
            let _ = write!(
                out,
                "<form method=\"post\" action=\"{base}/requests/{id}/decision\" class=\"decide\">\
<input type=\"hidden\" name=\"digest\" value=\"{}\">",
                escape(&s.digest)
            );
            if let Some(csrf) = csrf {
                let _ = write!(
                    out,
                    "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
                    escape(csrf)
                );
            }
            let _ = write!(
                out,
                "<p class=\"what-approving-does\">Approving lets this exact action run once: \
the agent gets a single-use permit bound to its digest, valid for {} seconds. A changed \
action needs a new approval.</p>\
<input type=\"text\" name=\"comment\" maxlength=\"500\" \
placeholder=\"comment (optional)\" aria-label=\"comment\">\
<button type=\"submit\" name=\"decision\" value=\"approve\" class=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"deny\">Deny</button></form>",
                ctx.permit_ttl_secs
            );
        }
        (other, _) => {
            let by = item
                .approval
                .as_ref()
                .map(|a| format!(" by {}", a.approver))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<p class=\"outcome\">{}{}</p>",
                escape(other),
                escape(&by)
            );
        }
    }
    let _ = write!(
        out,
        "<footer>request {id} · digest <code>{}</code></footer></details></article>",
        escape(&s.digest)
    );
}

/// A decided (or expired) request as a row of the history table.
pub(crate) fn history_row(out: &mut String, item: &QueuedApproval) {
    let request = &item.request;
    let (when, by, comment) = match &item.approval {
        Some(a) => (
            utc_text(a.decided_at),
            a.approver.as_str(),
            a.comment.as_deref().unwrap_or(""),
        ),
        None => (utc_text(request.expires_at), "nobody", ""),
    };
    let status = status_name(item.status);
    let _ = write!(
        out,
        "<tr id=\"hist-{}\"><td>{}</td><td>{}</td><td>{}</td>\
<td><span class=\"outcome-{status}\">{status}</span></td><td>{}</td><td>{}</td></tr>",
        escape(&request.id),
        escape(&when),
        escape(
            request
                .action
                .agent
                .id
                .as_deref()
                .unwrap_or("unknown agent")
        ),
        escape(&request.action.tool),
        escape(by),
        escape(comment),
    );
}

/// The sign-in form.
pub(crate) fn login(base: &str, message: Option<&str>) -> String {
    let mut out = String::with_capacity(1024);
    head(&mut out, base, "preflight: sign in");
    let _ = write!(
        out,
        "<body class=\"login\"><main><h1>preflight approvals</h1>{}\
<form method=\"post\" action=\"{}/login\"><label>Approver token \
<input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus>\
</label><button type=\"submit\">Sign in</button></form></main></body></html>",
        message
            .map(|m| format!("<p class=\"error\">{}</p>", escape(m)))
            .unwrap_or_default(),
        escape(base)
    );
    out
}

/// A short page explaining why something was refused.
pub(crate) fn message(base: &str, title: &str, message: &str) -> String {
    let mut out = String::with_capacity(1024);
    head(&mut out, base, title);
    let _ = write!(
        out,
        "<body><main><h1>{}</h1><p class=\"error\" id=\"message\">{}</p>\
<p><a href=\"{}\">Back to the console</a></p></main></body></html>",
        escape(title),
        escape(message),
        escape(&home(base))
    );
    out
}

fn row(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(text));
}

/// A row whose value is already escaped markup.
fn row_html(out: &mut String, name: &str, html: &str) {
    let _ = write!(out, "<dt>{}</dt><dd>{html}</dd>", escape(name));
}

fn effective_status(item: &QueuedApproval, now: Timestamp) -> &'static str {
    if item.status == ApprovalStatus::Pending && item.request.is_expired(now) {
        "expired"
    } else {
        status_name(item.status)
    }
}

fn status_name(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Pending => "pending",
        ApprovalStatus::Approved => "approved",
        ApprovalStatus::Denied => "denied",
        ApprovalStatus::Expired => "expired",
    }
}
