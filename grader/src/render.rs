//! How values are shown to people: one-line YAML for reports, block YAML for snapshots.
//!
//! Both go through `serde_json::Value`, whose maps are ordered, so what a learner sees never
//! depends on hash order.

use serde::Serialize;
use serde_json::Value;

/// One-line, YAML-like: `[A, B]`, `{from: A, to: B}`, quotes only where a string needs them.
/// Map entries whose value is null are left out, so unset optional checks do not show.
pub fn inline<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(v) => inline_value(&v),
        Err(e) => format!("<unprintable: {e}>"),
    }
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
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k}: {}", inline_value(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
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
}
