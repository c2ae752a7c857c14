//! The CI snippet printed after a CI → Octopus apply: what the pipeline needs to sign in to
//! Octopus with its own OIDC token. GitHub Actions uses the core's workflow snippet
//! (`OctopusDeploy/login`); GitLab, Buildkite and TeamCity get a token with the service
//! account's id as audience and pass it to `octopus login --id-token`; any other issuer gets
//! the RFC 8693 token exchange against `{server}/token/v1` (octopus-api.md §5).

use octo_oidc_core::github::workflow_snippet;

use crate::setup_file::CiSystem;

/// The snippet for `ci`, signing in to `server_url` as the service account whose ExternalId
/// is `service_account_id`.
pub fn ci_snippet(ci: CiSystem, server_url: &str, service_account_id: &str) -> String {
    let server = server_url.trim().trim_end_matches('/');
    let login = format!(
        "octopus login --server {server} --service-account-id {service_account_id} --id-token \"$OCTOPUS_ID_TOKEN\""
    );
    match ci {
        CiSystem::Github => workflow_snippet(server, service_account_id),
        CiSystem::Gitlab => format!(
            "deploy:\n  id_tokens:\n    OCTOPUS_ID_TOKEN:\n      aud: {service_account_id}\n  script:\n    - {login}\n"
        ),
        CiSystem::Buildkite => format!(
            "steps:\n  - label: Log in to Octopus Deploy\n    command: |\n      OCTOPUS_ID_TOKEN=\"$(buildkite-agent oidc request-token --audience {service_account_id})\"\n      {login}\n"
        ),
        CiSystem::Teamcity => format!(
            "# TeamCity: add the Octopus Deploy OIDC build feature (OctopusDeploy/teamcity-oidc-plugin)\n# with audience {service_account_id}, expose its token as OCTOPUS_ID_TOKEN, then run:\n{login}\n"
        ),
        CiSystem::Other => format!(
            "# Exchange the CI job's OIDC token (audience {service_account_id}) for an Octopus access token:\ncurl -sS -X POST {server}/token/v1 \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"grant_type\":\"urn:ietf:params:oauth:grant-type:token-exchange\",\"audience\":\"{service_account_id}\",\"subject_token\":\"'\"$OCTOPUS_ID_TOKEN\"'\",\"subject_token_type\":\"urn:ietf:params:oauth:token-type:jwt\"}}'\n# The response's access_token is a Bearer token for the Octopus API (valid 1 hour).\n"
        ),
    }
}
