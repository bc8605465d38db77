//! `preflight serve`: the HTTP API for agents in any language, and the approval console.

mod identity;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::{Extension, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use preflight_audit::{AuditStore, Filter};
use preflight_core::{
    Action, ActionDigest, AuditEvent, AuditKind, Decision, Gate, Outcome, Timestamp, Verdict,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::CliError;
use crate::hosts::Host;
use crate::hosts::run::{AllowMeans, answer_with_gate};
use crate::oversized::BoundedInput;

pub use identity::{AGENT_TOKENS, Identities, Identity};

/// The OpenAPI document of the service, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

#[derive(Clone)]
struct AppState {
    gate: Gate,
    identities: Arc<Identities>,
    /// The gate's audit store: outcomes are recorded there, so a restart loses none.
    store: AuditStore,
}

/// The service's routes. Every `/v1` request presents one of `identities`' bearer tokens, and
/// acts as the agent it names; `store` is the gate's audit store; `console`, when given, is
/// mounted under `/console`.
pub fn router(
    gate: Gate,
    identities: Identities,
    store: AuditStore,
    console: Option<Router>,
) -> Router {
    let state = AppState {
        gate,
        identities: Arc::new(identities),
        store,
    };
    let api = Router::new()
        .route("/v1/verify", post(verify))
        .route("/v1/outcome", post(outcome))
        .route("/v1/permits/{id}/redeem", post(redeem))
        .route("/v1/hooks/{host}", post(hook))
        // After the token: only an authenticated agent's oversized body is put on record.
        .route_layer(middleware::from_fn_with_state(state.clone(), bound_body))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        // A backstop: `bound_body` has read every body already, within this limit.
        .layer(axum::extract::DefaultBodyLimit::max(body_limit()))
        .with_state(state);
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(openapi))
        .merge(api);
    if let Some(console) = console {
        app = app.nest("/console", console);
    }
    app
}

/// Serves `app` on `listen` until interrupted; prints the address to standard output first.
pub async fn run(app: Router, listen: &str) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::io(format!("listening on {listen}"), e))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::io("reading the listening address", e))?;
    println!("preflight serve listening on http://{address}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| CliError::io("serving", e))
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

fn body_limit() -> usize {
    usize::try_from(crate::engine::MAX_INPUT_BYTES).unwrap_or(usize::MAX)
}

/// Reads the body within the limit and hands it on; past the limit it is only counted and
/// hashed, and refused (`413`, naming the limit) with its size, digest and first bytes on
/// record.
async fn bound_body(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, mut body) = request.into_parts();
    let mut input = BoundedInput::default();
    let ended = loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => break true,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if !input.push(data) {
                        break false;
                    }
                }
            }
            Some(Err(e)) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    format!("reading the body: {e}; the action must not run"),
                );
            }
        }
    };
    let oversized = match input.finish(ended) {
        Ok(bytes) => {
            return next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
        }
        Err(oversized) => oversized,
    };
    let mut message = oversized.message("the body");
    let source = format!("serve {}", parts.uri.path());
    if let Err(e) = oversized
        .record(&state.store, &source, identity.agent.as_deref(), &message)
        .await
    {
        message = format!("{message} (and it could not be recorded: {e})");
    }
    problem(StatusCode::PAYLOAD_TOO_LARGE, message)
}

async fn require_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented.map(|token| state.identities.find(token.trim())) {
        Some(Some(identity)) => {
            request.extensions_mut().insert(identity.clone());
            next.run(request).await
        }
        Some(None) => problem(StatusCode::UNAUTHORIZED, "invalid bearer token"),
        None => {
            let mut response = problem(
                StatusCode::UNAUTHORIZED,
                "missing bearer token: send `Authorization: Bearer <token>`",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"preflight\""),
            );
            response
        }
    }
}

/// The answer of `POST /v1/verify`.
#[derive(Debug, Serialize)]
struct VerifyResponse {
    proposal_id: String,
    decision: Decision,
    allowed: bool,
    message: String,
    rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suggestion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permit_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permit_expires_at: Option<Value>,
    effects: Vec<preflight_core::Effect>,
    verdict: preflight_core::Verdict,
}

async fn verify(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid action: field `.`: not UTF-8",
        );
    };
    let mut action = match Action::from_json(text) {
        Ok(action) => action,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({
                    "error": e.to_string(),
                    "field": e.field,
                    "line": e.line,
                    "column": e.column,
                })),
            )
                .into_response();
        }
    };
    if let Err(refusal) = identity.bind(&mut action) {
        return problem(StatusCode::FORBIDDEN, refusal);
    }
    let mut checked = match state.gate.check(action).await {
        Ok(checked) => checked,
        Err(e) => {
            // Nothing was allowed: the agent must not run the action.
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("could not verify, the action must not run: {e}"),
            );
        }
    };
    let permit = checked.permit.take();
    let message = if checked.message.is_empty() {
        checked.verdict.summary()
    } else {
        checked.message.clone()
    };
    let response = VerifyResponse {
        proposal_id: checked.proposal_id.to_string(),
        decision: checked.decision,
        allowed: permit.is_some(),
        message,
        rules: checked
            .verdict
            .deciding_rules()
            .into_iter()
            .map(String::from)
            .collect(),
        suggestion: checked.verdict.suggestion.clone(),
        permit_expires_at: permit
            .as_ref()
            .and_then(|p| serde_json::to_value(p.expires_at()).ok()),
        // Handed across the process boundary: redeemed once, for this action, through
        // `POST /v1/permits/{id}/redeem`.
        permit_id: permit.map(preflight_core::Permit::into_token),
        effects: checked
            .inspection
            .as_ref()
            .map(|i| i.effects.clone())
            .unwrap_or_default(),
        verdict: Verdict::clone(&checked.verdict),
    };
    axum::Json(response).into_response()
}

/// The body of `POST /v1/permits/{id}/redeem`: the digest of what is about to run, or the
/// action itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemRequest {
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    action: Option<Value>,
}

/// `POST /v1/permits/{id}/redeem`: succeeds once, for exactly the action the permit was
/// issued for, before it expires; the agent runs the action only after a 200.
async fn redeem(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let request: RedeemRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                format!(
                    "invalid redemption: {e}; expected {{\"digest\": \"<64 hex digits>\"}} or {{\"action\": {{…}}}}"
                ),
            );
        }
    };
    let digest = match (request.digest, request.action) {
        (Some(hex), None) => match ActionDigest::from_hex(hex.trim()) {
            Some(digest) => digest,
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "invalid redemption: field `digest`: expected 64 hex digits",
                );
            }
        },
        (None, Some(value)) => match Action::from_value(value) {
            Ok(mut action) => {
                if let Err(refusal) = identity.bind(&mut action) {
                    return problem(StatusCode::FORBIDDEN, refusal);
                }
                action.digest()
            }
            Err(e) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "invalid redemption: field `action{}`: {}",
                        e.field, e.message
                    ),
                );
            }
        },
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid redemption: give exactly one of `digest` and `action`",
            );
        }
    };
    match state.gate.redeem_digest(&id, &digest) {
        Ok(()) => axum::Json(json!({ "redeemed": true, "permit_id": id })).into_response(),
        Err(error) => problem(
            StatusCode::CONFLICT,
            format!("{error}: the action must not run"),
        ),
    }
}

/// `POST /v1/hooks/{host}`: a host's hook payload in, the host's answer out, as
/// `preflight hook <host>` would print it. A block that the command would express by its exit
/// code is the host's deny in the body.
async fn hook(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(host): Path<String>,
    body: Bytes,
) -> Response {
    let Some(host) = Host::from_name(&host) else {
        return problem(
            StatusCode::NOT_FOUND,
            format!("no hook for `{host}`: expected claude-code, codex, gemini, cursor or copilot"),
        );
    };
    let reply = match std::str::from_utf8(&body) {
        Ok(text) => {
            answer_with_gate(
                &state.gate,
                host,
                text,
                identity.agent.as_deref(),
                AllowMeans::Defer,
            )
            .await
        }
        Err(_) => host.block("hook payload: not UTF-8"),
    }
    .over_http(host);
    match reply.stdout {
        Some(value) => axum::Json(value).into_response(),
        None => (StatusCode::OK, "").into_response(),
    }
}

/// The body of `POST /v1/outcome`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeReport {
    proposal_id: String,
    success: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    duration_ms: u64,
}

async fn outcome(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Response {
    let mut deserializer = serde_json::Deserializer::from_slice(&body);
    let report: OutcomeReport = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(report) => report,
        Err(e) => {
            let field = preflight_core::field_name(e.path());
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({
                    "error": format!("invalid outcome: field `{field}`: {}", e.inner()),
                    "field": field,
                })),
            )
                .into_response();
        }
    };
    // The proposal's records, from the audit store: an outcome is accepted once, for an
    // action that was allowed, from the agent it was allowed for, whenever it comes.
    let records = match state
        .store
        .query(&Filter::new().with_proposal(report.proposal_id.clone()))
        .await
    {
        Ok(records) => records,
        Err(e) => return problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let Some(permitted) = records
        .iter()
        .find(|r| matches!(r.event.kind, AuditKind::Permitted { .. }))
    else {
        return problem(
            StatusCode::NOT_FOUND,
            format!(
                "no allowed action awaits an outcome under proposal {}",
                report.proposal_id
            ),
        );
    };
    if let Some(agent) = &identity.agent {
        if permitted.event.agent.as_deref() != Some(&**agent) {
            return problem(
                StatusCode::FORBIDDEN,
                format!(
                    "proposal {} belongs to another agent than `{agent}`",
                    report.proposal_id
                ),
            );
        }
    }
    if records
        .iter()
        .any(|r| matches!(r.event.kind, AuditKind::Completed { .. }))
    {
        return problem(
            StatusCode::NOT_FOUND,
            format!(
                "no allowed action awaits an outcome under proposal {}: it was reported",
                report.proposal_id
            ),
        );
    }
    let event = AuditEvent {
        proposal_id: Arc::clone(&permitted.event.proposal_id),
        digest: permitted.event.digest,
        at: Timestamp::now(),
        agent: permitted.event.agent.clone(),
        tool: Arc::clone(&permitted.event.tool),
        kind: AuditKind::Completed {
            outcome: Outcome {
                success: report.success,
                error: report.error,
                duration_ms: report.duration_ms,
            },
        },
    };
    match state.store.append_events(&[event]).await {
        Ok(()) => (StatusCode::NO_CONTENT, ()).into_response(),
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_is_json_and_names_the_routes() {
        let document: Value = serde_json::from_str(OPENAPI).unwrap();
        assert!(document["paths"]["/v1/verify"]["post"].is_object());
        assert!(document["paths"]["/v1/outcome"]["post"].is_object());
        assert!(document["paths"]["/v1/hooks/{host}"]["post"].is_object());
        assert!(document["paths"]["/v1/permits/{id}/redeem"]["post"].is_object());
    }
}
