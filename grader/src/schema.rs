//! The JSON Schema of case files (draft-07, as yaml-language-server reads it), generated from
//! the same types the loader deserializes, so the schema cannot drift from the grader.
//!
//! One schema covers every stage: `stage` picks, through `if`/`then`, which stage's case shape
//! applies. `tests/cases/schema.json` holds a copy that every built-in case names in its first
//! line; a test keeps that copy equal to `cargo grade schema`.

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::stages;

pub fn render() -> String {
    let mut generator = SchemaSettings::draft07().into_generator();
    let mut branches = Vec::new();
    let mut names = Vec::new();
    for stage in stages::known() {
        let schema = stages::schema(stage, &mut generator);
        names.push(stage.name());
        branches.push(json!({
            "if": {"properties": {"stage": {"const": stage.name()}}},
            "then": schema.to_value(),
        }));
    }
    let definitions: serde_json::Map<String, Value> =
        generator.take_definitions(true).into_iter().collect();
    let root = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://mini-dynamo.dev/schema/case.json",
        "title": "Mini-Dynamo case",
        "description": "One case of the Mini-Dynamo course: see docs/instructors.md.",
        "type": "object",
        "required": ["stage", "track", "name", "steps"],
        "properties": {"stage": {"enum": names}},
        "allOf": branches,
        "definitions": definitions,
    });
    serde_json::to_string_pretty(&root).unwrap_or_default()
}
