//! Verify for an Octopus OIDC account that already exists — made by this engine, by hand, by
//! Terraform or by anyone else: the account is read, not a setup file.
//!
//! [`read_account`] takes the account as Octopus returns it (AWS OIDC: `RoleArn`, `Audience`,
//! `Region`, `SessionDuration`; Azure OIDC: `TenantId`, `ClientId`, `SubscriptionNumber`,
//! `Audience`; Google Cloud OIDC: `Audience`, the provider's resource name, and the service
//! account the caller names, since Octopus keeps that on the step; every type: the subject
//! keys per context, `EnvironmentIds`, `TenantIds`, `TenantedDeploymentParticipation`). A
//! non-OIDC account or a missing field is a [`Problem`] on the `account` field, before any
//! cloud call. [`ExistingAccount::setup`] is the setup the account stands for (what the
//! host needs to connect the cloud's clients); [`ExistingAccount::usable_scope`] the scope
//! the account can be used for: its environments (or all), its tenants and untenanted runs as
//! its participation says, every project of the space with its runbooks, and the health
//! checks of the deployment targets that use it (Octopus's account usages: cloud targets
//! whose endpoint signs in with the account).
//!
//! [`observe_account`] reads what the account points at through the ports, by the account's
//! own values — never by the names a setup would derive — (AWS: the role by the name in the
//! ARN, the OIDC provider for the Octopus issuer; Azure: the app by client id, its service
//! principal and federated credentials; Google Cloud: the pool and provider the audience
//! names, the service account and its allow policy) into the [`Observation`] the engine's
//! [`crate::verify::verify`] takes, so verify's issuer checks, simulator matrix, account test
//! and token trades run unchanged. [`account_report`] then turns verify's report into the
//! account's: the setup drift check becomes [`account_cloud_checks`] (does what the account
//! names exist, does it accept the account's audience), ownership marks are information that
//! never fails the verdict, and fixes say what to change by hand instead of `octo-oidc apply`.

use octo_oidc_core::Problem;
use octo_oidc_core::aws::trust::AwsProvider;
use octo_oidc_core::error::{ErrorCode, FieldError};
use octo_oidc_core::gcp::{ProviderRef, WORKLOAD_IDENTITY_USER};
use octo_oidc_core::ports::{
    EntraApps, GcpLifecycle, GcpPolicyTarget, GcpProject, GcpProviderSpec, GoogleCloud, Iam,
    Octopus, OctopusAccount,
};
use octo_oidc_core::scope::SubjectKeyConfig;
use octo_oidc_core::subject::SubjectKey;
use serde_json::Value;

use crate::desired::{DesiredResource, DesiredState, SpaceFacts, resolve_scope};
use crate::observe::{Observation, PortSet, observe_app};
use crate::observed::{ObservedGcp, ObservedState};
use crate::ownership;
use crate::plan::{Plan, PlanSummary};
use crate::setup_file::{
    AccountTable, AwsSetup, AzureSetup, CloudScope, CredentialStrategy, GcpSetup, OctopusTable,
    Setup, SetupFile, SlugSelection, Target, TargetSpec,
};
use crate::verify::{Area, Check, ClaimComparison, VerifyReport, VerifyVerdict};

/// The field an account problem is reported on (the CLI's `--account`, the wizard's picker).
pub const ACCOUNT_FIELD: &str = "account";

/// The field of the Google Cloud service account to impersonate (not on the account).
pub const GCP_SERVICE_ACCOUNT_FIELD: &str = "gcp.service_account";

/// The `AccountType`s verify understands.
pub const OIDC_ACCOUNT_TYPES: [&str; 3] = [
    "AmazonWebServicesOidcAccount",
    "AzureOidc",
    octo_oidc_core::gcp::ACCOUNT_TYPE,
];

/// What an account points at in its cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountCloud {
    /// `AmazonWebServicesOidcAccount`.
    Aws {
        /// `RoleArn`.
        role_arn: String,
        /// The role's name (the ARN's last path segment).
        role_name: String,
        /// The ARN's 12-digit account id.
        aws_account_id: String,
        /// `Audience` (what the IAM provider must list).
        audience: String,
        /// `Region`, if set.
        region: Option<String>,
        /// `SessionDuration`, seconds (3600 when unset).
        session_duration: u32,
    },
    /// `AzureOidc`.
    Azure {
        /// `TenantId`.
        tenant_id: String,
        /// `ClientId` (the app registration's `appId`).
        client_id: String,
        /// `SubscriptionNumber`.
        subscription_id: String,
        /// `Audience` (default `api://AzureADTokenExchange`).
        audience: String,
    },
    /// `GoogleCloudOidcAccount`.
    Gcp {
        /// The provider the audience names.
        provider: ProviderRef,
        /// `Audience`.
        audience: String,
        /// `TokenLifetimeSeconds` (3600 when unset).
        token_lifetime: u32,
        /// The service account Octopus impersonates (named by the caller).
        service_account: String,
    },
}

/// An Octopus OIDC account, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingAccount {
    /// As Octopus returned it.
    pub account: OctopusAccount,
    /// `Name`.
    pub name: String,
    /// `AccountType`.
    pub account_type: String,
    /// `EnvironmentIds` (empty = every environment).
    pub environment_ids: Vec<String>,
    /// `TenantIds`.
    pub tenant_ids: Vec<String>,
    /// `TenantTags` (not resolved: the scope counts the listed tenants only).
    pub tenant_tags: Vec<String>,
    /// `TenantedDeploymentParticipation` (`Untenanted` when unset).
    pub participation: String,
    /// The subject keys per context (empty = Octopus's defaults).
    pub keys: SubjectKeyConfig,
    /// What it points at.
    pub cloud: AccountCloud,
}

fn account_problem(problem: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem::invalid_input(vec![FieldError {
        field: ACCOUNT_FIELD.into(),
        problem: problem.into(),
        fix: fix.into(),
    }])
}

fn text(body: &Value, field: &str) -> Option<String> {
    match body.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn list(body: &Value, field: &str) -> Vec<String> {
    body.get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The problem for an account name or id that is not in the space, listing the OIDC
/// accounts that are (`(id, name, type)`).
pub fn unknown_account(
    wanted: &str,
    space: &str,
    oidc_accounts: &[(String, String, String)],
) -> Problem {
    let fix = match oidc_accounts.is_empty() {
        true => format!(
            "Space {space} has no OIDC account; create one in Octopus (Infrastructure → Accounts) or run octo-oidc apply"
        ),
        false => {
            let names: Vec<String> = oidc_accounts
                .iter()
                .take(10)
                .map(|(id, name, kind)| format!("\"{name}\" ({id}, {kind})"))
                .collect();
            format!("Give the name or id of one of: {}", names.join(", "))
        }
    };
    account_problem(
        format!("no account named or with id '{wanted}' in space {space}"),
        fix,
    )
}

/// Reads an account. `gcp_service_account` is the service account a Google Cloud account's
/// steps impersonate (required for that type). Every problem is on the `account` field (or
/// [`GCP_SERVICE_ACCOUNT_FIELD`]), found without a remote call.
pub fn read_account(
    account: &OctopusAccount,
    gcp_service_account: Option<&str>,
) -> Result<ExistingAccount, Problem> {
    let body = &account.body;
    let name = text(body, "Name").unwrap_or_else(|| account.id.clone());
    let account_type = text(body, "AccountType").unwrap_or_default();
    let missing = |field: &str, fix: &str| {
        account_problem(
            format!("the account '{name}' ({}) has no {field}", account.id),
            fix.to_string(),
        )
    };
    let cloud = match account_type.as_str() {
        "AmazonWebServicesOidcAccount" => {
            let role_arn = text(body, "RoleArn").ok_or_else(|| {
                missing(
                    "RoleArn",
                    "Set the IAM role's ARN on the account in Octopus",
                )
            })?;
            let (aws_account_id, role_name) = split_role_arn(&role_arn).ok_or_else(|| {
                account_problem(
                    format!("the account '{name}' has the RoleArn '{role_arn}', which is not an IAM role ARN"),
                    "Set RoleArn to arn:aws:iam::<12-digit account>:role/<name> in Octopus",
                )
            })?;
            let audience = text(body, "Audience").unwrap_or_default();
            AccountCloud::Aws {
                role_arn,
                role_name,
                aws_account_id,
                audience,
                region: text(body, "Region"),
                session_duration: text(body, "SessionDuration")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(3600),
            }
        }
        "AzureOidc" => AccountCloud::Azure {
            tenant_id: text(body, "TenantId")
                .ok_or_else(|| missing("TenantId", "Set the Entra tenant id on the account"))?,
            client_id: text(body, "ClientId").ok_or_else(|| {
                missing(
                    "ClientId",
                    "Set the app registration's client id on the account",
                )
            })?,
            subscription_id: text(body, "SubscriptionNumber").ok_or_else(|| {
                missing(
                    "SubscriptionNumber",
                    "Set the subscription id on the account",
                )
            })?,
            audience: text(body, "Audience")
                .unwrap_or_else(|| octo_oidc_core::azure::AZURE_AUDIENCE.to_string()),
        },
        t if t == octo_oidc_core::gcp::ACCOUNT_TYPE => {
            let audience = text(body, "Audience").ok_or_else(|| {
                missing(
                    "Audience",
                    "Set the workload identity provider's resource name as the account's Audience",
                )
            })?;
            let provider = ProviderRef::from_audience(&audience).ok_or_else(|| {
                account_problem(
                    format!("the account '{name}' has the Audience '{audience}', which names no workload identity provider"),
                    "Set the Audience to //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER (accounts using allowedAudiences cannot be verified by name)",
                )
            })?;
            let service_account = gcp_service_account
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    Problem::invalid_input(vec![FieldError {
                        field: GCP_SERVICE_ACCOUNT_FIELD.into(),
                        problem: format!("the Google Cloud account '{name}' does not name the service account its steps impersonate (Octopus keeps it on the step)"),
                        fix: "Give the service account's email (--gcp-service-account NAME@PROJECT.iam.gserviceaccount.com)".into(),
                    }])
                })?;
            if !octo_oidc_core::gcp::is_service_account_email(service_account) {
                return Err(Problem::invalid_input(vec![FieldError {
                    field: GCP_SERVICE_ACCOUNT_FIELD.into(),
                    problem: format!("'{service_account}' is not a service account email"),
                    fix: "Give NAME@PROJECT.iam.gserviceaccount.com".into(),
                }]));
            }
            AccountCloud::Gcp {
                provider,
                audience,
                token_lifetime: text(body, "TokenLifetimeSeconds")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(3600),
                service_account: service_account.to_string(),
            }
        }
        other => {
            let shown = match other {
                "" => "no AccountType".to_string(),
                t => format!("type {t}"),
            };
            return Err(account_problem(
                format!(
                    "the account '{name}' ({}) has {shown}, not an OIDC account verify can check",
                    account.id
                ),
                format!(
                    "Pick an OIDC account ({}); accounts with stored secrets have no trust to verify",
                    OIDC_ACCOUNT_TYPES.join(", ")
                ),
            ));
        }
    };
    let keys = |field: &str| -> Result<Vec<SubjectKey>, Problem> {
        list(body, field)
            .iter()
            .map(|k| {
                k.parse::<SubjectKey>().map_err(|e| {
                    account_problem(
                        format!("the account '{name}' has {field} with '{k}': {e}"),
                        "Fix the subject keys on the account in Octopus",
                    )
                })
            })
            .collect()
    };
    Ok(ExistingAccount {
        keys: SubjectKeyConfig {
            deployment: keys("DeploymentSubjectKeys")?,
            health_check: keys("HealthCheckSubjectKeys")?,
            account_test: keys("AccountTestSubjectKeys")?,
        },
        environment_ids: list(body, "EnvironmentIds"),
        tenant_ids: list(body, "TenantIds"),
        tenant_tags: list(body, "TenantTags"),
        participation: text(body, "TenantedDeploymentParticipation")
            .unwrap_or_else(|| "Untenanted".to_string()),
        account: account.clone(),
        name,
        account_type,
        cloud,
    })
}

/// `arn:aws:iam::<account>:role/<path/>name` → (account id, role name).
fn split_role_arn(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (service == "iam" && valid_account && !name.is_empty())
        .then(|| (account.to_string(), name.to_string()))
}

impl ExistingAccount {
    /// The setup file target of the account's type.
    pub fn target(&self) -> Target {
        match self.cloud {
            AccountCloud::Aws { .. } => Target::Aws,
            AccountCloud::Azure { .. } => Target::Azure,
            AccountCloud::Gcp { .. } => Target::Gcp,
        }
    }

    /// A one-line description: type and what it points at.
    pub fn points_at(&self) -> String {
        match &self.cloud {
            AccountCloud::Aws { role_arn, .. } => format!("AWS OIDC → {role_arn}"),
            AccountCloud::Azure {
                client_id,
                tenant_id,
                ..
            } => format!("Azure OIDC → app {client_id} in tenant {tenant_id}"),
            AccountCloud::Gcp {
                provider,
                service_account,
                ..
            } => format!(
                "Google Cloud OIDC → {} as {service_account}",
                provider.provider_name()
            ),
        }
    }

    /// The setup the account stands for, with `scope` (what the host connects the cloud
    /// for; [`Self::usable_scope`] once the space's inventory is known).
    pub fn setup_with(&self, space: &str, octopus_url: Option<String>, scope: CloudScope) -> Setup {
        let name = setup_name(&self.account.slug, &self.name);
        let spec = match &self.cloud {
            AccountCloud::Aws {
                role_name,
                region,
                session_duration,
                ..
            } => TargetSpec::Aws(AwsSetup {
                scope,
                role_name: role_name.clone(),
                region: region.clone(),
                session_duration: *session_duration,
                managed_policies: Vec::new(),
                profile: None,
                trust_policy_quota: None,
            }),
            AccountCloud::Azure {
                tenant_id,
                subscription_id,
                client_id,
                ..
            } => TargetSpec::Azure(AzureSetup {
                scope,
                tenant_id: tenant_id.clone(),
                subscription_id: subscription_id.clone(),
                resource_group: None,
                role: String::new(),
                app_name: client_id.clone(),
                credential_strategy: CredentialStrategy::OneApp,
            }),
            AccountCloud::Gcp {
                provider,
                token_lifetime,
                service_account,
                ..
            } => TargetSpec::Gcp(GcpSetup {
                scope,
                project: gcp_project_id(service_account)
                    .unwrap_or(&provider.project_number)
                    .to_string(),
                pool: provider.pool_id.clone(),
                provider: provider.provider_id.clone(),
                service_account: service_account.clone(),
                roles: Vec::new(),
                token_lifetime: *token_lifetime,
                allowed_audiences: Vec::new(),
                credentials_file: None,
            }),
        };
        Setup {
            file: SetupFile {
                version: crate::setup_file::SETUP_FILE_VERSION,
                name: name.clone(),
                target: self.target(),
                octopus: OctopusTable {
                    url: octopus_url.clone(),
                    space: space.to_string(),
                },
                scope: None,
                subject_keys: None,
                account: Some(AccountTable {
                    name: self.name.clone(),
                }),
                aws: None,
                azure: None,
                github: None,
                gcp: None,
            },
            name,
            octopus_url,
            space: space.to_string(),
            spec,
        }
    }

    /// [`Self::setup_with`] every environment and tenant (before the inventory is read).
    pub fn setup(&self, space: &str, octopus_url: Option<String>) -> Setup {
        let scope = CloudScope {
            projects: SlugSelection::All,
            environments: SlugSelection::All,
            tenants: SlugSelection::All,
            untenanted: true,
            runbooks: SlugSelection::All,
            targets: SlugSelection::Only(Vec::new()),
            keys: self.keys.clone(),
            account_name: self.name.clone(),
        };
        self.setup_with(space, octopus_url, scope)
    }

    /// The scope the account can be used for in `facts`' space, with the health checks of
    /// the deployment targets `target_ids` (those that use the account), and remarks on what
    /// it could not resolve (an id no longer in the space, tenant tags).
    pub fn usable_scope(
        &self,
        facts: &SpaceFacts,
        target_ids: &[String],
    ) -> (CloudScope, Vec<String>) {
        let inv = &facts.inventory;
        let mut notes = Vec::new();
        let targets = slugs_by_id(
            target_ids,
            &inv.deployment_targets,
            |t| (&t.id, &t.slug),
            |id| {
                format!(
                    "the deployment target {id} uses the account but is not in the space's inventory"
                )
            },
            &mut notes,
        );
        let environments = match self.environment_ids.is_empty() {
            true => SlugSelection::All,
            false => SlugSelection::Only(slugs_by_id(
                &self.environment_ids,
                &inv.environments,
                |e| (&e.id, &e.slug),
                |id| format!("the account names the environment {id}, which is not in the space"),
                &mut notes,
            )),
        };
        let tenanted = self.participation.starts_with("Tenanted");
        let untenanted = self.participation != "Tenanted";
        let tenants = match (
            tenanted,
            self.tenant_ids.is_empty() && self.tenant_tags.is_empty(),
        ) {
            (false, _) => SlugSelection::Only(Vec::new()),
            (true, true) => SlugSelection::All,
            (true, false) => SlugSelection::Only(slugs_by_id(
                &self.tenant_ids,
                &inv.tenants,
                |t| (&t.resource.id, &t.resource.slug),
                |id| format!("the account names the tenant {id}, which is not in the space"),
                &mut notes,
            )),
        };
        if tenanted && !self.tenant_tags.is_empty() {
            notes.push(format!(
                "the account's tenant tags ({}) are not resolved: only its listed tenants are in the scope",
                self.tenant_tags.join(", ")
            ));
        }
        let scope = CloudScope {
            projects: SlugSelection::All,
            environments,
            tenants,
            untenanted,
            runbooks: SlugSelection::All,
            targets: SlugSelection::Only(targets),
            keys: self.keys.clone(),
            account_name: self.name.clone(),
        };
        (scope, notes)
    }
}

/// The slugs of the `items` whose id is in `ids` (in the order of `ids`), with a note from
/// `missing` for each id that is not among them. `key` reads an item's (id, slug).
fn slugs_by_id<T>(
    ids: &[String],
    items: &[T],
    key: impl Fn(&T) -> (&String, &String),
    missing: impl Fn(&str) -> String,
    notes: &mut Vec<String>,
) -> Vec<String> {
    ids.iter()
        .filter_map(|id| {
            let slug = items
                .iter()
                .map(&key)
                .find(|(item_id, _)| *item_id == id)
                .map(|(_, slug)| slug.clone());
            if slug.is_none() {
                notes.push(missing(id));
            }
            slug
        })
        .collect()
}

/// A setup name (`[a-z0-9-]`, 1–40) for the account: its slug, else its name slugified.
fn setup_name(slug: &str, name: &str) -> String {
    let base = match slug.is_empty() {
        true => crate::desired::slugify(name),
        false => crate::desired::slugify(slug),
    };
    let cut: String = base.chars().take(40).collect();
    match cut.trim_matches('-') {
        "" => "account".to_string(),
        s => s.to_string(),
    }
}

/// The project id of a service account email (`…@PROJECT.iam.gserviceaccount.com`).
fn gcp_project_id(email: &str) -> Option<&str> {
    email
        .split_once('@')?
        .1
        .strip_suffix(".iam.gserviceaccount.com")
}

/// What [`observe_account`] found: the account and the observation verify takes.
#[derive(Debug, Clone)]
pub struct AccountObservation {
    /// The account.
    pub account: ExistingAccount,
    /// Facts, the account as the desired state, what its cloud holds, an empty plan.
    pub observation: Observation,
    /// Remarks on the derived scope.
    pub notes: Vec<String>,
}

/// Reads the facts and what `account` points at (lookups only, independent ones at once):
/// the Octopus reads start at once, the cloud's after `signed_in` (the cloud sign-in the host
/// may still be completing).
pub async fn observe_account<P: PortSet>(
    account: &ExistingAccount,
    space_id: &str,
    server_url: &str,
    octopus_url: Option<String>,
    signed_in: impl Future<Output = Result<(), Problem>>,
    ports: P,
) -> Result<AccountObservation, Problem> {
    let mut observed = ObservedState {
        octopus_accounts: vec![account.account.clone()],
        ..ObservedState::default()
    };
    let cloud = async {
        signed_in.await?;
        let mut found = ObservedState::default();
        match &account.cloud {
            AccountCloud::Aws { role_name, .. } => {
                found.iam_role = ports.iam().find_role(role_name).await?;
            }
            AccountCloud::Azure { client_id, .. } => {
                if let Some(app) = ports
                    .entra()
                    .find_application_by_client_id(client_id)
                    .await?
                {
                    found.apps.push(observe_app(app, client_id, ports).await?);
                }
            }
            AccountCloud::Gcp {
                provider,
                service_account,
                ..
            } => {
                let sa = async {
                    match ports.gcp().find_service_account(service_account).await? {
                        None => Ok((None, Vec::new())),
                        Some(sa) => {
                            let target = GcpPolicyTarget::ServiceAccount(service_account.clone());
                            Ok::<_, Problem>((
                                Some(sa),
                                ports.gcp().policy_bindings(&target).await?,
                            ))
                        }
                    }
                };
                let (pool, found_provider, (sa, bindings)) = futures::try_join!(
                    ports
                        .gcp()
                        .find_pool(&provider.project_number, &provider.pool_id),
                    ports.gcp().find_provider(provider),
                    sa
                )?;
                found.gcp = ObservedGcp {
                    pool,
                    provider: found_provider,
                    service_account: sa,
                    service_account_bindings: bindings,
                    project_bindings: Vec::new(),
                };
            }
        }
        Ok::<_, Problem>(found)
    };
    let (server, inventory, target_ids, found) = futures::try_join!(
        ports.octopus().server_info(),
        ports.octopus().inventory(space_id),
        ports
            .octopus()
            .account_targets(space_id, &account.account.id),
        cloud
    )?;
    observed.iam_role = found.iam_role;
    observed.apps = found.apps;
    observed.gcp = found.gcp;
    if let AccountCloud::Aws { aws_account_id, .. } = &account.cloud {
        // The provider for the Octopus issuer in the role's AWS account (the issuer comes
        // from Octopus, so this lookup waits for it).
        if let Ok(provider) = AwsProvider::from_issuer(&server.issuer, aws_account_id) {
            observed.oidc_provider = ports.iam().find_oidc_provider(&provider.url).await?;
        }
    }
    let space = inventory.space.clone().ok_or_else(|| {
        Problem::new(
            ErrorCode::NotFound,
            format!("space {space_id} was not found"),
        )
    })?;
    let mut facts = SpaceFacts {
        server,
        server_url: server_url.to_string(),
        space: space.clone(),
        targets: inventory.deployment_targets.clone(),
        inventory,
        aws_account_id: None,
        azure_role_definition_id: None,
        gcp_project: None,
    };
    let mut resources = Vec::new();
    match &account.cloud {
        AccountCloud::Aws { aws_account_id, .. } => {
            facts.aws_account_id = Some(aws_account_id.clone());
        }
        AccountCloud::Azure { .. } => {}
        AccountCloud::Gcp {
            provider,
            service_account,
            ..
        } => {
            facts.gcp_project = Some(GcpProject {
                project_id: gcp_project_id(service_account)
                    .unwrap_or(&provider.project_number)
                    .to_string(),
                project_number: provider.project_number.clone(),
            });
            let p = observed.gcp.provider.as_ref();
            resources.push(DesiredResource::WorkloadIdentityProvider {
                spec: GcpProviderSpec {
                    provider: provider.clone(),
                    display_name: p.map(|p| p.display_name.clone()).unwrap_or_default(),
                    description: p.map(|p| p.description.clone()).unwrap_or_default(),
                    trust: p.map(|p| p.trust.clone()).unwrap_or_default(),
                },
                subjects: Vec::new(),
            });
            resources.push(DesiredResource::GcpServiceAccount {
                email: service_account.clone(),
                spec: None,
            });
        }
    }
    let (scope, notes) = account.usable_scope(&facts, &target_ids);
    let subjects = resolve_scope(&scope, &facts, &account.account.slug)
        .ok()
        .and_then(|s| s.subjects().ok())
        .map(|s| s.into_iter().map(|s| s.subject).collect())
        .unwrap_or_default();
    resources.push(DesiredResource::OctopusAccount {
        name: account.name.clone(),
        slug: account.account.slug.clone(),
        body: account.account.body.clone(),
        client_id_of: match &account.cloud {
            AccountCloud::Azure { client_id, .. } => Some(client_id.clone()),
            _ => None,
        },
        subjects,
    });
    let setup = account.setup_with(&space.name, octopus_url, scope);
    let plan = Plan {
        setup: account.name.clone(),
        target: setup.file.target,
        space: space.name.clone(),
        summary: PlanSummary::default(),
        steps: Vec::new(),
        azure: None,
        snippet: None,
    };
    let desired = DesiredState {
        setup: setup.name.clone(),
        target: setup.file.target,
        space,
        resources,
        azure: None,
        ci: None,
    };
    Ok(AccountObservation {
        account: account.clone(),
        observation: Observation {
            setup,
            facts,
            desired,
            observed,
            plan,
        },
        notes,
    })
}

/// Information: passed and never blocking (ownership, remarks).
fn info(name: impl Into<String>, message: impl Into<String>) -> Check {
    Check::pass(Area::Cloud, name, message).warning()
}

fn owner_info(what: &str, setup: Option<&str>) -> Check {
    info(
        format!("ownership: {what}"),
        match setup {
            Some(s) => format!("{what} carries the mark of the octo-oidc setup '{s}'"),
            None => format!(
                "{what} has no octo-oidc mark (made by hand or another tool): verify reads it by the account's values; octo-oidc teardown would not touch it"
            ),
        },
    )
}

/// The checks on what the account names in its cloud: it exists, is usable, and accepts the
/// account's audience; ownership marks and scope remarks as information.
pub fn account_cloud_checks(found: &AccountObservation) -> Vec<Check> {
    let account = &found.account;
    let o = &found.observation.observed;
    let issuer = found.observation.facts.server.issuer.as_str();
    let mut out = Vec::new();
    let description = text(&account.account.body, "Description").unwrap_or_default();
    out.push(owner_info(
        &format!("account '{}'", account.name),
        ownership::setup_of_description(&description),
    ));
    for note in &found.notes {
        out.push(info("scope", note.clone()));
    }
    match &account.cloud {
        AccountCloud::Aws {
            role_arn,
            role_name,
            aws_account_id,
            audience,
            ..
        } => {
            match &o.iam_role {
                Some(role) if &role.arn == role_arn => {
                    out.push(Check::pass(Area::Cloud, "role", format!("the role {role_arn} exists")));
                    out.push(owner_info(&format!("role {role_name}"), ownership::setup_of_aws_tags(&role.tags)));
                }
                Some(role) => out.push(
                    Check::fail(Area::Cloud, "role", format!("the account's RoleArn is {role_arn}, but the role {role_name} the signed-in AWS credentials see is {}", role.arn))
                        .because("the credentials are for another AWS account than the role's", format!("Sign in to AWS account {aws_account_id}, or correct the account's Role ARN in Octopus")),
                ),
                None => out.push(
                    Check::fail(Area::Cloud, "role", format!("the role {role_name} (from the account's RoleArn) does not exist in AWS account {aws_account_id}"))
                        .because("the role was deleted, renamed, or the ARN names another account", "Create the role with a trust policy for the Octopus issuer, or correct the account's Role ARN in Octopus"),
                ),
            }
            match &o.oidc_provider {
                Some(p) => {
                    out.push(Check::pass(Area::Cloud, "OIDC provider", format!("the IAM OIDC provider {} exists", p.url)));
                    out.push(owner_info(&format!("OIDC provider {}", p.url), ownership::setup_of_aws_tags(&p.tags)));
                    let aud = match audience.is_empty() {
                        true => AwsProvider::from_issuer(issuer, aws_account_id).map(|p| p.audience).unwrap_or_default(),
                        false => audience.clone(),
                    };
                    out.push(audience_check(&aud, &p.client_ids, "the IAM OIDC provider's client ids (audiences)", "Add the audience to the provider's client ids (Audiences), or set the account's Audience to one of them"));
                }
                None => out.push(
                    Check::fail(Area::Cloud, "OIDC provider", format!("AWS account {aws_account_id} has no IAM OIDC provider for the issuer {issuer}"))
                        .because("STS cannot accept the Octopus server's tokens without a provider whose URL is the issuer verbatim", "Create an IAM OIDC identity provider with the issuer as its URL and the account's audience as a client id"),
                ),
            }
        }
        AccountCloud::Azure {
            client_id,
            tenant_id,
            audience,
            ..
        } => match o.apps.first() {
            Some(app) => {
                out.push(Check::pass(Area::Cloud, "app registration", format!("the app registration '{}' ({client_id}) exists", app.application.display_name)));
                out.push(owner_info(&format!("app registration '{}'", app.application.display_name), ownership::setup_of_entra_tags(&app.tags)));
                if app.service_principal.is_none() {
                    out.push(
                        Check::fail(Area::Cloud, "service principal", format!("the app {client_id} has no service principal in tenant {tenant_id}"))
                            .because("without a service principal Entra issues no token for the app, and it can hold no role assignment", "Create the enterprise application (service principal) for the app and give it its role"),
                    );
                }
                let creds = &app.federated_credentials;
                match creds.is_empty() {
                    true => out.push(
                        Check::fail(Area::Cloud, "federated credentials", format!("the app {client_id} has no federated credential"))
                            .because("Entra trusts no token for the app", "Add a federated credential per subject the account's runs present (issuer = the Octopus issuer, audience = the account's)"),
                    ),
                    false => {
                        out.push(Check::pass(Area::Cloud, "federated credentials", format!("the app has {} federated credential(s)", creds.len())));
                        let audiences: Vec<String> = creds.iter().flat_map(|c| c.audiences.clone()).collect();
                        out.push(audience_check(audience, &audiences, "the federated credentials' audiences", "Set the credentials' audience to the account's Audience (api://AzureADTokenExchange by default), or the account's to theirs"));
                    }
                }
            }
            None => out.push(
                Check::fail(Area::Cloud, "app registration", format!("no app registration with client id {client_id} in tenant {tenant_id}"))
                    .because("the app was deleted, or the account names another tenant's app", "Correct the account's Client ID and Tenant ID in Octopus, or sign in to the app's tenant"),
            ),
        },
        AccountCloud::Gcp {
            provider,
            audience,
            service_account,
            ..
        } => {
            let g = &o.gcp;
            match &g.pool {
                Some(pool) if pool.lifecycle == GcpLifecycle::Active && !pool.disabled => {
                    out.push(Check::pass(Area::Cloud, "pool", format!("the workload identity pool {} is active", provider.pool_name())));
                    out.push(owner_info(&format!("pool {}", provider.pool_id), ownership::setup_of_gcp_description(&pool.description)));
                }
                Some(_) => out.push(Check::fail(Area::Cloud, "pool", format!("the workload identity pool {} is disabled or deleted", provider.pool_name()))
                    .because("Google refuses every token of a disabled or soft-deleted pool", "Enable or undelete the pool (gcloud iam workload-identity-pools undelete)")),
                None => out.push(Check::fail(Area::Cloud, "pool", format!("the workload identity pool {} (from the account's Audience) does not exist", provider.pool_name()))
                    .because("the pool was purged, or the Audience names another project", "Correct the account's Audience, or create the pool and its provider")),
            }
            match &g.provider {
                Some(p) if p.lifecycle == GcpLifecycle::Active && !p.disabled => {
                    out.push(Check::pass(Area::Cloud, "provider", format!("the provider {} is active", provider.provider_name())));
                    if !provider.accepts_audience(audience, &p.trust.allowed_audiences) {
                        let accepted = match p.trust.allowed_audiences.is_empty() {
                            true => vec![provider.default_audience()],
                            false => p.trust.allowed_audiences.clone(),
                        };
                        out.push(audience_check(audience, &accepted, "the provider's accepted audiences", "Set the account's Audience to the provider's resource name, or add it to allowedAudiences"));
                    }
                }
                Some(_) => out.push(Check::fail(Area::Cloud, "provider", format!("the provider {} is disabled or deleted", provider.provider_name()))
                    .because("Google refuses every token of a disabled or soft-deleted provider", "Enable or undelete the provider")),
                None => out.push(Check::fail(Area::Cloud, "provider", format!("the provider {} (from the account's Audience) does not exist", provider.provider_name()))
                    .because("the provider was purged, or the Audience names another one", "Correct the account's Audience, or create the provider")),
            }
            match &g.service_account {
                Some(sa) => {
                    out.push(Check::pass(Area::Cloud, "service account", format!("the service account {service_account} exists")));
                    out.push(owner_info(&format!("service account {service_account}"), ownership::setup_of_gcp_description(&sa.description)));
                    let pool_members = crate::google::members_of(&g.service_account_bindings, WORKLOAD_IDENTITY_USER)
                        .into_iter()
                        .filter(|m| m.contains(&format!("/{}/", provider.pool_name())))
                        .count();
                    if pool_members == 0 {
                        out.push(Check::fail(Area::Cloud, "impersonation", format!("no principal of the pool {} holds {WORKLOAD_IDENTITY_USER} on {service_account}", provider.pool_id))
                            .because("the federated tokens may not impersonate the service account (generateAccessToken is refused)", format!("Grant {WORKLOAD_IDENTITY_USER} on the service account to the pool's principals for the account's subjects")));
                    }
                }
                None => out.push(Check::fail(Area::Cloud, "service account", format!("the service account {service_account} does not exist"))
                    .because("the steps name a service account that was deleted or is in another project", "Correct the step's service account, or create it")),
            }
        }
    }
    out
}

fn audience_check(audience: &str, trusted: &[String], what: &str, fix: &str) -> Check {
    match trusted.iter().any(|t| t == audience) {
        true => Check::pass(
            Area::Cloud,
            "audience",
            format!("the account's audience {audience} is in {what}"),
        ),
        false => {
            let mut c = Check::fail(
                Area::Cloud,
                "audience",
                format!("the account's audience {audience} is not in {what}"),
            )
            .because("the cloud refuses tokens whose aud it does not list", fix);
            c.comparison = Some(ClaimComparison::closest("aud", audience, trusted));
            c
        }
    }
}

/// What to change by hand where verify's fix says `octo-oidc apply` (the account is not a
/// setup's).
fn manual_fix(check: &Check, target: Target) -> String {
    let trust = match target {
        Target::Aws => "the role's trust policy (its sub condition)",
        Target::Azure => "the app's federated credentials",
        Target::Gcp => {
            "the provider's attributeCondition and the service account's workloadIdentityUser binding"
        }
        Target::Github => "the trust",
    };
    if check.message.contains("outside the scope but accepted")
        || check.message.contains("accepted but outside the scope")
    {
        format!(
            "Narrow {trust} to the account's environments and tenants, or restrict the account in Octopus to what the trust allows"
        )
    } else {
        format!(
            "Add the run's subject to {trust}, or remove its environment or tenant from the account in Octopus"
        )
    }
}

/// Verify's report on the observation of [`observe_account`], as the account's report: the
/// setup-drift check replaced by [`account_cloud_checks`] (after the issuer checks), fixes
/// that name `octo-oidc apply` rewritten as what to change by hand, the verdict recomputed.
pub fn account_report(report: VerifyReport, found: &AccountObservation) -> VerifyReport {
    let target = found.account.target();
    let mut checks = Vec::new();
    let mut cloud = Some(account_cloud_checks(found));
    for mut c in report.checks {
        if c.area == Area::Cloud && c.name == "matches the setup" {
            checks.extend(cloud.take().unwrap_or_default());
            continue;
        }
        if !c.passed
            && c.fix
                .as_deref()
                .is_some_and(|f| f.contains("octo-oidc apply"))
        {
            c.fix = Some(manual_fix(&c, target));
        }
        checks.push(c);
    }
    if let Some(rest) = cloud {
        // No drift check was made: the account's checks go after the issuer's.
        let at = checks
            .iter()
            .position(|c| c.area != Area::Issuer)
            .unwrap_or(checks.len());
        checks.splice(at..at, rest);
    }
    let verdict = match checks.iter().any(|c| !c.passed && c.blocking) {
        true => VerifyVerdict::ProblemsFound,
        false => VerifyVerdict::Passed,
    };
    VerifyReport {
        setup: found.account.name.clone(),
        verdict,
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn account(body: Value) -> OctopusAccount {
        OctopusAccount {
            id: "Accounts-9".into(),
            slug: "acct".into(),
            body,
        }
    }

    #[test]
    fn an_aws_account_is_read_with_its_restrictions() {
        let a = read_account(
            &account(json!({
                "Name": "AWS prod", "AccountType": "AmazonWebServicesOidcAccount",
                "RoleArn": "arn:aws:iam::123456789012:role/team/octopus-prod",
                "Audience": "octopus.example.com", "Region": "eu-west-1", "SessionDuration": "7200",
                "EnvironmentIds": ["Environments-3"], "TenantedDeploymentParticipation": "TenantedOrUntenanted",
                "TenantIds": ["Tenants-1"], "DeploymentSubjectKeys": ["space", "environment"],
            })),
            None,
        )
        .unwrap();
        assert_eq!(
            a.cloud,
            AccountCloud::Aws {
                role_arn: "arn:aws:iam::123456789012:role/team/octopus-prod".into(),
                role_name: "octopus-prod".into(),
                aws_account_id: "123456789012".into(),
                audience: "octopus.example.com".into(),
                region: Some("eu-west-1".into()),
                session_duration: 7200,
            }
        );
        assert_eq!(a.environment_ids, ["Environments-3"]);
        assert_eq!(
            a.keys.deployment,
            [SubjectKey::Space, SubjectKey::Environment]
        );
        assert_eq!(a.setup("Default", None).file.target, Target::Aws);
    }

    #[test]
    fn non_oidc_and_broken_accounts_name_the_field_and_the_fix() {
        let p = read_account(
            &account(json!({"Name": "keys", "AccountType": "AmazonWebServicesAccount"})),
            None,
        )
        .unwrap_err();
        assert_eq!(p.code, ErrorCode::InvalidInput);
        assert_eq!(p.field_errors[0].field, ACCOUNT_FIELD);
        assert!(
            p.field_errors[0]
                .problem
                .contains("AmazonWebServicesAccount"),
            "{p:?}"
        );
        assert!(p.field_errors[0].fix.contains("AzureOidc"), "{p:?}");
        let p = read_account(
            &account(json!({"Name": "x", "AccountType": "AmazonWebServicesOidcAccount", "RoleArn": "arn:aws:iam::12:user/x"})),
            None,
        )
        .unwrap_err();
        assert!(
            p.field_errors[0].problem.contains("not an IAM role ARN"),
            "{p:?}"
        );
        let gcp = json!({"Name": "g", "AccountType": "GoogleCloudOidcAccount",
            "Audience": "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/octo-pool/providers/octopus"});
        let p = read_account(&account(gcp.clone()), None).unwrap_err();
        assert_eq!(p.field_errors[0].field, GCP_SERVICE_ACCOUNT_FIELD);
        let a = read_account(
            &account(gcp),
            Some("octo@shop-prod.iam.gserviceaccount.com"),
        )
        .unwrap();
        let setup = a.setup("Default", None);
        let TargetSpec::Gcp(g) = &setup.spec else {
            panic!("{setup:?}")
        };
        assert_eq!(
            (g.project.as_str(), g.pool.as_str()),
            ("shop-prod", "octo-pool")
        );
    }

    #[test]
    fn ownership_is_information_and_apply_fixes_become_manual() {
        let c = owner_info("role r", None);
        assert!(c.passed && !c.blocking);
        let failed = Check::fail(
            Area::Simulation,
            "a",
            "space:default:x: accepted but outside the scope",
        )
        .because("wide", "Run octo-oidc apply to narrow it");
        assert!(manual_fix(&failed, Target::Aws).starts_with("Narrow the role's trust policy"));
    }
}
