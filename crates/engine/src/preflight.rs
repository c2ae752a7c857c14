//! Preflight: before any write, may the signed-in identities do what the plan needs?
//!
//! [`needed_permissions`] derives from the plan's steps (create / update / delete; unchanged
//! and conflicting steps need nothing) every permission apply will use, each with what it is
//! needed for:
//!
//! - **AWS**: the IAM actions on the provider and role ARNs (`iam:CreateOpenIDConnectProvider`,
//!   `iam:CreateRole`, `iam:TagRole`, `iam:AttachRolePolicy`, …), asked of
//!   `iam:SimulatePrincipalPolicy` for the caller (`GetCallerIdentity`; an assumed-role session
//!   as its role, [`policy_source_arn`]);
//! - **Azure**: registering applications (Graph: the caller's directory roles or app
//!   permissions, the tenant's `allowedToCreateApps`, decided by the core's
//!   [`may_create_applications`]) and `Microsoft.Authorization/roleAssignments/write` at the
//!   assignment's scope (ARM's permission list, [`rbac_allows`]);
//! - **Octopus**: `AccountCreate` / `AccountEdit` / `AccountDelete` in the space, `TaskCreate`
//!   for the account test (a warning: only verify needs it), `UserEdit` for the service
//!   account and its OIDC identity, `TeamEdit` for the team membership.
//!
//! [`preflight`] asks the ports and returns a [`Preflight`]: one [`PermissionCheck`] per
//! permission (granted, missing with the service's answer, or unknown when the service could
//! not be asked — a warning, never a guess), each missing one naming who can grant it, plus
//! the issuer checks (verify's [`crate::verify::issuer_checks`], when the host passes
//! [`IssuerFacts`]). [`Preflight::blocking_gaps`] is what makes apply refuse to start.
//!
//! [`observe_with_preflight`] asks the services before the plan is known, beside observe:
//! Octopus's permissions (the user's, in every space), IAM's `SimulatePrincipalPolicy` for
//! every action a step on the provider and the role may need (one call; the provider and
//! role ARNs follow from the account, the issuer and the role name), Entra's app-creation
//! rights and ARM's permissions at the assignment's scope. The plan then picks the answers
//! that count, exactly as [`preflight`] would; a permission on a resource not asked about
//! (an existing role with a path) is asked afterwards.
//!
//! Deliberately absent: any write, and permissions of teardown (it removes only what this
//! setup created, with the rights that created it).

use std::collections::BTreeMap;

use std::future::Future;

use octo_oidc_core::Problem;
use octo_oidc_core::aws::AwsProvider;
use octo_oidc_core::ports::{AzureRbac, EntraApps, Iam, Octopus, PortResult};
use octo_oidc_core::preflight::{
    AppCreationRights, IamDecision, OctopusGrants, RbacPermission, may_create_applications,
    policy_source_arn, rbac_allows,
};
use serde::Serialize;

use crate::desired::{DesiredResource, ResourceKind, role_arn};
use crate::observe::{Early, Observation, PortSet, observe_from};
use crate::plan::{Action, PlanStep};
use crate::setup_file::{Setup, TargetSpec};
use crate::verify::{Check, IssuerFacts, issuer_checks};

/// Which service is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// AWS IAM (`SimulatePrincipalPolicy`).
    Aws,
    /// Microsoft Entra ID (Graph).
    Entra,
    /// Azure RBAC (ARM).
    AzureRbac,
    /// Octopus Deploy.
    Octopus,
}

/// The permission Entra checks for registering an application.
pub const ENTRA_APP_CREATE: &str = "microsoft.directory/applications/create";
/// The ARM action a role assignment needs.
pub const ROLE_ASSIGNMENT_WRITE: &str = "Microsoft.Authorization/roleAssignments/write";
/// The ARM action removing a role assignment needs.
pub const ROLE_ASSIGNMENT_DELETE: &str = "Microsoft.Authorization/roleAssignments/delete";

/// One permission the plan needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeededPermission {
    /// Which service decides.
    pub service: Service,
    /// The permission (`iam:CreateRole`, `Microsoft.Authorization/roleAssignments/write`,
    /// `AccountCreate`).
    pub permission: String,
    /// What it is on (an ARN, an ARM scope, `Spaces-1`, `system`).
    pub resource: String,
    /// The steps that need it (`create iam_role 'x'`).
    pub needed_for: Vec<String>,
    /// Whether lacking it stops apply (`false`: only a later command needs it).
    pub blocking: bool,
}

/// What the service said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Granted (by what, where the service says).
    Granted {
        /// The grant, e.g. `directory role Application Developer`.
        #[serde(skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// Not granted.
    Missing {
        /// The service's answer (e.g. `implicitDeny`).
        detail: String,
    },
    /// The service could not be asked (preflight cannot tell; apply may still fail).
    Unknown {
        /// Why.
        reason: String,
    },
}

/// One checked permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionCheck {
    /// What is needed.
    #[serde(flatten)]
    pub needed: NeededPermission,
    /// The caller asked about (principal ARN, user, client id).
    pub caller: String,
    /// What the service said.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Who can grant it (for missing and unknown permissions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who_can_grant: Option<String>,
}

impl PermissionCheck {
    /// Whether it is missing and stops apply.
    pub fn is_blocking_gap(&self) -> bool {
        self.needed.blocking && matches!(self.outcome, Outcome::Missing { .. })
    }
}

/// Everything preflight found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preflight {
    /// One per needed permission.
    pub permissions: Vec<PermissionCheck>,
    /// The issuer checks (https, verbatim, trailing slash, keys, reachable by the cloud).
    pub issuer: Vec<Check>,
}

impl Preflight {
    /// Missing permissions that stop apply.
    pub fn blocking_gaps(&self) -> Vec<&PermissionCheck> {
        self.permissions
            .iter()
            .filter(|c| c.is_blocking_gap())
            .collect()
    }

    /// Failed blocking issuer checks.
    pub fn blocking_issuer_problems(&self) -> Vec<&Check> {
        self.issuer
            .iter()
            .filter(|c| !c.passed && c.blocking)
            .collect()
    }

    /// Whether apply must refuse to start.
    pub fn blocks_apply(&self) -> bool {
        !self.blocking_gaps().is_empty() || !self.blocking_issuer_problems().is_empty()
    }
}

fn describe(step: &PlanStep) -> String {
    format!(
        "{} {} '{}'",
        step.action.as_str(),
        step.kind.as_str(),
        step.name
    )
}

struct Needs(Vec<NeededPermission>);

impl Needs {
    fn add(&mut self, service: Service, permission: &str, resource: &str, why: &str) {
        self.add_with(service, permission, resource, why, true);
    }

    fn add_with(
        &mut self,
        service: Service,
        permission: &str,
        resource: &str,
        why: &str,
        blocking: bool,
    ) {
        match self
            .0
            .iter_mut()
            .find(|n| n.service == service && n.permission == permission && n.resource == resource)
        {
            Some(n) => {
                if !n.needed_for.iter().any(|w| w == why) {
                    n.needed_for.push(why.to_string());
                }
                n.blocking |= blocking;
            }
            None => self.0.push(NeededPermission {
                service,
                permission: permission.to_string(),
                resource: resource.to_string(),
                needed_for: vec![why.to_string()],
                blocking,
            }),
        }
    }
}

fn iam_actions(step: &PlanStep, desired: Option<&DesiredResource>) -> Vec<&'static str> {
    let changed = |field: &str| step.changes.iter().any(|c| c.field.starts_with(field));
    let (managed, inline) = match desired {
        Some(DesiredResource::IamRole { spec, .. }) => (
            !spec.managed_policy_arns.is_empty(),
            !spec.inline_policies.is_empty(),
        ),
        _ => (false, false),
    };
    iam_actions_of(step.kind, step.action, &changed, managed, inline)
}

/// The IAM actions of one step: its kind and action, which fields an update changes, and
/// whether the role has managed and inline policies.
fn iam_actions_of(
    kind: ResourceKind,
    action: Action,
    changed: &dyn Fn(&str) -> bool,
    managed: bool,
    inline: bool,
) -> Vec<&'static str> {
    match (kind, action) {
        (ResourceKind::OidcProvider, Action::Create) => vec![
            "iam:CreateOpenIDConnectProvider",
            "iam:TagOpenIDConnectProvider",
        ],
        (ResourceKind::OidcProvider, Action::Update) => {
            vec!["iam:AddClientIDToOpenIDConnectProvider"]
        }
        (ResourceKind::OidcProvider, Action::Delete) => vec!["iam:DeleteOpenIDConnectProvider"],
        (ResourceKind::IamRole, Action::Create) => {
            let mut v = vec!["iam:CreateRole", "iam:TagRole"];
            if managed {
                v.push("iam:AttachRolePolicy");
            }
            if inline {
                v.push("iam:PutRolePolicy");
            }
            v
        }
        (ResourceKind::IamRole, Action::Update) => {
            let mut v = Vec::new();
            if changed("trust_policy") {
                v.push("iam:UpdateAssumeRolePolicy");
            }
            if changed("max_session_duration") || changed("description") {
                v.push("iam:UpdateRole");
            }
            if changed("managed_policy_arns") {
                v.extend(["iam:AttachRolePolicy", "iam:DetachRolePolicy"]);
            }
            if changed("inline_policies") {
                v.extend(["iam:PutRolePolicy", "iam:DeleteRolePolicy"]);
            }
            v
        }
        (ResourceKind::IamRole, Action::Delete) => vec![
            "iam:DetachRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:DeleteRole",
        ],
        _ => Vec::new(),
    }
}

/// Every IAM action a step of apply on `kind` may need, whatever the plan turns out to be
/// (what preflight asks before the plan is known; apply creates and updates providers and
/// roles, it never deletes them).
fn possible_iam_actions(kind: ResourceKind) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Vec::new();
    for action in [Action::Create, Action::Update] {
        for a in iam_actions_of(kind, action, &|_| true, true, true) {
            if !all.contains(&a) {
                all.push(a);
            }
        }
    }
    all
}

fn desired_of<'a>(observation: &'a Observation, step: &PlanStep) -> Option<&'a DesiredResource> {
    observation
        .desired
        .resources
        .iter()
        .find(|r| r.kind() == step.kind && resource_name(r) == step.name)
}

fn resource_name(r: &DesiredResource) -> String {
    match r {
        DesiredResource::IamRole { spec, .. } => spec.name.clone(),
        _ => String::new(),
    }
}

/// Every permission apply of this plan will use (pure).
pub fn needed_permissions(observation: &Observation) -> Vec<NeededPermission> {
    let mut needs = Needs(Vec::new());
    let space = observation.facts.space.id.as_str();
    for step in &observation.plan.steps {
        if !matches!(
            step.action,
            Action::Create | Action::Update | Action::Delete
        ) {
            continue;
        }
        let why = describe(step);
        let arn = step
            .id
            .clone()
            .or_else(|| step.details["arn"].as_str().map(str::to_string))
            .unwrap_or_else(|| "*".to_string());
        for action in iam_actions(step, desired_of(observation, step)) {
            needs.add(Service::Aws, action, &arn, &why);
        }
        match (step.kind, step.action) {
            (ResourceKind::AppRegistration, Action::Create) => {
                needs.add(Service::Entra, ENTRA_APP_CREATE, "directory", &why)
            }
            (ResourceKind::RoleAssignment, action) => {
                let scope = step.details["scope"].as_str().unwrap_or_default();
                let permission = match action {
                    Action::Delete => ROLE_ASSIGNMENT_DELETE,
                    _ => ROLE_ASSIGNMENT_WRITE,
                };
                needs.add(Service::AzureRbac, permission, scope, &why);
            }
            (ResourceKind::OctopusAccount, action) => {
                let permission = match action {
                    Action::Create => "AccountCreate",
                    Action::Update => "AccountEdit",
                    _ => "AccountDelete",
                };
                needs.add(Service::Octopus, permission, space, &why);
            }
            (ResourceKind::ServiceAccount | ResourceKind::OidcIdentity, _) => {
                needs.add(Service::Octopus, "UserEdit", "system", &why)
            }
            (ResourceKind::TeamMembership, _) => {
                needs.add(Service::Octopus, "TeamEdit", space, &why)
            }
            _ => {}
        }
    }
    let has_account = observation
        .desired
        .resources
        .iter()
        .any(|r| matches!(r, DesiredResource::OctopusAccount { .. }));
    if has_account {
        needs.add_with(
            Service::Octopus,
            "TaskCreate",
            space,
            "the account test (octo-oidc verify)",
            false,
        );
    }
    needs.0
}

/// Who can grant a missing permission, in words.
pub fn who_can_grant(needed: &NeededPermission, caller: &str) -> String {
    match needed.service {
        Service::Aws => {
            let account = needed.resource.split(':').nth(4).unwrap_or("the account");
            format!(
                "an IAM administrator of AWS account {account}: allow {} on {} for {caller} (an identity policy, or a permission set in IAM Identity Center), and check that no SCP or permissions boundary denies it",
                needed.permission, needed.resource
            )
        }
        Service::Entra => format!(
            "a Global Administrator or Privileged Role Administrator of the tenant: assign {caller} the Application Developer (or Cloud Application Administrator) role, or for an app-only sign-in grant it the Graph application permission Application.ReadWrite.OwnedBy with admin consent; or let users register applications (Entra ID → User settings)"
        ),
        Service::AzureRbac => format!(
            "an Owner, User Access Administrator or Role Based Access Control Administrator of {}: assign {caller} one of those roles at that scope (Contributor is not enough: it excludes Microsoft.Authorization/*/Write)",
            needed.resource
        ),
        Service::Octopus if needed.resource == "system" => format!(
            "an Octopus administrator (a member of Octopus Administrators): add {caller} to a team whose system role grants {}",
            needed.permission
        ),
        Service::Octopus => format!(
            "a Space Manager of {} or an Octopus administrator: add {caller} to a team whose role in that space grants {}",
            needed.resource, needed.permission
        ),
    }
}

fn check(needed: NeededPermission, caller: &str, outcome: Outcome) -> PermissionCheck {
    let who_can_grant = match outcome {
        Outcome::Granted { .. } => None,
        _ => Some(who_can_grant(&needed, caller)),
    };
    PermissionCheck {
        needed,
        caller: caller.to_string(),
        outcome,
        who_can_grant,
    }
}

fn unknown(needed: Vec<NeededPermission>, caller: &str, why: &str) -> Vec<PermissionCheck> {
    needed
        .into_iter()
        .map(|n| {
            check(
                n,
                caller,
                Outcome::Unknown {
                    reason: why.to_string(),
                },
            )
        })
        .collect()
}

/// Asks the services about every permission the plan needs, and runs the issuer checks when
/// the host passes `issuer` (`real_cloud`: a non-public issuer host is then blocking).
/// Lookups only.
pub async fn preflight<P: PortSet>(
    observation: &Observation,
    issuer: Option<&IssuerFacts>,
    real_cloud: bool,
    ports: P,
) -> Preflight {
    judge(
        observation,
        CallerRights::default(),
        issuer,
        real_cloud,
        ports,
    )
    .await
}

/// What the host reads beside observe and hands to it while reading: the space's id (from
/// its space listing), the cloud's sign-in (every cloud read waits for it, Octopus's do
/// not) and the issuer check (`None` when it could not be made).
pub struct HostReads<S, C, F> {
    /// The setup's space id.
    pub space: S,
    /// The cloud's sign-in (e.g. Azure's tokens); ready at once when there is none.
    pub signed_in: C,
    /// The issuer check, for preflight.
    pub issuer: F,
}

impl<S, C, F> std::fmt::Debug for HostReads<S, C, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostReads").finish_non_exhaustive()
    }
}

/// Observes `setup` and runs its preflight, with every read as early as what it needs
/// allows: the Octopus reads beside the space's resolution and the cloud's sign-in, the
/// lookups keyed by the setup's names beside the inventory, and what the services say about
/// their callers (Octopus's permissions, IAM's simulation of every action a step on the
/// provider and role may need, Entra's app-creation rights, ARM's permissions at the
/// assignment's scope) beside observe. The plan then decides which of those answers
/// count; a permission the plan needs that was not asked (an existing role with a path) is
/// asked afterwards. Lookups only.
pub async fn observe_with_preflight<'a, P: PortSet, S, C, F>(
    setup: &Setup,
    host: HostReads<S, C, F>,
    server_url: &str,
    real_cloud: bool,
    ports: P,
) -> Result<(Observation, Preflight), Problem>
where
    S: Future<Output = Result<String, Problem>> + Send + 'a,
    C: Future<Output = Result<(), Problem>> + Send + 'a,
    F: Future<Output = Option<IssuerFacts>>,
{
    let early = Early::start(setup, host.space, host.signed_in, ports);
    // Boxed: these futures are large, and a debug build's stack is not. Polled first: the
    // Octopus reads, whose first poll is quick, before the cloud's (a first TLS handshake
    // runs inside the poll that starts it).
    let (issuer, rights, observation) = futures::join!(
        host.issuer,
        Box::pin(read_rights(setup, &early, ports)),
        Box::pin(observe_from(setup, &early, server_url, ports)),
    );
    let observation = observation?;
    let preflight = Box::pin(judge(
        &observation,
        rights,
        issuer.as_ref(),
        real_cloud,
        ports,
    ))
    .await;
    Ok((observation, preflight))
}

/// What the services said about their callers before the plan was known (`Err`: why they
/// could not be asked).
#[derive(Default)]
struct CallerRights {
    aws: Option<AwsRights>,
    entra: Option<Result<AppCreationRights, String>>,
    rbac: BTreeMap<String, Result<Vec<RbacPermission>, String>>,
    octopus: Option<Result<OctopusGrants, String>>,
}

/// IAM's answers: the principal simulated and its decisions on the pairs asked.
struct AwsRights {
    principal: Result<String, String>,
    asked: Vec<(String, String)>,
    decisions: Result<Vec<IamDecision>, String>,
}

fn simulate_failed(principal: &str, e: &Problem) -> String {
    format!(
        "iam:SimulatePrincipalPolicy for {principal} failed ({}); allow it to the caller to get a preflight",
        e.message
    )
}

/// Reads what the services say about their callers, beside observe.
async fn read_rights<P: PortSet>(setup: &Setup, early: &Early<'_>, ports: P) -> CallerRights {
    let aws = async {
        let TargetSpec::Aws(aws) = &setup.spec else {
            return None;
        };
        let (account, caller) = match early.aws_caller.clone().await {
            Ok(c) => c,
            Err(e) => {
                return Some(AwsRights {
                    principal: Err(e.message.clone()),
                    asked: Vec::new(),
                    decisions: Ok(Vec::new()),
                });
            }
        };
        let principal = policy_source_arn(&caller);
        let mut asked: Vec<(String, String)> = Vec::new();
        let mut ask = |kind, arn: &str| {
            asked.extend(
                possible_iam_actions(kind)
                    .into_iter()
                    .map(|a| (a.to_string(), arn.to_string())),
            )
        };
        ask(ResourceKind::IamRole, &role_arn(&account, &aws.role_name));
        if let Ok(server) = early.server.clone().await
            && let Ok(provider) = AwsProvider::from_issuer(&server.issuer, &account)
        {
            ask(ResourceKind::OidcProvider, &provider.arn);
        }
        let decisions = ports
            .iam()
            .simulate_principal_policy(&principal, &asked)
            .await
            .map_err(|e| simulate_failed(&principal, &e));
        Some(AwsRights {
            principal: Ok(principal),
            asked,
            decisions,
        })
    };
    let azure = match &setup.spec {
        TargetSpec::Azure(azure) => Some(azure.assignment_scope()),
        _ => None,
    };
    let entra = async {
        azure.as_ref()?;
        let rights = match early.signed_in.clone().await {
            Ok(()) => ports.entra().app_creation_rights().await,
            Err(e) => Err(e),
        };
        Some(rights.map_err(|e| e.message))
    };
    let rbac = async {
        let mut out = BTreeMap::new();
        if let Some(scope) = &azure {
            let permissions = match early.signed_in.clone().await {
                Ok(()) => ports.rbac().caller_permissions(scope).await,
                Err(e) => Err(e),
            };
            out.insert(scope.clone(), permissions.map_err(|e| e.message));
        }
        out
    };
    let octopus = async {
        Some(
            ports
                .octopus()
                .caller_permissions()
                .await
                .map_err(|e| e.message),
        )
    };
    let (octopus, aws, entra, rbac) = futures::join!(octopus, aws, entra, rbac);
    CallerRights {
        aws,
        entra,
        rbac,
        octopus,
    }
}

/// Decides every permission the plan needs on what the services said (`known`), asking them
/// for whatever `known` does not answer.
async fn judge<P: PortSet>(
    observation: &Observation,
    known: CallerRights,
    issuer: Option<&IssuerFacts>,
    real_cloud: bool,
    ports: P,
) -> Preflight {
    let mut by_service: BTreeMap<Service, Vec<NeededPermission>> = BTreeMap::new();
    for n in needed_permissions(observation) {
        by_service.entry(n.service).or_default().push(n);
    }
    // The services are asked at once (each is its own chain of lookups); the answers are
    // listed in a fixed order.
    let aws_needed = by_service.remove(&Service::Aws);
    let entra_needed = by_service.remove(&Service::Entra);
    let rbac_needed = by_service.remove(&Service::AzureRbac);
    let octopus_needed = by_service.remove(&Service::Octopus);
    let CallerRights {
        aws: aws_known,
        entra: entra_known,
        rbac: rbac_known,
        octopus: octopus_known,
    } = known;
    let (aws_checks, entra_checks, rbac_checks, octopus_checks) = futures::join!(
        async {
            match aws_needed {
                Some(needed) => aws(needed, aws_known, ports).await,
                None => Vec::new(),
            }
        },
        async {
            match entra_needed {
                Some(needed) => entra(needed, entra_known, ports).await,
                None => Vec::new(),
            }
        },
        async {
            match rbac_needed {
                Some(needed) => rbac(needed, rbac_known, observation, ports).await,
                None => Vec::new(),
            }
        },
        async {
            match octopus_needed {
                Some(needed) => octopus(needed, octopus_known, observation, ports).await,
                None => Vec::new(),
            }
        },
    );
    let permissions: Vec<PermissionCheck> = [aws_checks, entra_checks, rbac_checks, octopus_checks]
        .into_iter()
        .flatten()
        .collect();
    let mut issuer_results = Vec::new();
    if let Some(facts) = issuer {
        issuer_checks(
            facts,
            &observation.facts.server.issuer,
            real_cloud,
            &mut issuer_results,
        );
    }
    Preflight {
        permissions,
        issuer: issuer_results,
    }
}

async fn aws<P: PortSet>(
    needed: Vec<NeededPermission>,
    known: Option<AwsRights>,
    ports: P,
) -> Vec<PermissionCheck> {
    let (principal, asked, decisions) = match known {
        Some(k) => (k.principal, k.asked, k.decisions),
        None => {
            let principal = ports
                .iam()
                .caller_identity()
                .await
                .map(|(_, arn)| policy_source_arn(&arn))
                .map_err(|e| e.message);
            (principal, Vec::new(), Ok(Vec::new()))
        }
    };
    let principal = match principal {
        Ok(p) => p,
        Err(why) => return unknown(needed, "the AWS caller", &why),
    };
    let mut decisions = match decisions {
        Ok(d) => d,
        Err(why) => return unknown(needed, &principal, &why),
    };
    // What the plan needs that was not asked yet (nothing, unless a step's resource differs
    // from the ARNs asked about beforehand), in one more call.
    let requests: Vec<(String, String)> = needed
        .iter()
        .map(|n| (n.permission.clone(), n.resource.clone()))
        .filter(|pair| !asked.contains(pair))
        .collect();
    if !requests.is_empty() {
        match ports
            .iam()
            .simulate_principal_policy(&principal, &requests)
            .await
        {
            Ok(d) => decisions.extend(d),
            Err(e) => return unknown(needed, &principal, &simulate_failed(&principal, &e)),
        }
    }
    needed
        .into_iter()
        .map(|n| {
            let decision = decisions.iter().find(|d| {
                d.action.eq_ignore_ascii_case(&n.permission)
                    && (d.resource == n.resource || d.resource == "*")
            });
            let outcome = match decision {
                Some(d) if d.allowed() => Outcome::Granted { by: None },
                Some(d) => Outcome::Missing {
                    detail: d.decision.clone(),
                },
                None => Outcome::Unknown {
                    reason: "SimulatePrincipalPolicy did not evaluate it".to_string(),
                },
            };
            check(n, &principal, outcome)
        })
        .collect()
}

/// What a service said beside observe, or, when it was not asked then, its answer now (a
/// failure as its message).
async fn known_or_ask<T, F>(
    known: Option<Result<T, String>>,
    ask: impl FnOnce() -> F,
) -> Result<T, String>
where
    F: Future<Output = PortResult<T>>,
{
    match known {
        Some(answer) => answer,
        None => ask().await.map_err(|e| e.message),
    }
}

async fn entra<P: PortSet>(
    needed: Vec<NeededPermission>,
    known: Option<Result<AppCreationRights, String>>,
    ports: P,
) -> Vec<PermissionCheck> {
    let rights = known_or_ask(known, || ports.entra().app_creation_rights()).await;
    let rights = match rights {
        Ok(r) => r,
        Err(why) => return unknown(needed, "the Entra caller", &why),
    };
    let outcome = match may_create_applications(&rights) {
        Some(by) => Outcome::Granted { by: Some(by) },
        None => Outcome::Missing {
            detail: match rights.app_only {
                true => format!(
                    "the app holds no Graph application permission that creates applications (has: {})",
                    list_or_none(&rights.app_roles)
                ),
                false => format!(
                    "no directory role that creates applications (has: {}) and the tenant does not let users register applications",
                    list_or_none(&rights.directory_roles)
                ),
            },
        },
    };
    needed
        .into_iter()
        .map(|n| check(n, &rights.caller, outcome.clone()))
        .collect()
}

fn list_or_none(v: &[String]) -> String {
    match v.is_empty() {
        true => "none".to_string(),
        false => v.join(", "),
    }
}

async fn rbac<P: PortSet>(
    needed: Vec<NeededPermission>,
    mut known: BTreeMap<String, Result<Vec<RbacPermission>, String>>,
    observation: &Observation,
    ports: P,
) -> Vec<PermissionCheck> {
    let caller = match &observation.setup.spec {
        TargetSpec::Azure(_) => "the signed-in Azure identity".to_string(),
        _ => "the caller".to_string(),
    };
    let mut out = Vec::new();
    let mut by_scope: BTreeMap<String, Vec<NeededPermission>> = BTreeMap::new();
    for n in needed {
        by_scope.entry(n.resource.clone()).or_default().push(n);
    }
    for (scope, needed) in by_scope {
        let permissions = known_or_ask(known.remove(&scope), || {
            ports.rbac().caller_permissions(&scope)
        })
        .await;
        match permissions {
            Ok(permissions) => out.extend(needed.into_iter().map(|n| {
                let outcome = match rbac_allows(&permissions, &n.permission) {
                    true => Outcome::Granted { by: None },
                    false => Outcome::Missing {
                        detail: format!("no role of the caller at {scope} allows it"),
                    },
                };
                check(n, &caller, outcome)
            })),
            Err(why) => out.extend(unknown(needed, &caller, &why)),
        }
    }
    out
}

async fn octopus<P: PortSet>(
    needed: Vec<NeededPermission>,
    known: Option<Result<OctopusGrants, String>>,
    observation: &Observation,
    ports: P,
) -> Vec<PermissionCheck> {
    let space = &observation.facts.space;
    let grants = known_or_ask(known, || ports.octopus().caller_permissions()).await;
    let held = match grants {
        Ok(g) => g.in_space(&space.id),
        Err(why) => return unknown(needed, "the API key's user", &why),
    };
    needed
        .into_iter()
        .map(|mut n| {
            let granted = match n.resource.as_str() {
                "system" => held
                    .system
                    .iter()
                    .chain(&held.space)
                    .any(|p| *p == n.permission),
                _ => held.space.contains(&n.permission),
            };
            let outcome = match granted {
                true => Outcome::Granted { by: None },
                false => Outcome::Missing {
                    detail: match n.resource.as_str() {
                        "system" => "not a system permission of the user".to_string(),
                        _ => format!("not granted to the user in space {}", space.name),
                    },
                },
            };
            if n.resource != "system" {
                n.resource = format!("{} ({})", space.id, space.name);
            }
            check(n, &held.user, outcome)
        })
        .collect()
}

/// Why apply must not start (`permission_denied`, naming every missing permission with who
/// can grant it, and every blocking issuer problem), or `None` when preflight found no
/// blocking gap.
pub fn refusal(preflight: &Preflight) -> Option<octo_oidc_core::Problem> {
    if !preflight.blocks_apply() {
        return None;
    }
    let mut lines: Vec<String> = preflight
        .blocking_gaps()
        .iter()
        .map(|c| {
            format!(
                "{} on {} for {} (needed for {}; who can grant it: {})",
                c.needed.permission,
                c.needed.resource,
                c.caller,
                c.needed.needed_for.join(", "),
                c.who_can_grant.as_deref().unwrap_or("an administrator")
            )
        })
        .collect();
    lines.extend(
        preflight
            .blocking_issuer_problems()
            .iter()
            .map(|c| format!("issuer: {}", c.message)),
    );
    Some(
        octo_oidc_core::Problem::new(
            octo_oidc_core::ErrorCode::PermissionDenied,
            format!(
                "preflight found what apply would fail on; nothing was changed: {}",
                lines.join("; ")
            ),
        )
        .with_hint(
            "Have the permissions granted (each names who can), or rerun apply with --ignore-preflight to try anyway.",
        ),
    )
}
