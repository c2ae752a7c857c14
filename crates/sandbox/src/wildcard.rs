//! The sandbox's own `*` / `?` matcher, used where the real services match patterns: IAM
//! `StringLike` / `StringNotLike` and `Action` wildcards (aws/trust.rs) and Octopus's OIDC
//! identity subjects (octopus/token_exchange.rs).
//!
//! Semantics, from the vendors' documents: IAM "`StringLike`: case-sensitive matching. The
//! values can include multi-character match wildcards (`*`) and single-character match
//! wildcards (`?`) anywhere in the string" (IAM User Guide, condition operators; aws-api.md
//! §2.1: "`StringLike` with `*`/`?`"); Octopus: "Subject matching is case-sensitive, supports
//! `*` and `?`" (octopus-api.md §5). The whole value must match (no implicit prefix match), and
//! `*` crosses `:` and `/` (the subject is one opaque string to both services).
//!
//! Written independently of the core's matcher (which it judges): a plain dynamic programme
//! over characters, "which value prefixes can the pattern prefix match?".
//!
//! Deliberately absent: policy variables (`${...}`) and escapes; neither service offers them
//! on these values.

/// Whether `value` matches `pattern` as a whole (`*` any run, `?` one character).
pub fn matches(pattern: &str, value: &str) -> bool {
    let value: Vec<char> = value.chars().collect();
    // reachable[j]: the pattern read so far matches exactly value[..j].
    let mut reachable = vec![false; value.len() + 1];
    reachable[0] = true;
    for p in pattern.chars() {
        let mut next = vec![false; value.len() + 1];
        match p {
            '*' => {
                let mut seen = false;
                for (j, slot) in next.iter_mut().enumerate() {
                    seen |= reachable[j];
                    *slot = seen;
                }
            }
            '?' => {
                // One character consumed: every reachable prefix grows by one.
                next[1..].copy_from_slice(&reachable[..value.len()]);
            }
            literal => {
                for j in 1..=value.len() {
                    next[j] = reachable[j - 1] && value[j - 1] == literal;
                }
            }
        }
        reachable = next;
    }
    reachable[value.len()]
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn the_documented_cases() {
        assert!(matches("space:default", "space:default"));
        assert!(!matches("space:default", "space:Default"));
        assert!(!matches("space:default", "space:default:x"));
        assert!(matches(
            "space:default:project:web:*",
            "space:default:project:web:tenant:a:environment:b"
        ));
        assert!(matches("repo:org/*", "repo:org/app:ref:refs/heads/main"));
        assert!(matches("env-??", "env-eu"));
        assert!(!matches("env-??", "env-e"));
        assert!(!matches("env-??", "env-eux"));
        assert!(matches("?", "é"));
        assert!(matches("*", ""));
        assert!(!matches("", "a"));
        assert!(matches("a*a*a", "aaa"));
        assert!(!matches("a*a*a", "aa"));
        assert!(matches("*:prod", "x:prod:y:prod"));
    }
}
