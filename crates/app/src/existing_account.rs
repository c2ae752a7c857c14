//! Verify an Octopus OIDC account that exists (QA's use case): the account is picked by name
//! or `Accounts-N` in a space, read, and verified by the engine's verify — issuer checks,
//! what the account points at in its cloud, the simulator's matrix over the scope the account
//! can be used for, the Octopus account test and, in the sandbox, the token trades — with the
//! engine's [`octo_oidc_engine::existing_account`] building verify's input from the account.
//!
//! [`SetupRun::prepare_account`] connects Octopus (the run's credentials: a sandbox env file,
//! `OCTOPUS_API_KEY` or the keychain, or the window's signed-in client), resolves the space
//! (the default space when none is named), reads the account — an unknown name or id, or an
//! account that is not OIDC, is a [`Problem`] on the `account` field before any cloud call —,
//! then connects the account's cloud exactly as a setup of its type would (Azure in the
//! account's tenant, AWS in its region with the run's AWS credentials, Google with ADC or the
//! sandbox's key) and observes. [`PreparedAccount::verify`] runs verify.
//! [`list_oidc_accounts`] is the wizard's picker list. On the [`Session`] (the window):
//! [`Session::oidc_accounts`] and [`Session::verify_account`], with the session's credentials
//! (the built-in Sandbox when its Octopus is connected, else the signed-in Octopus client and
//! the real cloud adapters, as the window's setups use them).
//!
//! Deliberately absent: rendering (the faces) and any change to the account or its cloud.

use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_engine::existing_account::{
    AccountObservation, ExistingAccount, OIDC_ACCOUNT_TYPES, account_report, observe_account,
    read_account, unknown_account,
};
use octo_oidc_engine::observe::{Absent, Ports};
use octo_oidc_engine::setup_file::TargetSpec;
use octo_oidc_engine::verify::VerifyReport;
use octo_oidc_octopus::RestOctopus;
use serde::{Deserialize, Serialize};

use crate::inventory::resolve_space;
use crate::run_report::{VerifyView, verify_view};
use crate::sandbox_env::SandboxEnv;
use crate::session::{Session, octopus_not_connected};
use crate::setup_run::{Cloud, SetupRun, verify_observation, with_ports};

/// Which account to verify, and what the account itself does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AccountRequest {
    /// The Octopus server (ignored with a sandbox; the signed-in one in the window).
    #[serde(default)]
    pub octopus_url: Option<String>,
    /// The space: name, slug or `Spaces-N`; the default space when empty.
    #[serde(default)]
    pub space: Option<String>,
    /// The account's name or `Accounts-N`.
    pub account: String,
    /// Google Cloud: the service account the account's steps impersonate.
    #[serde(default)]
    pub gcp_service_account: Option<String>,
    /// AWS: the shared-config profile to sign in with (default: exported keys, or the
    /// default chain when the run allows it).
    #[serde(default)]
    pub aws_profile: Option<String>,
}

/// One OIDC account of a space, for the wizard's picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OidcAccountItem {
    /// `Accounts-N`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `AccountType`, e.g. `AzureOidc`.
    pub account_type: String,
    /// What the type is called: `AWS OIDC`, `Azure OIDC`, `Google Cloud OIDC`.
    pub type_label: String,
}

/// What the type is called in the window and the CLI.
pub fn type_label(account_type: &str) -> &'static str {
    match account_type {
        "AmazonWebServicesOidcAccount" => "AWS OIDC",
        "AzureOidc" => "Azure OIDC",
        t if t == octo_oidc_core::gcp::ACCOUNT_TYPE => "Google Cloud OIDC",
        _ => "not OIDC",
    }
}

/// The OIDC accounts of `space_id` (only the types verify can check), by name.
pub async fn list_oidc_accounts(
    octopus: &RestOctopus,
    space_id: &str,
) -> Result<Vec<OidcAccountItem>, Problem> {
    let mut items: Vec<OidcAccountItem> = octopus
        .accounts(space_id)
        .await?
        .into_iter()
        .filter(|a| OIDC_ACCOUNT_TYPES.contains(&a.account_type.as_str()))
        .map(|a| OidcAccountItem {
            type_label: type_label(&a.account_type).to_string(),
            id: a.id,
            name: a.name,
            account_type: a.account_type,
        })
        .collect();
    items.sort_by_key(|a| a.name.to_lowercase());
    Ok(items)
}

/// Whether `wanted` is an account id (`Accounts-N`).
fn is_account_id(wanted: &str) -> bool {
    wanted
        .strip_prefix("Accounts-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A connected, observed existing account.
pub struct PreparedAccount {
    octopus: RestOctopus,
    cloud: Cloud,
    sandbox_env: Option<SandboxEnv>,
    /// The account and what its cloud holds.
    pub found: AccountObservation,
}

impl std::fmt::Debug for PreparedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedAccount")
            .field("account", &self.found.account.name)
            .finish_non_exhaustive()
    }
}

impl PreparedAccount {
    /// The account as read.
    pub fn account(&self) -> &ExistingAccount {
        &self.found.account
    }

    /// Verifies the account's trust as it exists now.
    pub async fn verify(&self) -> Result<VerifyReport, Problem> {
        let report = verify_observation(
            &self.octopus,
            &self.cloud,
            self.sandbox_env.as_ref(),
            &self.found.observation,
        )
        .await?;
        Ok(account_report(report, &self.found))
    }
}

impl SetupRun {
    /// Connects Octopus, reads the account, connects its cloud and observes (lookups only).
    pub async fn prepare_account(
        &self,
        request: &AccountRequest,
    ) -> Result<PreparedAccount, Problem> {
        let wanted = request.account.trim();
        if wanted.is_empty() {
            return Err(unknown_account("", "the space", &[]));
        }
        let octopus_url = match self.sandbox_env() {
            Some(_) => None,
            None => Some(self.octopus_url_for(request.octopus_url.as_deref())?),
        };
        let octopus = self.octopus(octopus_url.as_deref()).await?;
        let spaces = octopus.spaces().await?;
        let space = pick_space(&spaces, request.space.as_deref())?;
        let found = match is_account_id(wanted) {
            true => octopus.account(&space.id, wanted).await?,
            false => octopus.find_account_by_name(&space.id, wanted).await?,
        };
        let Some(found) = found else {
            let listed: Vec<(String, String, String)> = list_oidc_accounts(&octopus, &space.id)
                .await?
                .into_iter()
                .map(|a| (a.id, a.name, a.type_label))
                .collect();
            return Err(unknown_account(wanted, &space.name, &listed));
        };
        let account = read_account(&found, request.gcp_service_account.as_deref())?;
        let mut setup = account.setup(&space.name, octopus_url.clone());
        if let TargetSpec::Aws(aws) = &mut setup.spec {
            aws.profile = request.aws_profile.clone();
            if aws.region.is_none() {
                aws.region = self
                    .sandbox_env()
                    .and_then(|e| e.get("AWS_REGION").map(str::to_string));
            }
        }
        let (cloud, signed_in) = self.cloud(&setup).await?;
        let server_url = octopus.server_url().as_key();
        let found = with_ports!(&octopus, &cloud, |ports| {
            observe_account(
                &account,
                &space.id,
                &server_url,
                octopus_url.clone(),
                signed_in,
                ports,
            )
            .await
        })?;
        Ok(PreparedAccount {
            octopus,
            cloud,
            sandbox_env: self.sandbox_env().cloned(),
            found,
        })
    }
}

impl SetupRun {
    /// The OIDC accounts of `space` (the default space when `None`) on the run's server.
    pub async fn oidc_accounts(
        &self,
        octopus_url: Option<&str>,
        space: Option<&str>,
    ) -> Result<Vec<OidcAccountItem>, Problem> {
        let url = match self.sandbox_env() {
            Some(_) => None,
            None => Some(self.octopus_url_for(octopus_url)?),
        };
        let octopus = self.octopus(url.as_deref()).await?;
        let spaces = octopus.spaces().await?;
        let space = pick_space(&spaces, space)?;
        list_oidc_accounts(&octopus, &space.id).await
    }
}

/// The space a request names, else the default one.
fn pick_space(
    spaces: &[octo_oidc_octopus::inventory::SpaceSummary],
    wanted: Option<&str>,
) -> Result<octo_oidc_octopus::inventory::SpaceSummary, Problem> {
    match wanted.map(str::trim) {
        Some(s) if !s.is_empty() => Ok(resolve_space(spaces, s)?.clone()),
        _ => spaces
            .iter()
            .find(|s| s.is_default)
            .or(spaces.first())
            .cloned()
            .ok_or_else(|| Problem::new(ErrorCode::NotFound, "the signed-in user sees no space")),
    }
}

impl Session {
    /// The OIDC accounts of a space (default: the default space) on the connected server.
    pub async fn oidc_accounts(
        &self,
        space: Option<String>,
    ) -> Result<Vec<OidcAccountItem>, Problem> {
        let run = self.connected_run()?;
        run.oidc_accounts(None, space.as_deref()).await
    }

    /// Verifies an existing OIDC account of the connected server.
    pub async fn verify_account(&self, request: &AccountRequest) -> Result<VerifyView, Problem> {
        let run = self.connected_run()?;
        let mut request = request.clone();
        request.octopus_url = None;
        let prepared = run.prepare_account(&request).await?;
        Ok(verify_view(&prepared.verify().await?))
    }

    fn connected_run(&self) -> Result<SetupRun, Problem> {
        let run = self.setup_run();
        if !run.is_sandbox() && self.octopus_client().is_none() {
            return Err(octopus_not_connected());
        }
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_and_type_labels() {
        assert!(is_account_id("Accounts-12"));
        assert!(!is_account_id("Accounts-"));
        assert!(!is_account_id("AWS prod"));
        assert_eq!(type_label("AzureOidc"), "Azure OIDC");
        assert_eq!(type_label("GoogleCloudOidcAccount"), "Google Cloud OIDC");
        assert_eq!(type_label("UsernamePassword"), "not OIDC");
    }
}
