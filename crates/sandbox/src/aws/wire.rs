//! The AWS query protocol on the wire: request parameters in, XML documents out.
//!
//! IAM and STS speak the "query" protocol: a form-encoded POST (or a GET with a query string)
//! carrying `Action`, `Version` and flattened parameters (`ClientIDList.member.1`,
//! `Tags.member.2.Key`), answered by `<{Action}Response>` XML with `ResponseMetadata/RequestId`,
//! or by an `ErrorResponse` with `Type`/`Code`/`Message` and the HTTP status AWS uses for that
//! code. This module parses the parameters and writes the XML; it knows nothing about IAM or
//! STS semantics. Deliberately absent: SigV4 signature verification (the sandbox only reads
//! the credential scope to route a request) and the JSON/CBOR protocols.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The XML namespace of IAM responses.
pub const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// The XML namespace of STS responses.
pub const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The decoded parameters of one query-protocol request.
#[derive(Debug, Clone, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text; later values win on repeats.
    pub fn parse_into(&mut self, encoded: &str) {
        for pair in encoded.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            self.0.insert(form_decode(key), form_decode(value));
        }
    }

    /// Sets one parameter.
    pub fn insert(&mut self, key: &str, value: &str) {
        self.0.insert(key.to_string(), value.to_string());
    }

    /// One scalar parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A required scalar parameter, else the `ValidationError` AWS gives for a missing member.
    pub fn required(&self, key: &str) -> Result<&str, AwsError> {
        self.get(key).ok_or_else(|| {
            AwsError::validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(key)
            ))
        })
    }

    /// A list parameter `{key}.member.N` in index order.
    pub fn list(&self, key: &str) -> Vec<String> {
        let prefix = format!("{key}.member.");
        let mut items: Vec<(u32, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let index = k.strip_prefix(&prefix)?.parse::<u32>().ok()?;
                Some((index, v.clone()))
            })
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// Whether a list parameter was sent at all (an empty list is sent as `{key}=`).
    pub fn has_list(&self, key: &str) -> bool {
        let prefix = format!("{key}.member.");
        self.0.contains_key(key) || self.0.keys().any(|k| k.starts_with(&prefix))
    }

    /// A tag list `{key}.member.N.Key` / `.Value` in index order.
    pub fn tags(&self, key: &str) -> Vec<(String, String)> {
        let prefix = format!("{key}.member.");
        let mut by_index: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&prefix) else {
                continue;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse::<u32>() else {
                continue;
            };
            let entry = by_index.entry(index).or_default();
            match field {
                "Key" => entry.0 = Some(v.clone()),
                "Value" => entry.1 = Some(v.clone()),
                _ => {}
            }
        }
        by_index
            .into_values()
            .filter_map(|(k, v)| Some((k?, v.unwrap_or_default())))
            .collect()
    }

    /// An optional integer parameter; a non-number is a `ValidationError`.
    pub fn integer(&self, key: &str) -> Result<Option<i64>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
                AwsError::validation(format!(
                    "1 validation error detected: Value '{text}' at '{}' failed to satisfy constraint: Member must be a number",
                    lower_first(key)
                ))
            }),
        }
    }
}

fn lower_first(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn form_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Encodes a policy document the way IAM returns it (RFC 3986: only unreserved characters
/// stay as they are).
pub fn url_encode_document(document: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(document, RESERVED).to_string()
}

/// Escapes text for an XML element body.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// An XML fragment builder for result bodies.
#[derive(Debug, Default)]
pub struct Xml(String);

impl Xml {
    /// An empty fragment.
    pub fn new() -> Self {
        Xml(String::new())
    }

    /// `<name>escaped text</name>`.
    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        let _ = write!(self.0, "<{name}>{}</{name}>", escape(value));
        self
    }

    /// `<name>text</name>` when the value is present.
    pub fn opt_text(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.text(name, value);
        }
        self
    }

    /// `<name><member>a</member>...</name>`.
    pub fn members(&mut self, name: &str, values: &[String]) -> &mut Self {
        let _ = write!(self.0, "<{name}>");
        for value in values {
            self.text("member", value);
        }
        let _ = write!(self.0, "</{name}>");
        self
    }

    /// `<name><member><Key>k</Key><Value>v</Value></member>...</name>`.
    pub fn tags<'a>(
        &mut self,
        name: &str,
        tags: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> &mut Self {
        let _ = write!(self.0, "<{name}>");
        for (key, value) in tags {
            self.0.push_str("<member>");
            self.text("Key", key).text("Value", value);
            self.0.push_str("</member>");
        }
        let _ = write!(self.0, "</{name}>");
        self
    }

    /// `<name>` + an inner fragment + `</name>`.
    pub fn element(&mut self, name: &str, inner: &Xml) -> &mut Self {
        let _ = write!(self.0, "<{name}>{}</{name}>", inner.0);
        self
    }

    /// The fragment as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A successful query-protocol response: `<{action}Response>` with an optional `<{action}Result>`.
pub fn success(xmlns: &str, action: &str, result: Option<&Xml>, request_id: &str) -> Response {
    let result = match result {
        Some(inner) => format!("<{action}Result>{}</{action}Result>", inner.as_str()),
        None => String::new(),
    };
    let body = format!(
        "<{action}Response xmlns=\"{xmlns}\">{result}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    );
    xml_response(StatusCode::OK, body)
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

/// Whether the caller or the service is to blame (the `Type` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A client error (`Sender`).
    Sender,
    /// A service error (`Receiver`).
    Receiver,
}

/// One AWS error as the service renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// HTTP status.
    pub status: StatusCode,
    /// `Sender` or `Receiver`.
    pub fault: Fault,
    /// The error code, e.g. `NoSuchEntity`.
    pub code: String,
    /// The human message.
    pub message: String,
    /// Seconds for a `Retry-After` header (throttling only).
    pub retry_after_secs: Option<u64>,
}

/// `ValidationError` in AWS's words for a broken model constraint: `value` at `field` breaks
/// `rule`.
pub fn constraint(value: &str, field: &str, rule: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {rule}"
    ))
}

/// The model constraint on a number: `value` at `field` lies in `min..=max`.
pub fn value_in_range(value: i64, field: &str, min: i64, max: i64) -> Result<(), AwsError> {
    let rule = if value < min {
        format!("Member must have value greater than or equal to {min}")
    } else if value > max {
        format!("Member must have value less than or equal to {max}")
    } else {
        return Ok(());
    };
    Err(constraint(&value.to_string(), field, &rule))
}

impl AwsError {
    /// A client error with a code, status and message.
    pub fn sender(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        AwsError {
            status,
            fault: Fault::Sender,
            code: code.to_string(),
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// `ValidationError` (400): a parameter broke a model constraint.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    /// `InvalidInput` (400).
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::BAD_REQUEST, "InvalidInput", message)
    }

    /// `NoSuchEntity` (404).
    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::NOT_FOUND, "NoSuchEntity", message)
    }

    /// `EntityAlreadyExists` (409).
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::CONFLICT, "EntityAlreadyExists", message)
    }

    /// `LimitExceeded` (409).
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::CONFLICT, "LimitExceeded", message)
    }

    /// `MalformedPolicyDocument` (400).
    pub fn malformed_policy(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::BAD_REQUEST, "MalformedPolicyDocument", message)
    }

    /// `DeleteConflict` (409).
    pub fn delete_conflict(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::CONFLICT, "DeleteConflict", message)
    }

    /// `AccessDenied` (403).
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::FORBIDDEN, "AccessDenied", message)
    }

    /// `Throttling` (400) with `Retry-After` when known.
    pub fn throttling(retry_after_secs: Option<u64>) -> Self {
        AwsError {
            retry_after_secs,
            ..Self::sender(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
        }
    }

    /// A service-side failure with the code AWS uses for that status.
    pub fn server(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        AwsError {
            status,
            fault: Fault::Receiver,
            code: code.to_string(),
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// Renders the `ErrorResponse` document.
    pub fn render(&self, xmlns: &str, request_id: &str) -> Response {
        let kind = match self.fault {
            Fault::Sender => "Sender",
            Fault::Receiver => "Receiver",
        };
        let body = format!(
            "<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            escape(&self.code),
            escape(&self.message)
        );
        let mut response = xml_response(self.status, body);
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The access key id of a SigV4 `Authorization` header (`Credential=AKID/date/…`).
pub fn access_key_id(authorization: &str) -> Option<&str> {
    let credential = authorization
        .split([',', ' '])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    credential.split('/').next().filter(|k| !k.is_empty())
}

/// The service named in a SigV4 `Authorization` header's credential scope
/// (`Credential=AKID/20260101/us-east-1/iam/aws4_request` → `iam`).
pub fn signed_service(authorization: &str) -> Option<&str> {
    let credential = authorization
        .split([',', ' '])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    let mut scope = credential.rsplit('/');
    let terminator = scope.next()?;
    if terminator != "aws4_request" {
        return None;
    }
    scope.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_members_and_tags() {
        let mut params = Params::default();
        params.parse_into(
            "Action=CreateOpenIDConnectProvider&Url=https%3A%2F%2Fa.example%2F&ClientIDList.member.2=b&ClientIDList.member.1=a+b&Tags.member.1.Key=k&Tags.member.1.Value=v",
        );
        assert_eq!(params.get("Url"), Some("https://a.example/"));
        assert_eq!(params.list("ClientIDList"), vec!["a b", "b"]);
        assert_eq!(params.tags("Tags"), vec![("k".into(), "v".into())]);
        assert!(!params.has_list("ThumbprintList"));
    }

    #[test]
    fn reads_the_service_from_the_credential_scope() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(signed_service(auth), Some("sts"));
        assert_eq!(signed_service("Bearer x"), None);
    }

    #[test]
    fn documents_are_rfc3986_encoded() {
        assert_eq!(
            url_encode_document("{\"a\": \"b~c\"}"),
            "%7B%22a%22%3A%20%22b~c%22%7D"
        );
    }
}
