//! Located errors in case files: `file:line:column`, the message, and the lines around it.
//!
//! Every problem with a case file (YAML syntax, an unknown field, a node the setup never
//! declared) ends up as a [`Diagnostic`], so instructors see one format whatever went wrong.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::{Location, Spanned};

/// A problem in a case file, with where it is.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no position (an unreadable file).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The file's text, for the snippet.
    source: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &Path, line: usize, column: usize, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            source: None,
        }
    }

    /// A problem with the file as a whole.
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Self::new(file, 0, 0, message)
    }

    pub fn at(file: &Path, location: Location, message: impl Into<String>) -> Self {
        Self::new(
            file,
            location.line() as usize,
            location.column() as usize,
            message,
        )
    }

    pub fn at_spanned<T>(file: &Path, spanned: &Spanned<T>, message: impl Into<String>) -> Self {
        Self::at(file, spanned.referenced, message)
    }

    /// Converts a YAML or serde error; the parser's own location wins over ours.
    pub fn from_yaml(file: &Path, err: &serde_saphyr::Error) -> Self {
        let message = course_words(err).unwrap_or_else(|| {
            let plain = err.without_snippet().to_string();
            // The parser appends " at line L, column C"; we print the location ourselves.
            match plain.rfind(" at line ") {
                Some(i) => plain[..i].to_string(),
                None => plain,
            }
        });
        match err.location() {
            Some(loc) => Self::at(file, loc, message),
            None => Self::whole_file(file, message),
        }
    }

    pub fn with_source(mut self, source: &str) -> Self {
        self.source = Some(source.to_string());
        self
    }
}

/// The parser's limits for one case file. Generous enough for any real case (a 5 MB file of
/// steps has about a million nodes), still a bound against alias bombs and runaway nesting.
fn budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 20_000_000;
    budget.max_events = 40_000_000;
    budget
}

/// Parses one YAML document as `T`, with the course's parser limits.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget());
    serde_saphyr::from_str_with_options(text, options)
}

/// The parser's messages that speak to the parser's programmer ("set DuplicateKeyPolicy in
/// Options", "use from_str_multiple", `Nodes { nodes: 250001 }`), said in the course's words.
fn course_words(err: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error;
    use serde_saphyr::budget::BudgetBreach;
    let mut err = err;
    while let Error::AliasError { error, .. } | Error::WithSnippet { error, .. } = err {
        err = error;
    }
    Some(match err {
        Error::DuplicateMappingKey { key: Some(key), .. } => {
            format!("duplicate mapping key: `{key}` is given twice here; keep one")
        }
        Error::DuplicateMappingKey { key: None, .. } => {
            "duplicate mapping key: a key is given twice here; keep one".into()
        }
        Error::MultipleDocuments { .. } => "a case file holds exactly one case, but a second \
             YAML document starts here (`---`); put each case in its own file"
            .into(),
        Error::NonFiniteFloat { value, .. } => {
            format!("`{value}` is not a finite number; write an ordinary number")
        }
        Error::Budget { breach, .. } => {
            let what = match breach {
                BudgetBreach::Depth { .. } => "nested too deeply",
                BudgetBreach::Aliases { .. } | BudgetBreach::Anchors { .. } => {
                    "uses too many YAML anchors or aliases"
                }
                _ => "too large",
            };
            format!(
                "this file is {what} to be a case (the grader reads at most about 20 million \
                 YAML nodes and 64 levels of nesting); split it into several cases"
            )
        }
        _ => return None,
    })
}

/// Prints every diagnostic to stderr, then a one-line summary.
pub fn print_all(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{d}\n");
    }
    eprintln!(
        "{} problem{} in case files; nothing was graded.",
        diags.len(),
        if diags.len() == 1 { "" } else { "s" }
    );
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        if self.line == 0 {
            return write!(f, "error: {file}: {}", self.message);
        }
        writeln!(
            f,
            "error: {file}:{}:{}: {}",
            self.line, self.column, self.message
        )?;
        let Some(source) = &self.source else {
            return Ok(());
        };
        let lines: Vec<&str> = source.lines().collect();
        let first = self.line.saturating_sub(2).max(1);
        let last = self.line.min(lines.len());
        let width = last.to_string().len();
        writeln!(f, "{:width$} |", "")?;
        for n in first..=last {
            writeln!(f, "{n:>width$} | {}", lines[n - 1])?;
        }
        if self.line <= lines.len() {
            let pad = " ".repeat(self.column.saturating_sub(1));
            write!(f, "{:width$} | {pad}^", "")?;
        }
        Ok(())
    }
}
