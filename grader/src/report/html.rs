//! One self-contained HTML page (`--output html=report.html`): the usual report (stages, tracks,
//! pass counts, every failing case with its step, expected, actual and hint) and, for each failing
//! case of a networked stage, its messages drawn as a sequence diagram, so a learner sees where
//! their coordinator stopped listening or sent a repair twice. A stage-7 case's diagram is exactly
//! the failing operations' own messages (every message a client request causes carries its id,
//! `dynamo_common::request`) with each operation's answer.
//!
//! The page needs no network and no build step: the CSS and the diagram script
//! ([`dynamo_common::diagram`]) are inlined. Everything a case or a learner's code can put in the
//! report is escaped: text through [`escape`]; a trace travels as JSON inside
//! `<script type="application/json">` with every `<`, `>` and `&` written as a `\u` escape
//! ([`diagram::script_safe`]), and the script sets it as text, never as markup. The page is
//! deterministic: no timestamps, no durations, so two runs of the same code give the same file.

use std::fmt::Write;

use dynamo_common::diagram;

use super::{CaseReport, Report, StageReport, TrackReport};
use crate::implementation::Implementation;
use crate::outcome::Status;

/// The page's own style; the diagram's comes from `dynamo_common`.
const STYLE: &str = "\
body { font: 15px/1.45 system-ui, sans-serif; color: #24292f; margin: 2em auto; max-width: 1100px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
.summary { font-size: 1.1em; }
.who { color: #57606a; font-weight: normal; font-size: 0.85em; }
.integrity { border: 2px solid #cf222e; background: #ffebe9; padding: 0.5em 1em; border-radius: 6px; }
table.tracks { border-collapse: collapse; margin: 0.5em 0; }
table.tracks td { padding: 0.15em 0.8em 0.15em 0; }
.green { color: #1a7f37; font-weight: 600; }
.red { color: #cf222e; font-weight: 600; }
details.case { border: 1px solid #d0d7de; border-radius: 6px; margin: 0.6em 0; padding: 0.4em 0.8em; }
details.case summary { cursor: pointer; }
details.case dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1em; }
details.case dt { color: #57606a; }
details.case dd { margin: 0; white-space: pre-wrap; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
.file { color: #57606a; font-size: 0.85em; }
";

pub fn render(report: &Report) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Mini-Dynamo grade report</title>\n<style>\n",
    );
    out.push_str(STYLE);
    out.push_str(diagram::STYLE);
    out.push_str("</style>\n</head>\n<body>\n<h1>Mini-Dynamo grade report</h1>\n");

    let total = report.cases().count();
    let passed = report
        .cases()
        .filter(|c| c.outcome.status == Status::Pass)
        .count();
    let tracks: usize = report.stages.iter().map(|s| s.tracks.len()).sum();
    let green: usize = report.stages.iter().map(StageReport::tracks_passed).sum();
    let _ = writeln!(
        out,
        "<p class=\"summary {}\" id=\"summary\">{passed}/{total} cases passed · {green}/{tracks} tracks</p>",
        if passed == total { "green" } else { "red" }
    );

    let integrity = &report.integrity;
    if !integrity.modified.is_empty() || !integrity.missing.is_empty() {
        out.push_str(
            "<div class=\"integrity\"><p>⚠ Official case files differ from \
             tests/manifest.sha256; results may not count:</p><ul>\n",
        );
        for f in &integrity.modified {
            let _ = writeln!(out, "<li>changed: {}</li>", escape(f));
        }
        for f in &integrity.missing {
            let _ = writeln!(out, "<li>missing: {}</li>", escape(f));
        }
        out.push_str("</ul></div>\n");
    }

    let mut figure = 0;
    for stage in &report.stages {
        render_stage(&mut out, stage, &mut figure);
    }
    out.push_str("<script>\n");
    // The script is ours, but a `</script` inside it would still end the element early.
    out.push_str(&diagram::SCRIPT.replace("</", "<\\/"));
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

fn render_stage(out: &mut String, stage: &StageReport, figure: &mut usize) {
    let who = match &stage.implementation {
        Implementation::Learner => format!(
            "your solution (stages/{}/src/solution.rs)",
            stage.stage.dir()
        ),
        Implementation::Reference => "the reference implementation".to_string(),
        Implementation::Mutant(name) => format!("mutant `{name}`"),
    };
    let _ = writeln!(
        out,
        "<section class=\"stage\" id=\"stage-{name}\">\n<h2>Stage {} {name} \
         <span class=\"who\">· {} · {}/{} tracks</span></h2>",
        stage.stage.number(),
        escape(&who),
        stage.tracks_passed(),
        stage.tracks.len(),
        name = escape(stage.stage.name()),
    );
    out.push_str("<table class=\"tracks\">\n");
    for track in &stage.tracks {
        let (class, mark) = if track.is_green() {
            ("green", "✓")
        } else {
            ("red", "✗")
        };
        let counts = if track.cases.is_empty() {
            "no cases".to_string()
        } else {
            format!("{}/{} cases", track.passed(), track.cases.len())
        };
        let _ = writeln!(
            out,
            "<tr class=\"track\"><td class=\"{class}\">{mark}</td><td>{}</td><td>{counts}</td></tr>",
            escape(&track.track)
        );
    }
    out.push_str("</table>\n");
    for track in &stage.tracks {
        render_failures(out, track, figure);
    }
    out.push_str("</section>\n");
}

/// Every failing case of a track; the first one open.
fn render_failures(out: &mut String, track: &TrackReport, figure: &mut usize) {
    let failing = track
        .cases
        .iter()
        .filter(|c| c.outcome.status != Status::Pass);
    for (i, case) in failing.enumerate() {
        render_case(out, &track.track, case, i == 0, figure);
    }
}

fn render_case(out: &mut String, track: &str, case: &CaseReport, open: bool, figure: &mut usize) {
    let o = &case.outcome;
    let _ = writeln!(
        out,
        "<details class=\"case {status}\" data-status=\"{status}\"{}>\n<summary><span class=\"red\">{status}</span> \
         {} › <b>{}</b> <span class=\"file\">{}</span></summary>\n<dl>",
        if open { " open" } else { "" },
        escape(track),
        escape(&case.meta.name),
        escape(&case.meta.file.display().to_string()),
        status = o.status.as_str(),
    );
    if let Some(d) = &case.meta.description {
        field(out, "about", d.trim());
    }
    field(out, "where", &o.place());
    match (&o.expected, &o.actual) {
        (Some(e), Some(a)) => {
            field(out, "expected", e);
            field(out, "actual", a);
        }
        _ => field(out, "what", &o.message),
    }
    if let Some(hint) = &case.meta.hint {
        field(out, "hint", hint.trim());
    }
    out.push_str("</dl>\n");
    if !o.diagram.is_empty() {
        *figure += 1;
        let json = serde_json::to_string(&o.diagram).unwrap_or_else(|_| "[]".into());
        let messages = o
            .diagram
            .iter()
            .filter(|i| matches!(i, diagram::Item::Message(_)))
            .count();
        let _ = writeln!(
            out,
            "<figure class=\"sequence\" id=\"sequence-{figure}\" data-messages=\"{messages}\">\n\
             <figcaption>Messages up to the failure ({messages}), in the order they were sent</figcaption>\n\
             <script type=\"application/json\">{}</script>\n</figure>",
            diagram::script_safe(&json)
        );
    }
    out.push_str("</details>\n");
}

fn field(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(
        out,
        "<dt>{label}</dt><dd class=\"{label}\">{}</dd>",
        escape(text)
    );
}

/// HTML text and attribute escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<img src=x onerror='a()'> & \"q\""),
            "&lt;img src=x onerror=&#39;a()&#39;&gt; &amp; &quot;q&quot;"
        );
    }
}
