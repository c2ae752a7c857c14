//! [`FakeEntraApps`]: the [`EntraApps`] port in memory — app registrations upserted by
//! unique name (object id and client id assigned, notes and tags written on create only),
//! service principals per app, and federated credentials matched by name with Entra's rules
//! (at most 20 per app, each issuer + subject pair once). Deleting an app deletes its
//! service principal.

use std::sync::Arc;

use octo_oidc_core::ports::{
    ApplicationSpec, Applied, EntraApplication, EntraApps, FederatedCredential, PortResult,
    ServicePrincipal,
};
use octo_oidc_core::{ErrorCode, Problem};

use super::{Recorder, conflict, guid, not_found, remove_where};

const OPERATIONS: &[&str] = &[
    "exchange_federated_token",
    "app_creation_rights",
    "find_application",
    "ensure_application",
    "delete_application",
    "find_service_principal",
    "ensure_service_principal",
    "list_federated_credentials",
    "ensure_federated_credential",
    "delete_federated_credential",
];

/// Federated credentials an app can hold.
const MAX_CREDENTIALS: usize = 20;

#[derive(Debug, Clone)]
struct App {
    app: EntraApplication,
    credentials: Vec<FederatedCredential>,
    service_principal: Option<ServicePrincipal>,
}

#[derive(Debug, Default)]
struct State {
    apps: Vec<App>,
    counter: u64,
    /// What `app_creation_rights` answers (None: app-only with `Application.ReadWrite.All`).
    app_creation_rights: Option<octo_oidc_core::preflight::AppCreationRights>,
}

impl State {
    fn next(&mut self) -> String {
        self.counter += 1;
        guid(self.counter)
    }

    fn by_object_id(&mut self, object_id: &str) -> PortResult<&mut App> {
        self.apps
            .iter_mut()
            .find(|a| a.app.object_id == object_id)
            .ok_or_else(|| not_found(format!("no application with object id {object_id}")))
    }
}

super::recorded_fake!(
    /// The Entra apps port in memory.
    FakeEntraApps
);

impl FakeEntraApps {
    /// A tenant with no applications.
    pub fn new() -> FakeEntraApps {
        FakeEntraApps {
            state: Arc::default(),
            recorder: Recorder::new("FakeEntraApps", OPERATIONS),
        }
    }

    /// Adds an application someone else made (ids assigned, no service principal).
    pub fn add_application(&self, spec: &ApplicationSpec) -> EntraApplication {
        let mut state = self.state.lock().unwrap();
        let app = EntraApplication {
            object_id: state.next(),
            app_id: state.next(),
            display_name: spec.display_name.clone(),
            unique_name: Some(spec.unique_name.clone()).filter(|u| !u.is_empty()),
            notes: spec.notes.clone(),
            tags: spec.tags.clone(),
        };
        state.apps.push(App {
            app: app.clone(),
            credentials: Vec::new(),
            service_principal: None,
        });
        app
    }

    /// Every application, in creation order.
    pub fn applications(&self) -> Vec<EntraApplication> {
        let state = self.state.lock().unwrap();
        state.apps.iter().map(|a| a.app.clone()).collect()
    }

    /// The first application `wanted` picks.
    fn find_app(&self, wanted: impl Fn(&EntraApplication) -> bool) -> Option<EntraApplication> {
        let state = self.state.lock().unwrap();
        state
            .apps
            .iter()
            .map(|a| &a.app)
            .find(|a| wanted(a))
            .cloned()
    }
}

impl FakeEntraApps {
    /// What `app_creation_rights` answers (default: an app-only caller with
    /// `Application.ReadWrite.All`).
    pub fn set_app_creation_rights(&self, rights: octo_oidc_core::preflight::AppCreationRights) {
        self.state.lock().unwrap().app_creation_rights = Some(rights);
    }
}

impl EntraApps for FakeEntraApps {
    /// Entra's federated match by the fake's own check: the app's credentials, exact
    /// issuer, then subject, then audience (AADSTS700211 / 700213 / 70021).
    async fn exchange_federated_token(
        &self,
        client_id: &str,
        assertion: &octo_oidc_core::Secret,
    ) -> PortResult<()> {
        let refused = |code: &str, what: &str| {
            Err(Problem::new(
                ErrorCode::TrustRejected,
                format!("{code}: {what}"),
            ))
        };
        self.recorder.call("exchange_federated_token", client_id, || {
            let state = self.state.lock().unwrap();
            let claims = super::claims(assertion.expose()).unwrap_or_default();
            let text = |k: &str| claims[k].as_str().unwrap_or_default().to_string();
            let (iss, sub, aud) = (text("iss"), text("sub"), super::audiences(&claims));
            match state.apps.iter().find(|a| a.app.app_id == client_id) {
                None => refused("AADSTS700016", "application not found"),
                Some(app) => {
                    let by_issuer: Vec<&FederatedCredential> =
                        app.credentials.iter().filter(|c| c.issuer == iss).collect();
                    let by_subject: Vec<&&FederatedCredential> =
                        by_issuer.iter().filter(|c| c.subject == sub).collect();
                    if by_issuer.is_empty() {
                        refused(
                            "AADSTS700211",
                            &format!(
                                "No matching federated identity record found for presented assertion issuer '{iss}'."
                            ),
                        )
                    } else if by_subject.is_empty() {
                        refused(
                            "AADSTS700213",
                            &format!(
                                "No matching federated identity record found for presented assertion subject '{sub}'."
                            ),
                        )
                    } else if !by_subject
                        .iter()
                        .any(|c| c.audiences.iter().any(|a| aud.contains(a)))
                    {
                        refused(
                            "AADSTS70021",
                            "No matching federated identity record found for presented assertion audience.",
                        )
                    } else {
                        Ok(((), false))
                    }
                }
            }
        })
    }

    async fn app_creation_rights(
        &self,
    ) -> PortResult<octo_oidc_core::preflight::AppCreationRights> {
        self.recorder.read("app_creation_rights", "", || {
            let rights = self.state.lock().unwrap().app_creation_rights.clone();
            rights.unwrap_or_else(|| octo_oidc_core::preflight::AppCreationRights {
                caller: "fake-automation".into(),
                app_only: true,
                directory_roles: Vec::new(),
                app_roles: vec!["Application.ReadWrite.All".into()],
                users_may_create_apps: None,
            })
        })
    }
    async fn find_application(&self, unique_name: &str) -> PortResult<Option<EntraApplication>> {
        self.recorder.read("find_application", unique_name, || {
            self.find_app(|a| a.unique_name.as_deref() == Some(unique_name))
        })
    }

    async fn find_application_by_client_id(
        &self,
        client_id: &str,
    ) -> PortResult<Option<EntraApplication>> {
        self.recorder
            .read("find_application_by_client_id", client_id, || {
                self.find_app(|a| a.app_id == client_id)
            })
    }

    async fn ensure_application(
        &self,
        spec: &ApplicationSpec,
    ) -> PortResult<Applied<EntraApplication>> {
        self.recorder
            .call("ensure_application", &spec.unique_name, || {
                if spec.unique_name.is_empty() || spec.display_name.trim().is_empty() {
                    return Err(Problem::new(
                        ErrorCode::InvalidInput,
                        "an application needs a unique name and a display name",
                    ));
                }
                let mut state = self.state.lock().unwrap();
                match state
                    .apps
                    .iter_mut()
                    .find(|a| a.app.unique_name.as_deref() == Some(spec.unique_name.as_str()))
                {
                    Some(existing) if existing.app.display_name == spec.display_name => {
                        Ok((Applied::Unchanged(existing.app.clone()), false))
                    }
                    Some(existing) => {
                        existing.app.display_name = spec.display_name.clone();
                        Ok((Applied::Updated(existing.app.clone()), true))
                    }
                    None => {
                        drop(state);
                        Ok((Applied::Created(self.add_application(spec)), true))
                    }
                }
            })
    }

    async fn delete_application(&self, object_id: &str) -> PortResult<()> {
        self.recorder.call("delete_application", object_id, || {
            let apps = &mut self.state.lock().unwrap().apps;
            Ok(((), remove_where(apps, |a| a.app.object_id == object_id)))
        })
    }

    async fn find_service_principal(&self, app_id: &str) -> PortResult<Option<ServicePrincipal>> {
        self.recorder.read("find_service_principal", app_id, || {
            let state = self.state.lock().unwrap();
            let app = state.apps.iter().find(|a| a.app.app_id == app_id);
            app.and_then(|a| a.service_principal.clone())
        })
    }

    async fn ensure_service_principal(
        &self,
        app_id: &str,
    ) -> PortResult<Applied<ServicePrincipal>> {
        self.recorder.call("ensure_service_principal", app_id, || {
            let mut state = self.state.lock().unwrap();
            let object_id = state.next();
            match state.apps.iter_mut().find(|a| a.app.app_id == app_id) {
                None => Err(not_found(format!("no application with client id {app_id}"))),
                Some(app) => match &app.service_principal {
                    Some(sp) => Ok((Applied::Unchanged(sp.clone()), false)),
                    None => {
                        let sp = ServicePrincipal {
                            object_id,
                            app_id: app_id.to_string(),
                        };
                        app.service_principal = Some(sp.clone());
                        Ok((Applied::Created(sp), true))
                    }
                },
            }
        })
    }

    async fn list_federated_credentials(
        &self,
        app_object_id: &str,
    ) -> PortResult<Vec<FederatedCredential>> {
        self.recorder
            .call("list_federated_credentials", app_object_id, || {
                let mut state = self.state.lock().unwrap();
                let app = state.by_object_id(app_object_id)?;
                Ok((app.credentials.clone(), false))
            })
    }

    async fn ensure_federated_credential(
        &self,
        app_object_id: &str,
        credential: &FederatedCredential,
    ) -> PortResult<Applied<FederatedCredential>> {
        self.recorder
            .call("ensure_federated_credential", &credential.name, || {
                let mut state = self.state.lock().unwrap();
                let app = state.by_object_id(app_object_id)?;
                if let Some(clash) = app.credentials.iter().find(|c| {
                    c.name != credential.name
                        && c.issuer == credential.issuer
                        && c.subject == credential.subject
                }) {
                    return Err(conflict(format!(
                        "the federated credential '{}' already trusts this issuer and subject",
                        clash.name
                    )));
                }
                let full = app.credentials.len() >= MAX_CREDENTIALS;
                match app
                    .credentials
                    .iter_mut()
                    .find(|c| c.name == credential.name)
                {
                    Some(existing) if existing == credential => {
                        Ok((Applied::Unchanged(existing.clone()), false))
                    }
                    Some(existing) => {
                        *existing = credential.clone();
                        Ok((Applied::Updated(credential.clone()), true))
                    }
                    None if full => Err(Problem::new(
                        ErrorCode::LimitExceeded,
                        format!(
                            "the app registration already has {MAX_CREDENTIALS} federated credentials"
                        ),
                    )),
                    None => {
                        app.credentials.push(credential.clone());
                        Ok((Applied::Created(credential.clone()), true))
                    }
                }
            })
    }

    async fn delete_federated_credential(&self, app_object_id: &str, name: &str) -> PortResult<()> {
        self.recorder.call("delete_federated_credential", name, || {
            let mut state = self.state.lock().unwrap();
            let changed = state
                .by_object_id(app_object_id)
                .is_ok_and(|app| remove_where(&mut app.credentials, |c| c.name == name));
            Ok(((), changed))
        })
    }
}
