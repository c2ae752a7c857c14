//! "Connect the cloud": signing in to Azure or AWS for the wizard's pickers, and the lists
//! those pickers show — Azure tenants, subscriptions, resource groups and role definitions
//! (ARM); the AWS account behind the credentials (`GetCallerIdentity`), its profiles and the
//! managed policies a role may attach (`ListPolicies`); Octopus service accounts and teams for
//! the CI issuer screen.
//!
//! With the built-in Sandbox's Octopus connected, every sign-in goes to the Sandbox (its Entra
//! authority, ARM and IAM/STS endpoint; its automation app and made-up keys never leave this
//! crate). Typed secrets (a service principal's client secret, an AWS secret access key) are
//! `Secret`s: held by the signed-in client in memory, never serialized, never returned.
//!
//! The connected clients live in the [`Session`] (one Azure sign-in and one AWS connection per
//! run); a sign-in replaces the previous one. No lock is held across a call.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use octo_oidc_aws::connect::{
    AwsConnection, ConnectOptions, CredentialSource, ProfileFilePaths, ProfileKind,
};
use octo_oidc_aws::iam::SdkIam;
use octo_oidc_azure::arm::ArmRbac;
use octo_oidc_azure::auth::{AuthorityConfig, AzureSession};
use octo_oidc_azure::transport::Transport;
use octo_oidc_core::error::FieldError;
use octo_oidc_core::validate::Validator;
use octo_oidc_core::{ErrorCode, Problem, Secret};
use serde::{Deserialize, Serialize};

use crate::form_field::FormField;
use crate::session::{Session, lock, octopus_not_connected};
use crate::setup_run::SignedInClouds;
use crate::sign_in_address_file::{SIGN_IN_URL_FILE, write_sign_in_address};

/// The Azure CLI's public client id: the well-known first-party client the browser sign-in
/// uses in real mode (it accepts `http://localhost` redirects).
const AZURE_CLI_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
/// How long a browser sign-in may take.
const BROWSER_SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

/// How the wizard signs in to Azure.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "method", rename_all = "camelCase")]
pub enum AzureSignIn {
    /// The system browser: auth code + PKCE on a loopback redirect (in the Sandbox, the
    /// Sandbox's authorize page).
    Browser,
    /// Reuse the Azure CLI / azd login (`az login`).
    AzureCli,
    /// An app registration with a client secret (in the Sandbox: its automation app, whatever
    /// is typed).
    #[serde(rename_all = "camelCase")]
    ServicePrincipal {
        /// The tenant the app registration lives in.
        tenant_id: String,
        /// The app's client (application) id.
        client_id: String,
        /// The client secret's value.
        #[cfg_attr(feature = "specta", specta(type = String))]
        client_secret: Secret,
    },
}

/// Who the wizard is signed in to Azure as, and the tenants it can pick from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AzureConnection {
    /// `browser`, `azureCli` or `servicePrincipal`.
    pub method: String,
    /// The user or app signed in, when known.
    pub signed_in_as: Option<String>,
    /// Whether this is the built-in Sandbox's Azure.
    pub sandbox: bool,
    /// The tenants of the sign-in.
    pub tenants: Vec<PickerItem>,
}

/// One entry of a picker: the value the setup stores, what the user reads, and a detail line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PickerItem {
    /// What the setup file stores (a tenant or subscription id, a group or role name, an ARN).
    pub value: String,
    /// The name people know it by.
    pub label: String,
    /// A second line (domain, state, location, role type, path), may be empty.
    pub detail: String,
}

impl PickerItem {
    /// An item whose stored value is the name people know it by (a group, role, user, team).
    fn named(name: String, detail: String) -> PickerItem {
        PickerItem {
            value: name.clone(),
            label: name,
            detail,
        }
    }
}

/// How the wizard signs in to AWS.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "method", rename_all = "camelCase")]
pub enum AwsSignIn {
    /// A profile from `~/.aws/config` / `~/.aws/credentials` (SSO included).
    Profile {
        /// The profile's name.
        name: String,
    },
    /// A typed access key, kept in memory only (in the Sandbox: its made-up keys).
    #[serde(rename_all = "camelCase")]
    AccessKey {
        /// `AKIA…` / `ASIA…`.
        access_key_id: String,
        /// The secret access key.
        #[cfg_attr(feature = "specta", specta(type = String))]
        secret_access_key: Secret,
        /// A session token, for temporary keys.
        #[cfg_attr(feature = "specta", specta(type = Option<String>))]
        session_token: Option<Secret>,
    },
}

/// The AWS account behind the credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AwsAccount {
    /// 12-digit account id.
    pub account_id: String,
    /// The caller's ARN.
    pub arn: String,
    /// The SSO profile in use, if any.
    pub sso_profile: Option<String>,
    /// Whether this is the built-in Sandbox's AWS.
    pub sandbox: bool,
}

/// An AWS profile the user can pick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AwsProfile {
    /// The profile's name.
    pub name: String,
    /// `static_keys`, `sso`, `assume_role`, `web_identity`, `credential_process` or `other`.
    pub kind: String,
    /// Its region, if it has one.
    pub region: Option<String>,
}

/// A signed-in Azure session and where its ARM is.
#[derive(Clone)]
pub(crate) struct ConnectedAzure {
    session: AzureSession,
    arm_url: String,
    sandbox_generation: Option<u64>,
}

/// A loaded AWS connection.
#[derive(Clone)]
pub(crate) struct ConnectedAws {
    connection: AwsConnection,
    account_id: String,
    sandbox_generation: Option<u64>,
}

fn field(field: FormField, problem: &str, fix: &str) -> Problem {
    Problem::invalid_input(vec![FieldError {
        field: field.id().into(),
        problem: problem.into(),
        fix: fix.into(),
    }])
}

fn not_signed_in(cloud: &str) -> Problem {
    Problem::new(
        ErrorCode::InvalidInput,
        format!("The wizard is not signed in to {cloud} yet."),
    )
    .with_hint(format!("Sign in to {cloud} first."))
}

fn transport(ca_pem: Option<&str>) -> Result<Transport, Problem> {
    let http = octo_oidc_http::build_client(&octo_oidc_http::ClientSettings {
        ca_bundle_pem: ca_pem.map(|pem| pem.as_bytes().to_vec()),
        ..Default::default()
    })
    .map_err(|e| {
        Problem::new(
            ErrorCode::Internal,
            format!("cannot build the HTTP client: {e}"),
        )
    })?;
    Ok(Transport::new(http))
}

/// The kind of a profile, as the picker names it.
fn kind_name(kind: ProfileKind) -> &'static str {
    match kind {
        ProfileKind::StaticKeys => "static_keys",
        ProfileKind::Sso => "sso",
        ProfileKind::AssumeRole => "assume_role",
        ProfileKind::WebIdentity => "web_identity",
        ProfileKind::CredentialProcess => "credential_process",
        ProfileKind::Other => "other",
    }
}

impl Session {
    /// A client is still usable: it belongs to the running Sandbox, or to no Sandbox while
    /// the connected Octopus is not the Sandbox's.
    fn same_world(&self, generation: Option<u64>) -> bool {
        self.connected_sandbox_env().map(|s| s.generation) == generation
    }

    /// The connection in `slot` if it is still current (made against the Sandbox now
    /// running, or against the real cloud with no Sandbox); a stale one is dropped.
    fn current<T: Clone>(
        &self,
        slot: &Mutex<Option<T>>,
        generation: impl Fn(&T) -> Option<u64>,
        cloud: &str,
    ) -> Result<T, Problem> {
        let connected = lock(slot).clone().ok_or_else(|| not_signed_in(cloud))?;
        if !self.same_world(generation(&connected)) {
            *lock(slot) = None;
            return Err(not_signed_in(cloud));
        }
        Ok(connected)
    }

    // ---- Azure ----------------------------------------------------------------------------

    /// Signs in to Azure (browser, Azure CLI or service principal; the Sandbox's when its
    /// Octopus is connected) and lists the tenants, which proves the sign-in works.
    /// `open_browser` opens the sign-in address (the face's opener, used for nothing else; in
    /// the Sandbox with [`SIGN_IN_URL_FILE`] set, the address goes to that file instead).
    pub async fn sign_in_azure(
        &self,
        sign_in: AzureSignIn,
        open_browser: impl FnOnce(&str) -> Result<(), String>,
    ) -> Result<AzureConnection, Problem> {
        let sandbox = self.connected_sandbox_env();
        let ca = sandbox.as_ref().map(|s| s.ca_pem.as_str());
        let (authority_url, arm_url) = match &sandbox {
            Some(s) => (s.var("AZURE_AUTHORITY")?, s.var("ARM_URL")?),
            None => (
                "https://login.microsoftonline.com".to_string(),
                "https://management.azure.com".to_string(),
            ),
        };
        let method = match &sign_in {
            AzureSignIn::Browser => "browser",
            AzureSignIn::AzureCli => "azureCli",
            AzureSignIn::ServicePrincipal { .. } => "servicePrincipal",
        };
        let session = match sign_in {
            AzureSignIn::Browser => {
                let client_id = match &sandbox {
                    Some(_) => octo_oidc_sandbox::entra::WIZARD_CLIENT_ID,
                    None => AZURE_CLI_CLIENT_ID,
                };
                // In the Sandbox only, the E2E tests may take the address instead of a browser.
                let address_file = sandbox
                    .as_ref()
                    .and_then(|_| self.env_var(SIGN_IN_URL_FILE))
                    .filter(|path| !path.trim().is_empty());
                let open = move |url: &str| match address_file {
                    Some(path) => write_sign_in_address(Path::new(&path), url),
                    None => open_browser(url),
                };
                AzureSession::sign_in_interactive(
                    transport(ca)?,
                    AuthorityConfig {
                        authority_url,
                        tenant: "organizations".into(),
                        client_id: client_id.into(),
                    },
                    open,
                    BROWSER_SIGN_IN_TIMEOUT,
                )
                .await?
            }
            AzureSignIn::AzureCli if sandbox.is_some() => {
                return Err(Problem::new(
                    ErrorCode::InvalidInput,
                    "The Azure CLI signs in to the real Azure, not to the Sandbox.",
                )
                .with_hint("In the Sandbox, sign in with the browser or the service principal."));
            }
            AzureSignIn::AzureCli => AzureSession::developer_tools(transport(ca)?)?,
            AzureSignIn::ServicePrincipal {
                tenant_id,
                client_id,
                client_secret,
            } => {
                let (tenant, client_id, secret) = match &sandbox {
                    Some(s) => (
                        s.var("AZURE_TENANT_ID")?,
                        s.var("AZURE_CLIENT_ID")?,
                        Secret::new(s.var("AZURE_CLIENT_SECRET")?),
                    ),
                    None => {
                        let mut check = Validator::new();
                        check
                            .guid(FormField::AzureTenantId.id(), tenant_id.trim())
                            .guid(FormField::AzureSignInClientId.id(), client_id.trim())
                            .filled(
                                FormField::AzureSignInClientSecret.id(),
                                client_secret.expose(),
                                "Paste the client secret's value (not its id).",
                            );
                        check.finish()?;
                        (
                            tenant_id.trim().to_string(),
                            client_id.trim().to_string(),
                            client_secret,
                        )
                    }
                };
                AzureSession::service_principal(
                    transport(ca)?,
                    AuthorityConfig {
                        authority_url,
                        tenant,
                        client_id,
                    },
                    secret,
                )?
            }
        };
        let arm = ArmRbac::new(session.clone(), &arm_url);
        let tenants = arm.list_tenants().await?;
        let signed_in_as = session
            .account()
            .map(|a| a.user_principal_name.unwrap_or(a.object_id));
        *lock(&self.azure) = Some(ConnectedAzure {
            session,
            arm_url,
            sandbox_generation: sandbox.map(|s| s.generation),
        });
        Ok(AzureConnection {
            method: method.into(),
            signed_in_as,
            sandbox: self.connected_sandbox_env().is_some(),
            tenants: tenants
                .into_iter()
                .map(|t| PickerItem {
                    label: if t.display_name.is_empty() {
                        t.tenant_id.clone()
                    } else {
                        t.display_name
                    },
                    value: t.tenant_id,
                    detail: t.default_domain,
                })
                .collect(),
        })
    }

    fn arm(&self, tenant_id: &str) -> Result<ArmRbac, Problem> {
        let connected = self.current(&self.azure, |c| c.sandbox_generation, "Azure")?;
        let mut check = Validator::new();
        check.guid(FormField::AzureTenantId.id(), tenant_id.trim());
        check.finish()?;
        Ok(ArmRbac::new(connected.session, &connected.arm_url).in_tenant(tenant_id.trim()))
    }

    /// [`Self::arm`] for a tenant, and the subscription id (trimmed, checked to be a GUID).
    fn subscription_arm(
        &self,
        tenant_id: &str,
        subscription_id: &str,
    ) -> Result<(ArmRbac, String), Problem> {
        let arm = self.arm(tenant_id)?;
        let subscription = subscription_id.trim();
        let mut check = Validator::new();
        check.guid(FormField::AzureSubscriptionId.id(), subscription);
        check.finish()?;
        Ok((arm, subscription.to_owned()))
    }

    /// The enabled subscriptions of a tenant, by name.
    pub async fn azure_subscriptions(&self, tenant_id: &str) -> Result<Vec<PickerItem>, Problem> {
        let arm = self.arm(tenant_id)?;
        let subscriptions = arm.list_subscriptions().await?;
        Ok(by_label(
            subscriptions
                .into_iter()
                .filter(|s| s.tenant_id.is_empty() || s.tenant_id.eq_ignore_ascii_case(tenant_id))
                .map(|s| PickerItem {
                    label: s.display_name,
                    detail: format!("{} · {}", s.subscription_id, s.state),
                    value: s.subscription_id,
                }),
        ))
    }

    /// The resource groups of a subscription, by name.
    pub async fn azure_resource_groups(
        &self,
        tenant_id: &str,
        subscription_id: &str,
    ) -> Result<Vec<PickerItem>, Problem> {
        let (arm, subscription) = self.subscription_arm(tenant_id, subscription_id)?;
        let groups = arm.list_resource_groups(&subscription).await?;
        Ok(by_label(
            groups
                .into_iter()
                .map(|g| PickerItem::named(g.name, g.location)),
        ))
    }

    /// Every role definition (built-in and custom) assignable in a subscription, by name.
    pub async fn azure_roles(
        &self,
        tenant_id: &str,
        subscription_id: &str,
    ) -> Result<Vec<PickerItem>, Problem> {
        let (arm, subscription) = self.subscription_arm(tenant_id, subscription_id)?;
        Ok(arm
            .list_role_definitions(&format!("/subscriptions/{subscription}"))
            .await?
            .into_iter()
            .map(|d| {
                let detail = match (d.role_type.as_str(), d.description.is_empty()) {
                    ("CustomRole", true) => "Custom role".into(),
                    ("CustomRole", false) => format!("Custom role · {}", d.description),
                    _ => d.description,
                };
                PickerItem::named(d.role_name, detail)
            })
            .collect())
    }

    // ---- AWS ------------------------------------------------------------------------------

    /// The profiles in `~/.aws/config` and `~/.aws/credentials` (none in the Sandbox).
    pub async fn aws_profiles(&self) -> Result<Vec<AwsProfile>, Problem> {
        if self.connected_sandbox_env().is_some() {
            return Ok(Vec::new());
        }
        let profiles = octo_oidc_aws::connect::list_profiles(&ProfileFilePaths::default()).await?;
        Ok(profiles
            .into_iter()
            .map(|p| AwsProfile {
                name: p.name,
                kind: kind_name(p.kind).into(),
                region: p.region,
            })
            .collect())
    }

    /// Connects to AWS (a profile, SSO included, or a typed key; the Sandbox's when its
    /// Octopus is connected) and asks who it is (`GetCallerIdentity`). An expired SSO login
    /// comes back with the exact `aws sso login --profile NAME` line.
    pub async fn connect_aws(
        &self,
        sign_in: AwsSignIn,
        region: &str,
    ) -> Result<AwsAccount, Problem> {
        let sandbox = self.connected_sandbox_env();
        let region = region.trim();
        let mut check = Validator::new();
        check.required_aws_region(FormField::AwsRegion.id(), region);
        check.finish()?;
        let mut options = match (&sandbox, sign_in) {
            (Some(s), _) => ConnectOptions::new(CredentialSource::AccessKey {
                access_key_id: s.var("AWS_ACCESS_KEY_ID")?,
                secret_access_key: Secret::new(s.var("AWS_SECRET_ACCESS_KEY")?),
                session_token: None,
            })
            .with_endpoint(s.var("AWS_ENDPOINT_URL")?),
            (None, AwsSignIn::Profile { name }) => {
                if name.trim().is_empty() {
                    return Err(field(
                        FormField::AwsProfile,
                        "is empty",
                        "Choose one of the profiles in ~/.aws/config or ~/.aws/credentials.",
                    ));
                }
                ConnectOptions::new(CredentialSource::Profile(name.trim().to_string()))
            }
            (
                None,
                AwsSignIn::AccessKey {
                    access_key_id,
                    secret_access_key,
                    session_token,
                },
            ) => {
                let mut check = Validator::new();
                check
                    .filled(
                        FormField::AwsSignInAccessKeyId.id(),
                        &access_key_id,
                        "Paste the access key id (AKIA… or ASIA…).",
                    )
                    .filled(
                        FormField::AwsSignInSecretAccessKey.id(),
                        secret_access_key.expose(),
                        "Paste the secret access key that belongs to the key id.",
                    );
                check.finish()?;
                ConnectOptions::new(CredentialSource::AccessKey {
                    access_key_id: access_key_id.trim().to_string(),
                    secret_access_key,
                    session_token: session_token.filter(|t| !t.is_blank()),
                })
            }
        };
        options.region = Some(region.to_string());
        let connection = AwsConnection::connect(options).await?;
        let identity = connection.caller_identity().await?;
        let account = AwsAccount {
            account_id: identity.account,
            arn: identity.arn,
            sso_profile: connection.sso_profile().map(str::to_string),
            sandbox: sandbox.is_some(),
        };
        *lock(&self.aws) = Some(ConnectedAws {
            connection,
            account_id: account.account_id.clone(),
            sandbox_generation: sandbox.map(|s| s.generation),
        });
        Ok(account)
    }

    /// The managed policies (AWS managed and the account's own) a role may attach.
    pub async fn aws_policies(&self) -> Result<Vec<PickerItem>, Problem> {
        let connected = self.current(&self.aws, |c| c.sandbox_generation, "AWS")?;
        let iam = SdkIam::new(&connected.connection);
        Ok(iam
            .list_policies()
            .await?
            .into_iter()
            .map(|p| PickerItem {
                label: p.name,
                detail: if p.aws_managed {
                    "AWS managed".into()
                } else {
                    "Customer managed".into()
                },
                value: p.arn,
            })
            .collect())
    }

    /// The Azure sign-in and the AWS connection still current (made against the Sandbox now
    /// running, or against the real clouds with no Sandbox): the runs the window starts use
    /// them (see [`SignedInClouds`]).
    pub(crate) fn signed_in_clouds(&self) -> SignedInClouds {
        SignedInClouds {
            azure: self
                .current(&self.azure, |c| c.sandbox_generation, "Azure")
                .ok()
                .map(|c| c.session),
            aws: self
                .current(&self.aws, |c| c.sandbox_generation, "AWS")
                .ok()
                .map(|c| c.connection),
        }
    }

    /// The account id of the connected AWS credentials, if connected (and still current).
    pub(crate) fn connected_aws_account_id(&self) -> Option<String> {
        let connected = lock(&self.aws)
            .as_ref()
            .map(|c| (c.account_id.clone(), c.sandbox_generation))?;
        self.same_world(connected.1).then_some(connected.0)
    }

    // ---- Octopus (CI issuers) -------------------------------------------------------------

    /// The service accounts on the connected Octopus Server, by username.
    pub async fn octopus_service_accounts(&self) -> Result<Vec<PickerItem>, Problem> {
        let client = self.octopus_client().ok_or_else(octopus_not_connected)?;
        let users = client.find_users("", true).await?;
        Ok(by_label(
            users
                .into_iter()
                .filter(|u| u.is_service)
                .map(|u| PickerItem::named(u.username, u.display_name)),
        ))
    }

    /// The teams of a space (and the system teams) that can take members, by name; an empty
    /// `space` is the server's default space.
    pub async fn octopus_teams(&self, space: &str) -> Result<Vec<PickerItem>, Problem> {
        let client = self.octopus_client().ok_or_else(octopus_not_connected)?;
        let spaces = client.spaces().await?;
        // The space is chosen on the next screen: until then, the server's default space.
        let space = match spaces.iter().find(|s| s.is_default) {
            Some(default) if space.trim().is_empty() => default.clone(),
            _ => crate::inventory::resolve_space(&spaces, space)?.clone(),
        };
        let teams = client.teams(&space.id).await?;
        Ok(by_label(
            teams.into_iter().filter(|t| t.can_change_members).map(|t| {
                let detail = match t.space_id {
                    Some(_) => format!("Team in {}", space.name),
                    None => "System team".into(),
                };
                PickerItem::named(t.name, detail)
            }),
        ))
    }
}

/// Picker items sorted by label, ignoring case.
fn by_label(items: impl IntoIterator<Item = PickerItem>) -> Vec<PickerItem> {
    let mut items: Vec<PickerItem> = items.into_iter().collect();
    items.sort_by_key(|i| i.label.to_lowercase());
    items
}
