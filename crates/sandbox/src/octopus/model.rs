//! The sandbox Octopus's stored objects and their wire form.
//!
//! Objects are stored in plain structs (serde, persisted in the state file) and rendered as the
//! resources the real server returns (PascalCase fields, `Id`, `Name`, `Slug`, `SpaceId`,
//! `Links`, and the swagger fields a client of this wizard reads). Accounts are kept as the flat
//! JSON object they were posted as (after validation), because that is their wire format.
//!
//! Deliberately absent: the many resource fields that only matter to deployments (processes,
//! variables, channels, lifecycles' phases); they are rendered with neutral defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An Octopus space.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Space {
    /// `Spaces-N`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Description.
    pub description: String,
    /// Whether this is the default space.
    pub is_default: bool,
}

impl Space {
    /// The `SpaceResource` wire form.
    pub fn resource(&self) -> Value {
        json!({
            "Id": self.id, "Name": self.name, "Slug": self.slug, "Description": self.description,
            "IsDefault": self.is_default, "IsPrivate": false, "TaskQueueStopped": false,
            "SpaceManagersTeams": [format!("teams-spacemanagers-{}", self.id)],
            "SpaceManagersTeamMembers": [], "ExtensionSettings": [],
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/spaces/{}", self.id),
                "SpaceHome": format!("/api/{}", self.id),
                "Web": format!("/app#/spaces/{}", self.id),
            }
        })
    }
}

/// An environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    /// `Environments-N`.
    pub id: String,
    /// Owning space.
    pub space_id: String,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Description.
    pub description: String,
    /// Position in the environment list.
    pub sort_order: u32,
}

impl Environment {
    /// The `EnvironmentResource` wire form.
    pub fn resource(&self) -> Value {
        json!({
            "Id": self.id, "SpaceId": self.space_id, "Name": self.name, "Slug": self.slug,
            "Description": self.description, "SortOrder": self.sort_order,
            "UseGuidedFailure": false, "AllowDynamicInfrastructure": false,
            "EnvironmentTags": [], "ExtensionSettings": [],
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/{}/environments/{}", self.space_id, self.id),
                "Machines": format!("/api/{}/environments/{}/machines{{?skip,take,partialName,roles,isDisabled,healthStatuses,commStyles,tenantIds,tenantTags,shellNames,deploymentTargetTypes}}", self.space_id, self.id),
                "Web": format!("/app#/{}/infrastructure/environments/{}", self.space_id, self.id),
            }
        })
    }
}

/// A project group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectGroup {
    /// `ProjectGroups-N`.
    pub id: String,
    /// Owning space.
    pub space_id: String,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Description.
    pub description: String,
}

impl ProjectGroup {
    /// The `ProjectGroupResource` wire form.
    pub fn resource(&self) -> Value {
        json!({
            "Id": self.id, "SpaceId": self.space_id, "Name": self.name, "Slug": self.slug,
            "Description": self.description, "EnvironmentIds": [], "RetentionPolicyId": null,
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/{}/projectgroups/{}", self.space_id, self.id),
                "Projects": format!("/api/{}/projectgroups/{}/projects{{?skip,take}}", self.space_id, self.id),
            }
        })
    }
}

/// A project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    /// `Projects-N`.
    pub id: String,
    /// Owning space.
    pub space_id: String,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Description.
    pub description: String,
    /// Owning project group.
    pub project_group_id: String,
    /// `Untenanted`, `TenantedOrUntenanted` or `Tenanted`.
    pub tenanted_deployment_mode: String,
}

impl Project {
    /// The `ProjectResource` wire form (the fields that matter outside deployments).
    pub fn resource(&self) -> Value {
        let n = self.id.trim_start_matches("Projects-");
        json!({
            "Id": self.id, "SpaceId": self.space_id, "Name": self.name, "Slug": self.slug,
            "Description": self.description, "ProjectGroupId": self.project_group_id,
            "LifecycleId": "Lifecycles-1", "IsDisabled": false, "IsVersionControlled": false,
            "TenantedDeploymentMode": self.tenanted_deployment_mode,
            "DeploymentProcessId": format!("deploymentprocess-{}", self.id),
            "VariableSetId": format!("variableset-{}", self.id),
            "IncludedLibraryVariableSetIds": [], "ProjectTags": [],
            "DefaultGuidedFailureMode": "EnvironmentDefault", "AutoCreateRelease": false,
            "DiscreteChannelRelease": false, "ClonedFromProjectId": null,
            "ExtensionSettings": [], "Templates": [],
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/{}/projects/{}", self.space_id, self.id),
                "Runbooks": format!("/api/{}/projects/{}/runbooks{{?skip,take,partialName}}", self.space_id, self.id),
                "Web": format!("/app#/{}/projects/{}", self.space_id, n),
            }
        })
    }
}

/// A tenant and the project/environment pairs it is connected to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    /// `Tenants-N`.
    pub id: String,
    /// Owning space.
    pub space_id: String,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Description.
    pub description: String,
    /// Project id → environment ids.
    pub project_environments: BTreeMap<String, Vec<String>>,
    /// Canonical `TagSet/Tag` names.
    pub tenant_tags: Vec<String>,
}

impl Tenant {
    /// The `TenantResource` wire form.
    pub fn resource(&self) -> Value {
        json!({
            "Id": self.id, "SpaceId": self.space_id, "Name": self.name, "Slug": self.slug,
            "Description": self.description, "ProjectEnvironments": self.project_environments,
            "TenantTags": self.tenant_tags, "IsDisabled": false, "ClonedFromTenantId": null,
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/{}/tenants/{}", self.space_id, self.id),
                "Variables": format!("/api/{}/tenants/{}/variables", self.space_id, self.id),
            }
        })
    }
}

/// A runbook, which belongs to a project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Runbook {
    /// `Runbooks-N`.
    pub id: String,
    /// Owning space.
    pub space_id: String,
    /// Owning project.
    pub project_id: String,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Description.
    pub description: String,
}

impl Runbook {
    /// The `RunbookResource` wire form.
    pub fn resource(&self) -> Value {
        json!({
            "Id": self.id, "SpaceId": self.space_id, "ProjectId": self.project_id,
            "Name": self.name, "Slug": self.slug, "Description": self.description,
            "RunbookProcessId": format!("RunbookProcess-{}", self.id),
            "PublishedRunbookSnapshotId": null, "MultiTenancyMode": "Untenanted",
            "EnvironmentScope": "All", "Environments": [], "RunbookTags": [],
            "DefaultGuidedFailureMode": "EnvironmentDefault", "ForcePackageDownload": false,
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/{}/runbooks/{}", self.space_id, self.id),
                "Project": format!("/api/{}/projects/{}", self.space_id, self.project_id),
            }
        })
    }
}

/// A user (a person or a service account).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// `Users-N`.
    pub id: String,
    /// Login name, unique (case-insensitive).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Email, if any.
    pub email_address: Option<String>,
    /// Whether this is a service account.
    pub is_service: bool,
    /// Whether the user can sign in.
    pub is_active: bool,
    /// The service account's GUID (`ExternalId`, what GitHub tokens use as audience).
    pub external_id: Option<String>,
    /// Creation time (RFC 3339).
    pub created: String,
}

impl User {
    /// The `UserResource` wire form.
    pub fn resource(&self) -> Value {
        json!({
            "Id": self.id, "Username": self.username, "DisplayName": self.display_name,
            "EmailAddress": self.email_address, "IsService": self.is_service,
            "IsActive": self.is_active, "IsRequestor": false, "CanPasswordBeEdited": !self.is_service,
            "Created": self.created, "Identities": [],
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/users/{}", self.id),
                "Permissions": format!("/api/users/{}/permissions", self.id),
                "ApiKeys": format!("/api/users/{}/apikeys{{/id}}{{?skip,take}}", self.id),
                "Teams": format!("/api/users/{}/teams{{?includeSystem}}", self.id),
            }
        })
    }
}

/// A team.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Team {
    /// E.g. `teams-administrators` (built-in) or `Teams-N`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Description.
    pub description: String,
    /// `None` = a system team.
    pub space_id: Option<String>,
    /// Member user ids.
    pub member_user_ids: Vec<String>,
    /// Whether members can be changed (false for "Everyone").
    pub can_change_members: bool,
    /// Whether the team grants permissions (false for "Everyone" in the sandbox's model).
    pub grants_permissions: bool,
    /// The user role the team grants in its space, by name (see
    /// [`super::permissions::USER_ROLES`]); `None` = every permission of
    /// [`super::permissions::TEAM_SPACE_PERMISSIONS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Team {
    /// The `TeamResource` wire form.
    pub fn resource(&self) -> Value {
        json!({
            "Id": self.id, "Name": self.name, "Slug": self.slug, "Description": self.description,
            "SpaceId": self.space_id, "MemberUserIds": self.member_user_ids,
            "ExternalSecurityGroups": [], "CanBeDeleted": self.can_change_members,
            "CanBeRenamed": self.can_change_members, "CanChangeMembers": self.can_change_members,
            "CanChangeRoles": self.can_change_members,
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/teams/{}", self.id),
                "ScopedUserRoles": format!("/api/teams/{}/scopeduserroles{{?skip,take}}", self.id),
            }
        })
    }
}

/// An OIDC identity on a service account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OidcIdentity {
    /// Identity id.
    pub id: String,
    /// The owning service account (`Users-N`).
    pub service_account_id: String,
    /// Name.
    pub name: String,
    /// Token issuer (exact).
    pub issuer: String,
    /// Subject pattern (`*`/`?` wildcards, case-sensitive).
    pub subject: String,
    /// Custom audience; `None` = the service account's ExternalId.
    pub audience: Option<String>,
}

impl OidcIdentity {
    /// The `ServiceAccountOidcIdentityResource` wire form.
    pub fn resource(&self) -> Value {
        json!({
            "Id": self.id, "ServiceAccountId": self.service_account_id, "Name": self.name,
            "Issuer": self.issuer, "Subject": self.subject, "Audience": self.audience,
        })
    }
}

/// A server task (the sandbox runs only `TestAccount`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerTask {
    /// `ServerTasks-N`.
    pub id: String,
    /// Task name, e.g. `TestAccount`.
    pub name: String,
    /// Description.
    pub description: String,
    /// Space.
    pub space_id: Option<String>,
    /// Arguments as posted.
    pub arguments: Value,
    /// `Queued`, `Executing`, `Success`, `Failed`, ...
    pub state: String,
    /// Failure message.
    pub error_message: Option<String>,
    /// Log lines (category, text, time).
    pub log: Vec<TaskLogLine>,
    /// Queue time (RFC 3339).
    pub queue_time: String,
    /// Start time (RFC 3339).
    pub start_time: Option<String>,
    /// Completion time (RFC 3339).
    pub completed_time: Option<String>,
}

/// One line of a task log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskLogLine {
    /// `Info`, `Error`, `Verbose`.
    pub category: String,
    /// The message.
    pub text: String,
    /// When (RFC 3339).
    pub occurred: String,
}

impl ServerTask {
    /// Whether the task reached a final state.
    pub fn is_completed(&self) -> bool {
        matches!(
            self.state.as_str(),
            "Success" | "Failed" | "Canceled" | "TimedOut"
        )
    }

    /// The `TaskResource` wire form.
    pub fn resource(&self) -> Value {
        let completed = self.is_completed();
        json!({
            "Id": self.id, "Name": self.name, "Description": self.description,
            "SpaceId": self.space_id, "Arguments": self.arguments, "State": self.state,
            "IsCompleted": completed, "FinishedSuccessfully": self.state == "Success",
            "HasBeenPickedUpByProcessor": self.start_time.is_some(),
            "HasWarningsOrErrors": self.state == "Failed", "HasPendingInterruptions": false,
            "CanRerun": completed, "ErrorMessage": self.error_message.clone().unwrap_or_default(),
            "QueueTime": self.queue_time, "QueueTimeExpiry": null, "StartTime": self.start_time,
            "CompletedTime": self.completed_time, "LastUpdatedTime": self.completed_time.clone().or(self.start_time.clone()).unwrap_or(self.queue_time.clone()),
            "Completed": self.completed_time, "Duration": null, "ProjectId": null, "ServerNode": "sandbox",
            "EstimatedRemainingQueueDurationSeconds": 0, "UnmetPreconditions": [],
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/tasks/{}", self.id),
                "Details": format!("/api/tasks/{}/details{{?verbose,tail,ranges}}", self.id),
                "Raw": format!("/api/tasks/{}/raw", self.id),
            }
        })
    }
}

/// Octopus-style slug: lower case, runs of anything but `[a-z0-9]` become one `-`, trimmed.
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.push(c);
        } else {
            dash = true;
        }
    }
    slug
}

/// Whether a string is a valid slug (what [`slugify`] produces).
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Current time in RFC 3339, as the server renders timestamps.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_octopus_rules() {
        assert_eq!(slugify("Deploy Web App"), "deploy-web-app");
        assert_eq!(slugify("  Prod (EU) -- West  "), "prod-eu-west");
        assert_eq!(slugify("Ärger"), "rger");
        assert!(is_valid_slug("deploy-web-app"));
        assert!(!is_valid_slug("Deploy"));
        assert!(!is_valid_slug("a--b"));
    }
}

/// A deployment target (a "machine"): where deployments run, in environments, with roles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentTarget {
    /// `Machines-N`.
    pub id: String,
    /// Owning space.
    pub space_id: String,
    /// Display name.
    pub name: String,
    /// Slug (health-check OIDC subjects use it: `target:<slug>`).
    pub slug: String,
    /// Environments the target is in.
    pub environment_ids: Vec<String>,
    /// Roles (target tags).
    pub roles: Vec<String>,
    /// Tenants the target serves.
    pub tenant_ids: Vec<String>,
    /// `Untenanted`, `TenantedOrUntenanted` or `Tenanted`.
    pub tenanted_deployment_participation: String,
    /// `TentaclePassive` (listening), `TentacleActive` (polling) or `Ssh`.
    pub communication_style: String,
    /// Host name the endpoint points at.
    pub host: String,
    /// Certificate thumbprint (Tentacles) or SSH key fingerprint.
    pub thumbprint: String,
    /// `Windows` or `Linux`.
    pub operating_system: String,
    /// `PowerShell` or `Bash`.
    pub shell_name: String,
    /// `Healthy`, `HasWarnings`, `Unhealthy`, `Unavailable` or `Unknown`.
    pub health_status: String,
    /// Whether the target is disabled.
    pub is_disabled: bool,
    /// `MachinePolicies-N`.
    pub machine_policy_id: String,
    /// A cloud target's endpoint as created (`AzureWebApp`, `Kubernetes`: what it signs in
    /// with, see [`super::machines`]); `None` for the seeded Tentacle and SSH targets.
    #[serde(default)]
    pub cloud_endpoint: Option<Value>,
}

impl DeploymentTarget {
    /// The endpoint's `Uri` (listening Tentacle `https://host:10933/`, polling `poll://…/`;
    /// SSH targets have none).
    fn uri(&self) -> Option<String> {
        match self.communication_style.as_str() {
            "TentaclePassive" => Some(format!("https://{}:10933/", self.host)),
            "TentacleActive" => Some(format!(
                "poll://{}/",
                self.thumbprint.to_ascii_lowercase().get(..20).unwrap_or("")
            )),
            _ => None,
        }
    }

    /// The `EndpointResource` wire form for the target's communication style.
    fn endpoint(&self) -> Value {
        if let Some(endpoint) = &self.cloud_endpoint {
            let mut endpoint = endpoint.clone();
            if let Some(o) = endpoint.as_object_mut() {
                for field in ["Id", "LastModifiedBy", "LastModifiedOn"] {
                    o.entry(field).or_insert(Value::Null);
                }
                o.entry("Links").or_insert(json!({}));
            }
            return endpoint;
        }
        match self.communication_style.as_str() {
            "Ssh" => json!({
                "CommunicationStyle": "Ssh", "Host": self.host, "Port": 22,
                "Fingerprint": self.thumbprint, "AccountId": null, "ProxyId": null,
                "DotNetCorePlatform": "linux-x64", "Uri": format!("ssh://{}:22/", self.host),
                "Id": null, "LastModifiedBy": null, "LastModifiedOn": null, "Links": {},
            }),
            style => json!({
                "CommunicationStyle": style, "Uri": self.uri(), "Thumbprint": self.thumbprint,
                "ProxyId": null, "CertificateSignatureAlgorithm": "sha256RSA",
                "TentacleVersionDetails": {
                    "Version": "8.3.3000", "UpgradeLocked": false,
                    "UpgradeSuggested": false, "UpgradeRequired": false, "UpgradeAvailable": false,
                },
                "Id": null, "LastModifiedBy": null, "LastModifiedOn": null, "Links": {},
            }),
        }
    }

    /// The `DeploymentTargetResource` (`MachineResource`) wire form.
    pub fn resource(&self) -> Value {
        let thumbprint = (self.communication_style != "Ssh").then_some(&self.thumbprint);
        json!({
            "Id": self.id, "SpaceId": self.space_id, "Name": self.name, "Slug": self.slug,
            "EnvironmentIds": self.environment_ids, "Roles": self.roles,
            "TenantIds": self.tenant_ids, "TenantTags": [],
            "TenantedDeploymentParticipation": self.tenanted_deployment_participation,
            "Endpoint": self.endpoint(), "Uri": self.uri(), "Thumbprint": thumbprint,
            "IsDisabled": self.is_disabled, "HealthStatus": self.health_status,
            "StatusSummary": match self.health_status.as_str() {
                "Healthy" => "Octopus was able to successfully establish a connection with this machine.",
                "Unavailable" => "The machine was unavailable during the last health check.",
                _ => "The last health check reported problems.",
            },
            "HasLatestCalamari": true, "IsInProcess": false, "SkipInitialHealthCheck": false,
            "MachinePolicyId": self.machine_policy_id, "Architecture": self.communication_style,
            "OperatingSystem": self.operating_system, "ShellName": self.shell_name,
            "ShellVersion": if self.shell_name == "PowerShell" { "5.1.20348.2849" } else { "5.2.21" },
            "LastModifiedBy": null, "LastModifiedOn": null,
            "Links": {
                "Self": format!("/api/{}/machines/{}", self.space_id, self.id),
                "Connection": format!("/api/{}/machines/{}/connection", self.space_id, self.id),
                "TasksTemplate": format!("/api/{}/machines/{}/tasks{{?skip,take,type}}", self.space_id, self.id),
                "Web": format!("/app#/{}/infrastructure/machines/{}", self.space_id, self.id),
            }
        })
    }
}
