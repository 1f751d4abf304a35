//! How values are shown to people: one-line YAML for reports, block YAML for snapshots.
//!
//! Both go through `serde_json::Value`, whose maps are ordered, so what a learner sees never
//! depends on hash order.

use serde::Serialize;
use serde_json::Value;

/// One-line, YAML-like: `[A, B]`, `{from: A, to: B}`, quotes only where a string needs them.
/// For descriptions of checks and steps: the top level's null fields (unset optional checks) are
/// left out; nested values, such as an expected map `{A: null, E: D}`, are shown whole.
pub fn inline<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => object(map.iter().filter(|(_, v)| !v.is_null())),
        Ok(v) => inline_value(&v),
        Err(e) => format!("<unprintable: {e}>"),
    }
}

/// One-line, like [`inline`], for values a run produced: every entry is shown, null ones too,
/// so `{A: null, C: null}` never reads as `{}`.
pub fn inline_all<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(v) => inline_value(&v),
        Err(e) => format!("<unprintable: {e}>"),
    }
}

fn object<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>) -> String {
    let parts: Vec<String> = entries
        .map(|(k, v)| format!("{k}: {}", inline_value(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn inline_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if is_plain(s) => s.clone(),
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(inline_value).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => object(map.iter()),
    }
}

/// A string YAML would read back as the same string without quotes.
fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.#/".contains(c))
        && s.parse::<f64>().is_err()
        && !matches!(
            s,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
}

/// `1 reply`, `2 replies`: a count with its noun in the right number.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Block YAML, the format of recorded snapshots.
pub fn block<T: Serialize>(value: &T) -> String {
    match serde_saphyr::to_string(value) {
        Ok(s) => s.trim_end().to_string(),
        Err(e) => format!("<unprintable: {e}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(inline(&vec!["A", "node-7", "A#1"]), "[A, node-7, A#1]");
        assert_eq!(inline(&vec!["1", "a b", ""]), r#"["1", "a b", ""]"#);
    }

    #[test]
    fn null_entries_of_maps_show() {
        let map = std::collections::BTreeMap::from([("A", None), ("C", None), ("E", Some("D"))]);
        assert_eq!(inline_all(&map), "{A: null, C: null, E: D}");
        #[derive(Serialize)]
        struct Check<'a> {
            equals: Option<std::collections::BTreeMap<&'a str, Option<&'a str>>>,
            error: Option<String>,
        }
        let check = Check {
            equals: Some(map),
            error: None,
        };
        assert_eq!(inline(&check), "{equals: {A: null, C: null, E: D}}");
    }
}
