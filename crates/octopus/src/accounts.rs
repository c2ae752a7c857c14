//! Octopus accounts (`AzureOidc`, `AmazonWebServicesOidcAccount`, any flat account body):
//! find by name or slug, create or update idempotently, delete, and run the account test.
//!
//! Account bodies are flat JSON (`AccountType` and the type's fields next to `Name`), as the
//! Go and C# clients send them — not the swagger's `CreateAccountCommand{Details}`. Ensuring
//! an account observes first: no account with that name → `POST` (Created); an account whose
//! fields already equal every field of the desired body → nothing sent (Unchanged); otherwise
//! the server's resource with the desired fields laid over it → `PUT` (Updated). `AccountType`
//! is write-once on the server, so a same-named account of another type is a conflict.
//!
//! Field comparison treats `null`, a missing field, `""` and `[]` alike, compares arrays of
//! strings as sets (the subject-key order does not matter to Octopus) and numbers with their
//! string form (`SessionDuration` is a string on the wire).
//!
//! Deliberately absent: building account bodies from a trust spec (the core's job) and
//! secret-bearing account types (access keys, client secrets).

use octo_oidc_core::ports::{Applied, OctopusAccount, OctopusResource, TaskResult};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::RestOctopus;
use crate::error::OctopusError;
use crate::inventory::LeanResource;

/// An account as listed (summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    /// `Accounts-N`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// `AccountType`, e.g. `AzureOidc`.
    pub account_type: String,
}

impl From<LeanResource> for AccountSummary {
    fn from(mut a: LeanResource) -> Self {
        let account_type = a.account_type.take().unwrap_or_default();
        let OctopusResource { id, name, slug } = a.into();
        AccountSummary {
            id,
            name,
            slug,
            account_type,
        }
    }
}

/// Fields the server owns; never compared, never taken from the desired body.
const READ_ONLY_FIELDS: &[&str] = &["Id", "Links", "LastModifiedBy", "LastModifiedOn"];

fn account_from_resource(body: Value) -> Result<OctopusAccount, OctopusError> {
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    let id = field("Id").ok_or_else(|| OctopusError::UnexpectedResponse {
        operation: "account".into(),
        detail: "the account resource has no Id".into(),
    })?;
    let slug = field("Slug").unwrap_or_default();
    Ok(OctopusAccount { id, slug, body })
}

/// Whether a value counts as "not set".
fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Whether two field values mean the same to Octopus.
pub(crate) fn same_value(desired: &Value, actual: &Value) -> bool {
    if is_unset(desired) && is_unset(actual) {
        return true;
    }
    match (desired, actual) {
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => {
            a.to_string() == *b
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return false;
            }
            if a.iter().chain(b.iter()).all(Value::is_string) {
                let mut a: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                let mut b: Vec<&str> = b.iter().filter_map(Value::as_str).collect();
                a.sort_unstable();
                b.sort_unstable();
                a == b
            } else {
                a.iter().zip(b.iter()).all(|(x, y)| same_value(x, y))
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            let keys = a.keys().chain(b.keys());
            keys.into_iter().all(|k| {
                same_value(
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        _ => desired == actual,
    }
}

/// The desired fields that differ from the existing resource.
pub(crate) fn differing_fields(desired: &Map<String, Value>, existing: &Value) -> Vec<String> {
    desired
        .iter()
        .filter(|(k, _)| !READ_ONLY_FIELDS.contains(&k.as_str()))
        .filter(|(k, v)| !same_value(v, existing.get(k.as_str()).unwrap_or(&Value::Null)))
        .map(|(k, _)| k.clone())
        .collect()
}

impl RestOctopus {
    /// Every account of a space (summaries).
    pub async fn accounts(&self, space_id: &str) -> Result<Vec<AccountSummary>, OctopusError> {
        self.in_space(format!("api/{space_id}/accounts")).await
    }

    /// One account by id; `None` when it does not exist.
    pub async fn account(
        &self,
        space_id: &str,
        account_id: &str,
    ) -> Result<Option<OctopusAccount>, OctopusError> {
        match self
            .transport
            .get_json::<Value>(&format!("api/{space_id}/accounts/{account_id}"), &[])
            .await
        {
            Ok(body) => account_from_resource(body).map(Some),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The ids of the deployment targets that use an account: `GET
    /// /api/{space}/accounts/{id}/usages` (`AccountUsageResource.Targets[].TargetId`).
    pub async fn account_target_ids(
        &self,
        space_id: &str,
        account_id: &str,
    ) -> Result<Vec<String>, OctopusError> {
        #[derive(Deserialize)]
        struct Usages {
            #[serde(rename = "Targets", default)]
            targets: Vec<TargetUsage>,
        }
        #[derive(Deserialize)]
        struct TargetUsage {
            #[serde(rename = "TargetId")]
            target_id: String,
        }
        let usages: Usages = self
            .transport
            .get_json(&format!("api/{space_id}/accounts/{account_id}/usages"), &[])
            .await?;
        Ok(usages.targets.into_iter().map(|t| t.target_id).collect())
    }

    /// The account with this name (names are unique per space; an exact match wins over one
    /// that differs only in case).
    pub async fn find_account_by_name(
        &self,
        space_id: &str,
        name: &str,
    ) -> Result<Option<OctopusAccount>, OctopusError> {
        let mut candidates: Vec<Value> = self
            .list_paged(
                &format!("api/{space_id}/accounts"),
                &[("partialName", name.to_string())],
            )
            .await?;
        // Exact first; else the one differing only in case (names are unique regardless of
        // case on the server, so that one is "ours" and a PUT fixes its casing).
        let wanted = name.trim();
        let name_of = |a: &Value| {
            a.get("Name")
                .and_then(Value::as_str)
                .map(str::trim)
                .map(str::to_string)
        };
        let exact = candidates
            .iter()
            .position(|a| name_of(a).as_deref() == Some(wanted));
        let position = exact.or_else(|| {
            candidates
                .iter()
                .position(|a| name_of(a).is_some_and(|n| n.eq_ignore_ascii_case(wanted)))
        });
        position
            .map(|i| account_from_resource(candidates.swap_remove(i)))
            .transpose()
    }

    /// The account with this slug.
    pub async fn find_account_by_slug(
        &self,
        space_id: &str,
        slug: &str,
    ) -> Result<Option<OctopusAccount>, OctopusError> {
        let summaries = self.accounts(space_id).await?;
        match summaries.into_iter().find(|a| a.slug == slug) {
            Some(summary) => self.account(space_id, &summary.id).await,
            None => Ok(None),
        }
    }

    /// [`Self::apply_account`] for an account a lookup has just found absent: `POST`s it
    /// without looking again. A refused create (the name is taken after all: a race, a
    /// resumed crash) falls back to `apply_account` when an account of that name exists.
    pub async fn create_absent_account(
        &self,
        space_id: &str,
        desired: &Value,
    ) -> Result<Applied<OctopusAccount>, OctopusError> {
        let Some(body) = desired.as_object() else {
            return self.apply_account(space_id, desired).await;
        };
        match self.post_account(space_id, body).await {
            Ok(created) => Ok(Applied::Created(created)),
            Err(
                refused @ OctopusError::Http {
                    status: 400 | 409, ..
                },
            ) => {
                let name = body.get("Name").and_then(Value::as_str).unwrap_or_default();
                match self.find_account_by_name(space_id, name.trim()).await? {
                    Some(_) => self.apply_account(space_id, desired).await,
                    None => Err(refused),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn post_account(
        &self,
        space_id: &str,
        desired: &Map<String, Value>,
    ) -> Result<OctopusAccount, OctopusError> {
        let mut body = desired.clone();
        body.entry("SpaceId")
            .or_insert_with(|| Value::String(space_id.to_string()));
        let created: Value = self
            .transport
            .send_json(Method::POST, &format!("api/{space_id}/accounts"), &body)
            .await?;
        let created = account_from_resource(created)?;
        tracing::info!(account = %created.id, "created Octopus account");
        Ok(created)
    }

    /// Creates the account, or updates only what differs (see the module docs).
    pub async fn apply_account(
        &self,
        space_id: &str,
        desired: &Value,
    ) -> Result<Applied<OctopusAccount>, OctopusError> {
        let invalid = |problem: &str| OctopusError::InvalidConfig {
            field: "account",
            problem: problem.to_string(),
        };
        let desired = desired
            .as_object()
            .ok_or_else(|| invalid("the account body must be a JSON object"))?;
        let name = desired
            .get("Name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid("the account body needs a Name"))?;
        let account_type = desired
            .get("AccountType")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("the account body needs an AccountType"))?;

        let Some(existing) = self.find_account_by_name(space_id, name).await? else {
            return self
                .post_account(space_id, desired)
                .await
                .map(Applied::Created);
        };

        let existing_type = existing
            .body
            .get("AccountType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if existing_type != account_type {
            return Err(OctopusError::Conflict(format!(
                "an account named `{name}` already exists in {space_id} as {existing_type} ({}); the account type cannot be changed to {account_type}",
                existing.id
            )));
        }
        let changed = differing_fields(desired, &existing.body);
        if changed.is_empty() {
            return Ok(Applied::Unchanged(existing));
        }
        let mut body = existing.body.clone();
        if let Some(object) = body.as_object_mut() {
            for field in &changed {
                if let Some(value) = desired.get(field) {
                    object.insert(field.clone(), value.clone());
                }
            }
        }
        tracing::info!(account = %existing.id, fields = ?changed, "updating Octopus account");
        let updated: Value = self
            .transport
            .send_json(
                Method::PUT,
                &format!("api/{space_id}/accounts/{}", existing.id),
                &body,
            )
            .await?;
        Ok(Applied::Updated(account_from_resource(updated)?))
    }

    /// Deletes an account; returns whether it existed.
    pub async fn remove_account(
        &self,
        space_id: &str,
        account_id: &str,
    ) -> Result<bool, OctopusError> {
        match self
            .transport
            .delete(&format!("api/{space_id}/accounts/{account_id}"))
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Queues the `TestAccount` task and follows it to the end (see `tasks`).
    pub async fn run_account_test(
        &self,
        space_id: &str,
        account_id: &str,
    ) -> Result<TaskResult, OctopusError> {
        let command = serde_json::json!({
            "Name": "TestAccount",
            "Description": "Test account",
            "SpaceId": space_id,
            "Arguments": { "AccountId": account_id },
        });
        let task: crate::tasks::TaskState = self
            .transport
            .send_json(Method::POST, &format!("api/{space_id}/tasks"), &command)
            .await?;
        tracing::info!(task = %task.id, account = account_id, "queued the account test");
        self.follow_task(space_id, &task.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_meaning_is_not_a_difference() {
        let existing = json!({
            "Id": "Accounts-1", "Name": "azure", "AccountType": "AzureOidc",
            "SessionDuration": "3600", "Description": null,
            "DeploymentSubjectKeys": ["space", "environment"], "EnvironmentIds": [],
            "Links": {"Self": "/x"}
        });
        let desired = json!({
            "Name": "azure", "AccountType": "AzureOidc", "SessionDuration": 3600,
            "Description": "", "DeploymentSubjectKeys": ["environment", "space"],
            "TenantIds": [], "Id": "ignored"
        });
        let desired = desired.as_object().expect("object");
        assert!(differing_fields(desired, &existing).is_empty());
    }

    #[test]
    fn real_differences_are_listed() {
        let existing = json!({"Name": "aws", "RoleArn": "arn:aws:iam::1:role/a",
            "DeploymentSubjectKeys": ["space"], "CustomClaims": {"a": "1"}});
        let desired = json!({"Name": "aws", "RoleArn": "arn:aws:iam::1:role/b",
            "DeploymentSubjectKeys": ["space", "project"], "CustomClaims": {"a": "2"}});
        let desired = desired.as_object().expect("object");
        let mut fields = differing_fields(desired, &existing);
        fields.sort();
        assert_eq!(fields, ["CustomClaims", "DeploymentSubjectKeys", "RoleArn"]);
    }
}
