//! JUnit XML, as CI systems read it: one `<testsuite>` per stage, one `<testcase>` per case
//! (classname `stage.track`), and a `<failure>` (or `<error>`, for panics, timeouts and crashes)
//! whose text is the step, the expectation and the result.

use std::fmt::Write;

use super::{CaseReport, Report};
use crate::outcome::Status;

pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let flagged = usize::from(!report.integrity.ok);
    let total = report.cases().count() + flagged;
    let failures = count(report, Status::Fail) + flagged;
    let errors = report
        .cases()
        .filter(|c| !matches!(c.outcome.status, Status::Pass | Status::Fail))
        .count();
    let _ = writeln!(
        out,
        "<testsuites name=\"mini-dynamo\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        report.elapsed.as_secs_f64()
    );
    if let Some(warning) = report.integrity.warning() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"integrity\" tests=\"1\" failures=\"1\" errors=\"0\" time=\"0\">\n    <testcase name=\"official-files-unmodified\" classname=\"integrity\">\n      <failure type=\"integrity\" message=\"{}\">{}</failure>\n    </testcase>\n  </testsuite>",
            escape(warning.lines().next().unwrap_or("")),
            escape(&warning)
        );
    }
    for stage in &report.stages {
        let cases: Vec<&CaseReport> = stage.cases().collect();
        let failed = cases
            .iter()
            .filter(|c| c.outcome.status == Status::Fail)
            .count();
        let errored = cases
            .iter()
            .filter(|c| !matches!(c.outcome.status, Status::Pass | Status::Fail))
            .count();
        let time: f64 = cases.iter().map(|c| c.duration.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"{errored}\" time=\"{time:.3}\">",
            escape(stage.stage.name()),
            cases.len()
        );
        let _ = writeln!(
            out,
            "    <properties><property name=\"implementation\" value=\"{}\"/></properties>",
            escape(&stage.implementation.to_arg())
        );
        for case in cases {
            write_case(&mut out, stage.stage.name(), case);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn count(report: &Report, status: Status) -> usize {
    report
        .cases()
        .filter(|c| c.outcome.status == status)
        .count()
}

fn write_case(out: &mut String, stage: &str, case: &CaseReport) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}.{}\" file=\"{}\" time=\"{:.3}\"",
        escape(&case.meta.name),
        escape(stage),
        escape(&case.meta.track),
        escape(&case.meta.file.to_string_lossy()),
        case.duration.as_secs_f64()
    );
    let o = &case.outcome;
    if o.status == Status::Pass {
        out.push_str("/>\n");
        return;
    }
    let tag = if o.status == Status::Fail {
        "failure"
    } else {
        "error"
    };
    let mut text = format!("{}\n", o.place());
    if let Some(e) = &o.expected {
        let _ = writeln!(text, "expected: {e}");
    }
    match &o.actual {
        Some(a) => {
            let _ = writeln!(text, "actual:   {a}");
        }
        None => {
            let _ = writeln!(text, "{}", o.message);
        }
    }
    if let Some(h) = &case.meta.hint {
        let _ = writeln!(text, "hint:     {}", h.trim());
    }
    let _ = writeln!(
        out,
        ">\n      <{tag} type=\"{}\" message=\"{}\">{}</{tag}>\n    </testcase>",
        o.status.as_str(),
        escape(o.message.lines().next().unwrap_or("")),
        escape(&text)
    );
}

/// XML text and attribute escaping; control characters XML 1.0 cannot hold become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            // XML 1.0 allows neither C0 controls other than these three nor U+FFFE/U+FFFF.
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\"\u{1}\u{FFFF}\u{1b}[31m"),
            "a&lt;b &amp; &quot;c&quot;\u{FFFD}\u{FFFD}\u{FFFD}[31m"
        );
    }
}
