//! `preflight serve`: the HTTP API for agents in any language, and the approval console.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use preflight_core::{Action, Checked, Decision, Gate, Outcome, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::CliError;
use crate::hosts::Host;
use crate::hosts::run::{AllowMeans, answer_with_gate};

/// The OpenAPI document of the service, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Decisions waiting for their outcome report, by proposal id; bounded so that agents that
/// never report cannot grow it without limit.
const MAX_AWAITING: usize = 10_000;

#[derive(Clone)]
struct AppState {
    gate: Gate,
    token: Arc<str>,
    awaiting: Arc<Mutex<HashMap<Arc<str>, Checked>>>,
}

/// The service's routes. `token` is the bearer token every `/v1` request must present;
/// `console`, when given, is mounted under `/console`.
pub fn router(gate: Gate, token: String, console: Option<Router>) -> Router {
    let state = AppState {
        gate,
        token: Arc::from(token),
        awaiting: Arc::new(Mutex::new(HashMap::new())),
    };
    let api = Router::new()
        .route("/v1/verify", post(verify))
        .route("/v1/outcome", post(outcome))
        .route("/v1/hooks/{host}", post(hook))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
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

/// Compares in time independent of where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if same_secret(token.trim().as_bytes(), state.token.as_bytes()) => {
            next.run(request).await
        }
        Some(_) => problem(StatusCode::UNAUTHORIZED, "invalid bearer token"),
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

async fn verify(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid action: field `.`: not UTF-8",
        );
    };
    let action = match Action::from_json(text) {
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
        permit_id: permit.as_ref().map(|p| p.id().to_string()),
        permit_expires_at: permit
            .as_ref()
            .and_then(|p| serde_json::to_value(p.expires_at()).ok()),
        effects: checked
            .inspection
            .as_ref()
            .map(|i| i.effects.clone())
            .unwrap_or_default(),
        verdict: Verdict::clone(&checked.verdict),
    };
    if permit.is_some() {
        let mut awaiting = state.awaiting.lock().unwrap_or_else(|p| p.into_inner());
        if awaiting.len() >= MAX_AWAITING {
            awaiting.clear();
        }
        awaiting.insert(Arc::clone(&checked.proposal_id), checked);
    }
    axum::Json(response).into_response()
}

/// `POST /v1/hooks/{host}`: a host's hook payload in, the host's answer out, as
/// `preflight hook <host>` would print it. A block that the command would express by its exit
/// code is the host's deny in the body.
async fn hook(State(state): State<AppState>, Path(host): Path<String>, body: Bytes) -> Response {
    let Some(host) = Host::from_name(&host) else {
        return problem(
            StatusCode::NOT_FOUND,
            format!("no hook for `{host}`: expected claude-code, codex, gemini, cursor or copilot"),
        );
    };
    let reply = match std::str::from_utf8(&body) {
        Ok(text) => answer_with_gate(&state.gate, host, text, AllowMeans::Defer).await,
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

async fn outcome(State(state): State<AppState>, body: Bytes) -> Response {
    let mut deserializer = serde_json::Deserializer::from_slice(&body);
    let report: OutcomeReport = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(report) => report,
        Err(e) => {
            let field = e.path().to_string();
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
    let checked = state
        .awaiting
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(report.proposal_id.as_str());
    let Some(checked) = checked else {
        return problem(
            StatusCode::NOT_FOUND,
            format!(
                "no allowed action awaits an outcome under proposal {}",
                report.proposal_id
            ),
        );
    };
    let outcome = Outcome {
        success: report.success,
        error: report.error,
        duration_ms: report.duration_ms,
    };
    match state.gate.report_outcome(&checked, outcome).await {
        Ok(()) => (StatusCode::NO_CONTENT, ()).into_response(),
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }

    #[test]
    fn the_openapi_document_is_json_and_names_the_routes() {
        let document: Value = serde_json::from_str(OPENAPI).unwrap();
        assert!(document["paths"]["/v1/verify"]["post"].is_object());
        assert!(document["paths"]["/v1/outcome"]["post"].is_object());
        assert!(document["paths"]["/v1/hooks/{host}"]["post"].is_object());
    }
}
