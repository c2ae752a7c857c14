//! Entra's match of a client assertion against an app's federated identity credentials, as
//! Microsoft documents it (azure-api.md §1.3 and the error list; Graph
//! `federatedidentitycredentials-overview`, "federated identity credentials now use
//! case-sensitive matching"; entra-docs `workload-identity-federation-considerations`),
//! written independently of the core's simulator, which this sandbox judges.
//!
//! A credential matches when its `issuer` equals the assertion's `iss`, its `subject` equals
//! `sub`, and one of its `audiences` is among the assertion's `aud` values, each compared
//! exactly and case-sensitively (no wildcards, no trailing-slash forgiveness). The first check
//! that fails names the error: `AADSTS70021` (the app has no credential), `AADSTS700211`
//! (issuer), `AADSTS700213` (subject; `AADSTS7002138` when it differs only in case),
//! `AADSTS700212` (audience; `AADSTS7002121` when it differs only in case).
//!
//! Deliberately absent: flexible credentials (`claimsMatchingExpression`, not usable for
//! Octopus) and the signature checks (the authority does them between issuer and subject).

/// One federated credential, borrowed from the directory.
#[derive(Debug, Clone, Copy)]
pub struct Credential<'a> {
    /// `issuer`.
    pub issuer: &'a str,
    /// `subject`.
    pub subject: &'a str,
    /// `audiences`.
    pub audiences: &'a [String],
}

/// The claims of a presented assertion that the match reads.
#[derive(Debug, Clone, Copy)]
pub struct Assertion<'a> {
    /// `iss`.
    pub issuer: &'a str,
    /// `sub`.
    pub subject: &'a str,
    /// `aud` (a string or an array in the token).
    pub audiences: &'a [String],
}

/// Why no credential matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// The app has no federated credential at all.
    NoCredentials,
    /// No credential has the assertion's issuer.
    Issuer,
    /// No credential with the issuer has the subject.
    Subject {
        /// Some credential's subject differs only in case.
        case_only: bool,
    },
    /// No credential with issuer and subject has one of the audiences.
    Audience {
        /// Some credential's audience differs only in case.
        case_only: bool,
    },
}

impl Mismatch {
    /// The `AADSTS` number Entra answers with.
    pub fn code(self) -> u32 {
        match self {
            Mismatch::NoCredentials => 70021,
            Mismatch::Issuer => 700211,
            Mismatch::Subject { case_only: false } => 700213,
            Mismatch::Subject { case_only: true } => 7002138,
            Mismatch::Audience { case_only: false } => 700212,
            Mismatch::Audience { case_only: true } => 7002121,
        }
    }
}

/// The index of the first credential that matches the assertion, or why none does.
pub fn match_credential(
    credentials: &[Credential<'_>],
    assertion: &Assertion<'_>,
) -> Result<usize, Mismatch> {
    if credentials.is_empty() {
        return Err(Mismatch::NoCredentials);
    }
    let same_issuer: Vec<(usize, &Credential<'_>)> = credentials
        .iter()
        .enumerate()
        .filter(|(_, c)| c.issuer == assertion.issuer)
        .collect();
    if same_issuer.is_empty() {
        return Err(Mismatch::Issuer);
    }
    let same_subject: Vec<(usize, &Credential<'_>)> = same_issuer
        .iter()
        .copied()
        .filter(|(_, c)| c.subject == assertion.subject)
        .collect();
    if same_subject.is_empty() {
        let case_only = same_issuer
            .iter()
            .any(|(_, c)| c.subject.to_lowercase() == assertion.subject.to_lowercase());
        return Err(Mismatch::Subject { case_only });
    }
    if let Some((index, _)) = same_subject
        .iter()
        .find(|(_, c)| c.audiences.iter().any(|a| assertion.audiences.contains(a)))
    {
        return Ok(*index);
    }
    let case_only = same_subject.iter().any(|(_, c)| {
        c.audiences.iter().any(|a| {
            assertion
                .audiences
                .iter()
                .any(|t| t.to_lowercase() == a.to_lowercase())
        })
    });
    Err(Mismatch::Audience { case_only })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_case_sensitive_match_in_issuer_subject_audience_order() {
        let aud = vec!["api://AzureADTokenExchange".to_string()];
        let creds = [Credential {
            issuer: "https://octo.example",
            subject: "space:default:account:a",
            audiences: &aud,
        }];
        let assertion = |issuer, subject, audiences| Assertion {
            issuer,
            subject,
            audiences,
        };
        assert_eq!(
            match_credential(
                &creds,
                &assertion("https://octo.example", "space:default:account:a", &aud)
            ),
            Ok(0)
        );
        assert_eq!(
            match_credential(
                &creds,
                &assertion("https://octo.example/", "space:default:account:a", &aud)
            ),
            Err(Mismatch::Issuer)
        );
        assert_eq!(
            match_credential(
                &creds,
                &assertion("https://octo.example", "space:Default:account:a", &aud)
            )
            .map_err(Mismatch::code),
            Err(7002138)
        );
        let lower = vec!["api://azureadtokenexchange".to_string()];
        assert_eq!(
            match_credential(
                &creds,
                &assertion("https://octo.example", "space:default:account:a", &lower)
            )
            .map_err(Mismatch::code),
            Err(7002121)
        );
        assert_eq!(
            match_credential(&[], &assertion("x", "y", &aud)),
            Err(Mismatch::NoCredentials)
        );
    }
}
