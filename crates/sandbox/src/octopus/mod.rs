//! The sandbox Octopus Deploy server: REST API, OIDC issuer, account-test tasks, service
//! accounts with OIDC identities and `/token/v1`, plus a GitHub-style workflow token issuer.
//!
//! [`OctopusSandbox`] owns the state (seeded from a profile or restored from a snapshot) and
//! builds an axum [`Router`] that the host serves on an HTTP and an HTTPS listener.
//! Behaviour follows `shared/reference/octopus-api.md` and the 2026.1 swagger: API key or
//! bearer auth (401 otherwise), Octopus's error body, `/all` and paged lists, flat-JSON
//! accounts validated like the server, the issuer's discovery/JWKS at the server root.
//!
//! Deliberately absent: deployments, releases, variables, writes to machines other than
//! creating a cloud target ([`machines`]), and every endpoint the
//! wizard never calls; permissions come from team membership (see [`permissions`]) and are
//! enforced all-or-nothing.

pub mod accounts;
pub mod auth;
pub mod errors;
pub mod github;
pub mod inventory;
pub mod issuer;
pub mod machines;
pub mod model;
pub mod paging;
pub mod people;
pub mod permissions;
pub mod state;
pub mod subject;
pub mod tasks;
pub mod token_exchange;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use octo_oidc_core::Secret;
use serde_json::json;

use crate::faults::{FaultKind, Faults, dropped_connection};
use crate::seed::{self, SeedProfile};
use crate::signing::{SigningError, SigningKey};
use crate::token_validation::RemoteIssuers;
use errors::OctopusError;
use model::{Team, User, now_rfc3339};
use state::{AllCache, IssuedAccessToken, OctopusState};

/// The built-in administrator, whom the API key belongs to.
pub const ADMIN_USER_ID: &str = "Users-1";
/// The default Octopus version the root document reports (a 2026 server: AWS accounts need
/// `Region` and `Audience`; pass e.g. `2025.4.10333` for the older rules).
pub const DEFAULT_VERSION: &str = "2026.3.1452";

/// How the issuer string is formed from the server URL (mismatches are reproducible this way).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IssuerStyle {
    /// The HTTPS server URL without a trailing slash (what Azure's docs ask for).
    #[default]
    Https,
    /// The HTTPS server URL with a trailing slash (what sample Octopus tokens show).
    HttpsTrailingSlash,
    /// The plain HTTP server URL (which clouds reject).
    Http,
    /// An exact override ("OIDC Issuer Url" setting).
    Override(String),
}

impl IssuerStyle {
    /// The issuer for a server with this plain-HTTP URL and public HTTPS URL (no trailing
    /// slash given).
    pub fn issuer(&self, http_url: &str, public_url: &str) -> String {
        match self {
            IssuerStyle::Https => public_url.trim_end_matches('/').to_string(),
            IssuerStyle::HttpsTrailingSlash => format!("{}/", public_url.trim_end_matches('/')),
            IssuerStyle::Http => http_url.trim_end_matches('/').to_string(),
            IssuerStyle::Override(s) => s.clone(),
        }
    }
}

/// Configuration of one sandbox Octopus.
#[derive(Debug, Clone)]
pub struct OctopusConfig {
    /// `Version` in the `/api` document.
    pub version: String,
    /// The server's HTTP base URL, no trailing slash.
    pub http_url: String,
    /// The server's public URL (HTTPS, no port, no trailing slash, e.g.
    /// `https://octopus.sandbox.localhost`): `ServerUrl`, issuer endpoints.
    pub public_url: String,
    /// The exact `issuer` of discovery and of minted tokens.
    pub issuer: String,
    /// The administrator's API key.
    pub api_key: Secret,
    /// The Entra authority base URL account tests trade tokens with
    /// (`{authority}/{tenant}/oauth2/v2.0/token`); `None` fails Azure account tests.
    pub entra_authority: Option<String>,
    /// The AWS endpoint (STS) account tests trade tokens with; `None` fails AWS account tests.
    pub aws_endpoint: Option<String>,
    /// The Google Cloud endpoint (STS `v1/token`, `generateAccessToken`) Google accounts trade
    /// tokens with; `None` fails Google Cloud account tests.
    pub gcp_endpoint: Option<String>,
}

/// What the sandbox Octopus needs from its host besides configuration and state.
#[derive(Debug, Clone)]
pub struct OctopusDeps {
    /// Fault injection (service `octopus`).
    pub faults: Faults,
    /// Validation of incoming tokens (`/token/v1`).
    pub issuers: RemoteIssuers,
    /// Outgoing HTTP for account tests (trusts the sandbox CA).
    pub http: reqwest::Client,
}

/// Shared state behind every handler.
#[derive(Debug)]
pub struct Shared {
    /// Configuration.
    pub config: OctopusConfig,
    /// The administrator's API key.
    pub api_key: Secret,
    state: RwLock<OctopusState>,
    /// Pre-serialized `/all` bodies.
    pub cache: Mutex<AllCache>,
    /// Access tokens issued by `/token/v1`, by token value.
    pub access_tokens: Mutex<HashMap<String, IssuedAccessToken>>,
    /// Fault injection.
    pub faults: Faults,
    /// Validation of incoming tokens.
    pub issuers: RemoteIssuers,
    /// Outgoing HTTP (trusts the sandbox CA).
    pub http: reqwest::Client,
    signing_key: SigningKey,
}

/// The handler state type.
pub type AppState = Arc<Shared>;

impl Shared {
    /// The issuer's signing key.
    pub fn signing_key(&self) -> SigningKey {
        self.signing_key.clone()
    }

    /// Read access to the state.
    pub fn read(&self) -> RwLockReadGuard<'_, OctopusState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the state.
    pub fn write(&self) -> RwLockWriteGuard<'_, OctopusState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves a space id or slug to the space id; 404 if there is no such space.
    pub fn resolve_space(&self, ident: &str) -> Result<String, OctopusError> {
        let state = self.read();
        state
            .inventory
            .spaces
            .iter()
            .find(|s| s.id == ident || s.slug == ident)
            .map(|s| s.id.clone())
            .ok_or_else(OctopusError::not_found)
    }
}

/// The sandbox Octopus server (cheap to clone).
#[derive(Debug, Clone)]
pub struct OctopusSandbox {
    shared: AppState,
}

/// Adds the built-in administrator and teams if the state has none.
fn ensure_builtins(state: &mut OctopusState) {
    if state.user(ADMIN_USER_ID).is_none() {
        state.users.insert(
            0,
            User {
                id: ADMIN_USER_ID.into(),
                username: "admin".into(),
                display_name: "Sandbox Administrator".into(),
                email_address: Some("admin@sandbox.invalid".into()),
                is_service: false,
                is_active: true,
                external_id: None,
                created: now_rfc3339(),
            },
        );
    }
    if state.teams.is_empty() {
        let team = |id: &str,
                    name: &str,
                    space: Option<&str>,
                    members: Vec<String>,
                    change: bool,
                    grants: bool| Team {
            id: id.into(),
            name: name.into(),
            slug: model::slugify(name),
            description: String::new(),
            space_id: space.map(str::to_string),
            member_user_ids: members,
            can_change_members: change,
            grants_permissions: grants,
            role: None,
        };
        state.teams = vec![
            team(
                "teams-administrators",
                "Octopus Administrators",
                None,
                vec![ADMIN_USER_ID.into()],
                true,
                true,
            ),
            team("teams-everyone", "Everyone", None, vec![], false, false),
            team(
                "teams-managers",
                "Octopus Managers",
                None,
                vec![],
                true,
                true,
            ),
            team(
                "teams-spacemanagers-Spaces-1",
                "Space Managers",
                Some("Spaces-1"),
                vec![],
                true,
                true,
            ),
        ];
    }
    state.sync_counters();
    ensure_deployer(state);
}

/// The seeded less-privileged user: "deployer", with an API key of its own, a member of the
/// "Project deployers" team of Spaces-1 whose role ("Project deployer") may see and deploy but
/// not create accounts, run tasks or edit teams, and with no system permission (no `UserEdit`).
fn ensure_deployer(state: &mut OctopusState) {
    if state.users.iter().any(|u| u.username == DEPLOYER_USERNAME)
        || state.space("Spaces-1").is_none()
    {
        return;
    }
    let user_id = state.next_id("Users");
    state.users.push(User {
        id: user_id.clone(),
        username: DEPLOYER_USERNAME.into(),
        display_name: "Sandbox Deployer".into(),
        email_address: Some("deployer@sandbox.invalid".into()),
        is_service: false,
        is_active: true,
        external_id: None,
        created: now_rfc3339(),
    });
    let team_id = state.next_id("Teams");
    state.teams.push(Team {
        id: team_id,
        name: "Project deployers".into(),
        slug: "project-deployers".into(),
        description: "Sandbox: the deployer's team (role Project deployer in Spaces-1)".into(),
        space_id: Some("Spaces-1".into()),
        member_user_ids: vec![user_id.clone()],
        can_change_members: true,
        grants_permissions: true,
        role: Some("Project deployer".into()),
    });
    state.api_keys.insert(
        crate::host::generate_api_key().expose().to_string(),
        user_id,
    );
}

/// The username of the seeded less-privileged user.
pub const DEPLOYER_USERNAME: &str = "deployer";

impl OctopusSandbox {
    /// A sandbox with a freshly seeded state and a new issuer key.
    pub fn seeded(
        config: OctopusConfig,
        profile: SeedProfile,
        deps: OctopusDeps,
    ) -> Result<OctopusSandbox, SigningError> {
        let state = OctopusState {
            inventory: seed::inventory(profile),
            ..OctopusState::default()
        };
        OctopusSandbox::with_state(config, state, deps)
    }

    /// A sandbox with the given state (e.g. from a state file); generates the issuer key if
    /// the state has none.
    pub fn with_state(
        config: OctopusConfig,
        mut state: OctopusState,
        deps: OctopusDeps,
    ) -> Result<OctopusSandbox, SigningError> {
        ensure_builtins(&mut state);
        let signing_key = match state.signing_key.clone() {
            Some(key) => key,
            None => {
                let key = SigningKey::generate()?;
                state.signing_key = Some(key.clone());
                key
            }
        };
        Ok(OctopusSandbox {
            shared: Arc::new(Shared {
                api_key: config.api_key.clone(),
                config,
                state: RwLock::new(state),
                cache: Mutex::new(AllCache::default()),
                access_tokens: Mutex::new(HashMap::new()),
                faults: deps.faults,
                issuers: deps.issuers,
                http: deps.http,
                signing_key,
            }),
        })
    }

    /// The persisted state (including the issuer key).
    pub fn snapshot(&self) -> OctopusState {
        self.shared.read().clone()
    }

    /// Replaces inventory, accounts, users, teams, identities and tasks (clears cached bodies
    /// and issued access tokens). The issuer key of a running sandbox stays; restore a state
    /// file at start ([`OctopusSandbox::with_state`]) to keep its key.
    pub fn restore(&self, mut state: OctopusState) {
        ensure_builtins(&mut state);
        state.signing_key = Some(self.shared.signing_key.clone());
        *self.shared.write() = state;
        self.shared
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.shared
            .access_tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Withholds a permission (e.g. `"AccountCreate"`) from every user: it disappears from
    /// `GET /api/users/{id}/permissions` until [`OctopusSandbox::grant_permission`].
    pub fn withhold_permission(&self, permission: &str) {
        self.shared
            .write()
            .withheld_permissions
            .insert(permission.to_string());
    }

    /// Gives back a permission withheld with [`OctopusSandbox::withhold_permission`].
    pub fn grant_permission(&self, permission: &str) {
        self.shared.write().withheld_permissions.remove(permission);
    }

    /// The API key of the seeded less-privileged user ([`DEPLOYER_USERNAME`]).
    pub fn deployer_api_key(&self) -> Option<Secret> {
        let state = self.shared.read();
        let id = &state
            .users
            .iter()
            .find(|u| u.username == DEPLOYER_USERNAME)?
            .id;
        state
            .api_keys
            .iter()
            .find(|(_, user)| *user == id)
            .map(|(key, _)| Secret::new(key.clone()))
    }

    /// The configuration.
    pub fn config(&self) -> &OctopusConfig {
        &self.shared.config
    }

    /// Serializes every `/all` body now, so the first request does not pay for it (the host
    /// runs this in the background right after start).
    pub fn prebuild_all_bodies(&self) {
        inventory::prebuild_all_bodies(&self.shared);
    }

    /// The shared handler state (for in-crate composition and tests).
    pub fn shared(&self) -> &AppState {
        &self.shared
    }

    /// Mints the token Octopus would issue for an account in a run (for tests).
    pub fn mint_for_account(
        &self,
        space_id: &str,
        account_id: &str,
        request: &issuer::TokenRequest,
    ) -> Result<issuer::MintedToken, OctopusError> {
        let account = self
            .shared
            .read()
            .account(space_id, account_id)
            .cloned()
            .ok_or_else(OctopusError::not_found)?;
        issuer::mint_for_account(&self.shared, &account, request)
            .map_err(|e| OctopusError::bad_request(e.to_string()))
    }

    /// The HTTP API (serve it on both the HTTP and the HTTPS listener).
    pub fn router(&self) -> Router {
        let authed = api_routes().route_layer(axum::middleware::from_fn_with_state(
            self.shared.clone(),
            auth::require_caller,
        ));
        Router::new()
            .route("/api", get(root))
            .route("/api/", get(root))
            .route("/.well-known/openid-configuration", get(issuer::discovery))
            .route("/.well-known/jwks", get(issuer::jwks))
            .route("/token/v1", post(token_exchange::exchange))
            .merge(authed)
            .route_layer(axum::middleware::from_fn_with_state(
                self.shared.clone(),
                apply_faults,
            ))
            .with_state(self.shared.clone())
    }
}

/// Applies the `octopus` fault rules to every routed request; the operation is
/// `"{METHOD} {route}"`, e.g. `"GET /api/{space}/projects/all"` or `"POST /token/v1"`.
async fn apply_faults(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    let operation = format!("{} {route}", request.method());
    match app.faults.before("octopus", &operation).await {
        None => next.run(request).await,
        Some(FaultKind::Throttle { retry_after_secs }) => {
            OctopusError::injected(StatusCode::TOO_MANY_REQUESTS, Some(retry_after_secs))
                .into_response()
        }
        Some(FaultKind::ServerError { status }) => OctopusError::injected(
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            None,
        )
        .into_response(),
        Some(FaultKind::DropConnection) => dropped_connection(),
    }
}

/// `GET /api`: the root document (anonymous).
async fn root(State(app): State<AppState>) -> Response {
    axum::Json(json!({
        "Application": "Octopus Deploy",
        "Version": app.config.version,
        "ApiVersion": "3.0.0",
        "InstallationId": "5a4e1f0c-0b7e-4c9e-9c41-000000000001",
        "IsEarlyAccessProgram": false,
        "HasLongTermSupport": false,
        "Id": null, "LastModifiedBy": null, "LastModifiedOn": null,
        "Links": {
            "Self": "/api",
            "CurrentUser": "/api/users/me",
            "Spaces": "/api/spaces{?skip,ids,take,partialName}",
            "SpaceHome": "/api/{spaceId}",
            "Users": "/api/users{/id}{?skip,take,ids,filter}",
            "Teams": "/api/teams{/id}{?skip,take,ids,partialName,spaces,includeSystem}",
            "Tasks": "/api/tasks{/id}{?skip,take,ids,name,node,running,states,hasPendingInterruptions,hasWarningsOrErrors,spaces,includeSystem,description,fromCompletedDate,toCompletedDate,fromQueueDate,toQueueDate,fromStartDate,toStartDate}",
            "Swagger": "/api/swagger.json",
            "OpenIdConfiguration": "/.well-known/openid-configuration",
        }
    }))
    .into_response()
}

/// Registers a space-scoped route under both `/api/{space}` and `/api/spaces/{space}`.
fn both(
    router: Router<AppState>,
    suffix: &str,
    method: axum::routing::MethodRouter<AppState>,
) -> Router<AppState> {
    router
        .route(&format!("/api/{{space}}{suffix}"), method.clone())
        .route(&format!("/api/spaces/{{space}}{suffix}"), method)
}

/// Registers a per-space inventory collection's paged list, `/all` and get-by-id routes.
fn collection_routes<T: inventory::InSpace>(router: Router<AppState>) -> Router<AppState> {
    let path = format!("/{}", T::PATH);
    let router = both(router, &path, get(inventory::paged::<T>));
    let router = both(router, &format!("{path}/all"), get(inventory::all::<T>));
    both(
        router,
        &format!("{path}/{{id}}"),
        get(inventory::get_one::<T>),
    )
}

fn api_routes() -> Router<AppState> {
    use inventory as inv;
    let mut r = Router::new()
        .route("/api/users/me", get(people::me))
        .route(
            "/api/users",
            get(people::list_users).post(people::create_user),
        )
        .route("/api/users/all", get(people::all::<User>))
        .route(
            "/api/users/{id}",
            get(people::get_one::<User>).delete(people::delete_user),
        )
        .route(
            "/api/teams",
            get(people::list_teams).post(people::create_team),
        )
        .route(
            "/api/users/{id}/permissions",
            get(permissions::user_permissions),
        )
        .route(
            "/api/users/{id}/permissions/configuration",
            get(permissions::user_permissions),
        )
        .route("/api/teams/all", get(people::all::<Team>))
        .route(
            "/api/teams/{id}",
            get(people::get_one::<Team>).put(people::modify_team),
        )
        .route(
            "/api/serviceaccounts/{sa}/oidcidentities/create/v1",
            post(people::create_identity),
        )
        .route(
            "/api/serviceaccounts/{sa}/oidcidentities/v1",
            get(people::list_identities),
        )
        .route(
            "/api/serviceaccounts/{sa}/oidcidentities/{id}/v1",
            get(people::get_identity)
                .put(people::modify_identity)
                .delete(people::delete_identity),
        )
        .route("/api/spaces", get(inv::spaces_page))
        .route("/api/spaces/all", get(inv::spaces_all))
        .route("/api/spaces/{space}", get(inv::space_get));
    // Every space-scoped route, under both `/api/{space}/…` and `/api/spaces/{space}/…`.
    let space_scoped = [
        (
            "/users/{id}/permissions",
            get(permissions::user_permissions_in_space),
        ),
        (
            "/users/{id}/permissions/configuration",
            get(permissions::user_permissions_in_space),
        ),
        ("/projects/{id}/runbooks", get(inv::project_runbooks_page)),
        (
            "/projects/{id}/runbooks/all",
            get(inv::project_runbooks_all),
        ),
        ("/machines", post(machines::create)),
        ("/accounts", get(accounts::list).post(accounts::create)),
        ("/accounts/all", get(accounts::all)),
        ("/accounts/{id}/usages", get(machines::account_usages)),
        (
            "/accounts/{id}",
            get(accounts::get)
                .put(accounts::modify)
                .delete(accounts::delete),
        ),
        ("/tasks", get(tasks::list).post(tasks::create_scoped)),
        ("/tasks/{id}", get(tasks::get_scoped)),
        ("/tasks/{id}/details", get(tasks::details_scoped)),
    ];
    for (suffix, method) in space_scoped {
        r = both(r, suffix, method);
    }
    r = collection_routes::<model::Environment>(r);
    r = collection_routes::<model::ProjectGroup>(r);
    r = collection_routes::<model::Project>(r);
    r = collection_routes::<model::Tenant>(r);
    r = collection_routes::<model::Runbook>(r);
    r = collection_routes::<model::DeploymentTarget>(r);
    r.route("/api/tasks", get(tasks::list).post(tasks::create_unscoped))
        .route("/api/tasks/{id}", get(tasks::get))
        .route("/api/tasks/{id}/details", get(tasks::details))
        .route(
            "/api/_sandbox/deployment-tokens",
            post(tasks::deployment_token),
        )
        .route("/api/_sandbox/oidc-tokens", post(issuer::mint_endpoint))
        .fallback(|| async { OctopusError::not_found() })
}
