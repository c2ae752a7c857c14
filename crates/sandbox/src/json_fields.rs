//! Reading fields of posted JSON bodies, the one way every sandbox service reads them: a
//! field that is not of the expected type counts as absent (each service then applies its
//! vendor's own rule for a missing value).

use serde_json::Value;

/// The string field `key` of `body` (`None` when absent or not a string).
pub fn str_field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// The string elements of the array field `key` of `body` (empty when the field is absent or
/// not an array; elements that are not strings are skipped).
pub fn string_list(body: &Value, key: &str) -> Vec<String> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
