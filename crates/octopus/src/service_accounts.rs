//! Service accounts and their OIDC identities (GitHub Actions → Octopus).
//!
//! - Service account: found by username among `GET /api/users?isServiceAccount=true&filter=`,
//!   reused as it is when it exists, else created with
//!   `POST /api/users {Username, DisplayName, IsService: true}`. A *person* with that username
//!   is a conflict, never turned into a service account.
//! - Team membership: the team's `MemberUserIds` gets the user added (`PUT` of the team)
//!   unless it is already there; a service account has no permissions until then.
//! - OIDC identity: matched by name in `GET /api/serviceaccounts/{id}/oidcidentities/v1`
//!   (`skip`/`take` are required), created with `POST .../oidcidentities/create/v1` or changed
//!   with `PUT .../oidcidentities/{id}/v1` only when issuer, subject or audience differ. The
//!   listing also gives the account's `ExternalId` GUID, which GitHub's `OctopusDeploy/login`
//!   calls `service_account_id` and uses as the token audience: an identity for GitHub leaves
//!   `Audience` out so it defaults to that GUID. Before any request the identity is checked
//!   as Octopus checks it: a name of 1–200 characters, an `https://` issuer ("The issuer URL
//!   must be HTTPS") and Issuer and Subject of at most 200 characters.
//!
//! - Teardown: `DELETE .../oidcidentities/{id}/v1` and `DELETE /api/users/{id}`; a missing
//!   identity or user is success.
//!
//! Deliberately absent: API keys for service accounts (the OIDC exchange replaces them) and
//! creating teams or user roles.

use octo_oidc_core::ports::{self, Applied, OidcIdentityIds, OidcIdentitySpec};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::RestOctopus;
use crate::error::OctopusError;

/// An Octopus user (person or service account), only what the wizard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OctopusUser {
    /// `Users-N`.
    #[serde(rename = "Id")]
    pub id: String,
    /// Login name.
    #[serde(rename = "Username")]
    pub username: String,
    /// Display name.
    #[serde(rename = "DisplayName", default)]
    pub display_name: String,
    /// Whether it is a service account.
    #[serde(rename = "IsService", default)]
    pub is_service: bool,
    /// Whether it is active.
    #[serde(rename = "IsActive", default = "active_by_default")]
    pub is_active: bool,
}

impl From<OctopusUser> for ports::ServiceAccount {
    fn from(user: OctopusUser) -> Self {
        ports::ServiceAccount {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            is_service: user.is_service,
        }
    }
}

fn active_by_default() -> bool {
    true
}

/// A team (system-wide when `space_id` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSummary {
    /// `Teams-N` (or a built-in id like `teams-administrators`).
    pub id: String,
    /// Name.
    pub name: String,
    /// Owning space, or `None` for a system team.
    pub space_id: Option<String>,
    /// Whether members can be changed (built-in teams may refuse).
    pub can_change_members: bool,
    /// Members' `Users-N` ids.
    pub member_user_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct LeanTeam {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "SpaceId", default)]
    space_id: Option<String>,
    #[serde(rename = "CanChangeMembers", default = "active_by_default")]
    can_change_members: bool,
    #[serde(rename = "MemberUserIds", default)]
    member_user_ids: Vec<String>,
}

impl From<LeanTeam> for TeamSummary {
    fn from(t: LeanTeam) -> Self {
        TeamSummary {
            id: t.id,
            name: t.name,
            space_id: t.space_id.filter(|s| !s.is_empty()),
            can_change_members: t.can_change_members,
            member_user_ids: t.member_user_ids,
        }
    }
}

/// An OIDC identity on a service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIdentity {
    /// Identity id.
    #[serde(rename = "Id")]
    pub id: String,
    /// Name (unique per service account for our purposes).
    #[serde(rename = "Name")]
    pub name: String,
    /// Token issuer.
    #[serde(rename = "Issuer")]
    pub issuer: String,
    /// Subject pattern (`*`, `?` allowed).
    #[serde(rename = "Subject")]
    pub subject: String,
    /// Custom audience; `None` means the ExternalId GUID.
    #[serde(rename = "Audience", default)]
    pub audience: Option<String>,
}

impl From<OidcIdentity> for ports::OidcIdentity {
    fn from(identity: OidcIdentity) -> Self {
        ports::OidcIdentity {
            id: identity.id,
            spec: OidcIdentitySpec {
                name: identity.name,
                issuer: identity.issuer,
                subject: identity.subject,
                audience: non_blank(identity.audience.as_deref()).map(str::to_string),
            },
        }
    }
}

/// The identities of a service account and its ExternalId GUID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountIdentities {
    /// The `ExternalId` GUID ("Service Account Id" for `OctopusDeploy/login`).
    pub external_id: String,
    /// The server URL as Octopus reports it.
    pub server_url: Option<String>,
    /// All identities.
    pub identities: Vec<OidcIdentity>,
}

#[derive(Debug, Deserialize)]
struct IdentitiesPage {
    #[serde(rename = "ExternalId", default)]
    external_id: String,
    #[serde(rename = "ServerUrl", default)]
    server_url: Option<String>,
    #[serde(rename = "OidcIdentities", default)]
    oidc_identities: Vec<OidcIdentity>,
    #[serde(rename = "Count", default)]
    count: u64,
}

#[derive(Debug, Deserialize)]
struct CreatedId {
    #[serde(rename = "Id")]
    id: String,
}

/// The most characters Octopus accepts in an identity's Name, Issuer and Subject.
pub const MAX_IDENTITY_FIELD_CHARS: usize = 200;

/// What Octopus would refuse in an identity, found before sending it.
fn check_identity(spec: &OidcIdentitySpec) -> Result<(), OctopusError> {
    let max = MAX_IDENTITY_FIELD_CHARS;
    let invalid = |field, problem: String| Err(OctopusError::InvalidConfig { field, problem });
    if spec.name.trim().is_empty() || spec.name.chars().count() > max {
        return invalid(
            "oidc_identity.name",
            format!("the identity name must be 1 to {max} characters"),
        );
    }
    match url::Url::parse(spec.issuer.trim()) {
        Ok(url) if url.scheme() == "https" && url.host_str().is_some() => {}
        Ok(_) => {
            return invalid(
                "oidc_identity.issuer",
                "The issuer URL must be HTTPS".into(),
            );
        }
        Err(e) => {
            return invalid(
                "oidc_identity.issuer",
                format!("the issuer `{}` is not a URL: {e}", spec.issuer),
            );
        }
    }
    for (field, value) in [
        ("oidc_identity.issuer", &spec.issuer),
        ("oidc_identity.subject", &spec.subject),
    ] {
        let count = value.chars().count();
        if count > max {
            return invalid(
                field,
                format!("Octopus accepts at most {max} characters; this has {count}"),
            );
        }
    }
    if spec.subject.trim().is_empty() {
        return invalid("oidc_identity.subject", "the subject is empty".into());
    }
    Ok(())
}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn audience_matches(desired: Option<&str>, actual: Option<&str>) -> bool {
    non_blank(desired) == non_blank(actual)
}

impl RestOctopus {
    /// Users whose name matches `filter`, service accounts only when `service_only`.
    pub async fn find_users(
        &self,
        filter: &str,
        service_only: bool,
    ) -> Result<Vec<OctopusUser>, OctopusError> {
        let mut filters = vec![("filter", filter.to_string())];
        if service_only {
            filters.push(("isServiceAccount", "true".to_string()));
        }
        self.list_paged("api/users", &filters).await
    }

    /// The user with exactly this username (case-insensitive, as Octopus treats usernames).
    pub async fn find_user(&self, username: &str) -> Result<Option<OctopusUser>, OctopusError> {
        let users = self.find_users(username, false).await?;
        Ok(users
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(username.trim())))
    }

    /// Creates the service account or reuses the existing one (see the module docs).
    pub async fn apply_service_account(
        &self,
        username: &str,
        display_name: &str,
    ) -> Result<Applied<OctopusUser>, OctopusError> {
        let username = username.trim();
        if username.is_empty() {
            return Err(OctopusError::InvalidConfig {
                field: "service_account.username",
                problem: "the service account needs a username".into(),
            });
        }
        match self.find_user(username).await? {
            Some(user) if !user.is_service => Err(OctopusError::Conflict(format!(
                "`{username}` is an existing user ({}) who is not a service account; choose another username",
                user.id
            ))),
            // Reused as it is: the display name is cosmetic and may have been changed on purpose.
            Some(user) => Ok(Applied::Unchanged(user)),
            None => {
                let body = serde_json::json!({
                    "Username": username,
                    "DisplayName": display_name,
                    "IsService": true,
                    "IsActive": true,
                });
                let created: OctopusUser = self
                    .transport
                    .send_json(Method::POST, "api/users", &body)
                    .await?;
                tracing::info!(user = %created.id, "created Octopus service account");
                Ok(Applied::Created(created))
            }
        }
    }

    /// Teams of a space plus the system teams (`GET /api/teams?spaces=&includeSystem=true`).
    pub async fn teams(&self, space_id: &str) -> Result<Vec<TeamSummary>, OctopusError> {
        let teams: Vec<LeanTeam> = self
            .list_paged(
                "api/teams",
                &[
                    ("spaces", space_id.to_string()),
                    ("includeSystem", "true".to_string()),
                ],
            )
            .await?;
        Ok(teams.into_iter().map(Into::into).collect())
    }

    /// A team as stored (to send back whole with a change) and as read.
    async fn team(&self, path: &str) -> Result<(serde_json::Value, LeanTeam), OctopusError> {
        let team: serde_json::Value = self.transport.get_json(path, &[]).await?;
        let lean: LeanTeam =
            serde_json::from_value(team.clone()).map_err(|e| OctopusError::UnexpectedResponse {
                operation: format!("GET /{path}"),
                detail: e.to_string(),
            })?;
        Ok((team, lean))
    }

    /// Sends `team` (as read) back with `members` as its members (`PUT`).
    async fn put_members(
        &self,
        path: &str,
        mut team: serde_json::Value,
        members: Vec<String>,
    ) -> Result<LeanTeam, OctopusError> {
        team["MemberUserIds"] = serde_json::json!(members);
        self.transport.send_json(Method::PUT, path, &team).await
    }

    /// Adds a user to a team (`GET`/`PUT /api/teams/{id}`, where teams of every space live);
    /// `Unchanged` when already a member.
    pub async fn add_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> Result<Applied<TeamSummary>, OctopusError> {
        let path = format!("api/teams/{team_id}");
        let (team, lean) = self.team(&path).await?;
        if lean.member_user_ids.iter().any(|m| m == user_id) {
            return Ok(Applied::Unchanged(lean.into()));
        }
        if !lean.can_change_members {
            return Err(OctopusError::Conflict(format!(
                "the members of team `{}` ({team_id}) cannot be changed; choose another team",
                lean.name
            )));
        }
        let mut members = lean.member_user_ids.clone();
        members.push(user_id.to_string());
        let updated = self.put_members(&path, team, members).await?;
        tracing::info!(
            team = team_id,
            user = user_id,
            "added the service account to a team"
        );
        Ok(Applied::Updated(updated.into()))
    }

    /// Removes a user from a team (`GET`/`PUT /api/teams/{id}`); not a member = success.
    pub async fn remove_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> Result<(), OctopusError> {
        let path = format!("api/teams/{team_id}");
        let (team, lean) = self.team(&path).await?;
        if !lean.member_user_ids.iter().any(|m| m == user_id) {
            return Ok(());
        }
        let members = lean
            .member_user_ids
            .into_iter()
            .filter(|m| m != user_id)
            .collect();
        self.put_members(&path, team, members).await?;
        tracing::info!(
            team = team_id,
            user = user_id,
            "removed the service account from a team"
        );
        Ok(())
    }

    /// All OIDC identities of a service account and its ExternalId.
    pub async fn oidc_identities(
        &self,
        service_account_id: &str,
    ) -> Result<ServiceAccountIdentities, OctopusError> {
        let take = u64::from(self.config.page_size.max(1));
        let path = format!("api/serviceaccounts/{service_account_id}/oidcidentities/v1");
        let mut skip = 0u64;
        let mut identities = Vec::new();
        loop {
            let page: IdentitiesPage = self
                .transport
                .get_json(
                    &path,
                    &[("skip", skip.to_string()), ("take", take.to_string())],
                )
                .await?;
            let got = page.oidc_identities.len() as u64;
            identities.extend(page.oidc_identities);
            skip += got;
            if got == 0 || skip >= page.count {
                return Ok(ServiceAccountIdentities {
                    external_id: page.external_id,
                    server_url: page.server_url,
                    identities,
                });
            }
        }
    }

    /// Creates or updates the identity matched by name; returns its id and the ExternalId.
    pub async fn apply_oidc_identity(
        &self,
        service_account_id: &str,
        spec: &OidcIdentitySpec,
    ) -> Result<Applied<OidcIdentityIds>, OctopusError> {
        check_identity(spec)?;
        let current = self.oidc_identities(service_account_id).await?;
        if current.external_id.trim().is_empty() {
            return Err(OctopusError::UnexpectedResponse {
                operation: format!(
                    "GET /api/serviceaccounts/{service_account_id}/oidcidentities/v1"
                ),
                detail: "the response has no ExternalId".into(),
            });
        }
        let ids = |identity_id: String| OidcIdentityIds {
            identity_id,
            external_id: current.external_id.clone(),
        };
        let audience = spec
            .audience
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        let mut body = serde_json::json!({
            "ServiceAccountId": service_account_id,
            "Name": spec.name,
            "Issuer": spec.issuer,
            "Subject": spec.subject,
        });
        if let Some(audience) = audience {
            body["Audience"] = serde_json::json!(audience);
        }
        let existing = current.identities.iter().find(|i| i.name == spec.name);
        match existing {
            None => {
                let created: CreatedId = self
                    .transport
                    .send_json(
                        Method::POST,
                        &format!(
                            "api/serviceaccounts/{service_account_id}/oidcidentities/create/v1"
                        ),
                        &body,
                    )
                    .await?;
                tracing::info!(identity = %created.id, "created OIDC identity");
                Ok(Applied::Created(ids(created.id)))
            }
            Some(identity)
                if identity.issuer == spec.issuer
                    && identity.subject == spec.subject
                    && audience_matches(audience, identity.audience.as_deref()) =>
            {
                Ok(Applied::Unchanged(ids(identity.id.clone())))
            }
            Some(identity) => {
                body["Id"] = serde_json::json!(identity.id);
                let _: serde_json::Value = self
                    .transport
                    .send_json(
                        Method::PUT,
                        &format!(
                            "api/serviceaccounts/{service_account_id}/oidcidentities/{}/v1",
                            identity.id
                        ),
                        &body,
                    )
                    .await?;
                tracing::info!(identity = %identity.id, "updated OIDC identity");
                Ok(Applied::Updated(ids(identity.id.clone())))
            }
        }
    }

    /// Deletes a user (a service account, for teardown); returns whether it existed.
    pub async fn remove_user(&self, user_id: &str) -> Result<bool, OctopusError> {
        match self.transport.delete(&format!("api/users/{user_id}")).await {
            Ok(()) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes an identity; returns whether it existed.
    pub async fn remove_oidc_identity(
        &self,
        service_account_id: &str,
        identity_id: &str,
    ) -> Result<bool, OctopusError> {
        match self
            .transport
            .delete(&format!(
                "api/serviceaccounts/{service_account_id}/oidcidentities/{identity_id}/v1"
            ))
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_missing_audiences_are_the_default() {
        assert!(audience_matches(None, None));
        assert!(audience_matches(None, Some("")));
        assert!(audience_matches(Some(" "), None));
        assert!(!audience_matches(None, Some("api://custom")));
        assert!(audience_matches(Some("api://custom"), Some("api://custom")));
    }

    fn spec(issuer: &str, subject: &str) -> OidcIdentitySpec {
        OidcIdentitySpec {
            name: "main".into(),
            issuer: issuer.into(),
            subject: subject.into(),
            audience: None,
        }
    }

    fn refused_field(spec: &OidcIdentitySpec) -> &'static str {
        match check_identity(spec) {
            Err(OctopusError::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn identities_are_checked_as_octopus_checks_them() {
        let ok = spec("https://token.actions.githubusercontent.com", "repo:o/r:*");
        assert!(check_identity(&ok).is_ok());
        assert_eq!(
            refused_field(&spec("http://gitlab.example.com", "x")),
            "oidc_identity.issuer"
        );
        let long_issuer = format!("https://{}.example.com", "a".repeat(190));
        assert_eq!(
            refused_field(&spec(&long_issuer, "x")),
            "oidc_identity.issuer"
        );
        let long_subject = "s".repeat(201);
        assert_eq!(
            refused_field(&spec(
                "https://token.actions.githubusercontent.com",
                &long_subject
            )),
            "oidc_identity.subject"
        );
        let at_limit = "s".repeat(200);
        assert!(check_identity(&spec("https://t.example.com", &at_limit)).is_ok());
        let mut unnamed = ok.clone();
        unnamed.name = " ".into();
        assert_eq!(refused_field(&unnamed), "oidc_identity.name");
    }
}
