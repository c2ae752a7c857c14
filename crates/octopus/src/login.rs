//! Signing in to an Octopus server: the flow the CLI and the app share.
//!
//! [`sign_in`] takes a typed API key, proves it works (the connection check) and only then
//! keeps it in the OS keychain; when the keychain cannot keep it (unreachable, locked,
//! refused) the key is used for this run only and the returned [`SignedIn::keychain_problem`]
//! says why it was not kept.
//! [`reconnect`] later finds the key again (keychain, or `OCTOPUS_API_KEY` when there is no
//! keychain) and runs the same check. Keychain calls block on D-Bus, so they run on tokio's
//! blocking pool.
//!
//! Deliberately absent: prompting for the key (the UI's job) and any storage but the keychain.

use std::sync::Arc;

use octo_oidc_core::events::ProgressSink;
use octo_oidc_core::{ErrorCode, Problem, Secret};

use crate::client::{OctopusClientConfig, RestOctopus};
use crate::connection::ConnectionReport;
use crate::keychain::{ApiKeySource, ApiKeyStore, ResolvedApiKey};
use crate::transport::Credential;

/// A working connection and where its key lives.
#[derive(Debug)]
pub struct SignedIn {
    /// The client.
    pub client: RestOctopus,
    /// What the connection check found.
    pub report: ConnectionReport,
    /// Where the key came from / went.
    pub key_source: ApiKeySource,
    /// Set when the key could not be kept in (or read from) the keychain.
    pub keychain_problem: Option<Problem>,
}

fn blocking_failed(error: tokio::task::JoinError) -> Problem {
    Problem::new(
        ErrorCode::Internal,
        format!("the keychain call did not complete: {error}"),
    )
}

async fn check(
    config: OctopusClientConfig,
    key: Secret,
    progress: Arc<dyn ProgressSink>,
) -> Result<(RestOctopus, ConnectionReport), Problem> {
    let client =
        RestOctopus::with_credential(config, Credential::ApiKey(key))?.reporting_to(progress);
    let report = client.check_connection().await?;
    Ok((client, report))
}

/// Checks the typed key against the server, then stores it in the keychain under the
/// normalized server URL. A key that does not work is never stored.
pub async fn sign_in(
    config: OctopusClientConfig,
    api_key: Secret,
    store: &ApiKeyStore,
    progress: Arc<dyn ProgressSink>,
) -> Result<SignedIn, Problem> {
    let server = config.server_url.clone();
    let (client, report) = check(config, api_key.clone(), progress).await?;
    let store = store.clone();
    let stored = tokio::task::spawn_blocking(move || store.store(&server, &api_key))
        .await
        .map_err(blocking_failed)
        .map(|stored| stored.map_err(Problem::from));
    let (key_source, keychain_problem) = where_the_key_is_kept(stored.and_then(|r| r));
    Ok(SignedIn {
        client,
        report,
        key_source,
        keychain_problem,
    })
}

/// After a good sign-in the key is kept in the keychain if storing it worked; any keychain
/// failure (unreachable, locked, refused, a stuck call) keeps it for this session only, with
/// the reason as a notice. Signing in never fails because of the keychain.
fn where_the_key_is_kept(stored: Result<(), Problem>) -> (ApiKeySource, Option<Problem>) {
    match stored {
        Ok(()) => (ApiKeySource::Keychain, None),
        Err(problem) => {
            tracing::warn!(code = %problem.code, "the API key is kept for this session only");
            (ApiKeySource::SessionOnly, Some(problem))
        }
    }
}

/// Finds the stored key for the server (or `OCTOPUS_API_KEY` when no keychain is reachable,
/// read through `env`) and runs the connection check with it.
pub async fn reconnect(
    config: OctopusClientConfig,
    store: &ApiKeyStore,
    env: impl Fn(&str) -> Option<String> + Send + 'static,
    progress: Arc<dyn ProgressSink>,
) -> Result<SignedIn, Problem> {
    let server = config.server_url.clone();
    let store = store.clone();
    let ResolvedApiKey {
        key,
        source,
        keychain_problem,
    } = tokio::task::spawn_blocking(move || store.resolve(&server, env))
        .await
        .map_err(blocking_failed)??;
    let (client, report) = check(config, key, progress).await?;
    Ok(SignedIn {
        client,
        report,
        key_source: source,
        keychain_problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keychain::KeychainError;

    #[test]
    fn any_keychain_failure_after_a_good_sign_in_keeps_the_key_for_the_session() {
        assert_eq!(
            where_the_key_is_kept(Ok(())).0,
            ApiKeySource::Keychain,
            "stored"
        );
        for failure in [
            KeychainError::Unavailable("no Secret Service".into()),
            KeychainError::Failed("the collection is locked".into()),
        ] {
            let (source, problem) = where_the_key_is_kept(Err(Problem::from(failure)));
            assert_eq!(source, ApiKeySource::SessionOnly);
            let problem = problem.expect("a notice says why");
            assert_eq!(problem.code, ErrorCode::KeychainUnavailable);
            assert!(problem.hint.is_some(), "{problem:?}");
        }
        let stuck = Problem::new(ErrorCode::Internal, "the keychain call did not complete");
        assert_eq!(
            where_the_key_is_kept(Err(stuck)).0,
            ApiKeySource::SessionOnly
        );
    }
}
