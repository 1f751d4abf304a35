//! Case files: one YAML file, one case.
//!
//! Every case has the same outer shape, [`CaseFile`]; what `setup` and `steps` hold depends on
//! the stage, so a file is read twice: once for `stage:` alone ([`Header`]), then in full as that
//! stage's typed case. Both reads reject unknown fields and duplicate keys and report where.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::Diagnostic;
use crate::stage::Stage;
use crate::stages::{self, LoadedCase};

/// The fields every case has. `Track`, `Setup` and `Step` are the stage's own types.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "{Step}Case")]
#[schemars(
    bound = "Track: schemars::JsonSchema, Setup: schemars::JsonSchema + Default, \
                    Step: schemars::JsonSchema"
)]
pub struct CaseFile<Track, Setup, Step> {
    /// The stage's name; read first, through [`Header`].
    #[schemars(with = "String")]
    pub stage: Spanned<String>,
    /// One of the stage's tracks.
    pub track: Track,
    /// Unique within the stage, in kebab-case: `key-exactly-on-a-token`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What the case checks and, for hand-checked cases, how the expected values were derived.
    #[serde(default)]
    pub description: Option<String>,
    /// Shown to the learner when the case fails.
    #[serde(default)]
    pub hint: Option<String>,
    /// Weight in graded outputs (Gradescope); 1 when left out.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub points: Option<Spanned<f64>>,
    /// Who sees the case's result in Gradescope; `visible` when left out.
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// The stage's starting state; some stages allow leaving it out.
    #[serde(default)]
    pub setup: Setup,
    /// Operations, each with its expectation, run in order; the first that fails ends the case.
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
}

/// When a case's result is shown to students on Gradescope.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Visible,
    Hidden,
    AfterDueDate,
    AfterPublished,
}

/// Just enough of a case to know which stage's types read the rest.
#[derive(Deserialize)]
struct Header {
    stage: Spanned<String>,
}

/// What the runner and the reports need to know about a case, whatever its stage.
#[derive(Clone, Debug)]
pub struct CaseMeta {
    /// As shown to people: relative to the course root when inside it.
    pub file: PathBuf,
    /// The path the child process re-reads.
    pub path: PathBuf,
    pub stage: Stage,
    pub track: String,
    pub name: String,
    pub description: Option<String>,
    pub hint: Option<String>,
    /// Each step's own hint (`expect: {…, hint: …}`), by step index.
    pub step_hints: Vec<Option<String>>,
    pub points: f64,
    pub visibility: Visibility,
    /// The parsed case, kept by [`Course::load_all`] so runs judge with it without parsing the
    /// file again.
    pub loaded: Option<Shared>,
}

/// A parsed case shared by every run of a plan.
#[derive(Clone)]
pub struct Shared(pub std::sync::Arc<dyn LoadedCase>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoadedCase")
    }
}

/// Where the course keeps its files.
#[derive(Clone, Debug)]
pub struct Course {
    pub root: PathBuf,
    /// Recording snapshots: a snapshot that does not exist yet is not an error.
    pub recording: bool,
}

impl Course {
    pub fn cases_dir(&self) -> PathBuf {
        self.root.join("tests").join("cases")
    }

    pub fn snapshot_dir(&self, stage: Stage) -> PathBuf {
        self.root.join("tests").join("snapshots").join(stage.dir())
    }

    /// Loads every case file under `paths`, collecting every problem before giving up. Names
    /// must be unique within a stage across all folders.
    pub fn load_all(&self, paths: &[PathBuf]) -> Result<Vec<CaseMeta>, Vec<Diagnostic>> {
        let mut metas = Vec::new();
        let mut diags = Vec::new();
        // A folder given twice, or reached again through a symlink, is read once.
        let mut loaded = std::collections::BTreeSet::new();
        for path in paths {
            let files = match discover(path) {
                Ok(files) => files,
                Err(e) => {
                    diags.push(Diagnostic::whole_file(
                        &self.display_path(path),
                        format!("cannot read: {e}"),
                    ));
                    continue;
                }
            };
            for file in files {
                if !loaded.insert(std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone())) {
                    continue;
                }
                match self.load(&file) {
                    Ok(case) => {
                        let mut meta = case.meta().clone();
                        meta.loaded = Some(Shared(std::sync::Arc::from(case)));
                        metas.push(meta);
                    }
                    Err(mut d) => diags.append(&mut d),
                }
            }
        }
        let mut seen: BTreeMap<(Stage, &str), &CaseMeta> = BTreeMap::new();
        for meta in &metas {
            if let Some(first) = seen.insert((meta.stage, meta.name.as_str()), meta) {
                diags.push(Diagnostic::whole_file(
                    &meta.file,
                    format!(
                        "case name `{}` is already used by {} (names are unique within a stage)",
                        meta.name,
                        first.file.display()
                    ),
                ));
            }
        }
        if diags.is_empty() {
            Ok(metas)
        } else {
            Err(diags)
        }
    }

    /// `path` relative to the root, for display.
    pub fn display_path(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }

    /// Reads, parses and validates one case file.
    pub fn load(&self, path: &Path) -> Result<Box<dyn LoadedCase>, Vec<Diagnostic>> {
        let shown = self.display_path(path);
        let text = std::fs::read_to_string(path)
            .map_err(|e| vec![Diagnostic::whole_file(&shown, format!("cannot read: {e}"))])?;
        let with_source = |d: Diagnostic| d.with_source(&text);
        let header: Header = crate::diag::parse_yaml(&text)
            .map_err(|e| vec![with_source(Diagnostic::from_yaml(&shown, &e))])?;
        let stage: Stage = header.stage.value.parse().map_err(|e: String| {
            vec![with_source(Diagnostic::at_spanned(
                &shown,
                &header.stage,
                e,
            ))]
        })?;
        if let Some(folder) = self.stage_folder(path)
            && folder != stage.dir()
        {
            let msg = format!(
                "this file is in tests/cases/{folder}/ but says `stage: {stage}`; move it to tests/cases/{}/",
                stage.dir()
            );
            return Err(vec![with_source(Diagnostic::at_spanned(
                &shown,
                &header.stage,
                msg,
            ))]);
        }
        let meta = |common: stages::Common| CaseMeta {
            file: shown.clone(),
            path: path.to_path_buf(),
            stage,
            track: common.track,
            name: common.name,
            description: common.description,
            hint: common.hint,
            step_hints: common.step_hints,
            points: common.points.unwrap_or(1.0),
            visibility: common.visibility.unwrap_or_default(),
            loaded: None,
        };
        let snapshot_dir = self.snapshot_dir(stage);
        let snapshot_dir = (!self.recording).then_some(snapshot_dir.as_path());
        stages::parse(stage, &text, &shown, snapshot_dir, &meta)
            .map_err(|diags| diags.into_iter().map(with_source).collect())
    }

    /// The `NN-stage` folder directly under `tests/cases/` that holds `path`, if any.
    fn stage_folder(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(self.cases_dir()).ok()?;
        let first = rel.components().next()?;
        let name = first.as_os_str().to_str()?.to_string();
        (rel.components().count() > 1).then_some(name)
    }
}

/// Every `.yaml`/`.yml` file under `dir` (or `dir` itself if it is a file), sorted by path.
pub fn discover(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    if dir.is_file() {
        found.push(dir.to_path_buf());
        return Ok(found);
    }
    let mut pending = vec![dir.to_path_buf()];
    // Folders already read, by their real path: a symlink loop is followed once.
    let mut visited = std::collections::BTreeSet::new();
    while let Some(d) = pending.pop() {
        if !visited.insert(std::fs::canonicalize(&d).unwrap_or_else(|_| d.clone())) {
            continue;
        }
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Names are kebab-case so they read the same in every report format.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "name `{name}` must be kebab-case: lowercase letters, digits and single dashes"
        ))
    }
}
