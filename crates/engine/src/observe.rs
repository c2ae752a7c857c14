//! The observe step: reads what exists for a setup through the core's ports and plans.
//!
//! [`observe`] reads the facts the desired state needs ([`SpaceFacts`]: server issuer, the
//! space's inventory with its deployment targets, the AWS account id or the Azure role's
//! definition id), computes the [`DesiredState`], then looks up every desired resource by
//! the name the setup gives it (account name, provider URL, role name, app unique name,
//! assignment GUID, service account username, identity name, team name) into an [`ObservedState`], and
//! plans. Lookups only: nothing is changed, so `plan` is safe to run at any time.
//!
//! Every read starts as soon as what it needs is in, not when a whole phase is: the reads
//! later ones build on (the space's id, `server_info`, the AWS caller, the cloud's sign-in)
//! are made once and shared ([`Early`]); the lookups keyed by what the setup names (the
//! role, the provider by the issuer's URL, the first app registration with its service
//! principal and credentials, the account) run beside the facts, and only what the
//! desired state adds (numbered `split_apps` apps and accounts, role assignments, the CI
//! resources) is looked up after it. [`crate::preflight::observe_with_preflight`] runs
//! the preflight's reads beside all of it.
//!
//! [`Ports`] bundles the five ports a setup may use; a target that does not need a cloud
//! passes [`Absent`] for it, which refuses every call (so a GitHub setup provably never
//! talks to Azure, AWS or Google Cloud). A gcp setup also reads its project (id → number)
//! and the service account's and project's allow policies.
//!
//! The team of a CI setup (`github.team`) is looked up by name among the space's and the
//! system teams (`Octopus::find_team`).
//!
//! Deliberately absent: resolving a space name to its id (the Octopus port has no space
//! listing; the caller resolves it with its listing, and may hand observe the id while it
//! is still being read).

use std::future::Future;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared, try_join_all};
use octo_oidc_core::aws::AwsProvider;
use octo_oidc_core::azure::role_assignment;
use octo_oidc_core::error::ErrorCode;
use octo_oidc_core::gcp::ProviderRef;
use octo_oidc_core::ports::{
    ApplicationSpec, Applied, AssumedRole, AzureRbac, EntraApplication, EntraApps,
    FederatedCredential, GcpAccessToken, GcpBinding, GcpPolicyChange, GcpPolicyTarget, GcpPool,
    GcpPoolSpec, GcpProject, GcpProvider, GcpProviderSpec, GcpRemoval, GcpServiceAccount,
    GcpServiceAccountSpec, GoogleCloud, Iam, IamRole, Octopus, OctopusAccount, OidcIdentity,
    OidcProvider, OidcProviderSpec, PortResult, RoleAssignment, RoleSpec, ServerInfo,
    ServicePrincipal,
};
use octo_oidc_core::{Problem, Secret};

use crate::desired::{DesiredResource, DesiredState, SpaceFacts, app_unique_name, desired_state};
use crate::observed::{ObservedApp, ObservedGcp, ObservedServiceAccount, ObservedState};
use crate::ownership;
use crate::plan::{Plan, plan};
use crate::setup_file::{Setup, TargetSpec};

/// The ports a setup may use. Borrowed: the caller owns the clients.
pub struct Ports<'a, O, E, R, I, G> {
    /// Octopus (every target).
    pub octopus: &'a O,
    /// Entra app registrations (Azure).
    pub entra: &'a E,
    /// Azure RBAC (Azure).
    pub rbac: &'a R,
    /// IAM and STS (AWS).
    pub iam: &'a I,
    /// Google Cloud (gcp).
    pub gcp: &'a G,
}

impl<O, E, R, I, G> Clone for Ports<'_, O, E, R, I, G> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<O, E, R, I, G> Copy for Ports<'_, O, E, R, I, G> {}

impl<O, E, R, I, G> std::fmt::Debug for Ports<'_, O, E, R, I, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// The five ports as one type: what every use case (observe, preflight, apply, verify,
/// teardown, an existing account's observe) is generic over. [`Ports`] is the one
/// implementation.
pub trait PortSet: Copy + Send + Sync {
    /// The Octopus port.
    type Octopus: Octopus;
    /// The Entra app registrations port.
    type Entra: EntraApps;
    /// The Azure RBAC port.
    type Rbac: AzureRbac;
    /// The IAM and STS port.
    type Iam: Iam;
    /// The Google Cloud port.
    type Gcp: GoogleCloud;
    /// Octopus (every target).
    fn octopus(&self) -> &Self::Octopus;
    /// Entra app registrations (Azure).
    fn entra(&self) -> &Self::Entra;
    /// Azure RBAC (Azure).
    fn rbac(&self) -> &Self::Rbac;
    /// IAM and STS (AWS).
    fn iam(&self) -> &Self::Iam;
    /// Google Cloud (gcp).
    fn gcp(&self) -> &Self::Gcp;
}

impl<O, E, R, I, G> PortSet for Ports<'_, O, E, R, I, G>
where
    O: Octopus,
    E: EntraApps,
    R: AzureRbac,
    I: Iam,
    G: GoogleCloud,
{
    type Octopus = O;
    type Entra = E;
    type Rbac = R;
    type Iam = I;
    type Gcp = G;
    fn octopus(&self) -> &O {
        self.octopus
    }
    fn entra(&self) -> &E {
        self.entra
    }
    fn rbac(&self) -> &R {
        self.rbac
    }
    fn iam(&self) -> &I {
        self.iam
    }
    fn gcp(&self) -> &G {
        self.gcp
    }
}

/// Everything observe found, and the plan made from it.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The setup.
    pub setup: Setup,
    /// The facts read before planning.
    pub facts: SpaceFacts,
    /// What the setup must have.
    pub desired: DesiredState,
    /// What exists.
    pub observed: ObservedState,
    /// Desired vs observed.
    pub plan: Plan,
}

/// Reads the facts, the desired state and the live state of `setup` in space `space_id`,
/// and plans.
pub async fn observe<P: PortSet>(
    setup: &Setup,
    space_id: &str,
    server_url: &str,
    ports: P,
) -> Result<Observation, Problem> {
    let early = Early::start(
        setup,
        futures::future::ready(Ok(space_id.to_string())),
        futures::future::ready(Ok(())),
        ports,
    );
    observe_from(setup, &early, server_url, ports).await
}

/// A read several later reads build on, started once and awaited by each of them.
pub(crate) type SharedRead<'a, T> = Shared<BoxFuture<'a, Result<T, Problem>>>;

/// The reads every later one builds on (the space's id, the server's issuer, the AWS
/// caller, the cloud's sign-in), each made once and shared, so that a read waits only for
/// what it needs: the name-keyed lookups start beside the inventory, the preflight's reads
/// beside observe.
pub(crate) struct Early<'a> {
    /// The space's id (the host may still be resolving it).
    pub(crate) space: SharedRead<'a, String>,
    /// `Octopus::server_info`: version and issuer.
    pub(crate) server: SharedRead<'a, ServerInfo>,
    /// The cloud's sign-in: every cloud read waits for it, Octopus's do not.
    pub(crate) signed_in: SharedRead<'a, ()>,
    /// AWS only: `Iam::caller_identity` (account, caller ARN), after the sign-in.
    pub(crate) aws_caller: SharedRead<'a, (String, String)>,
}

impl<'a> Early<'a> {
    /// The shared reads; nothing is sent until one is awaited.
    pub(crate) fn start<P: PortSet + 'a>(
        setup: &Setup,
        space: impl Future<Output = Result<String, Problem>> + Send + 'a,
        signed_in: impl Future<Output = Result<(), Problem>> + Send + 'a,
        ports: P,
    ) -> Early<'a> {
        let signed_in = signed_in.boxed().shared();
        let aws = matches!(setup.spec, TargetSpec::Aws(_));
        let ready = signed_in.clone();
        Early {
            space: space.boxed().shared(),
            server: async move { ports.octopus().server_info().await }
                .boxed()
                .shared(),
            aws_caller: async move {
                if !aws {
                    return Err(Problem::new(
                        ErrorCode::Internal,
                        "the AWS caller was asked for a setup that does not use AWS",
                    ));
                }
                ready.await?;
                ports.iam().caller_identity().await
            }
            .boxed()
            .shared(),
            signed_in,
        }
    }
}

/// [`observe`] over reads already started: the facts and the lookups keyed by what the
/// setup names (role, provider URL, the first app's unique name, the account name) at once;
/// after the desired state, the lookups of whatever else it holds.
pub(crate) async fn observe_from<P: PortSet>(
    setup: &Setup,
    early: &Early<'_>,
    server_url: &str,
    ports: P,
) -> Result<Observation, Problem> {
    let (facts, prefetched) = futures::join!(
        Box::pin(read_facts(setup, early, server_url, ports)),
        Box::pin(prefetch(setup, early, ports))
    );
    let facts = facts?;
    let desired = desired_state(setup, &facts)?;
    let observed = Box::pin(read_observed(&desired, &facts, prefetched, ports)).await?;
    let plan = plan(&desired, &observed);
    Ok(Observation {
        setup: setup.clone(),
        facts,
        desired,
        observed,
        plan,
    })
}

/// The facts the desired state needs.
async fn read_facts<P: PortSet>(
    setup: &Setup,
    early: &Early<'_>,
    server_url: &str,
    ports: P,
) -> Result<SpaceFacts, Problem> {
    // The cloud's fact needs nothing from Octopus: all three are read at once.
    let cloud_fact = async {
        match &setup.spec {
            TargetSpec::Aws(_) => Ok((Some(early.aws_caller.clone().await?.0), None, None)),
            TargetSpec::Azure(azure) => {
                early.signed_in.clone().await?;
                let id = ports
                    .rbac()
                    .role_definition_id(&azure.assignment_scope(), &azure.role)
                    .await?;
                Ok((None, Some(id), None))
            }
            TargetSpec::Gcp(gcp) => {
                early.signed_in.clone().await?;
                Ok((None, None, Some(ports.gcp().project(&gcp.project).await?)))
            }
            TargetSpec::Ci(_) => Ok::<_, Problem>((None, None, None)),
        }
    };
    let inventory = async {
        let space_id = early.space.clone().await?;
        let inventory = ports.octopus().inventory(&space_id).await?;
        Ok::<_, Problem>((space_id, inventory))
    };
    let (server, (space_id, inventory), (aws_account_id, azure_role_definition_id, gcp_project)) =
        futures::try_join!(early.server.clone(), inventory, cloud_fact)?;
    let space = inventory.space.clone().ok_or_else(|| {
        Problem::new(
            ErrorCode::NotFound,
            format!("space {space_id} was not found"),
        )
    })?;
    Ok(SpaceFacts {
        server,
        server_url: server_url.to_string(),
        space,
        targets: inventory.deployment_targets.clone(),
        inventory,
        aws_account_id,
        azure_role_definition_id,
        gcp_project,
    })
}

/// A lookup made before the desired state was known, keyed by what it looked up; its
/// failure counts only if the desired state needs that key.
type Looked<T> = Option<(String, PortResult<Option<T>>)>;

/// The lookups keyed by names the setup gives, made beside the facts.
#[derive(Default)]
struct Prefetched {
    provider: Looked<OidcProvider>,
    role: Looked<IamRole>,
    app: Looked<ObservedApp>,
    account: Looked<OctopusAccount>,
}

fn take<T>(looked: &mut Looked<T>, key: &str) -> Option<PortResult<Option<T>>> {
    match looked {
        Some((k, _)) if k == key => looked.take().map(|(_, r)| r),
        _ => None,
    }
}

/// Looks up, beside the facts, what the setup names without the inventory: the role by its
/// name, the provider by the issuer's URL, the first app registration by its unique name
/// (with its service principal and credentials), the account by its name.
async fn prefetch<P: PortSet>(setup: &Setup, early: &Early<'_>, ports: P) -> Prefetched {
    let account_name = match &setup.spec {
        TargetSpec::Aws(a) => Some(a.scope.account_name.clone()),
        TargetSpec::Azure(a) => Some(a.scope.account_name.clone()),
        TargetSpec::Gcp(_) | TargetSpec::Ci(_) => None,
    };
    let account = async {
        let name = account_name?;
        let found = match early.space.clone().await {
            Ok(space) => ports.octopus().find_account(&space, &name).await,
            Err(e) => Err(e),
        };
        Some((name, found))
    };
    let role = async {
        let TargetSpec::Aws(aws) = &setup.spec else {
            return None;
        };
        let found = match early.signed_in.clone().await {
            Ok(()) => ports.iam().find_role(&aws.role_name).await,
            Err(e) => Err(e),
        };
        Some((aws.role_name.clone(), found))
    };
    let provider = async {
        if !matches!(setup.spec, TargetSpec::Aws(_)) {
            return None;
        }
        let (server, caller) = futures::join!(early.server.clone(), early.aws_caller.clone());
        // Without them observe fails on its own; a bad issuer is desired_state's problem.
        let provider = AwsProvider::from_issuer(&server.ok()?.issuer, &caller.ok()?.0).ok()?;
        let found = ports.iam().find_oidc_provider(&provider.url).await;
        Some((provider.url, found))
    };
    let app = async {
        if !matches!(setup.spec, TargetSpec::Azure(_)) {
            return None;
        }
        let name = app_unique_name(&setup.name, 1);
        let found = match early.signed_in.clone().await {
            Ok(()) => match ports.entra().find_application(&name).await {
                Ok(Some(app)) => observe_app(app, &name, ports).await.map(Some),
                other => other.map(|_| None),
            },
            Err(e) => Err(e),
        };
        Some((name, found))
    };
    let (account, role, provider, app) = futures::join!(account, role, provider, app);
    Prefetched {
        provider,
        role,
        app,
        account,
    }
}

/// Looks up every desired resource by its name (taking what was prefetched).
async fn read_observed<P: PortSet>(
    desired: &DesiredState,
    facts: &SpaceFacts,
    prefetched: Prefetched,
    ports: P,
) -> Result<ObservedState, Problem> {
    let space_id = facts.space.id.as_str();
    let Prefetched {
        mut provider,
        mut role,
        mut app,
        mut account,
    } = prefetched;
    let mut looked_accounts = Vec::new();
    for r in &desired.resources {
        if let DesiredResource::OctopusAccount { name, .. } = r {
            looked_accounts.push((name, take(&mut account, name)));
        }
    }
    let mut looked_provider = None;
    let mut looked_role = None;
    let mut looked_apps = Vec::new();
    for r in &desired.resources {
        match r {
            DesiredResource::OidcProvider { spec, .. } => {
                looked_provider = Some((spec, take(&mut provider, &spec.url)))
            }
            DesiredResource::IamRole { spec, .. } => {
                looked_role = Some((spec, take(&mut role, &spec.name)))
            }
            DesiredResource::AppRegistration { unique_name, .. } => {
                looked_apps.push(take(&mut app, unique_name))
            }
            _ => {}
        }
    }
    // Independent lookups run at once: the accounts, the AWS provider and role, and the
    // rest (an app before its role assignment, a service account before its identities).
    let accounts = looked_accounts
        .into_iter()
        .map(|(name, looked)| async move {
            match looked {
                Some(found) => found,
                None => ports.octopus().find_account(space_id, name).await,
            }
        });
    let provider = async {
        match looked_provider {
            Some((_, Some(found))) => found,
            Some((spec, None)) => ports.iam().find_oidc_provider(&spec.url).await,
            None => Ok::<_, Problem>(None),
        }
    };
    let role = async {
        match looked_role {
            Some((_, Some(found))) => found,
            Some((spec, None)) => ports.iam().find_role(&spec.name).await,
            None => Ok::<_, Problem>(None),
        }
    };
    let rest = read_in_order(desired, space_id, looked_apps, ports);
    let gcp = read_gcp(desired, facts, ports);
    let (accounts, oidc_provider, iam_role, mut observed, gcp) =
        futures::try_join!(try_join_all(accounts), provider, role, rest, gcp)?;
    observed.gcp = gcp;
    observed.octopus_accounts = accounts.into_iter().flatten().collect();
    observed.oidc_provider = oidc_provider;
    observed.iam_role = iam_role;
    Ok(observed)
}

/// The lookups that build on each other, in the desired state's order: an app registration
/// (unless prefetched) before its role assignment, a service account before its
/// identities; and the team.
async fn read_in_order<P: PortSet>(
    desired: &DesiredState,
    space_id: &str,
    looked_apps: Vec<Option<PortResult<Option<ObservedApp>>>>,
    ports: P,
) -> Result<ObservedState, Problem> {
    let mut observed = ObservedState::default();
    let mut looked_apps = looked_apps.into_iter();
    for resource in &desired.resources {
        match resource {
            DesiredResource::AppRegistration { unique_name, .. } => {
                let found = match looked_apps.next().flatten() {
                    Some(found) => found?,
                    None => match ports.entra().find_application(unique_name).await? {
                        Some(app) => Some(observe_app(app, unique_name, ports).await?),
                        None => None,
                    },
                };
                observed.apps.extend(found);
            }
            DesiredResource::RoleAssignment {
                app,
                scope,
                role_definition_id: Some(def),
                ..
            } => {
                let principal = observed
                    .apps
                    .iter()
                    .find(|a| &a.unique_name == app)
                    .and_then(|a| a.service_principal.as_ref());
                if let Some(sp) = principal {
                    let wanted = role_assignment(scope, def, &sp.object_id);
                    if let Some(found) = ports
                        .rbac()
                        .find_role_assignment(scope, &wanted.name)
                        .await?
                    {
                        observed.role_assignments.push(found);
                    }
                }
            }
            DesiredResource::ServiceAccount { username, .. } => {
                if let Some((sa, identities)) = observe_service_account(username, ports).await? {
                    observed.service_account = Some(sa);
                    observed.oidc_identities = identities;
                }
            }
            DesiredResource::TeamMembership { team, .. } => {
                observed.team = ports.octopus().find_team(space_id, team).await?;
            }
            _ => {}
        }
    }
    Ok(observed)
}

/// The CI service account named `username` with its OIDC identities (none for a user that
/// is not a service account).
async fn observe_service_account<P: PortSet>(
    username: &str,
    ports: P,
) -> Result<Option<(ObservedServiceAccount, Vec<OidcIdentity>)>, Problem> {
    let Some(sa) = ports.octopus().find_service_account(username).await? else {
        return Ok(None);
    };
    let identities = match sa.is_service {
        true => Some(ports.octopus().list_oidc_identities(&sa.id).await?),
        false => None,
    };
    let (external_id, identities) = match identities {
        Some(i) => (Some(i.external_id), i.identities),
        None => (None, Vec::new()),
    };
    let account = ObservedServiceAccount {
        created_by: ownership::setup_of_display_name(&sa.display_name).map(str::to_string),
        id: sa.id,
        username: sa.username,
        display_name: sa.display_name,
        external_id,
    };
    Ok(Some((account, identities)))
}

/// The Google Cloud resources, each looked up at once (the service account's policy after
/// the account itself).
async fn read_gcp<P: PortSet>(
    desired: &DesiredState,
    facts: &SpaceFacts,
    ports: P,
) -> Result<ObservedGcp, Problem> {
    let mut pool_ref = None;
    let mut provider_ref = None;
    let mut email = None;
    for r in &desired.resources {
        match r {
            DesiredResource::WorkloadIdentityPool { spec } => pool_ref = Some(spec),
            DesiredResource::WorkloadIdentityProvider { spec, .. } => {
                provider_ref = Some(&spec.provider)
            }
            DesiredResource::GcpServiceAccount { email: e, .. } => email = Some(e.clone()),
            _ => {}
        }
    }
    let Some(project) = facts.gcp_project.as_ref() else {
        return Ok(ObservedGcp::default());
    };
    let pool = async {
        match pool_ref {
            Some(spec) => {
                ports
                    .gcp()
                    .find_pool(&spec.project_number, &spec.pool_id)
                    .await
            }
            None => Ok(None),
        }
    };
    let provider = async {
        match provider_ref {
            Some(p) => ports.gcp().find_provider(p).await,
            None => Ok(None),
        }
    };
    let service_account = async {
        let Some(email) = email else {
            return Ok((None, Vec::new()));
        };
        match ports.gcp().find_service_account(&email).await? {
            None => Ok((None, Vec::new())),
            Some(sa) => {
                let target = GcpPolicyTarget::ServiceAccount(email);
                Ok::<_, Problem>((Some(sa), ports.gcp().policy_bindings(&target).await?))
            }
        }
    };
    let project_target = GcpPolicyTarget::Project(project.project_id.clone());
    let project_bindings = ports.gcp().policy_bindings(&project_target);
    let (pool, provider, (service_account, service_account_bindings), project_bindings) =
        futures::try_join!(pool, provider, service_account, project_bindings)?;
    Ok(ObservedGcp {
        pool,
        provider,
        service_account,
        service_account_bindings,
        project_bindings,
    })
}

pub(crate) async fn observe_app<P: PortSet>(
    app: EntraApplication,
    unique_name: &str,
    ports: P,
) -> Result<ObservedApp, Problem> {
    let (service_principal, federated_credentials) = futures::try_join!(
        ports.entra().find_service_principal(&app.app_id),
        ports.entra().list_federated_credentials(&app.object_id)
    )?;
    Ok(ObservedApp {
        tags: app.tags.clone(),
        unique_name: unique_name.to_string(),
        application: app,
        service_principal,
        federated_credentials,
    })
}

/// A port a setup's target does not use: every call is refused with `internal`, so using
/// it is a bug that shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Absent;

fn absent<T>(port: &str) -> PortResult<T> {
    Err(Problem::new(
        ErrorCode::Internal,
        format!("this setup's target does not use {port}"),
    ))
}

/// Implements a port for [`Absent`]: each listed method refuses with `internal`, naming
/// the port.
macro_rules! refused {
    ($port:ident, $name:literal: $(fn $method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        impl $port for Absent {
            $(
                async fn $method(&self, $(_: $arg),*) -> PortResult<$ret> {
                    absent($name)
                }
            )*
        }
    };
}

refused!(EntraApps, "Entra":
    fn find_application(&str) -> Option<EntraApplication>;
    fn find_application_by_client_id(&str) -> Option<EntraApplication>;
    fn ensure_application(&ApplicationSpec) -> Applied<EntraApplication>;
    fn delete_application(&str) -> ();
    fn find_service_principal(&str) -> Option<ServicePrincipal>;
    fn ensure_service_principal(&str) -> Applied<ServicePrincipal>;
    fn list_federated_credentials(&str) -> Vec<FederatedCredential>;
    fn ensure_federated_credential(&str, &FederatedCredential) -> Applied<FederatedCredential>;
    fn delete_federated_credential(&str, &str) -> ();
);

refused!(AzureRbac, "Azure RBAC":
    fn role_definition_id(&str, &str) -> String;
    fn find_role_assignment(&str, &str) -> Option<RoleAssignment>;
    fn ensure_role_assignment(&RoleAssignment) -> Applied<RoleAssignment>;
    fn delete_role_assignment(&RoleAssignment) -> ();
);

refused!(Iam, "AWS":
    fn caller_identity() -> (String, String);
    fn find_oidc_provider(&str) -> Option<OidcProvider>;
    fn ensure_oidc_provider(&OidcProviderSpec) -> Applied<OidcProvider>;
    fn delete_oidc_provider(&str) -> ();
    fn find_role(&str) -> Option<IamRole>;
    fn ensure_role(&RoleSpec) -> Applied<IamRole>;
    fn delete_role(&str) -> ();
    fn assume_role_with_web_identity(&str, &Secret, &str) -> AssumedRole;
);

refused!(GoogleCloud, "Google Cloud":
    fn project(&str) -> GcpProject;
    fn granted_permissions(&str, &[String]) -> Vec<String>;
    fn find_pool(&str, &str) -> Option<GcpPool>;
    fn ensure_pool(&GcpPoolSpec) -> Applied<GcpPool>;
    fn delete_pool(&str, &str) -> GcpRemoval;
    fn undelete_pool(&str, &str) -> Applied<GcpPool>;
    fn find_provider(&ProviderRef) -> Option<GcpProvider>;
    fn ensure_provider(&GcpProviderSpec) -> Applied<GcpProvider>;
    fn delete_provider(&ProviderRef) -> GcpRemoval;
    fn undelete_provider(&ProviderRef) -> Applied<GcpProvider>;
    fn find_service_account(&str) -> Option<GcpServiceAccount>;
    fn ensure_service_account(&GcpServiceAccountSpec) -> Applied<GcpServiceAccount>;
    fn delete_service_account(&str) -> GcpRemoval;
    fn policy_bindings(&GcpPolicyTarget) -> Vec<GcpBinding>;
    fn change_policy(&GcpPolicyTarget, &GcpPolicyChange) -> Applied<Vec<GcpBinding>>;
    fn exchange_token(&str, &Secret) -> Secret;
    fn generate_access_token(&Secret, &str, u32) -> GcpAccessToken;
);
