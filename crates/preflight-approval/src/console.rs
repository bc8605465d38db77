//! The web console: an [`axum::Router`] listing pending requests, live, with approve and deny.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::StreamExt as _;
use preflight_core::{
    Approval, ApprovalDecision, ApprovalStatus, ApprovalStore, QueueChange, QueuedApproval,
    StoreError, Timestamp,
};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::approver::ConsoleApprover;
use crate::error::Error;
use crate::html::{self, PageContext};

const COOKIE: &str = "preflight_session";
const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");
/// The policy every response carries: scripts and styles from this origin only, no inline
/// code, nothing from elsewhere, no framing.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const MAX_COMMENT: usize = 500;
const MIN_TOKEN_LEN: usize = 16;

/// The web console. Cheap to clone; clones share the store, tokens and sessions.
///
/// Build it with [`Console::builder`], serve [`Console::router`] (mount it with
/// [`axum::Router::nest`] at the same path as [`ConsoleBuilder::with_base_path`]), and give the
/// [`Gate`](preflight_core::Gate) a [`Console::approver`].
#[derive(Clone)]
pub struct Console {
    inner: Arc<Inner>,
}

impl fmt::Debug for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Console")
            .field("base_path", &self.inner.base)
            .field("approvers", &self.inner.tokens.len())
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Arc<dyn ApprovalStore>,
    /// `(token, identity)`; compared in constant time.
    tokens: Vec<(String, String)>,
    sessions: Mutex<HashMap<String, Session>>,
    base: String,
    history_limit: usize,
    secure_cookie: bool,
    session_ttl: Duration,
    permit_ttl: Duration,
}

struct Session {
    identity: String,
    csrf: String,
    created: Instant,
}

/// Builds a [`Console`].
#[derive(Debug)]
pub struct ConsoleBuilder {
    store: Arc<dyn ApprovalStore>,
    tokens: Vec<(String, String)>,
    base: String,
    history_limit: usize,
    secure_cookie: bool,
    session_ttl: Duration,
    permit_ttl: Duration,
}

impl Console {
    /// A console serving the queue in `store` (share the same store with the approvers).
    pub fn builder(store: Arc<dyn ApprovalStore>) -> ConsoleBuilder {
        ConsoleBuilder {
            store,
            tokens: Vec::new(),
            base: String::new(),
            history_limit: 50,
            secure_cookie: false,
            session_ttl: Duration::from_secs(12 * 3600),
            permit_ttl: preflight_core::DEFAULT_PERMIT_TTL,
        }
    }

    /// The routes: `GET /` (the console), `GET|POST /login`, `POST /logout`, `GET /events`
    /// (server-sent events), `GET /requests/{id}`, `POST /requests/{id}/decision`, the JSON API
    /// under `/api/requests`, and the static assets under `/assets`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(index))
            .route("/login", get(login_form).post(login))
            .route("/logout", post(logout))
            .route("/events", get(events))
            .route("/requests/{id}", get(detail))
            .route("/requests/{id}/decision", post(decide_form))
            .route("/fragments/requests/{id}", get(fragment))
            .route("/api/requests", get(api_pending))
            .route("/api/requests/{id}", get(api_get))
            .route("/api/requests/{id}/decision", post(api_decide))
            .route("/assets/console.css", get(css))
            .route("/assets/console.js", get(js))
            .layer(middleware::from_fn(security_headers))
            .with_state(Arc::clone(&self.inner))
    }

    /// An approver that queues requests into this console's store and waits for a decision.
    pub fn approver(&self) -> ConsoleApprover {
        ConsoleApprover::new(Arc::clone(&self.inner.store))
    }

    /// The store this console serves.
    pub fn store(&self) -> Arc<dyn ApprovalStore> {
        Arc::clone(&self.inner.store)
    }
}

impl ConsoleBuilder {
    /// Lets whoever presents `token` decide, recorded as `identity`. Add one per person.
    pub fn with_token(mut self, identity: impl Into<String>, token: impl Into<String>) -> Self {
        self.tokens.push((token.into(), identity.into()));
        self
    }

    /// Reads approvers from `PREFLIGHT_APPROVER_TOKENS`: `identity=token` pairs separated by
    /// commas, such as `alice@example.com=3f9c…,bob@example.com=77ab…`.
    pub fn with_tokens_from_env(mut self) -> Result<Self, Error> {
        let var = "PREFLIGHT_APPROVER_TOKENS";
        let value = std::env::var(var).map_err(|_| Error::config(var, "is not set"))?;
        for (n, pair) in value
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .enumerate()
        {
            let Some((identity, token)) = pair.split_once('=') else {
                return Err(Error::config(
                    var,
                    format!("entry {} is not `identity=token`", n + 1),
                ));
            };
            self = self.with_token(identity.trim(), token.trim());
        }
        Ok(self)
    }

    /// The path the router is mounted at, such as `/approvals` (default: the root).
    pub fn with_base_path(mut self, base: impl Into<String>) -> Self {
        self.base = base.into().trim_end_matches('/').to_string();
        self
    }

    /// How long the permit an approval leads to is valid, as the gate is configured
    /// (`GateBuilder::with_permit_ttl`; default [`preflight_core::DEFAULT_PERMIT_TTL`]): the
    /// console tells the person what approving does.
    pub fn with_permit_ttl(mut self, ttl: Duration) -> Self {
        self.permit_ttl = ttl;
        self
    }

    /// How many decided requests the history shows (default 50).
    pub fn with_history_limit(mut self, limit: usize) -> Self {
        self.history_limit = limit;
        self
    }

    /// Marks the session cookie `Secure` (serve the console over HTTPS when you set this).
    pub fn with_secure_cookie(mut self, secure: bool) -> Self {
        self.secure_cookie = secure;
        self
    }

    /// How long a browser session lasts (default 12 hours).
    pub fn with_session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// Builds the console. Fails without an approver token, with a token shorter than 16
    /// characters, or with a base path that does not start with `/`.
    pub fn build(self) -> Result<Console, Error> {
        if self.tokens.is_empty() {
            return Err(Error::config(
                "tokens",
                "at least one approver token is needed",
            ));
        }
        for (token, identity) in &self.tokens {
            if token.len() < MIN_TOKEN_LEN {
                return Err(Error::config(
                    "tokens",
                    format!("the token of {identity} is shorter than {MIN_TOKEN_LEN} characters"),
                ));
            }
            if identity.trim().is_empty() {
                return Err(Error::config("tokens", "an approver identity is empty"));
            }
        }
        if !self.base.is_empty()
            && (!self.base.starts_with('/') || self.base.contains(['"', '<', '>', '\'', ' ']))
        {
            return Err(Error::config(
                "base_path",
                "must start with `/` and contain no quotes, spaces or angle brackets",
            ));
        }
        Ok(Console {
            inner: Arc::new(Inner {
                store: self.store,
                tokens: self.tokens,
                sessions: Mutex::new(HashMap::new()),
                base: self.base,
                history_limit: self.history_limit,
                secure_cookie: self.secure_cookie,
                session_ttl: self.session_ttl,
                permit_ttl: self.permit_ttl,
            }),
        })
    }
}

/// A new random secret as 64 hex digits, from the operating system's generator.
pub(crate) fn secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::config("random", format!("no randomness available: {e}")))?;
    Ok(preflight_core::to_hex(&bytes))
}

/// The console's own page: `/` at the root, else the base path itself (a router nested at
/// `/approvals` answers `/approvals`).
pub(crate) fn home(base: &str) -> String {
    if base.is_empty() {
        "/".into()
    } else {
        base.to_string()
    }
}

/// Compares secrets without leaking where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    preflight_core::same_secret(a.as_bytes(), b.as_bytes())
}

/// Who is asking, and how they proved it.
struct Viewer {
    identity: String,
    /// The session's CSRF token for browser sessions; `None` for bearer tokens.
    csrf: Option<String>,
    session: Option<String>,
}

impl Inner {
    fn identity_of_token(&self, token: &str) -> Option<String> {
        let mut found = None;
        for (known, identity) in &self.tokens {
            if same_secret(known, token) && found.is_none() {
                found = Some(identity.clone());
            }
        }
        found
    }

    fn viewer(&self, headers: &HeaderMap) -> Option<Viewer> {
        if let Some(auth) = headers.get(header::AUTHORIZATION) {
            let token = auth.to_str().ok()?.strip_prefix("Bearer ")?.trim();
            return self.identity_of_token(token).map(|identity| Viewer {
                identity,
                csrf: None,
                session: None,
            });
        }
        let sid = cookie(headers, COOKIE)?;
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let session = sessions.get(&sid)?;
        if session.created.elapsed() > self.session_ttl {
            sessions.remove(&sid);
            return None;
        }
        Some(Viewer {
            identity: session.identity.clone(),
            csrf: Some(session.csrf.clone()),
            session: Some(sid),
        })
    }

    fn ctx<'a>(&'a self, viewer: &'a Viewer) -> PageContext<'a> {
        PageContext {
            base: &self.base,
            identity: &viewer.identity,
            csrf: viewer.csrf.as_deref(),
            now: Timestamp::now(),
            permit_ttl_secs: self.permit_ttl.as_secs(),
        }
    }

    fn cookie_path(&self) -> &str {
        if self.base.is_empty() {
            "/"
        } else {
            &self.base
        }
    }

    fn page(&self, status: StatusCode, title: &str, text: &str) -> Response {
        (status, Html(html::message(&self.base, title, text))).into_response()
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Refuses requests a browser marks as coming from another site.
fn cross_site(headers: &HeaderMap) -> bool {
    matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site" | "same-site")
    )
}

async fn security_headers(request: Request<axum::body::Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn unauthorized(inner: &Inner, headers: &HeaderMap) -> Response {
    // Browsers go to the sign-in form; API clients get a plain 401.
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && headers.get(header::AUTHORIZATION).is_none() {
        Redirect::to(&format!("{}/login", inner.base)).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a valid approver token is required",
        )
            .into_response()
    }
}

fn store_failed(inner: &Inner, error: &StoreError) -> Response {
    tracing::error!(%error, "approval store failed");
    inner.page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Approval store unavailable",
        &format!("the approval store failed: {error}"),
    )
}

async fn index(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let Some(viewer) = inner.viewer(&headers) else {
        return unauthorized(&inner, &headers);
    };
    let now = Timestamp::now();
    let pending = match inner.store.pending(now).await {
        Ok(p) => p,
        Err(e) => return store_failed(&inner, &e),
    };
    let history = match inner.store.history(inner.history_limit).await {
        Ok(h) => h,
        Err(e) => return store_failed(&inner, &e),
    };
    Html(html::index(&inner.ctx(&viewer), &pending, &history)).into_response()
}

async fn detail(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(viewer) = inner.viewer(&headers) else {
        return unauthorized(&inner, &headers);
    };
    match inner.store.get(&id).await {
        Ok(Some(item)) => Html(html::detail(&inner.ctx(&viewer), &item)).into_response(),
        Ok(None) => inner.page(
            StatusCode::NOT_FOUND,
            "Not found",
            "no such approval request",
        ),
        Err(e) => store_failed(&inner, &e),
    }
}

/// The markup of one request for live updates: a card while pending, a history row after.
async fn fragment(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(viewer) = inner.viewer(&headers) else {
        return unauthorized(&inner, &headers);
    };
    match inner.store.get(&id).await {
        Ok(Some(item)) => {
            let mut out = String::with_capacity(4096);
            if item.status == ApprovalStatus::Pending {
                html::card(&mut out, &inner.ctx(&viewer), &item, true);
            } else {
                html::history_row(&mut out, &item);
            }
            let kind = if item.status == ApprovalStatus::Pending {
                "pending"
            } else {
                "decided"
            };
            ([("x-preflight-kind", kind)], Html(out)).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "no such approval request").into_response(),
        Err(e) => store_failed(&inner, &e),
    }
}

async fn events(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if inner.viewer(&headers).is_none() {
        return unauthorized(&inner, &headers);
    }
    let stream = BroadcastStream::new(inner.store.subscribe()).map(|change| {
        Ok::<_, Infallible>(match change {
            Ok(QueueChange::Enqueued { id }) => Event::default().event("enqueued").data(id),
            Ok(QueueChange::Decided { id }) => Event::default().event("decided").data(id),
            // Missed changes: the page reloads itself.
            Err(BroadcastStreamRecvError::Lagged(_)) => {
                Event::default().event("resync").data("lagged")
            }
        })
    });
    // Tells the page the stream is up, so it can show itself as live. (An event with empty
    // data is never dispatched by browsers.)
    let hello = futures_util::stream::once(async {
        Ok::<_, Infallible>(Event::default().event("hello").data("live"))
    });
    Sse::new(hello.chain(stream))
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login_form(State(inner): State<Arc<Inner>>) -> Response {
    Html(html::login(&inner.base, None)).into_response()
}

async fn login(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if cross_site(&headers) {
        return inner.page(
            StatusCode::FORBIDDEN,
            "Refused",
            "cross-site sign-in refused",
        );
    }
    let Some(identity) = inner.identity_of_token(form.token.trim()) else {
        tracing::warn!("console sign-in with an unknown token");
        return (
            StatusCode::UNAUTHORIZED,
            Html(html::login(&inner.base, Some("That token is not valid."))),
        )
            .into_response();
    };
    let (sid, csrf) = match (secret(), secret()) {
        (Ok(sid), Ok(csrf)) => (sid, csrf),
        (Err(e), _) | (_, Err(e)) => {
            return inner.page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                &e.to_string(),
            );
        }
    };
    {
        let mut sessions = inner.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = inner.session_ttl;
        sessions.retain(|_, s| s.created.elapsed() <= ttl);
        sessions.insert(
            sid.clone(),
            Session {
                identity: identity.clone(),
                csrf,
                created: Instant::now(),
            },
        );
    }
    tracing::info!(approver = %identity, "console sign-in");
    let cookie = format!(
        "{COOKIE}={sid}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}{}",
        inner.cookie_path(),
        inner.session_ttl.as_secs(),
        if inner.secure_cookie { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(&home(&inner.base)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Some(viewer) = inner.viewer(&headers) {
        if let (Some(sid), Some(csrf)) = (viewer.session, viewer.csrf) {
            if !same_secret(&csrf, &form.csrf) || cross_site(&headers) {
                return inner.page(
                    StatusCode::FORBIDDEN,
                    "Refused",
                    "missing or wrong CSRF token",
                );
            }
            let mut sessions = inner.sessions.lock().unwrap_or_else(|p| p.into_inner());
            sessions.remove(&sid);
        }
    }
    let cookie = format!(
        "{COOKIE}=; Path={}; HttpOnly; SameSite=Strict; Max-Age=0",
        inner.cookie_path()
    );
    let mut response = Redirect::to(&format!("{}/login", inner.base)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    digest: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    csrf: String,
}

/// Why a decision was refused, with the status to answer.
struct Refusal(StatusCode, String);

fn parse_decision(text: &str) -> Result<ApprovalDecision, Refusal> {
    match text {
        "approve" | "approved" => Ok(ApprovalDecision::Approved),
        "deny" | "denied" => Ok(ApprovalDecision::Denied),
        other => Err(Refusal(
            StatusCode::BAD_REQUEST,
            format!("field `decision`: expected approve or deny, got `{other}`"),
        )),
    }
}

/// Records `decision` on request `id` for the action with `digest`, as `identity`.
async fn record(
    inner: &Inner,
    id: &str,
    decision: ApprovalDecision,
    digest: &str,
    comment: &str,
    identity: &str,
) -> Result<QueuedApproval, Refusal> {
    if comment.chars().count() > MAX_COMMENT {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            format!("field `comment`: longer than {MAX_COMMENT} characters"),
        ));
    }
    let item = match inner.store.get(id).await {
        Ok(Some(item)) => item,
        Ok(None) => {
            return Err(Refusal(
                StatusCode::NOT_FOUND,
                "no such approval request".into(),
            ));
        }
        Err(e) => return Err(Refusal(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
    };
    let digest = match serde_json::from_value(serde_json::Value::String(digest.to_string())) {
        Ok(digest) => digest,
        Err(_) => {
            return Err(Refusal(
                StatusCode::BAD_REQUEST,
                "field `digest`: not an action digest".into(),
            ));
        }
    };
    let mut approval = Approval::new(&item.request, decision, identity);
    // Bind the decision to the action the person saw, not to whatever the request holds now.
    approval.digest = digest;
    if !comment.trim().is_empty() {
        approval = approval.with_comment(comment.trim());
    }
    match inner.store.decide(&approval).await {
        Ok(done) => {
            tracing::info!(request_id = %id, approver = %identity, %decision, "approval decided");
            Ok(done)
        }
        Err(StoreError::Conflict(why)) => Err(Refusal(
            StatusCode::CONFLICT,
            format!("this request can no longer be decided: {why}"),
        )),
        Err(e) => Err(Refusal(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
    }
}

async fn decide_form(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let Some(viewer) = inner.viewer(&headers) else {
        return unauthorized(&inner, &headers);
    };
    if let Some(csrf) = &viewer.csrf {
        if !same_secret(csrf, &form.csrf) || cross_site(&headers) {
            tracing::warn!(request_id = %id, "decision refused: CSRF check failed");
            return inner.page(
                StatusCode::FORBIDDEN,
                "Refused",
                "missing or wrong CSRF token; reload the console and try again",
            );
        }
    }
    let decision = match parse_decision(&form.decision) {
        Ok(d) => d,
        Err(Refusal(status, why)) => return inner.page(status, "Refused", &why),
    };
    match record(
        &inner,
        &id,
        decision,
        &form.digest,
        &form.comment,
        &viewer.identity,
    )
    .await
    {
        Ok(_) => Redirect::to(&home(&inner.base)).into_response(),
        Err(Refusal(status, why)) => inner.page(status, "Not recorded", &why),
    }
}

async fn api_pending(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if inner.viewer(&headers).is_none() {
        return unauthorized(&inner, &headers);
    }
    match inner.store.pending(Timestamp::now()).await {
        Ok(items) => axum::Json(items).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn api_get(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if inner.viewer(&headers).is_none() {
        return unauthorized(&inner, &headers);
    }
    match inner.store.get(&id).await {
        Ok(Some(item)) => axum::Json(item).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such approval request").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// The body of `POST /api/requests/{id}/decision`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiDecision {
    /// `approve` or `deny`.
    pub decision: String,
    /// The digest of the action being decided, as shown in the request.
    pub digest: String,
    /// An optional comment.
    #[serde(default)]
    pub comment: Option<String>,
}

async fn api_decide(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // Only bearer tokens: a browser session must use the form, with its CSRF token.
    let viewer = match inner.viewer(&headers) {
        Some(v) if v.session.is_none() => v,
        _ => return unauthorized(&inner, &headers),
    };
    let decision: ApiDecision = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("invalid decision: {e}")).into_response();
        }
    };
    let parsed = match parse_decision(&decision.decision) {
        Ok(d) => d,
        Err(Refusal(status, why)) => return (status, why).into_response(),
    };
    let comment = decision.comment.unwrap_or_default();
    match record(
        &inner,
        &id,
        parsed,
        &decision.digest,
        &comment,
        &viewer.identity,
    )
    .await
    {
        Ok(done) => axum::Json(done).into_response(),
        Err(Refusal(status, why)) => (status, why).into_response(),
    }
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
        .into_response()
}
