//! Cloud deployment targets and account usages, as the server models them.
//!
//! `POST /api/{space}/machines` creates a target whose endpoint signs in with an account of
//! the space: an Azure Web App (`CommunicationStyle` `AzureWebApp`, `Endpoint.AccountId`, an
//! Azure account) or a Kubernetes cluster (`Kubernetes`, `Endpoint.Authentication` with
//! `AuthenticationType` `KubernetesAws` / `KubernetesAzure` / `KubernetesGoogleCloud` and its
//! `AccountId`, an account of that cloud). It is validated like the server does (name unique
//! in the space, at least one environment and one target tag, every environment and tenant in
//! the space, the account present and of the endpoint's cloud) and answers 201 with the
//! `DeploymentTargetResource`. `GET /api/{space}/accounts/{id}/usages` answers the
//! `AccountUsageResource`: `Targets` (`TargetId`, `TargetName`) are the targets whose endpoint
//! names the account; the other lists are empty (the sandbox has no deployment processes,
//! releases or variables).
//!
//! Deliberately absent: other endpoint styles (listening/polling Tentacles and SSH targets
//! are seeded, not created), modifying or deleting targets, and health checks themselves.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::accounts::{AWS_OIDC, AZURE_OIDC, GOOGLE_OIDC, parse_json};
use super::errors::OctopusError;
use super::model::{DeploymentTarget, slugify};
use crate::json_fields::string_list;

/// The account types a Kubernetes authentication type signs in with.
fn kubernetes_account_type(authentication_type: &str) -> Option<&'static str> {
    match authentication_type {
        "KubernetesAws" => Some(AWS_OIDC),
        "KubernetesAzure" => Some(AZURE_OIDC),
        "KubernetesGoogleCloud" => Some(GOOGLE_OIDC),
        _ => None,
    }
}

/// The account a target's endpoint signs in with, read from the endpoint as the server
/// stores it.
pub fn endpoint_account(endpoint: &Value) -> Option<&str> {
    match endpoint.get("CommunicationStyle").and_then(Value::as_str) {
        Some("AzureWebApp") => endpoint.get("AccountId").and_then(Value::as_str),
        Some("Kubernetes") => endpoint
            .get("Authentication")
            .and_then(|a| a.get("AccountId"))
            .and_then(Value::as_str),
        _ => None,
    }
}

/// Adds an error for each id of `wanted` that `known` (id, space) has not in `space_id`.
fn unknown_in_space<'a>(
    wanted: &[String],
    known: impl Iterator<Item = (&'a String, &'a String)> + Clone,
    space_id: &str,
    what: &str,
    errors: &mut Vec<String>,
) {
    for id in wanted {
        if !known.clone().any(|(k, space)| k == id && space == space_id) {
            errors.push(format!("The {what} '{id}' does not exist in this space."));
        }
    }
}

/// `POST /api/{space}/machines`.
pub async fn create(
    State(app): State<AppState>,
    Path(space): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let body = parse_json(&body)?;
    let mut state = app.write();
    let mut errors = Vec::new();
    let name = body
        .get("Name")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        errors.push("Please provide a name for the deployment target.".to_string());
    }
    let in_space = state
        .inventory
        .deployment_targets
        .iter()
        .filter(|t| t.space_id == space_id);
    if in_space.clone().any(|t| t.name.eq_ignore_ascii_case(&name)) {
        errors.push(format!(
            "A deployment target with the name '{name}' already exists in this space."
        ));
    }
    let environment_ids = string_list(&body, "EnvironmentIds");
    if environment_ids.is_empty() {
        errors.push("Please select at least one environment for the deployment target.".into());
    }
    let inv = &state.inventory;
    let environments = inv.environments.iter().map(|e| (&e.id, &e.space_id));
    unknown_in_space(
        &environment_ids,
        environments,
        &space_id,
        "environment",
        &mut errors,
    );
    let roles = string_list(&body, "Roles");
    if roles.is_empty() {
        errors.push("Please specify at least one target tag for the deployment target.".into());
    }
    let tenant_ids = string_list(&body, "TenantIds");
    let tenants = inv.tenants.iter().map(|t| (&t.id, &t.space_id));
    unknown_in_space(&tenant_ids, tenants, &space_id, "tenant", &mut errors);
    let endpoint = body.get("Endpoint").cloned().unwrap_or(Value::Null);
    let style = endpoint
        .get("CommunicationStyle")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let wanted_type = match style.as_str() {
        "AzureWebApp" => Some(AZURE_OIDC),
        "Kubernetes" => {
            let kind = endpoint
                .get("Authentication")
                .and_then(|a| a.get("AuthenticationType"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let wanted = kubernetes_account_type(kind);
            if wanted.is_none() {
                errors.push(format!(
                    "The sandbox models Kubernetes authentication types KubernetesAws, KubernetesAzure and KubernetesGoogleCloud, not '{kind}'."
                ));
            }
            wanted
        }
        other => {
            errors.push(format!(
                "The sandbox creates deployment targets of the styles AzureWebApp and Kubernetes, not '{other}'."
            ));
            None
        }
    };
    if let Some(wanted) = wanted_type {
        match endpoint_account(&endpoint) {
            None => errors.push("Please select the account the deployment target uses.".into()),
            Some(id) => match state.account(&space_id, id) {
                None => errors.push(format!("The account '{id}' does not exist in this space.")),
                Some(a) if a.get("AccountType").and_then(Value::as_str) != Some(wanted) => {
                    errors.push(format!(
                        "The account '{id}' is not an account of type {wanted}, which this endpoint signs in with."
                    ))
                }
                Some(_) => {}
            },
        }
    }
    if !errors.is_empty() {
        return Err(OctopusError::validation(errors));
    }
    let slug = body
        .get("Slug")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| slugify(&name), str::to_string);
    let participation = body
        .get("TenantedDeploymentParticipation")
        .and_then(Value::as_str)
        .unwrap_or("Untenanted")
        .to_string();
    let id = state.next_id("Machines");
    let target = DeploymentTarget {
        id,
        space_id: space_id.clone(),
        name,
        slug,
        environment_ids,
        roles,
        tenant_ids,
        tenanted_deployment_participation: participation,
        communication_style: style,
        host: String::new(),
        thumbprint: String::new(),
        operating_system: "Unknown".into(),
        shell_name: "Unknown".into(),
        health_status: "Unknown".into(),
        is_disabled: body
            .get("IsDisabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        machine_policy_id: "MachinePolicies-1".into(),
        cloud_endpoint: Some(endpoint),
    };
    let resource = target.resource();
    // Alphabetical by name within the space, as listed.
    let targets = &mut state.inventory.deployment_targets;
    let at = targets
        .iter()
        .position(|t| t.space_id == space_id && t.name.to_lowercase() > target.name.to_lowercase())
        .or_else(|| {
            targets
                .iter()
                .rposition(|t| t.space_id == space_id)
                .map(|i| i + 1)
        })
        .unwrap_or(targets.len());
    targets.insert(at, target);
    drop(state);
    app.cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
    Ok((StatusCode::CREATED, axum::Json(resource)).into_response())
}

/// `GET /api/{space}/accounts/{id}/usages`.
pub async fn account_usages(
    State(app): State<AppState>,
    Path((space, id)): Path<(String, String)>,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let state = app.read();
    if state.account(&space_id, &id).is_none() {
        return Err(OctopusError::not_found());
    }
    let targets: Vec<Value> = state
        .inventory
        .deployment_targets
        .iter()
        .filter(|t| t.space_id == space_id)
        .filter(|t| {
            t.cloud_endpoint
                .as_ref()
                .and_then(endpoint_account)
                .is_some_and(|a| a == id)
        })
        .map(|t| json!({"TargetId": t.id, "TargetName": t.name}))
        .collect();
    Ok(axum::Json(json!({
        "Id": null, "Targets": targets, "DeploymentProcesses": [], "RunbookProcesses": [],
        "Releases": [], "RunbookSnapshots": [], "ProjectVariableSets": [],
        "LibraryVariableSets": [], "ProjectTenantVariables": [], "CommonTenantVariables": [],
        "LastModifiedBy": null, "LastModifiedOn": null, "Links": {},
    }))
    .into_response())
}
