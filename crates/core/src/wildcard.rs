//! The `*` / `?` wildcard matcher shared by IAM `StringLike` and Octopus's OIDC identity
//! subjects.
//!
//! `*` matches any run of characters (including none, and including `:` and `/`), `?` matches
//! exactly one character, every other character matches itself, case-sensitively. The match
//! is anchored at both ends. It allocates nothing and runs in O(pattern × value) worst case,
//! linear for the patterns this product generates.
//!
//! Deliberately absent: escapes, character classes and IAM policy variables (`${aws:...}`);
//! neither IAM `StringLike` on OIDC keys nor Octopus's matcher offers them for our use.

/// Whether `value` matches `pattern` (`*` = any run, `?` = one character, case-sensitive).
pub fn matches(pattern: &str, value: &str) -> bool {
    let p = pattern.as_bytes();
    let v = value.as_bytes();
    // Fast path: no wildcard at all.
    if !p.iter().any(|&b| b == b'*' || b == b'?') {
        return p == v;
    }
    let (mut pi, mut vi) = (0usize, 0usize);
    // Position after the last `*` seen in the pattern, and the value position it resumes at.
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi + 1, vi));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    vi += utf8_len(v[vi]);
                    continue;
                }
                c if c == v[vi] => {
                    pi += 1;
                    vi += 1;
                    continue;
                }
                _ => {}
            }
        }
        // Mismatch: let the last `*` absorb one more character, or fail.
        match star {
            Some((after_star, from)) => {
                let next = from + utf8_len(v[from]);
                star = Some((after_star, next));
                pi = after_star;
                vi = next;
            }
            None => return false,
        }
    }
    // The value is consumed: the rest of the pattern must be stars only.
    p[pi..].iter().all(|&b| b == b'*')
}

/// Byte length of the UTF-8 character starting with `first` (1 for continuation bytes, which
/// cannot start a character in valid UTF-8 and so never occur here).
fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Whether `pattern` contains a wildcard character.
pub fn has_wildcard(pattern: &str) -> bool {
    pattern.bytes().any(|b| b == b'*' || b == b'?')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literal_patterns_match_exactly() {
        assert!(matches("space:default", "space:default"));
        assert!(!matches("space:default", "space:Default"));
        assert!(!matches("space:default", "space:default:x"));
        assert!(!matches("space:default:x", "space:default"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
    }

    #[test]
    fn star_matches_any_run_including_colons() {
        assert!(matches(
            "space:default:project:web:*",
            "space:default:project:web:environment:prod"
        ));
        assert!(matches(
            "space:*:environment:prod",
            "space:a:project:b:environment:prod"
        ));
        assert!(!matches(
            "space:*:environment:prod",
            "space:a:project:b:environment:production"
        ));
        assert!(matches("*", ""));
        assert!(matches("a*", "a"));
        assert!(matches("*a*b*", "xxaxxbxx"));
        assert!(!matches("*a*b", "xxaxxbxxc"));
        assert!(matches("a**b", "ab"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(matches("env-??", "env-eu"));
        assert!(!matches("env-??", "env-e"));
        assert!(!matches("env-??", "env-eux"));
        assert!(matches("?", "é"));
        assert!(!matches("??", "é"));
        assert!(matches("a?c", "a:c"));
    }

    #[test]
    fn backtracking_finds_late_matches() {
        assert!(matches("*aab", "aaaab"));
        assert!(matches("a*a*a", "aaa"));
        assert!(!matches("a*a*a", "aa"));
        assert!(matches("*:prod", "x:prod:y:prod"));
    }
}
