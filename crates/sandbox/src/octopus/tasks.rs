//! Server tasks: the account test (`TestAccount`) run for real, task status and log, and a
//! sandbox-only endpoint that mints and trades a deployment / runbook token.
//!
//! The account test mints the token Octopus would (account-test subject keys, the account's
//! audience) and trades it over HTTP: with the sandbox Entra token endpoint (client-assertion
//! grant, `client_id` = `ClientId`, tenant = `TenantId`) for Azure accounts, or with STS
//! `AssumeRoleWithWebIdentity` (`RoleArn`, `DurationSeconds` = `SessionDuration`) for AWS, or
//! with Google's STS `v1/token` (`audience` = the account's `Audience`) for Google Cloud — then,
//! when a deployment names the step's service account (`ServiceAccountEmail`, what Calamari
//! gets from `Octopus.Action.GoogleCloud.ServiceAccountEmails`), `generateAccessToken` with
//! `TokenLifetimeSeconds`; the account test has no service account, so it stops after STS. The
//! task finishes `Success`, or `Failed` with the service's own error in `ErrorMessage` and the
//! log. `POST /api/_sandbox/deployment-tokens` does the same for a deployment or runbook run.
//!
//! Deliberately absent: every other task type (400), cancellation, rerun, queue ordering.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use octo_oidc_core::subject::{Context, SubjectValues};
use serde_json::{Map, Value, json};

use super::AppState;
use super::accounts::{AWS_OIDC, AZURE_OIDC, GOOGLE_OIDC, parse_json};
use super::errors::OctopusError;
use super::inventory::by_id_or_slug;
use super::issuer::{MintedToken, TokenRequest, mint_for_account};
use super::model::{ServerTask, TaskLogLine, now_rfc3339};
use super::paging::{QueryParams, page};
use crate::json_fields;

/// What a token trade with the cloud side returned.
#[derive(Debug, Clone)]
pub struct TradeOutcome {
    /// Whether the cloud accepted the token.
    pub succeeded: bool,
    /// `entra` or `sts`.
    pub service: &'static str,
    /// What happened, in one line (the service's own error on failure).
    pub message: String,
}

impl TradeOutcome {
    /// The cloud accepted the token.
    fn accepted(service: &'static str, message: String) -> TradeOutcome {
        TradeOutcome {
            succeeded: true,
            service,
            message,
        }
    }

    /// The cloud (or the sandbox before asking it) refused the token.
    fn refused(service: &'static str, message: String) -> TradeOutcome {
        TradeOutcome {
            succeeded: false,
            service,
            message,
        }
    }
}

fn str_field<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Text between `<tag>` and `</tag>` in an XML body (enough for STS responses).
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// Trades a minted token with the cloud side of `account`; `service_account` is the Google
/// service account a step impersonates (ignored for other clouds).
pub async fn trade(
    app: &AppState,
    account: &Map<String, Value>,
    token: &MintedToken,
    service_account: Option<&str>,
) -> TradeOutcome {
    let traded = match str_field(account, "AccountType") {
        AZURE_OIDC => trade_with_entra(app, account, token).await,
        AWS_OIDC => trade_with_sts(app, account, token).await,
        GOOGLE_OIDC => trade_with_google(app, account, token, service_account).await,
        other => Err(TradeOutcome::refused(
            "none",
            format!("Account type '{other}' cannot be tested."),
        )),
    };
    traded.unwrap_or_else(|refused| refused)
}

/// One cloud's answer to a trade: `Ok` when it accepted the token, `Err` when it (or the
/// sandbox before asking it) refused.
type Trade = Result<TradeOutcome, TradeOutcome>;

/// The configured URL of the cloud side an account type is tested against; refused by
/// `service` ("The sandbox has no {what} configured to test {accounts} accounts against.")
/// when the sandbox was started without it.
fn configured<'c>(
    url: &'c Option<String>,
    service: &'static str,
    what: &str,
    accounts: &str,
) -> Result<&'c str, TradeOutcome> {
    url.as_deref().ok_or_else(|| {
        TradeOutcome::refused(
            service,
            format!("The sandbox has no {what} configured to test {accounts} accounts against."),
        )
    })
}

/// Sends an account-test request to the cloud side; refused by `service` ("Could not reach
/// {target}: …") when it cannot be sent.
async fn send(
    request: reqwest::RequestBuilder,
    service: &'static str,
    target: &str,
) -> Result<reqwest::Response, TradeOutcome> {
    request
        .send()
        .await
        .map_err(|e| TradeOutcome::refused(service, format!("Could not reach {target}: {e}")))
}

/// [`send`], then the answer's status and JSON body (`Null` when the body is not JSON).
async fn send_json(
    request: reqwest::RequestBuilder,
    service: &'static str,
    target: &str,
) -> Result<(reqwest::StatusCode, Value), TradeOutcome> {
    let response = send(request, service, target).await?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn trade_with_entra(
    app: &AppState,
    account: &Map<String, Value>,
    token: &MintedToken,
) -> Trade {
    let fail = |message: String| TradeOutcome::refused("entra", message);
    let authority = configured(
        &app.config.entra_authority,
        "entra",
        "Entra authority",
        "Azure",
    )?;
    let tenant = str_field(account, "TenantId");
    let client_id = str_field(account, "ClientId");
    let url = format!(
        "{}/{tenant}/oauth2/v2.0/token",
        authority.trim_end_matches('/')
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", "https://management.azure.com/.default"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", token.jwt.as_str()),
    ];
    let request = app.http.post(&url).form(&form);
    let target = format!("the Entra token endpoint {url}");
    let (status, body) = send_json(request, "entra", &target).await?;
    if status.is_success() && body.get("access_token").is_some() {
        Ok(TradeOutcome::accepted(
            "entra",
            format!(
                "Entra ID issued an access token to application {client_id} in tenant {tenant}."
            ),
        ))
    } else {
        let description = body
            .get("error_description")
            .and_then(Value::as_str)
            .or_else(|| body.get("error").and_then(Value::as_str))
            .unwrap_or("no error description");
        Err(fail(format!(
            "Entra ID rejected the token (HTTP {}): {description}",
            status.as_u16()
        )))
    }
}

async fn trade_with_sts(
    app: &AppState,
    account: &Map<String, Value>,
    token: &MintedToken,
) -> Trade {
    let fail = |message: String| TradeOutcome::refused("sts", message);
    let endpoint = configured(&app.config.aws_endpoint, "sts", "AWS endpoint", "AWS")?;
    // Accounts saved before the region became required keep deploying but fail the test.
    if str_field(account, "Region").is_empty()
        && super::accounts::requires_aws_region(&app.config.version)
    {
        return Err(fail(super::accounts::REGION_REQUIRED.into()));
    }
    let duration = match str_field(account, "SessionDuration") {
        "" => "3600",
        d => d,
    };
    let session = format!("octopus-account-test-{}", uuid::Uuid::new_v4().simple());
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", str_field(account, "RoleArn")),
        ("RoleSessionName", session.as_str()),
        ("WebIdentityToken", token.jwt.as_str()),
        ("DurationSeconds", duration),
    ];
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    let request = app.http.post(&url).form(&form);
    let response = send(request, "sts", &format!("AWS STS at {url}")).await?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() && body.contains("AssumeRoleWithWebIdentityResult") {
        let arn = xml_text(&body, "Arn").unwrap_or("the role");
        Ok(TradeOutcome::accepted(
            "sts",
            format!("AWS STS issued temporary credentials for {arn}."),
        ))
    } else {
        let code = xml_text(&body, "Code").unwrap_or("UnknownError");
        let message = xml_text(&body, "Message").unwrap_or("no message");
        Err(fail(format!(
            "AWS STS rejected the token (HTTP {}): {code}: {message}",
            status.as_u16()
        )))
    }
}

/// Google's STS exchange, then `generateAccessToken` when a service account is named.
async fn trade_with_google(
    app: &AppState,
    account: &Map<String, Value>,
    token: &MintedToken,
    service_account: Option<&str>,
) -> Trade {
    let fail = TradeOutcome::refused;
    let endpoint = configured(
        &app.config.gcp_endpoint,
        "gcp-sts",
        "Google Cloud endpoint",
        "Google Cloud",
    )?;
    let base = endpoint.trim_end_matches('/');
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("audience", str_field(account, "Audience")),
        ("scope", "https://www.googleapis.com/auth/cloud-platform"),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
        ("subject_token", token.jwt.as_str()),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
    ];
    let url = format!("{base}/v1/token");
    let request = app.http.post(&url).form(&form);
    let (status, body) = send_json(request, "gcp-sts", &format!("Google STS at {url}")).await?;
    let Some(federated) = body
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|_| status.is_success())
    else {
        let error = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error");
        let description = body
            .get("error_description")
            .and_then(Value::as_str)
            .unwrap_or("no error description");
        return Err(fail(
            "gcp-sts",
            format!(
                "Google STS rejected the token (HTTP {}): {error}: {description}",
                status.as_u16()
            ),
        ));
    };
    let Some(email) = service_account.filter(|e| !e.trim().is_empty()) else {
        return Ok(TradeOutcome::accepted(
            "gcp-sts",
            "Google STS issued a federated access token for the workload identity pool.".into(),
        ));
    };
    let lifetime = match str_field(account, "TokenLifetimeSeconds") {
        "" => "3600",
        l => l,
    };
    let url = format!("{base}/v1/projects/-/serviceAccounts/{email}:generateAccessToken");
    let request = json!({
        "scope": ["https://www.googleapis.com/auth/cloud-platform"],
        "lifetime": format!("{lifetime}s"),
    });
    let request = app.http.post(&url).bearer_auth(federated).json(&request);
    let target = format!("IAM Credentials at {url}");
    let (status, body) = send_json(request, "gcp-iamcredentials", &target).await?;
    if status.is_success() && body.get("accessToken").is_some() {
        Ok(TradeOutcome::accepted(
            "gcp-iamcredentials",
            format!("Google issued an access token for service account {email}."),
        ))
    } else {
        let status_code = body["error"]["status"].as_str().unwrap_or("UNKNOWN");
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("no error message");
        Err(fail(
            "gcp-iamcredentials",
            format!(
                "generateAccessToken for {email} was refused (HTTP {}): {status_code}: {message}",
                status.as_u16()
            ),
        ))
    }
}

fn log(task: &mut ServerTask, category: &str, text: impl Into<String>) {
    task.log.push(TaskLogLine {
        category: category.into(),
        text: text.into(),
        occurred: now_rfc3339(),
    });
}

fn update_task(app: &AppState, id: &str, f: impl FnOnce(&mut ServerTask)) {
    let mut state = app.write();
    if let Some(task) = state.tasks.iter_mut().find(|t| t.id == id) {
        f(task);
    }
}

/// The slugs of the account-test context for `account` in `space_id`.
fn account_test_values(
    app: &AppState,
    space_id: &str,
    account: &Map<String, Value>,
) -> SubjectValues {
    let state = app.read();
    SubjectValues {
        space: state.space(space_id).map(|s| s.slug.clone()),
        account: Some(str_field(account, "Slug").to_string()),
        ..SubjectValues::default()
    }
}

async fn run_account_test(app: AppState, task_id: String, space_id: String, account_id: String) {
    update_task(&app, &task_id, |t| {
        t.state = "Executing".into();
        t.start_time = Some(now_rfc3339());
        log(t, "Info", format!("Testing account {account_id}"));
    });
    let account = app.read().account(&space_id, &account_id).cloned();
    let outcome = match account {
        None => Err(format!(
            "The account '{account_id}' was not found in space '{space_id}'."
        )),
        Some(account) => {
            let values = account_test_values(&app, &space_id, &account);
            let request = TokenRequest {
                context: Context::AccountTest,
                values,
            };
            match mint_for_account(&app, &account, &request) {
                Err(e) => Err(format!("Could not create the OIDC token: {e}")),
                Ok(token) => {
                    update_task(&app, &task_id, |t| {
                        log(
                            t,
                            "Info",
                            format!(
                                "Requesting a token with subject '{}' and audience '{}' from issuer '{}'",
                                token.subject, token.audience, app.config.issuer
                            ),
                        );
                    });
                    let outcome = trade(&app, &account, &token, None).await;
                    if outcome.succeeded {
                        Ok(outcome.message)
                    } else {
                        Err(outcome.message)
                    }
                }
            }
        }
    };
    update_task(&app, &task_id, |t| {
        t.completed_time = Some(now_rfc3339());
        match outcome {
            Ok(message) => {
                log(t, "Info", message);
                log(t, "Info", "The account test succeeded.");
                t.state = "Success".into();
            }
            Err(message) => {
                log(t, "Error", message.clone());
                t.state = "Failed".into();
                t.error_message = Some(message);
            }
        }
    });
}

/// `POST /api/{space}/tasks` and `POST /api/tasks` → 201 TaskResource.
pub async fn create(
    State(app): State<AppState>,
    space: Option<Path<String>>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let body = parse_json(&body)?;
    let url_space = match space {
        Some(Path(s)) => Some(app.resolve_space(&s)?),
        None => None,
    };
    let name = json_fields::str_field(&body, "Name")
        .unwrap_or("")
        .trim()
        .to_string();
    let description = json_fields::str_field(&body, "Description")
        .unwrap_or("")
        .to_string();
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push("The Name field is required.".to_string());
    }
    if description.is_empty() {
        errors.push("The Description field is required.".to_string());
    }
    if !errors.is_empty() {
        return Err(OctopusError::validation(errors));
    }
    if name != "TestAccount" {
        return Err(OctopusError::bad_request(format!(
            "The sandbox runs only 'TestAccount' tasks; '{name}' is not supported."
        )));
    }
    let space_id = match (url_space, body.get("SpaceId").and_then(Value::as_str)) {
        (Some(url), Some(b)) if !b.is_empty() && b != url => {
            return Err(OctopusError::bad_request(format!(
                "The SpaceId in the body ('{b}') does not match the space in the URL ('{url}')."
            )));
        }
        (Some(url), _) => url,
        (None, Some(b)) if !b.is_empty() => app.resolve_space(b)?,
        (None, _) => "Spaces-1".to_string(),
    };
    let arguments = body.get("Arguments").cloned().unwrap_or(json!({}));
    let account_id = arguments
        .get("AccountId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if account_id.is_empty() {
        return Err(OctopusError::validation(vec![
            "The AccountId argument is required for TestAccount tasks.".into(),
        ]));
    }
    if app.read().account(&space_id, &account_id).is_none() {
        return Err(OctopusError::bad_request(format!(
            "The account '{account_id}' was not found in space '{space_id}'."
        )));
    }
    let task = {
        let mut state = app.write();
        let task = ServerTask {
            id: state.next_id("ServerTasks"),
            name,
            description,
            space_id: Some(space_id.clone()),
            arguments,
            state: "Queued".into(),
            error_message: None,
            log: vec![],
            queue_time: now_rfc3339(),
            start_time: None,
            completed_time: None,
        };
        state.tasks.push(task.clone());
        task
    };
    tokio::spawn(run_account_test(
        app.clone(),
        task.id.clone(),
        space_id,
        account_id,
    ));
    Ok((StatusCode::CREATED, axum::Json(task.resource())).into_response())
}

/// `POST /api/tasks` (unscoped form).
pub async fn create_unscoped(
    State(app): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    create(State(app), None, body).await
}

/// `POST /api/{space}/tasks` (scoped form).
pub async fn create_scoped(
    State(app): State<AppState>,
    Path(space): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    create(State(app), Some(Path(space)), body).await
}

fn find_task(app: &AppState, id: &str) -> Result<ServerTask, OctopusError> {
    app.read()
        .tasks
        .iter()
        .find(|t| t.id == id)
        .cloned()
        .ok_or_else(OctopusError::not_found)
}

/// `GET /api/tasks/{id}`.
pub async fn get(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, OctopusError> {
    Ok(axum::Json(find_task(&app, &id)?.resource()).into_response())
}

/// `GET /api/{space}/tasks/{id}`.
pub async fn get_scoped(
    State(app): State<AppState>,
    Path((_space, id)): Path<(String, String)>,
) -> Result<Response, OctopusError> {
    get(State(app), Path(id)).await
}

/// `GET /api/tasks/{id}/details`: the task and its activity log.
pub async fn details(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, OctopusError> {
    let task = find_task(&app, &id)?;
    let status = match task.state.as_str() {
        "Success" => "Success",
        "Failed" => "Failed",
        "Executing" => "Running",
        _ => "Pending",
    };
    let elements: Vec<Value> = task
        .log
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"Id": format!("{}-{i}", task.id), "Category": l.category, "MessageText": l.text, "OccurredAt": l.occurred}))
        .collect();
    Ok(axum::Json(json!({
        "Task": task.resource(),
        "ActivityLogs": [{
            "Id": format!("ServerTasks-{}-root", task.id),
            "Name": task.description,
            "Status": status,
            "Started": task.start_time,
            "Ended": task.completed_time,
            "LogElements": elements,
            "Children": [],
        }],
        "PhysicalLogSize": 0,
        "Progress": {"ProgressPercentage": if task.is_completed() { 100 } else { 0 }, "EstimatedTimeRemaining": null},
    }))
    .into_response())
}

/// `GET /api/{space}/tasks/{id}/details`.
pub async fn details_scoped(
    State(app): State<AppState>,
    Path((_space, id)): Path<(String, String)>,
) -> Result<Response, OctopusError> {
    details(State(app), Path(id)).await
}

/// `GET /api/tasks?skip&take&name&states`.
pub async fn list(State(app): State<AppState>, q: QueryParams) -> Result<Response, OctopusError> {
    let (skip, take) = q.skip_take()?;
    let states = q.list("states");
    let state = app.read();
    let items: Vec<&ServerTask> = state
        .tasks
        .iter()
        .rev()
        .filter(|t| q.get("name").is_none_or(|n| n.is_empty() || t.name == n))
        .filter(|t| states.is_empty() || states.contains(&t.state))
        .collect();
    Ok(page("Task", "/api/tasks", &items, skip, take, |t| {
        t.resource()
    }))
}

/// `POST /api/_sandbox/deployment-tokens`: mint the token of a deployment or runbook run for an
/// account and trade it (sandbox only).
///
/// Body: `{"AccountId", "SpaceId"?, "ProjectId", "EnvironmentId"?, "TenantId"?, "RunbookId"?,
/// "Trade"?: bool, "ServiceAccountEmail"?}`; ids or slugs (`ServiceAccountEmail`: the Google
/// service account the step impersonates). Answers `{Subject, Audience, Issuer, Token, Exchange?}`.
pub async fn deployment_token(
    State(app): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let body = parse_json(&body)?;
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let space_id = app.resolve_space(field("SpaceId").unwrap_or("Spaces-1"))?;
    let account_id = field("AccountId")
        .ok_or_else(|| OctopusError::validation(vec!["AccountId is required.".into()]))?;
    let (account, values, context) = {
        let state = app.read();
        let account = state
            .account(&space_id, account_id)
            .cloned()
            .ok_or_else(|| {
                OctopusError::bad_request(format!("The account '{account_id}' was not found."))
            })?;
        let inv = &state.inventory;
        let mut errors = Vec::new();
        let project = by_id_or_slug(&inv.projects, &space_id, field("ProjectId"));
        let environment = by_id_or_slug(&inv.environments, &space_id, field("EnvironmentId"));
        let tenant = by_id_or_slug(&inv.tenants, &space_id, field("TenantId"));
        let runbook = by_id_or_slug(&inv.runbooks, &space_id, field("RunbookId"));
        for (key, found) in [
            ("ProjectId", project.is_some()),
            ("EnvironmentId", environment.is_some()),
            ("TenantId", tenant.is_some()),
            ("RunbookId", runbook.is_some()),
        ] {
            if let Some(raw) = field(key)
                && !found
            {
                errors.push(format!(
                    "{key} '{raw}' was not found in space '{space_id}'."
                ));
            }
        }
        if project.is_none() && field("ProjectId").is_none() {
            errors.push("ProjectId is required.".into());
        }
        if !errors.is_empty() {
            return Err(OctopusError::validation(errors));
        }
        let group_slug = project
            .and_then(|p| {
                inv.project_groups
                    .iter()
                    .find(|pg| pg.id == p.project_group_id)
            })
            .map(|pg| pg.slug.clone());
        let context = if runbook.is_some() {
            Context::RunbookRun
        } else {
            Context::Deployment
        };
        let values = SubjectValues {
            space: state.space(&space_id).map(|s| s.slug.clone()),
            project_group: group_slug,
            project: project.map(|p| p.slug.clone()),
            runbook: runbook.map(|r| r.slug.clone()),
            tenant: tenant.map(|t| t.slug.clone()),
            environment: environment.map(|e| e.slug.clone()),
            account: Some(str_field(&account, "Slug").to_string()),
            ..SubjectValues::default()
        };
        (account, values, context)
    };
    let token = mint_for_account(&app, &account, &TokenRequest { context, values })
        .map_err(|e| OctopusError::bad_request(format!("Could not create the OIDC token: {e}")))?;
    let mut out = json!({
        "Subject": token.subject,
        "Audience": token.audience,
        "Issuer": app.config.issuer,
        "Token": token.jwt,
    });
    if body.get("Trade").and_then(Value::as_bool).unwrap_or(true) {
        let outcome = trade(&app, &account, &token, field("ServiceAccountEmail")).await;
        out["Exchange"] = json!({
            "Service": outcome.service,
            "Succeeded": outcome.succeeded,
            "Message": outcome.message,
        });
    }
    Ok(axum::Json(out).into_response())
}
