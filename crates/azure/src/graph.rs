//! [`GraphEntraApps`]: the app registration, service principal and federated identity
//! credentials through Microsoft Graph v1.0, implementing [`EntraApps`].
//!
//! Every operation observes first and changes only what differs, so a second run reports
//! `Unchanged` and sends no writes: apps are upserted by a stable `uniqueName`
//! (`PATCH applications(uniqueName=…)` + `Prefer: create-if-missing`, carrying the setup's
//! `notes` and `tags` on create), service principals by `appId`, credentials by name.
//! Lookups (`GET applications(uniqueName=…)`, `GET servicePrincipals(appId=…)`) answer
//! `None` on 404. The 20-credential limit and the unique (issuer, subject) rule
//! are checked before calling, with a clear problem instead of Graph's error. Replication
//! right after creating an app (404 / `NoBackingApplicationObject`) is waited out by the
//! transport's propagation policy.
//!
//! `app_creation_rights` (the preflight) reads `appRoleAssignments` for an app-only caller, or
//! `/me`, its directory roles and `policies/authorizationPolicy` for a user.
//!
//! Left out: owners, certificates, app roles/permissions, soft-deleted app recovery.

use octo_oidc_core::ports::{
    ApplicationSpec, Applied, EntraApplication, EntraApps, FederatedCredential, PortResult,
    ServicePrincipal,
};
use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_http::{ClientFailure, JsonReply, NextLinkRefused, json_string, json_strings};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::{AzureSession, Resource};
use crate::error::{AzureError, Service};
use crate::transport::{Propagation, bearer_request, classify};

/// Microsoft Graph's own application id (the resource of Graph app permissions).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Federated credentials an app registration can hold.
pub const MAX_FEDERATED_CREDENTIALS: usize = 20;

/// Microsoft Graph v1.0 for one tenant.
#[derive(Debug, Clone)]
pub struct GraphEntraApps {
    session: AzureSession,
    graph_url: String,
    tenant: Option<String>,
}

/// The signed-in user as Graph sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphUser {
    /// Object id.
    pub id: String,
    /// Sign-in name.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
}

fn quote(value: &str) -> String {
    value.replace('\'', "''")
}

fn encode_segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn application_from(body: &Value) -> Result<EntraApplication, AzureError> {
    let text = |key: &str| body[key].as_str().map(str::to_owned);
    match (text("id"), text("appId")) {
        (Some(object_id), Some(app_id)) => Ok(EntraApplication {
            object_id,
            app_id,
            display_name: text("displayName").unwrap_or_default(),
            unique_name: text("uniqueName"),
            notes: text("notes"),
            tags: json_strings(body, "tags"),
        }),
        _ => Err(unexpected("application", "no id/appId in the application")),
    }
}

fn credential_from(body: &Value) -> FederatedCredential {
    let text = |key: &str| json_string(body, key);
    FederatedCredential {
        name: text("name"),
        issuer: text("issuer"),
        subject: text("subject"),
        audiences: json_strings(body, "audiences"),
        description: body["description"].as_str().map(str::to_owned),
    }
}

fn unexpected(operation: &str, message: &str) -> AzureError {
    AzureError::Client(ClientFailure::Unexpected {
        service: Service::Graph,
        operation: operation.to_owned(),
        message: message.to_owned(),
    })
}

fn is_not_found(error: &AzureError) -> bool {
    matches!(error, AzureError::Api { status: 404, .. })
}

impl GraphEntraApps {
    /// Graph at `graph_url` (e.g. `https://graph.microsoft.com`) in the session's home tenant.
    pub fn new(session: AzureSession, graph_url: &str) -> GraphEntraApps {
        GraphEntraApps {
            session,
            graph_url: graph_url.trim_end_matches('/').to_owned(),
            tenant: None,
        }
    }

    /// Works in `tenant_id` instead of the home tenant.
    pub fn in_tenant(mut self, tenant_id: &str) -> GraphEntraApps {
        self.tenant = Some(tenant_id.to_owned());
        self
    }

    /// The same client reporting retries to `progress` (cheap; tokens are shared), so a
    /// connected client reports its retries on the channel of a later step.
    pub fn reporting_to(
        &self,
        progress: std::sync::Arc<dyn octo_oidc_core::events::ProgressSink>,
    ) -> GraphEntraApps {
        GraphEntraApps {
            session: self.session.reporting_to(progress),
            ..self.clone()
        }
    }

    /// The same client whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: octo_oidc_core::retry::CancelToken) -> GraphEntraApps {
        GraphEntraApps {
            session: self.session.cancelled_by(cancel),
            ..self.clone()
        }
    }

    /// `DELETE path`; an object that is already gone is success.
    async fn delete(&self, path: &str) -> PortResult<()> {
        match self
            .call(Method::DELETE, path, None, false, Propagation::None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        prefer_create: bool,
        propagation: Propagation,
    ) -> Result<JsonReply, AzureError> {
        let token = self
            .session
            .access_token(Resource::Graph, self.tenant.as_deref())
            .await?;
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/v1.0/{path}", self.graph_url)
        };
        let operation = format!("{method} {}", path.split('?').next().unwrap_or(path));
        self.session
            .transport()
            .execute(
                Service::Graph,
                &operation,
                |e| classify(e, propagation),
                |http| {
                    let request = bearer_request(http, &method, &url, &token, body);
                    if prefer_create {
                        request.header("Prefer", "create-if-missing")
                    } else {
                        request
                    }
                },
            )
            .await
    }

    /// Follows `@odata.nextLink` until the last page: only on Graph's own origin (the bearer
    /// token never goes elsewhere) and at most [`octo_oidc_http::DEFAULT_MAX_PAGES`] pages.
    async fn list(&self, path: &str, propagation: Propagation) -> Result<Vec<Value>, AzureError> {
        let api = url::Url::parse(&self.graph_url)
            .map_err(|e| unexpected("list", &format!("the Graph URL is not a URL: {e}")))?;
        let links = octo_oidc_http::NextLinks::new(&api, octo_oidc_http::DEFAULT_MAX_PAGES);
        let fetch = |page: String| async move {
            self.call(Method::GET, &page, None, false, propagation)
                .await
                .map(|reply| reply.body)
        };
        let refused = |refused: NextLinkRefused| unexpected(path, &refused.to_string());
        links
            .read_all(path.to_owned(), "@odata.nextLink", fetch, refused)
            .await
    }

    /// The signed-in user (`/me`).
    pub async fn me(&self) -> Result<GraphUser, Problem> {
        let reply = self
            .call(Method::GET, "me", None, false, Propagation::None)
            .await?;
        let text = |key: &str| json_string(&reply.body, key);
        Ok(GraphUser {
            id: text("id"),
            user_principal_name: text("userPrincipalName"),
            display_name: text("displayName"),
        })
    }

    /// Display names of the signed-in user's directory roles (transitive).
    pub async fn my_directory_roles(&self) -> Result<Vec<String>, Problem> {
        let roles = self
            .list(
                "me/transitiveMemberOf/microsoft.graph.directoryRole",
                Propagation::None,
            )
            .await?;
        Ok(roles
            .iter()
            .filter_map(|r| r["displayName"].as_str().map(str::to_owned))
            .collect())
    }

    /// The Graph application permissions (by name) granted to the app-only caller
    /// `client_id`: its service principal's `appRoleAssignments` on Microsoft Graph, named by
    /// Graph's own `appRoles`.
    pub async fn app_permissions(&self, client_id: &str) -> Result<Vec<String>, Problem> {
        let sp = format!(
            "servicePrincipals(appId='{}')",
            encode_segment(&quote(client_id))
        );
        // Independent reads: the caller's assignments and Graph's own app roles, at once.
        let assignments_path = format!("{sp}/appRoleAssignments");
        let graph_path = format!("servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appRoles");
        let (assignments, graph) = tokio::try_join!(
            self.list(&assignments_path, Propagation::None),
            self.call(Method::GET, &graph_path, None, false, Propagation::None),
        )?;
        let graph_sp = graph.body["id"].as_str().unwrap_or_default();
        let roles = graph.body["appRoles"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(assignments
            .iter()
            .filter(|a| a["resourceId"].as_str() == Some(graph_sp))
            .filter_map(|a| {
                let id = a["appRoleId"].as_str()?;
                roles
                    .iter()
                    .find(|r| r["id"].as_str() == Some(id))
                    .and_then(|r| r["value"].as_str().map(str::to_owned))
            })
            .collect())
    }

    /// The tenant's `authorizationPolicy.defaultUserRolePermissions.allowedToCreateApps`.
    pub async fn users_may_create_apps(&self) -> Result<Option<bool>, Problem> {
        let reply = self
            .call(
                Method::GET,
                "policies/authorizationPolicy",
                None,
                false,
                Propagation::None,
            )
            .await?;
        let policy = match reply.body["value"].as_array() {
            Some(items) => items.first().cloned().unwrap_or_default(),
            None => reply.body.clone(),
        };
        Ok(policy["defaultUserRolePermissions"]["allowedToCreateApps"].as_bool())
    }

    /// Finds an app registration by client id (to reuse an app the user names).
    pub async fn find_application_by_app_id(
        &self,
        app_id: &str,
    ) -> Result<Option<EntraApplication>, Problem> {
        match self
            .call(
                Method::GET,
                &format!("applications(appId='{}')", encode_segment(&quote(app_id))),
                None,
                false,
                Propagation::None,
            )
            .await
        {
            Ok(reply) => Ok(Some(application_from(&reply.body)?)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn credentials_path(app_object_id: &str) -> String {
        format!(
            "applications/{}/federatedIdentityCredentials",
            encode_segment(app_object_id)
        )
    }

    /// The upsert address of one credential (`PATCH …(name='…')` with `create-if-missing`).
    fn credential_upsert_path(app_object_id: &str, name: &str) -> String {
        format!(
            "{}(name='{}')",
            Self::credentials_path(app_object_id),
            encode_segment(&quote(name))
        )
    }

    /// What a create or update of `credential` sends.
    fn credential_body(credential: &FederatedCredential) -> Value {
        json!({
            "issuer": credential.issuer,
            "subject": credential.subject,
            "audiences": credential.audiences,
            "description": credential.description,
        })
    }

    /// Deletes the credentials whose description contains `setup_marker` and whose name is not
    /// in `keep`; credentials made by anyone else are never touched. Returns the deleted names.
    pub async fn remove_setup_credentials_except(
        &self,
        app_object_id: &str,
        keep: &[&str],
        setup_marker: &str,
    ) -> Result<Vec<String>, Problem> {
        let existing = self.list_federated_credentials(app_object_id).await?;
        let mut removed = Vec::new();
        for credential in existing {
            let ours = credential
                .description
                .as_deref()
                .is_some_and(|d| d.contains(setup_marker));
            if ours && !keep.contains(&credential.name.as_str()) {
                self.delete_federated_credential(app_object_id, &credential.name)
                    .await?;
                removed.push(credential.name);
            }
        }
        Ok(removed)
    }

    async fn get_application(
        &self,
        path: &str,
        propagation: Propagation,
    ) -> Result<Option<EntraApplication>, AzureError> {
        match self.call(Method::GET, path, None, false, propagation).await {
            Ok(reply) => Ok(Some(application_from(&reply.body)?)),
            Err(e) if is_not_found(&e) && propagation == Propagation::None => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn application_path(unique_name: &str) -> String {
    format!(
        "applications(uniqueName='{}')",
        encode_segment(&quote(unique_name))
    )
}

fn service_principal_path(app_id: &str) -> String {
    format!(
        "servicePrincipals(appId='{}')",
        encode_segment(&quote(app_id))
    )
}

fn service_principal_from(body: &Value, app_id: &str) -> Result<ServicePrincipal, AzureError> {
    Ok(ServicePrincipal {
        object_id: body["id"]
            .as_str()
            .ok_or_else(|| unexpected("servicePrincipal", "no id"))?
            .to_owned(),
        app_id: app_id.to_owned(),
    })
}

impl EntraApps for GraphEntraApps {
    async fn exchange_federated_token(
        &self,
        client_id: &str,
        assertion: &octo_oidc_core::Secret,
    ) -> PortResult<()> {
        let tenant = self
            .tenant
            .clone()
            .unwrap_or_else(|| "organizations".to_owned());
        self.session
            .exchange_federated_token(&tenant, client_id, assertion)
            .await
            .map_err(Into::into)
    }

    /// App-only: the Graph application permissions of the app. A user: `/me`, its directory
    /// roles and the tenant's app-creation policy.
    async fn app_creation_rights(
        &self,
    ) -> PortResult<octo_oidc_core::preflight::AppCreationRights> {
        if let Some(client_id) = self.session.app_only_client_id() {
            let client_id = client_id.to_owned();
            let app_roles = self.app_permissions(&client_id).await?;
            return Ok(octo_oidc_core::preflight::AppCreationRights {
                caller: format!("the app {client_id}"),
                app_only: true,
                directory_roles: Vec::new(),
                app_roles,
                users_may_create_apps: None,
            });
        }
        // Three independent reads, at once.
        let (me, directory_roles, users_may_create_apps) = tokio::join!(
            self.me(),
            self.my_directory_roles(),
            self.users_may_create_apps()
        );
        let (me, directory_roles) = (me?, directory_roles?);
        let users_may_create_apps = users_may_create_apps.ok().flatten();
        Ok(octo_oidc_core::preflight::AppCreationRights {
            caller: me.user_principal_name,
            app_only: false,
            directory_roles,
            app_roles: Vec::new(),
            users_may_create_apps,
        })
    }

    async fn find_application(&self, unique_name: &str) -> PortResult<Option<EntraApplication>> {
        Ok(self
            .get_application(&application_path(unique_name), Propagation::None)
            .await?)
    }

    async fn find_application_by_client_id(
        &self,
        client_id: &str,
    ) -> PortResult<Option<EntraApplication>> {
        self.find_application_by_app_id(client_id).await
    }

    async fn ensure_application(
        &self,
        spec: &ApplicationSpec,
    ) -> PortResult<Applied<EntraApplication>> {
        let path = application_path(&spec.unique_name);
        let display_name = spec.display_name.as_str();
        if let Some(existing) = self.get_application(&path, Propagation::None).await? {
            if existing.display_name == display_name {
                return Ok(Applied::Unchanged(existing));
            }
            self.call(
                Method::PATCH,
                &format!("applications/{}", existing.object_id),
                Some(&json!({ "displayName": display_name })),
                false,
                Propagation::GraphReplication,
            )
            .await?;
            return Ok(Applied::Updated(EntraApplication {
                display_name: display_name.to_owned(),
                ..existing
            }));
        }
        self.create_application(spec).await
    }

    async fn create_application(
        &self,
        spec: &ApplicationSpec,
    ) -> PortResult<Applied<EntraApplication>> {
        let path = application_path(&spec.unique_name);
        let mut create = json!({ "displayName": spec.display_name });
        if let Some(notes) = &spec.notes {
            create["notes"] = json!(notes);
        }
        if !spec.tags.is_empty() {
            create["tags"] = json!(spec.tags);
        }
        let reply = self
            .call(Method::PATCH, &path, Some(&create), true, Propagation::None)
            .await?;
        if reply.status == 201 {
            return Ok(Applied::Created(application_from(&reply.body)?));
        }
        // 204: it existed after all (created since the lookup; our PATCH set its display
        // name, notes and tags); read it back (it may still be replicating).
        let app = self
            .get_application(&path, Propagation::GraphReplication)
            .await?
            .ok_or_else(|| unexpected("ensure_application", "the app vanished after the upsert"))?;
        Ok(Applied::Updated(app))
    }

    async fn find_service_principal(&self, app_id: &str) -> PortResult<Option<ServicePrincipal>> {
        match self
            .call(
                Method::GET,
                &service_principal_path(app_id),
                None,
                false,
                Propagation::None,
            )
            .await
        {
            Ok(reply) => Ok(Some(service_principal_from(&reply.body, app_id)?)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn ensure_service_principal(
        &self,
        app_id: &str,
    ) -> PortResult<Applied<ServicePrincipal>> {
        if let Some(existing) = self.find_service_principal(app_id).await? {
            return Ok(Applied::Unchanged(existing));
        }
        self.create_service_principal(app_id).await
    }

    async fn create_service_principal(
        &self,
        app_id: &str,
    ) -> PortResult<Applied<ServicePrincipal>> {
        // An upsert: 201 created, 204 it existed (then read it back).
        let path = service_principal_path(app_id);
        let sp_from = |body: &Value| service_principal_from(body, app_id);
        let reply = self
            .call(
                Method::PATCH,
                &path,
                Some(&json!({})),
                true,
                Propagation::GraphReplication,
            )
            .await?;
        if reply.status == 201 {
            return Ok(Applied::Created(sp_from(&reply.body)?));
        }
        let reply = self
            .call(
                Method::GET,
                &path,
                None,
                false,
                Propagation::GraphReplication,
            )
            .await?;
        Ok(Applied::Unchanged(sp_from(&reply.body)?))
    }

    async fn list_federated_credentials(
        &self,
        app_object_id: &str,
    ) -> PortResult<Vec<FederatedCredential>> {
        let items = self
            .list(
                &Self::credentials_path(app_object_id),
                Propagation::GraphReplication,
            )
            .await?;
        Ok(items.iter().map(credential_from).collect())
    }

    async fn ensure_federated_credential(
        &self,
        app_object_id: &str,
        credential: &FederatedCredential,
    ) -> PortResult<Applied<FederatedCredential>> {
        let existing = self.list_federated_credentials(app_object_id).await?;
        let base = Self::credentials_path(app_object_id);
        let body = Self::credential_body(credential);
        if let Some(current) = existing.iter().find(|c| c.name == credential.name) {
            if current == credential {
                return Ok(Applied::Unchanged(current.clone()));
            }
            if let Some(clash) = existing.iter().find(|c| {
                c.name != credential.name
                    && c.issuer == credential.issuer
                    && c.subject == credential.subject
            }) {
                return Err(duplicate_subject(credential, &clash.name));
            }
            self.call(
                Method::PATCH,
                &format!("{base}/{}", encode_segment(&credential.name)),
                Some(&body),
                false,
                Propagation::GraphReplication,
            )
            .await?;
            return Ok(Applied::Updated(credential.clone()));
        }
        if let Some(clash) = existing
            .iter()
            .find(|c| c.issuer == credential.issuer && c.subject == credential.subject)
        {
            return Err(duplicate_subject(credential, &clash.name));
        }
        if existing.len() >= MAX_FEDERATED_CREDENTIALS {
            return Err(Problem::new(
                ErrorCode::LimitExceeded,
                format!(
                    "the app registration already has {} federated credentials, the most Entra allows; '{}' cannot be added",
                    existing.len(),
                    credential.name
                ),
            )
            .with_hint(
                "Use coarser subject keys, remove credentials you no longer need, or split the scope across several app registrations.",
            ));
        }
        let reply = self
            .call(
                Method::PATCH,
                &Self::credential_upsert_path(app_object_id, &credential.name),
                Some(&body),
                true,
                Propagation::GraphReplication,
            )
            .await?;
        if reply.status == 201 {
            Ok(Applied::Created(credential_from(&reply.body)))
        } else {
            Ok(Applied::Updated(credential.clone()))
        }
    }

    async fn create_federated_credential(
        &self,
        app_object_id: &str,
        credential: &FederatedCredential,
    ) -> PortResult<Applied<FederatedCredential>> {
        let upsert = self
            .call(
                Method::PATCH,
                &Self::credential_upsert_path(app_object_id, &credential.name),
                Some(&Self::credential_body(credential)),
                true,
                Propagation::GraphReplication,
            )
            .await;
        match upsert {
            Ok(reply) if reply.status == 201 => Ok(Applied::Created(credential_from(&reply.body))),
            // 204: one of that name existed after all, and now has our settings.
            Ok(_) => Ok(Applied::Updated(credential.clone())),
            // Refused (the issuer + subject pair is another credential's, the app is full):
            // the reading ensure says which, with its fix.
            Err(AzureError::Api { status, code, .. })
                if status == 400 || status == 409 || code == "Directory_ResourceSizeExceeded" =>
            {
                self.ensure_federated_credential(app_object_id, credential)
                    .await
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_federated_credential(&self, app_object_id: &str, name: &str) -> PortResult<()> {
        let path = format!(
            "{}/{}",
            Self::credentials_path(app_object_id),
            encode_segment(name)
        );
        self.delete(&path).await
    }

    async fn delete_application(&self, object_id: &str) -> PortResult<()> {
        let path = format!("applications/{}", encode_segment(object_id));
        self.delete(&path).await
    }
}

fn duplicate_subject(credential: &FederatedCredential, other: &str) -> Problem {
    Problem::new(
        ErrorCode::Conflict,
        format!(
            "the federated credential '{other}' already trusts issuer '{}' with subject '{}'; Entra allows each issuer + subject pair once per app",
            credential.issuer, credential.subject
        ),
    )
    .with_hint(format!(
        "Keep '{other}' (it already grants this), or delete it before adding '{}'.",
        credential.name
    ))
}
