//! Message sequence diagrams: the script and style that draw a [`Trace`] as
//! SVG, and the items they draw.
//!
//! Two pages draw the same diagrams: the grader's HTML report (`cargo grade --output html=…`,
//! one diagram per failing case of a networked stage) and, later, the real cluster's dashboard
//! (one per request). Both embed [`SCRIPT`] and [`STYLE`] with no build step and no network, so
//! they live here, in the crate both already depend on, rather than in the grader (the cluster
//! must not depend on the grader) or in an assets crate of their own (one more crate every
//! learner compiles, for two strings). The files themselves are `diagram/sequence.js` and
//! `diagram/sequence.css`, plain JavaScript and CSS a browser reads as they are.
//!
//! # Input: a JSON list of [`Item`]s, in the order they happened
//! Each item is either a message, exactly as a [`TraceEntry`] serializes (stage 7's also name
//! the client request they belong to, `"request": "A#3"`, which the script ignores):
//! ```json
//! {"sent_ms": 0, "from": "coordinator", "to": "A", "kind": "put",
//!  "detail": "user-1 = blue@2", "fate": {"arrives": {"at_ms": 10}}}
//! ```
//! where `kind` is a [`MessageKind`](crate::sim::MessageKind) in kebab case (`put`, `ack`,
//! `get`, `reply`, `repair`, `hint`, `handoff`) and `fate` one of
//! `{"arrives": {"at_ms": N}}`, `{"arrives-unheard": {"at_ms": N}}` (late: the sender had stopped
//! waiting), `"lost-node-down"`, `"dropped"` or `"partitioned"`; or the client's answer, an
//! [`Answer`]:
//! ```json
//! {"answer": "user-1 = [blue@2]", "at_ms": 20, "from": "coordinator"}
//! ```
//!
//! # Drawing
//! A page puts the list in `<script type="application/json">` inside a
//! `<figure class="sequence">` (made safe with [`script_safe`], so no string can close the
//! script), adds [`STYLE`] to its CSS and [`SCRIPT`] at the end of its body. The script draws one SVG per
//! figure: a lifeline per node (the client first when it is answered, then the node that answered
//! it, then coordinators, then the nodes by name), then one row per item in order, the send time on the left. A delivered
//! message is a solid arrow coloured by kind, labelled with its kind, detail and arrival time; a
//! late one is dashed amber and says nobody was waiting, or that it arrived after the client's
//! answer (the answer with the message's `request`, or the only answer of a list without
//! request ids: such a message no longer counted); a lost one (dropped, partitioned, node
//! down) is red, stops halfway at a cross and says why; the client's answer is a bold green
//! arrow to the client. Every text is set with `textContent`, never parsed as markup, so what a
//! learner's code puts in a message cannot change the page. `window.MiniDynamoSequence.draw(figure,
//! items)` draws one on demand (the dashboard's live diagrams).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::NodeId;
use crate::request::RequestId;
use crate::sim::{Trace, TraceEntry};

/// The script that draws every `figure.sequence` of a page (plain JavaScript, no dependencies).
pub const SCRIPT: &str = include_str!("diagram/sequence.js");

/// The style the diagrams' classes need (plain CSS).
pub const STYLE: &str = include_str!("diagram/sequence.css");

/// One row of a diagram: a message, or the answer the client got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Untagged on purpose: a message stays exactly a `TraceEntry` in JSON, so the diagram reads a
// plain serialized trace too. The two shapes share no required field, so reading one back is
// unambiguous; this data is written by the grader, never by a person.
#[serde(untagged)]
pub enum Item {
    /// A message the network carried.
    Message(TraceEntry),
    /// The client's answer.
    Answer(Answer),
}

/// The answer a client got from its coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// What the client was told: `user-1 = [blue@2]`, `user-1: error …`.
    pub answer: String,
    /// When, in simulated ms since the network started.
    pub at_ms: u64,
    /// The coordinator that answered.
    pub from: NodeId,
    /// The client request answered (stage 7): its messages arriving later are drawn late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestId>,
}

impl fmt::Display for Item {
    /// The trace line a terminal shows: a message's, or
    /// `   20 ms  coordinator -> client  answer user-1 = [blue@2]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Message(entry) => entry.fmt(f),
            Item::Answer(a) => write!(
                f,
                "{:>5} ms  {} -> client  answer {}",
                a.at_ms, a.from, a.answer
            ),
        }
    }
}

/// A trace's messages as diagram items.
pub fn items(trace: &Trace) -> Vec<Item> {
    trace.0.iter().cloned().map(Item::Message).collect()
}

/// Makes JSON text (of a list of [`Item`]s, say) safe inside a `<script type="application/json">`:
/// every `<`, `>` and `&` becomes its `\u` escape, which JSON reads back as the same character,
/// so neither `</script>` nor `<!--` can appear inside, whatever the strings hold. (Outside
/// strings JSON has none of the three, so only strings change.)
pub fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_safe_leaves_no_markup() {
        let json = r#"["</script><!-- & >"]"#;
        assert_eq!(
            script_safe(json),
            r#"["\u003c/script\u003e\u003c!-- \u0026 \u003e"]"#
        );
    }

    #[test]
    fn an_answer_reads_back_as_an_answer_and_prints_as_its_trace_line() {
        let answer = Item::Answer(Answer {
            answer: "k = [v@1]".into(),
            at_ms: 20,
            from: NodeId::new("coordinator"),
            request: None,
        });
        assert_eq!(
            answer.to_string(),
            "   20 ms  coordinator -> client  answer k = [v@1]"
        );
        let json = r#"{"answer":"k = [v@1]","at_ms":20,"from":"coordinator"}"#;
        let back: Result<Item, _> = serde_json::from_str(json);
        assert_eq!(back.ok(), Some(answer));
    }
}
