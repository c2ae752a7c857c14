//! What the CLI flow tests share: an `octo-oidc sandbox --env-file` process (killed on
//! drop), running the real binary against it, and plain HTTP to the sandbox's admin
//! endpoints (`/_sandbox/requests`, `/_sandbox/faults`) and its IAM.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_octo-oidc");

/// A sandbox process with its env file; killed on drop.
pub struct SandboxProcess {
    child: Child,
    pub dir: tempfile::TempDir,
    pub vars: BTreeMap<String, String>,
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SandboxProcess {
    pub fn start() -> SandboxProcess {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("sandbox.env");
        let child = Command::new(BIN)
            .args(["sandbox", "--env-file"])
            .arg(&env)
            .arg("--ca-file")
            .arg(dir.path().join("ca.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !env.exists() || std::fs::read_to_string(&env).unwrap().is_empty() {
            assert!(started.elapsed() < Duration::from_secs(30), "no env file");
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = std::fs::read_to_string(&env).unwrap();
        let vars = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SandboxProcess { child, dir, vars }
    }

    pub fn env_file(&self) -> PathBuf {
        self.dir.path().join("sandbox.env")
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `octo-oidc ARGS --sandbox ENV` with stdin closed (not a terminal).
    pub fn cli(&self, args: &[&str]) -> Run {
        self.cli_with(&self.env_file(), args)
    }

    /// [`SandboxProcess::cli`] with another env file of this sandbox (see
    /// [`SandboxProcess::env_with`]).
    pub fn cli_with(&self, env_file: &Path, args: &[&str]) -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.push("--sandbox".into());
        all.push(env_file.display().to_string());
        run(&all, &self.data())
    }

    /// An env file of this sandbox in which `var` holds the value of `other` (e.g. the key
    /// of another seeded user): the same sandbox, signed in as someone else.
    pub fn env_with(&self, var: &str, other: &str) -> PathBuf {
        let env = std::fs::read_to_string(self.env_file()).unwrap();
        let ours = format!("{var}={}", self.vars[var]);
        let theirs = format!("{var}={}", self.vars[other]);
        assert!(env.lines().any(|l| l == ours), "no line {ours}");
        let swapped: String = env
            .lines()
            .map(|l| if l == ours { theirs.as_str() } else { l })
            .flat_map(|l| [l, "\n"])
            .collect();
        self.write(&format!("{other}.env"), &swapped)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn octopus(&self, method: &str, path: &str) -> (u16, String) {
        http(
            &self.vars["OCTOPUS_URL"],
            method,
            path,
            Some(&self.vars["OCTOPUS_API_KEY"]),
        )
    }

    pub fn requests(&self) -> Vec<Value> {
        let (status, body) = self.octopus("GET", "/_sandbox/requests");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Vec<Value>>(&body).unwrap()
    }

    pub fn clear_requests(&self) {
        let (status, _) = self.octopus("DELETE", "/_sandbox/requests");
        assert_eq!(status, 204);
    }

    pub fn mutating_requests(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r["mutating"] == Value::Bool(true))
            .map(|r| format!("{} {}", r["service"], r["operation"]))
            .collect()
    }
}

impl SandboxProcess {
    /// Replaces the sandbox's fault rules and consistency windows (`PUT /_sandbox/faults`).
    pub fn set_faults(&self, settings: &Value) {
        let (status, body) = http_with_body(
            &self.vars["OCTOPUS_URL"],
            "PUT",
            "/_sandbox/faults",
            Some(&self.vars["OCTOPUS_API_KEY"]),
            Some(&settings.to_string()),
        );
        assert_eq!(status, 200, "{body}");
    }

    /// Removes every fault rule and window.
    pub fn clear_faults(&self) {
        let (status, body) = self.octopus("DELETE", "/_sandbox/faults");
        assert_eq!(status, 204, "{body}");
    }

    /// The fault rules still active (a rule with `times` left shows it).
    pub fn faults(&self) -> Value {
        let (status, body) = self.octopus("GET", "/_sandbox/faults");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// `octo-oidc ARGS --sandbox ENV` started, not waited for (stdin closed, stdout and
    /// stderr piped), with this sandbox's data folder.
    pub fn spawn_cli(&self, args: &[&str]) -> Child {
        Command::new(BIN)
            .args(args)
            .arg("--sandbox")
            .arg(self.env_file())
            .env("XDG_DATA_HOME", self.data())
            .env_remove("OCTOPUS_API_KEY")
            .env_remove("OCTO_OIDC_SANDBOX")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The setup's journal file (JSON lines).
    pub fn journal_path(&self, setup: &str) -> PathBuf {
        self.data()
            .join("octo-oidc/journal")
            .join(format!("{setup}.jsonl"))
    }

    /// The setup's journal records (a torn last line is skipped, as the CLI does).
    pub fn journal(&self, setup: &str) -> Vec<Value> {
        std::fs::read_to_string(self.journal_path(setup))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The journal folded per resource: (kind, name) → (last phase, ids of the last `done`).
    pub fn journal_entries(&self, setup: &str) -> BTreeMap<(String, String), (String, Value)> {
        // The last phase and ids per resource (kind, name, app: `split_apps` gives each app
        // a role assignment of the same name), then per (kind, name): "done" only when every
        // app's resource is, with the ids of all of them.
        let mut each: BTreeMap<(String, String, String), (String, Value)> = BTreeMap::new();
        for r in self.journal(setup) {
            let key = (
                r["kind"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
                r["app"].as_str().unwrap_or_default().to_string(),
            );
            let entry = each.entry(key).or_insert((String::new(), Value::Null));
            entry.0 = r["phase"].as_str().unwrap().to_string();
            if r["phase"] == "done" {
                entry.1 = r["ids"].clone();
            }
        }
        let mut out: BTreeMap<(String, String), (String, Value)> = BTreeMap::new();
        for ((kind, name, app), (phase, ids)) in each {
            let entry = out
                .entry((kind, name))
                .or_insert((phase.clone(), Value::Object(Default::default())));
            if phase != "done" {
                entry.0 = phase;
            }
            if let (Value::Object(all), Value::Object(these)) = (&mut entry.1, ids) {
                for (k, v) in these {
                    all.insert(format!("{app}/{k}"), v);
                }
            }
        }
        out
    }

    /// The Octopus accounts of the default space with this name (the sandbox's REST API).
    pub fn accounts_named(&self, name: &str) -> Vec<Value> {
        self.octopus_all("accounts")
            .into_iter()
            .filter(|a| a["Name"] == name)
            .collect()
    }

    /// Every resource of one kind in the default space (`/api/Spaces-1/KIND/all`).
    pub fn octopus_all(&self, kind: &str) -> Vec<Value> {
        let (status, body) = self.octopus("GET", &format!("/api/Spaces-1/{kind}/all"));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// A Graph v1.0 GET as the sandbox's administrator (the Azure side's live state).
    pub fn graph_get(&self, path: &str) -> Value {
        self.graph("GET", path, None)
    }

    /// A Graph v1.0 call as the sandbox's administrator, with an optional JSON body; a
    /// non-success status fails the test.
    pub fn graph(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let (http, session) = self.azure_admin();
            let token = session
                .access_token(octo_oidc_azure::auth::Resource::Graph, None)
                .await
                .unwrap();
            let url = format!("{}/v1.0/{path}", self.vars["GRAPH_URL"]);
            let request = match method {
                "POST" => http.post(url),
                "PATCH" => http.patch(url),
                "DELETE" => http.delete(url),
                _ => http.get(url),
            };
            let mut request = request.bearer_auth(token.expose());
            if let Some(body) = body {
                request = request.json(&body);
            }
            let reply = request.send().await.unwrap();
            let status = reply.status();
            let text = reply.text().await.unwrap();
            assert!(status.is_success(), "{path}: {status} {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    /// An HTTP client trusting the sandbox's CA and a session of the sandbox's Azure
    /// administrator (a service principal with a client secret).
    pub fn azure_admin(&self) -> (reqwest::Client, octo_oidc_azure::auth::AzureSession) {
        let v = &self.vars;
        let ca = std::fs::read(&v["SANDBOX_CA_FILE"]).unwrap();
        let http = octo_oidc_http::build_client(&octo_oidc_http::ClientSettings {
            ca_bundle_pem: Some(ca),
            ..Default::default()
        })
        .unwrap();
        let session = octo_oidc_azure::auth::AzureSession::service_principal(
            octo_oidc_azure::transport::Transport::new(http.clone()),
            octo_oidc_azure::auth::AuthorityConfig {
                authority_url: v["AZURE_AUTHORITY"].clone(),
                tenant: v["AZURE_TENANT_ID"].clone(),
                client_id: v["AZURE_CLIENT_ID"].clone(),
            },
            octo_oidc_core::Secret::new(v["AZURE_CLIENT_SECRET"].clone()),
        )
        .unwrap();
        (http, session)
    }

    /// The app registrations whose unique name contains `setup` (ours for that setup).
    pub fn apps_of(&self, setup: &str) -> Vec<Value> {
        let apps = self.graph_get("applications");
        apps["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["uniqueName"].as_str().is_some_and(|n| n.contains(setup)))
            .cloned()
            .collect()
    }

    /// After a tamper: `apply --yes` repairs `file` (verify passes again), then `teardown
    /// --yes` leaves nothing of ours (a new plan creates everything).
    pub fn assert_repaired_then_torn_down(&self, file: &str) {
        let repair = self.cli(&["apply", "--yes", file]);
        assert_eq!(repair.code, 0, "{}", repair.stderr);
        assert_eq!(self.cli(&["verify", file]).code, 0);
        let teardown = self.cli(&["teardown", "--yes", file]);
        assert_eq!(teardown.code, 0, "{}\n{}", teardown.stdout, teardown.stderr);
        let after = self.cli(&["plan", "--json", file]);
        assert!(
            steps(&after.json()).iter().all(|(a, _)| a == "create"),
            "nothing of ours left: {}",
            after.stdout
        );
    }

    /// A JSON request to the sandbox's Octopus API as its administrator; a non-success
    /// status fails the test.
    pub fn octopus_json(&self, method: &str, path: &str, body: &Value) -> Value {
        let (status, text) = http_with_body(
            &self.vars["OCTOPUS_URL"],
            method,
            path,
            Some(&self.vars["OCTOPUS_API_KEY"]),
            Some(&body.to_string()),
        );
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The id of the default space's environment with this slug.
    pub fn environment_id(&self, slug: &str) -> String {
        self.octopus_all("environments")
            .into_iter()
            .find(|e| e["Slug"] == slug)
            .and_then(|e| e["Id"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no environment {slug}"))
    }

    /// The IAM roles with this name and the OIDC providers (the AWS side's live state).
    pub fn iam_roles_named(&self, name: &str) -> usize {
        let (status, body) = iam(self, &[("Action", "ListRoles")]);
        assert_eq!(status, 200, "{body}");
        body.matches(&format!("<RoleName>{name}</RoleName>"))
            .count()
    }

    /// How many IAM OIDC providers exist.
    pub fn iam_providers(&self) -> usize {
        let (status, body) = iam(self, &[("Action", "ListOpenIDConnectProviders")]);
        assert_eq!(status, 200, "{body}");
        body.matches("<Arn>").count()
    }
}

/// The (action, kind) of every step of a `plan --json` line.
pub fn steps(plan: &Value) -> Vec<(String, String)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s["name"].is_string());
            (
                s["action"].as_str().unwrap().to_string(),
                s["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The string `field` of every element of the JSON array `items`.
pub fn each_str<'a>(items: &'a Value, field: &str) -> Vec<&'a str> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap())
        .collect()
}

/// Asserts that `text` (a command's output) contains every one of `parts`, showing it and
/// the missing parts when not.
#[track_caller]
pub fn assert_mentions(text: &str, parts: &[&str]) {
    let missing: Vec<&str> = parts
        .iter()
        .copied()
        .filter(|p| !text.contains(p))
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} in:\n{text}");
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts that the run exited with `code` (showing its output if not); returns it.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        let line = self.stdout.lines().next().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

pub fn run(args: &[String], data: &Path) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .env("XDG_DATA_HOME", data)
        .env_remove("OCTOPUS_API_KEY")
        .env_remove("OCTO_OIDC_SANDBOX")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn http(base: &str, method: &str, path: &str, key: Option<&str>) -> (u16, String) {
    http_with_body(base, method, path, key, None)
}

/// One plain-HTTP request (`Connection: close`), with an optional JSON body.
pub fn http_with_body(
    base: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    json: Option<&str>,
) -> (u16, String) {
    let authority = base.trim_start_matches("http://");
    let key = key
        .map(|k| format!("X-Octopus-ApiKey: {k}\r\n"))
        .unwrap_or_default();
    let body = json.unwrap_or("");
    let content_type = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    let (status, response) = exchange(
        authority,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\n{key}{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        Duration::from_secs(30),
    );
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    // Chunked bodies: keep the JSON between the first '[' / '{' and the last ']' / '}'.
    let start = body.find(['[', '{']).unwrap_or(0);
    let end = body.rfind([']', '}']).map(|e| e + 1).unwrap_or(body.len());
    (status, body.get(start..end).unwrap_or("").to_string())
}

/// An AWS query-protocol call to the sandbox's IAM (the sandbox wants an `Authorization`
/// header, not a valid signature).
pub fn iam(sandbox: &SandboxProcess, params: &[(&str, &str)]) -> (u16, String) {
    let base = &sandbox.vars["AWS_ENDPOINT_URL"];
    let authority = base.trim_start_matches("http://");
    let enc = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let body = params
        .iter()
        .chain([("Version", "2010-05-08")].iter())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    exchange(
        authority,
        &format!(
            "POST / HTTP/1.1\r\nHost: {authority}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIASANDBOXEXAMPLE00/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        Duration::from_secs(10),
    )
}

/// Sends one raw HTTP/1.1 `request` (with `Connection: close`) to `authority` and reads the
/// whole response; returns its status (0 if unreadable) and the response text.
fn exchange(authority: &str, request: &str, timeout: Duration) -> (u16, String) {
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(timeout)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

/// A setup file in the default space for `projects` × `environments` (deployment subjects with
/// every key), with the Octopus account `account` and the target's own section
/// (`[aws]`, `[azure]`, `[gcp]` with its lines).
pub fn scoped_setup(
    name: &str,
    target: &str,
    projects: &[&str],
    environments: &[&str],
    account: &str,
    target_section: &str,
) -> String {
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        r#"version = 1
name = "{name}"
target = "{target}"

[octopus]
space = "Default"

[scope]
projects = [{}]
environments = [{}]

[subject_keys]
deployment = ["space", "project", "tenant", "environment", "type"]

[account]
name = "{account}"

{target_section}"#,
        list(projects),
        list(environments)
    )
}

/// The AWS setup the crash and fault tests apply, its names derived from `label`
/// (`<label>-aws`, the account `AWS <label> (OIDC)`, the role `octopus-<label>`).
pub fn aws_setup(label: &str) -> String {
    scoped_setup(
        &format!("{label}-aws"),
        "aws",
        &["customer-portal"],
        &["production"],
        &format!("AWS {label} (OIDC)"),
        &format!(
            r#"[aws]
role_name = "octopus-{label}"
region = "eu-west-1"
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
"#
        ),
    )
}

/// The Azure setup of the crash and fault tests (`<label>-azure`, the account
/// `Azure <label> (OIDC)`), in the sandbox's tenant and subscription.
pub fn azure_setup(label: &str) -> String {
    scoped_setup(
        &format!("{label}-azure"),
        "azure",
        &["customer-portal"],
        &["production", "staging"],
        &format!("Azure {label} (OIDC)"),
        r#"[azure]
tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
subscription_id = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
resource_group = "rg-web-prod"
role = "Contributor"
"#,
    )
}

/// The GitHub setup of the crash and fault tests (`<label>-gh`, the service account
/// `github-<label>`).
pub fn github_setup(label: &str) -> String {
    format!(
        r#"version = 1
name = "{label}-gh"
target = "github"

[octopus]
space = "Default"

[github]
repository = "acme/shop"
filter = "branch:main"
service_account = "github-{label}"
"#
    )
}

/// The sandbox's Google APIs through the real client, signed in like `--sandbox` runs are
/// (what someone with `gcloud` would do behind the setup's back).
pub fn google(sandbox: &SandboxProcess) -> octo_oidc_gcp::RestGoogleCloud {
    let env = octo_oidc_app::sandbox_env::SandboxEnv::read(&sandbox.env_file()).unwrap();
    let sign_in = octo_oidc_gcp::GoogleSignIn::from_json(&env.gcp_credentials().unwrap()).unwrap();
    octo_oidc_gcp::RestGoogleCloud::new(
        sign_in,
        octo_oidc_gcp::GcpEndpoints::from_vars(|k| env.get(k).map(str::to_string)),
        &octo_oidc_http::ClientSettings {
            ca_bundle_pem: Some(env.ca_pem().unwrap()),
            ..Default::default()
        },
    )
    .unwrap()
}

/// Replaces the attribute condition of a workload identity provider through the real Google
/// client (as someone editing it in the console would); the provider must exist and change.
pub async fn set_provider_condition(
    client: &octo_oidc_gcp::RestGoogleCloud,
    provider: &octo_oidc_core::gcp::ProviderRef,
    condition: &str,
) {
    use octo_oidc_core::ports::GoogleCloud;
    let p = client.find_provider(provider).await.unwrap().unwrap();
    let spec = octo_oidc_core::ports::GcpProviderSpec {
        provider: provider.clone(),
        display_name: p.display_name,
        description: p.description,
        trust: octo_oidc_core::ports::GcpOidcTrust {
            attribute_condition: Some(condition.to_string()),
            ..p.trust
        },
    };
    assert!(client.ensure_provider(&spec).await.unwrap().changed());
}
