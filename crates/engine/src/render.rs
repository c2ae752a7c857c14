//! Plans as people and scripts read them: aligned text (one line per step, indented field
//! changes and reasons, a summary) and JSON (`steps`, each with `action`, `kind`, `name`,
//! plus `id`, `changes`, `reason`, `depends_on`, `details`); the preflight as text
//! ([`preflight_text`]: every gap with who can grant it) and JSON ([`preflight_json`]).

use std::fmt::Write;

use serde_json::Value;

use crate::desired::ResourceKind;
use crate::plan::{Action, Plan};
use crate::preflight::{Outcome, Preflight};

fn sign(action: Action) -> char {
    match action {
        Action::Create => '+',
        Action::Update => '~',
        Action::Unchanged => '=',
        Action::Delete => '-',
        Action::Conflict => '!',
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "(none)".to_string(),
        other => other.to_string(),
    };
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

/// The plan as aligned text.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for setup '{}' ({}) in space {}",
        plan.setup,
        plan.target.as_str(),
        plan.space
    );
    if let Some(az) = &plan.azure {
        let _ = writeln!(
            out,
            "  Azure: the scope needs {} federated credentials, an app registration holds {}; credential_strategy = {}: {} app registration(s){}",
            az.needed,
            az.limit,
            serde_json::to_value(az.strategy)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            az.apps,
            az.chosen_deployment_keys
                .as_ref()
                .map(|k| format!(", deployment keys [{}]", k.join(", ")))
                .unwrap_or_default()
        );
    }
    let kind_width = plan
        .steps
        .iter()
        .map(|s| s.kind.as_str().len())
        .max()
        .unwrap_or(0);
    let name_width = plan
        .steps
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    for (i, s) in plan.steps.iter().enumerate() {
        let mut line = format!(
            "{:>3}. {} {:<9}  {:<kind_width$}  {:<name_width$}",
            i + 1,
            sign(s.action),
            s.action.as_str(),
            s.kind.as_str(),
            s.name
        );
        if let Some(id) = s.id.as_ref().filter(|id| **id != s.name) {
            let _ = write!(line, "  [{id}]");
        }
        let _ = writeln!(out, "{}", line.trim_end());
        let split = plan.azure.as_ref().is_some_and(|a| a.apps > 1);
        if split && s.kind == ResourceKind::OctopusAccount {
            let subjects: Vec<&str> = s.details["subjects"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let shown: Vec<&str> = subjects.iter().take(3).copied().collect();
            let more = if subjects.len() > 3 { ", …" } else { "" };
            let _ = writeln!(
                out,
                "          covers {} subjects: {}{more}",
                subjects.len(),
                shown.join(", ")
            );
        }
        for c in &s.changes {
            let _ = writeln!(
                out,
                "          {}: {} → {}",
                c.field,
                short(&c.from),
                short(&c.to)
            );
        }
        if let Some(r) = &s.reason {
            let _ = writeln!(out, "          {r}");
        }
    }
    let m = &plan.summary;
    let _ = writeln!(
        out,
        "{} to create, {} to update, {} unchanged, {} to delete, {} conflict{}",
        m.create,
        m.update,
        m.unchanged,
        m.delete,
        m.conflict,
        if m.conflict == 1 { "" } else { "s" }
    );
    if !plan.has_changes() && !plan.has_conflicts() {
        let _ = writeln!(out, "No changes: everything matches the setup.");
    }
    if let Some(snippet) = &plan.snippet {
        let _ = writeln!(out, "\nCI snippet:\n{snippet}");
    }
    out
}

/// The plan as JSON (the `--json` form).
pub fn plan_json(plan: &Plan) -> Value {
    serde_json::to_value(plan).unwrap_or(Value::Null)
}

/// The preflight as text: a summary line, then every missing or unknown permission with
/// what needs it and who can grant it, then failed issuer checks.
pub fn preflight_text(preflight: &Preflight) -> String {
    let mut out = String::new();
    let total = preflight.permissions.len();
    let missing = preflight
        .permissions
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Missing { .. }))
        .count();
    let unknown = preflight
        .permissions
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Unknown { .. }))
        .count();
    let _ = writeln!(
        out,
        "Preflight: {total} permission(s) checked, {missing} missing, {unknown} not checkable{}",
        if preflight.blocks_apply() {
            " — apply will not start"
        } else {
            ""
        }
    );
    for c in &preflight.permissions {
        let (mark, what) = match &c.outcome {
            Outcome::Granted { .. } => continue,
            Outcome::Missing { detail } => (
                if c.needed.blocking {
                    "✗ missing"
                } else {
                    "! missing (warning)"
                },
                detail.as_str(),
            ),
            Outcome::Unknown { reason } => ("? unknown", reason.as_str()),
        };
        let _ = writeln!(
            out,
            "  {mark}: {} on {} for {} ({what})",
            c.needed.permission, c.needed.resource, c.caller
        );
        let _ = writeln!(out, "      needed for: {}", c.needed.needed_for.join("; "));
        if let Some(who) = &c.who_can_grant {
            let _ = writeln!(out, "      who can grant it: {who}");
        }
    }
    for c in preflight.issuer.iter().filter(|c| !c.passed) {
        let _ = writeln!(
            out,
            "  {} issuer: {}",
            if c.blocking { "✗" } else { "!" },
            c.message
        );
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "      what to do: {fix}");
        }
    }
    out
}

/// The preflight as JSON (`permissions[]` with `service`, `permission`, `resource`,
/// `needed_for`, `blocking`, `caller`, `outcome`, `who_can_grant`; `issuer[]`;
/// `blocks_apply`).
pub fn preflight_json(preflight: &Preflight) -> Value {
    let mut v = serde_json::to_value(preflight).unwrap_or(Value::Null);
    v["blocks_apply"] = Value::Bool(preflight.blocks_apply());
    v
}
