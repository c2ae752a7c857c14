//! The structural check: a parsed TOML tree walked against the generated JSON Schema
//! ([`super::schema`]), reporting every wrong type, unknown key (with a "did you mean"),
//! missing key, bad choice and duplicate at once, with the field path as the user wrote it
//! (`aws.role_name`, `scope.projects[1]`). Offending values are removed from the tree so the
//! rest can still be read into the typed form and checked for meaning.
//!
//! Supported schema vocabulary (what `schemars` emits for our types): `$ref` into `$defs`,
//! `type` (one or a list), `properties`, `required`, `additionalProperties: false`, `items`,
//! `uniqueItems`, `enum`, `const`, `oneOf`/`anyOf`, `minimum`/`maximum`.

use std::collections::BTreeSet;
use std::fmt;

use octo_oidc_core::error::FieldError;
use serde_json::Value as Json;
use toml::Value as Toml;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathSegment {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A field path as the user wrote it: `aws.role_name`, `scope.projects[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The root (the whole file).
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path plus a key.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(PathSegment::Key(key.to_string()));
        p
    }

    /// This path plus an index.
    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(PathSegment::Index(index));
        p
    }

    /// The last key, for messages (`role_name` of `aws.role_name`).
    pub fn last_key(&self) -> &str {
        self.0
            .iter()
            .rev()
            .find_map(|s| match s {
                PathSegment::Key(k) => Some(k.as_str()),
                PathSegment::Index(_) => None,
            })
            .unwrap_or("")
    }
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                PathSegment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(k) {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                PathSegment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// What the structural check found.
#[derive(Debug, Default)]
pub struct StructureReport {
    /// Every structural error.
    pub errors: Vec<FieldError>,
    /// Paths whose values were removed or were missing (later checks skip them, so nothing
    /// is reported twice).
    pub removed: BTreeSet<String>,
}

/// Keys reserved for later targets: accepted nowhere yet, explained instead of "unknown".
const RESERVED_TABLES: [(&str, &str); 1] = [(
    "gcp",
    "is reserved for Google Cloud setups, which are not yet supported",
)];

/// Walks `root` (the whole file) against `schema`, removing what does not fit.
pub fn check(schema: &Json, root: &mut toml::Table) -> StructureReport {
    let mut walker = Walker {
        schema,
        report: StructureReport::default(),
    };
    let root_schema = schema.clone();
    walker.table(&root_schema, root, &FieldPath::root());
    walker.report
}

struct Walker<'s> {
    schema: &'s Json,
    report: StructureReport,
}

fn type_name(v: &Toml) -> &'static str {
    match v {
        Toml::String(_) => "text",
        Toml::Integer(_) => "a whole number",
        Toml::Float(_) => "a decimal number",
        Toml::Boolean(_) => "true/false",
        Toml::Datetime(_) => "a date",
        Toml::Array(_) => "a list",
        Toml::Table(_) => "a table",
    }
}

fn shown(v: &Toml) -> String {
    let s = match v {
        Toml::String(s) => format!("{s:?}"),
        Toml::Table(_) => return String::new(),
        other => other.to_string(),
    };
    let s: String = s.chars().take(60).collect();
    format!(" ({s})")
}

fn schema_types(node: &Json) -> Vec<&str> {
    match node.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

fn toml_matches(t: &str, v: &Toml) -> bool {
    matches!(
        (t, v),
        ("string", Toml::String(_))
            | ("integer", Toml::Integer(_))
            | ("number", Toml::Integer(_) | Toml::Float(_))
            | ("boolean", Toml::Boolean(_))
            | ("array", Toml::Array(_))
            | ("object", Toml::Table(_))
    )
}

fn expected_phrase(types: &[&str]) -> &'static str {
    match types.iter().find(|t| **t != "null").copied() {
        Some("string") => "text in quotes",
        Some("integer") => "a whole number",
        Some("number") => "a number",
        Some("boolean") => "true or false",
        Some("array") => "a list",
        Some("object") => "a table",
        _ => "a value",
    }
}

fn type_fix(types: &[&str], key: &str) -> String {
    match types.iter().find(|t| **t != "null").copied() {
        Some("string") => format!("Put the value in double quotes: {key} = \"...\"."),
        Some("integer") => format!("Write a whole number without quotes: {key} = 123."),
        Some("boolean") => format!("Write {key} = true or {key} = false."),
        Some("array") => format!("Write a list in brackets: {key} = [\"a\", \"b\"]."),
        Some("object") => format!("Write it as a [{key}] section with its keys below."),
        _ => "Check the value against docs/setup-file.md.".to_string(),
    }
}

/// The closest candidate by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given_l = given.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&given_l, c), c))
        .filter(|(d, c)| *d <= (c.len().max(given.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

impl Walker<'_> {
    fn resolve<'n>(&'n self, node: &'n Json) -> &'n Json {
        let mut node = node;
        for _ in 0..16 {
            match node.get("$ref").and_then(Json::as_str) {
                Some(r) => {
                    let name = r.trim_start_matches("#/$defs/");
                    match self.schema.get("$defs").and_then(|d| d.get(name)) {
                        Some(n) => node = n,
                        None => return node,
                    }
                }
                None => return node,
            }
        }
        node
    }

    fn error(&mut self, path: &FieldPath, problem: String, fix: String) {
        self.report.errors.push(FieldError {
            field: path.to_string(),
            problem,
            fix,
        });
    }

    /// Checks one value; `false` = it does not fit and its parent removes it.
    fn value(&mut self, node: &Json, v: &mut Toml, path: &FieldPath) -> bool {
        let node = self.resolve(node).clone();
        if let Some(alts) = node
            .get("oneOf")
            .or_else(|| node.get("anyOf"))
            .and_then(Json::as_array)
        {
            return self.alternatives(alts, v, path);
        }
        let types = schema_types(&node);
        if !types.is_empty() && !types.iter().any(|t| toml_matches(t, v)) {
            let expected = expected_phrase(&types);
            self.error(
                path,
                format!("is {}{}; expected {expected}", type_name(v), shown(v)),
                if matches!(path.0.last(), Some(PathSegment::Index(_))) {
                    format!("Write each item of {} as {expected}.", path.last_key())
                } else {
                    type_fix(&types, path.last_key())
                },
            );
            return false;
        }
        if let Some(choices) = node.get("enum").and_then(Json::as_array) {
            let allowed: Vec<&str> = choices.iter().filter_map(Json::as_str).collect();
            return self.choice(&allowed, v, path);
        }
        if let Some(c) = node.get("const").and_then(Json::as_str) {
            return self.choice(&[c], v, path);
        }
        match v {
            Toml::Table(t) => {
                self.table(&node, t, path);
                true
            }
            Toml::Array(items) => self.array(&node, items, path),
            Toml::Integer(n) => self.integer(&node, *n, path),
            _ => true,
        }
    }

    fn alternatives(&mut self, alts: &[Json], v: &mut Toml, path: &FieldPath) -> bool {
        // `Option<T>` is `anyOf: [T, null]`, and TOML has no null: when one alternative has
        // the value's type, its errors are the value's errors.
        let resolved: Vec<Json> = alts
            .iter()
            .map(|a| self.resolve(a).clone())
            .filter(|a| schema_types(a) != ["null"])
            .collect();
        let typed: Vec<&Json> = resolved
            .iter()
            .filter(|a| {
                let types = schema_types(a);
                types.iter().any(|t| toml_matches(t, v))
                    || (types.is_empty() && a.get("oneOf").is_some())
            })
            .collect();
        if let [only] = typed.as_slice()
            && (resolved.len() == 1 || only.get("properties").is_some())
        {
            let only = (*only).clone();
            return self.value(&only, v, path);
        }
        let mut consts = Vec::new();
        let mut expected_types = Vec::new();
        for alt in alts {
            let alt = self.resolve(alt).clone();
            if schema_types(&alt) == ["null"] {
                continue;
            }
            let saved = std::mem::take(&mut self.report.errors);
            let mut probe = v.clone();
            let ok = self.value(&alt, &mut probe, path);
            let clean = self.report.errors.is_empty();
            self.report.errors = saved;
            if ok && clean {
                *v = probe;
                return true;
            }
            if let Some(c) = alt.get("const").and_then(Json::as_str) {
                consts.push(c.to_string());
            }
            if let Some(e) = alt.get("enum").and_then(Json::as_array) {
                consts.extend(e.iter().filter_map(Json::as_str).map(str::to_string));
            }
            expected_types.extend(schema_types(&alt).into_iter().map(str::to_string));
        }
        if !consts.is_empty() {
            let allowed: Vec<&str> = consts.iter().map(String::as_str).collect();
            return self.choice(&allowed, v, path);
        }
        let types: Vec<&str> = expected_types.iter().map(String::as_str).collect();
        self.error(
            path,
            format!(
                "is {}{}; expected {}",
                type_name(v),
                shown(v),
                expected_phrase(&types)
            ),
            type_fix(&types, path.last_key()),
        );
        false
    }

    fn choice(&mut self, allowed: &[&str], v: &Toml, path: &FieldPath) -> bool {
        let list = allowed
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ");
        match v {
            Toml::String(s) if allowed.contains(&s.as_str()) => true,
            Toml::String(s) => {
                let hint = match did_you_mean(s, allowed.iter().copied()) {
                    Some(m) => format!("Did you mean \"{m}\"? Use one of: {list}."),
                    None => format!("Use one of: {list}."),
                };
                self.error(path, format!("\"{s}\" is not a valid choice"), hint);
                false
            }
            other => {
                self.error(
                    path,
                    format!(
                        "is {}{}; expected one of {list}",
                        type_name(other),
                        shown(other)
                    ),
                    format!("Use one of: {list}."),
                );
                false
            }
        }
    }

    fn integer(&mut self, node: &Json, n: i64, path: &FieldPath) -> bool {
        let min = node.get("minimum").and_then(Json::as_i64);
        let max = node.get("maximum").and_then(Json::as_i64).or_else(|| {
            match node.get("format").and_then(Json::as_str) {
                Some("uint32") => Some(i64::from(u32::MAX)),
                Some("uint16") => Some(i64::from(u16::MAX)),
                _ => None,
            }
        });
        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            self.error(
                path,
                format!("{n} is out of range"),
                format!(
                    "Use a whole number from {} to {}.",
                    min.unwrap_or(i64::MIN),
                    max.unwrap_or(i64::MAX)
                ),
            );
            return false;
        }
        true
    }

    fn array(&mut self, node: &Json, items: &mut [Toml], path: &FieldPath) -> bool {
        let mut ok = true;
        if let Some(item_schema) = node.get("items") {
            for (i, item) in items.iter_mut().enumerate() {
                ok &= self.value(item_schema, item, &path.index(i));
            }
        }
        if ok && node.get("uniqueItems").and_then(Json::as_bool) == Some(true) {
            let mut seen = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                if !seen.insert(item.to_string()) {
                    self.error(
                        &path.index(i),
                        format!("{} is listed twice", item),
                        "Remove the duplicate.".into(),
                    );
                    ok = false;
                }
            }
        }
        ok
    }

    fn table(&mut self, node: &Json, t: &mut toml::Table, path: &FieldPath) {
        let node = self.resolve(node).clone();
        let empty = serde_json::Map::new();
        let props = node
            .get("properties")
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        let closed = node.get("additionalProperties") == Some(&Json::Bool(false));
        let keys: Vec<String> = t.keys().cloned().collect();
        for key in keys {
            let child = path.key(&key);
            let keep = match props.get(&key) {
                Some(prop) => match t.get_mut(&key) {
                    Some(v) => self.value(prop, v, &child),
                    None => true,
                },
                None if !closed => true,
                None => {
                    self.unknown_key(&key, props, path, &child);
                    false
                }
            };
            if !keep {
                t.remove(&key);
                self.report.removed.insert(child.to_string());
            }
        }
        if let Some(required) = node.get("required").and_then(Json::as_array) {
            for key in required.iter().filter_map(Json::as_str) {
                let child = path.key(key);
                if !t.contains_key(key) && self.report.removed.insert(child.to_string()) {
                    let types = props.get(key).map(|p| self.resolve(p).clone());
                    let types = types.as_ref().map(schema_types).unwrap_or_default();
                    let fix = match types.first().copied() {
                        Some("object") => format!("Add a [{child}] section."),
                        _ => format!("Add {key} = … (see docs/setup-file.md)."),
                    };
                    self.error(&child, "is missing".into(), fix);
                }
            }
        }
    }

    fn unknown_key(
        &mut self,
        key: &str,
        props: &serde_json::Map<String, Json>,
        parent: &FieldPath,
        child: &FieldPath,
    ) {
        if parent.0.is_empty()
            && let Some((_, why)) = RESERVED_TABLES.iter().find(|(k, _)| *k == key)
        {
            self.error(
                child,
                (*why).to_string(),
                "Remove the section; use target = \"aws\", \"azure\" or \"github\" for now.".into(),
            );
            return;
        }
        let here = props.keys().map(String::as_str);
        let fix = if let Some(m) = did_you_mean(&key.replace('-', "_"), here) {
            format!("Did you mean {}?", parent.key(m))
        } else if let Some(elsewhere) = self.table_holding(key) {
            format!("Move it to the [{elsewhere}] section.")
        } else {
            let list = props.keys().cloned().collect::<Vec<_>>().join(", ");
            if list.is_empty() {
                "Remove it.".into()
            } else {
                format!("Remove it; the keys here are: {list}.")
            }
        };
        self.error(child, "is not a known key".into(), fix);
    }

    /// The top-level section that has a key with this exact name (for "move it there").
    fn table_holding(&self, key: &str) -> Option<String> {
        let root_props = self.schema.get("properties")?.as_object()?;
        root_props.iter().find_map(|(section, prop)| {
            let resolved = prop
                .get("anyOf")
                .and_then(Json::as_array)
                .and_then(|alts| alts.iter().find(|a| a.get("$ref").is_some()))
                .unwrap_or(prop);
            let props = self.resolve(resolved).get("properties")?.as_object()?;
            props.contains_key(key).then(|| section.clone())
        })
    }
}

/// Puts a placeholder of the right type wherever a required key is missing (after
/// [`check`] reported it), so the rest of the file can still be read into the typed form.
/// The root `target` gets `placeholder_target`, a value that checks nothing target-specific.
pub fn fill_required(schema: &Json, root: &mut toml::Table, placeholder_target: &str) {
    fill_table(schema, schema, root, Some(placeholder_target));
}

fn fill_table(schema: &Json, node: &Json, t: &mut toml::Table, target: Option<&str>) {
    let w = Walker {
        schema,
        report: StructureReport::default(),
    };
    let node = w.resolve(node).clone();
    let Some(props) = node.get("properties").and_then(Json::as_object) else {
        return;
    };
    let required: Vec<&str> = node
        .get("required")
        .and_then(Json::as_array)
        .map(|r| r.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    for (key, prop) in props {
        let prop = w.resolve(prop).clone();
        if !t.contains_key(key) && required.contains(&key.as_str()) {
            let placeholder = if key == "target" && target.is_some() {
                Toml::String(target.unwrap_or_default().to_string())
            } else {
                placeholder(&w, &prop)
            };
            t.insert(key.clone(), placeholder);
        }
        let sub = prop
            .get("anyOf")
            .and_then(Json::as_array)
            .and_then(|alts| alts.iter().find(|a| a.get("$ref").is_some()))
            .cloned()
            .unwrap_or(prop);
        if let Some(Toml::Table(child)) = t.get_mut(key) {
            fill_table(schema, &sub, child, None);
        }
    }
}

fn placeholder(w: &Walker<'_>, prop: &Json) -> Toml {
    if let Some(alts) = prop.get("oneOf").and_then(Json::as_array)
        && let Some(c) = alts
            .iter()
            .find_map(|a| w.resolve(a).get("const").and_then(Json::as_str))
    {
        return Toml::String(c.to_string());
    }
    if let Some(c) = prop
        .get("enum")
        .and_then(Json::as_array)
        .and_then(|e| e.first())
        .and_then(Json::as_str)
    {
        return Toml::String(c.to_string());
    }
    match schema_types(prop).first().copied() {
        Some("integer") => Toml::Integer(1),
        Some("boolean") => Toml::Boolean(false),
        Some("array") => Toml::Array(Vec::new()),
        Some("object") => Toml::Table(toml::Table::new()),
        _ => Toml::String(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_written() {
        let p = FieldPath::root().key("scope").key("projects").index(1);
        assert_eq!(p.to_string(), "scope.projects[1]");
        assert_eq!(FieldPath::root().key("a b").to_string(), "\"a b\"");
    }

    #[test]
    fn typos_are_recognized() {
        let keys = [
            "role_name",
            "region",
            "session_duration",
            "managed_policies",
        ];
        assert_eq!(did_you_mean("role_nme", keys), Some("role_name"));
        assert_eq!(
            did_you_mean("sesion_duration", keys),
            Some("session_duration")
        );
        assert_eq!(
            did_you_mean("managed_policy", keys),
            Some("managed_policies")
        );
        assert_eq!(did_you_mean("colour", keys), None);
    }
}
