//! GitHub Actions → Octopus: Octopus's own OIDC identity subject matcher.
//!
//! Octopus (2024.1+) matches an OIDC identity's subject against the token's `sub` with `*`
//! (any run of characters) and `?` (exactly one character), case-sensitively, anchored at both
//! ends (octopus-api.md §5).
//!
//! Deliberately absent here: calling GitHub or Octopus.

/// Whether an Octopus OIDC identity `pattern` accepts the token subject `subject`.
pub fn octopus_subject_matches(pattern: &str, subject: &str) -> bool {
    crate::wildcard::matches(pattern, subject)
}

#[cfg(test)]
mod tests {
    use super::octopus_subject_matches;

    #[test]
    fn octopus_matcher() {
        assert!(octopus_subject_matches(
            "repo:acme/web:environment:prod",
            "repo:acme/web:environment:prod"
        ));
        assert!(!octopus_subject_matches(
            "repo:acme/web:environment:prod",
            "repo:Acme/web:environment:prod"
        ));
        assert!(octopus_subject_matches(
            "repo:acme/web:*",
            "repo:acme/web:ref:refs/heads/main"
        ));
        assert!(octopus_subject_matches(
            "repo:acme/*:pull_request",
            "repo:acme/api:pull_request"
        ));
        assert!(octopus_subject_matches(
            "repo:acme/web:ref:refs/tags/v?",
            "repo:acme/web:ref:refs/tags/v1"
        ));
        assert!(!octopus_subject_matches(
            "repo:acme/web:ref:refs/tags/v?",
            "repo:acme/web:ref:refs/tags/v10"
        ));
        assert!(octopus_subject_matches(
            "repo:acme@*/web@*:environment:prod",
            "repo:acme@123/web@456:environment:prod"
        ));
    }
}
