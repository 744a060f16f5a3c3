//! The manifests directory as one list of resources, duplicates resolved: the view shared
//! by the operator and the CLI.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::document::{self, Document, ManifestFile, ParseError, ParseErrorKind};
use super::scan;
use super::validate::{validate, FieldError, Resource};
use crate::api::Kind;

#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub doc_index: usize,
    /// 1-based line where the document starts.
    pub line: usize,
    /// `None` when `kind` is missing or unknown.
    pub kind: Option<Kind>,
    pub name: Option<String>,
    pub generation_hash: String,
    pub result: Result<Resource, Vec<FieldError>>,
    /// The whole document, status included.
    pub raw: Value,
}

impl Entry {
    pub fn is_valid(&self) -> bool {
        self.result.is_ok()
    }

    pub fn status(&self) -> Option<&Value> {
        self.raw.get("status")
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// In path order, then document order.
    pub entries: Vec<Entry>,
    /// Files (or the directory itself) that could not be read or parsed.
    pub file_errors: Vec<ParseError>,
}

impl Catalog {
    /// Reads every manifest of `dir`. A directory that cannot be listed shows as a file error.
    pub fn load(dir: &Path) -> Catalog {
        Catalog::load_with(dir, Vec::new())
    }

    /// [`Catalog::load`], followed by the files `extra` (a schedule's runs, which the
    /// operator writes under the state dir).
    pub fn load_with(dir: &Path, extra: Vec<PathBuf>) -> Catalog {
        let paths = match scan::list_files(dir) {
            Ok(mut p) => {
                p.extend(extra);
                p
            }
            Err(e) => {
                return Catalog {
                    entries: Vec::new(),
                    file_errors: vec![ParseError {
                        path: dir.to_path_buf(),
                        line: 1,
                        column: 1,
                        message: format!("cannot list the manifests directory: {e}"),
                        kind: ParseErrorKind::Unreadable,
                    }],
                }
            }
        };
        let mut files = Vec::new();
        let mut file_errors = Vec::new();
        for p in paths {
            match document::read(&p) {
                Ok(f) => files.push(f),
                Err(e) => file_errors.push(e),
            }
        }
        let mut catalog = Catalog::from_files(files);
        catalog.file_errors = file_errors;
        catalog
    }

    /// Builds the catalog from files already parsed, given in path order.
    pub fn from_files(files: impl IntoIterator<Item = ManifestFile>) -> Catalog {
        let mut entries = Vec::new();
        // (kind, name) to the winner's file and line.
        let mut winners: HashMap<(Kind, String), (PathBuf, usize)> = HashMap::new();
        for file in files {
            for doc in &file.docs {
                let kind = doc.kind().and_then(Kind::from_kind_field);
                let name = doc.name().map(str::to_string);
                let mut result = validate(&file.path, doc);
                if let (Some(k), Some(n)) = (kind, &name) {
                    match winners.get(&(k, n.clone())) {
                        Some((wpath, wline)) => {
                            result = Err(vec![duplicate(&file.path, doc, k, n, wpath, *wline)]);
                        }
                        None => {
                            // The first one wins even while invalid, so that a typo in it
                            // does not hand the name over to another document.
                            winners.insert((k, n.clone()), (file.path.clone(), doc.line_of("/metadata/name")));
                        }
                    }
                }
                entries.push(Entry {
                    path: file.path.clone(),
                    doc_index: doc.index,
                    line: doc.start_line,
                    kind,
                    name,
                    generation_hash: doc.generation_hash(),
                    result,
                    raw: doc.value.clone(),
                });
            }
        }
        Catalog { entries, file_errors: Vec::new() }
    }

    /// The document that owns `kind`/`name` (the first one, valid or not).
    pub fn get(&self, kind: Kind, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.kind == Some(kind) && e.name.as_deref() == Some(name))
    }

    /// Every document of `kind`, duplicates included (they carry `DuplicateName`).
    pub fn iter_kind(&self, kind: Kind) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.kind == Some(kind))
    }

    /// Documents whose kind is missing or unknown.
    pub fn unknown_kind(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind.is_none())
    }
}

/// The first document by path order owns a kind and name; this is what every later one
/// says, in `validate` and in its status alike.
pub fn duplicate(path: &Path, doc: &Document, kind: Kind, name: &str, winner: &Path, winner_line: usize) -> FieldError {
    FieldError {
        path: path.to_path_buf(),
        line: doc.line_of("/metadata/name"),
        field: "metadata.name".into(),
        message: format!(
            "{} {name:?} is already defined at {}:{winner_line}; this document is ignored",
            kind.as_str(),
            winner.display()
        ),
        reason: "DuplicateName".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn job(name: &str) -> String {
        format!("apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: {name}\nspec:\n  clusterRef: demo\n  mainApplicationFile: main.py\n")
    }

    #[test]
    fn loads_files_in_path_order_and_resolves_duplicates() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("b.yaml"), format!("{}---\n{}", job("x"), job("y"))).expect("write");
        fs::write(dir.path().join("a.yaml"), job("x").replace("clusterRef: demo", "clusterRef: Bad_")).expect("write");
        fs::write(dir.path().join("c.yaml"), "kind: [\n").expect("write");
        fs::write(dir.path().join("d.yaml"), "apiVersion: sparkswarm.io/v1alpha1\nkind: Pod\n").expect("write");
        let c = Catalog::load(dir.path());

        assert_eq!(c.file_errors.len(), 1);
        assert_eq!(c.file_errors[0].reason(), "InvalidYaml");
        let order: Vec<(String, usize)> = c
            .entries
            .iter()
            .map(|e| (e.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), e.doc_index))
            .collect();
        assert_eq!(order, [("a.yaml".into(), 0), ("b.yaml".into(), 0), ("b.yaml".into(), 1), ("d.yaml".into(), 0)]);

        let winner = c.get(Kind::SparkJob, "x").expect("x");
        assert!(winner.path.ends_with("a.yaml"));
        assert!(!winner.is_valid(), "the invalid first document still wins");
        let dup = &c.entries[1];
        let errs = dup.result.as_ref().expect_err("duplicate");
        assert_eq!((errs[0].reason.as_str(), errs[0].line), ("DuplicateName", 4));
        assert!(errs[0].message.contains("a.yaml:4"), "{}", errs[0].message);
        assert!(c.get(Kind::SparkJob, "y").is_some_and(Entry::is_valid));
        assert_eq!(c.iter_kind(Kind::SparkJob).count(), 3);
        assert_eq!(c.unknown_kind().count(), 1);
        assert_eq!(c.entries[3].result.as_ref().expect_err("pod")[0].reason, "UnknownKind");
        assert_eq!(c.entries[2].line, 9);
    }

    #[test]
    fn a_missing_directory_is_a_file_error() {
        let c = Catalog::load(Path::new("/nonexistent/manifests"));
        assert!(c.entries.is_empty());
        assert_eq!(c.file_errors[0].reason(), "Unreadable");
    }
}
