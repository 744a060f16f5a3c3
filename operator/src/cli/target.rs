//! Finding what a command names: `KIND NAME`, `KIND/NAME`, aliases, kubectl's not-found.

use crate::api::{Kind, GROUP};
use crate::manifest::catalog::{Catalog, Entry};

use super::CliError;

pub fn parse_kind(s: &str) -> Result<Kind, CliError> {
    s.parse::<Kind>().map_err(|e| CliError(format!("error: {e}")))
}

/// `sparkjob/NAME` or (`sparkjob`, `NAME`).
pub fn parse_ref(first: &str, second: Option<&str>) -> Result<(Kind, String), CliError> {
    match (first.split_once('/'), second) {
        (Some((k, n)), None) => Ok((parse_kind(k)?, n.to_string())),
        (None, Some(n)) => Ok((parse_kind(first)?, n.to_string())),
        (Some(_), Some(_)) => Err(CliError("error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form".into())),
        (None, None) => Err(CliError(format!("error: you must specify the name of the {first} (e.g. {first}/NAME)"))),
    }
}

pub fn qualified(kind: Kind) -> String {
    format!("{}.{}", kind.singular(), GROUP)
}

pub fn not_found(kind: Kind, name: &str) -> CliError {
    CliError(format!("Error from server (NotFound): {}.{} \"{name}\" not found", kind.plural(), GROUP))
}

/// The manifests, and the runs the operator wrote for schedules.
pub fn load(g: &super::Globals) -> Result<Catalog, CliError> {
    let manifests = &g.manifests;
    if !manifests.is_dir() {
        return Err(CliError(format!(
            "error: the manifests directory {} does not exist (use --manifests DIR)",
            manifests.display()
        )));
    }
    Ok(catalog(g))
}

/// The user's manifests only: what `apply`, `delete` and `rerun` may change.
pub fn load_manifests(manifests: &std::path::Path) -> Result<Catalog, CliError> {
    if !manifests.is_dir() {
        return Err(CliError(format!(
            "error: the manifests directory {} does not exist (use --manifests DIR)",
            manifests.display()
        )));
    }
    Ok(Catalog::load(manifests))
}

/// [`load`] for a directory known to exist (or to be reported as a file error).
pub fn catalog(g: &super::Globals) -> Catalog {
    Catalog::load_with(&g.manifests, g.state.all_run_files())
}

pub fn find<'a>(catalog: &'a Catalog, kind: Kind, name: &str) -> Result<&'a Entry, CliError> {
    catalog.get(kind, name).ok_or_else(|| not_found(kind, name))
}

/// Files that do not parse are reported, not hidden: the user may be mid-edit.
pub fn warn_file_errors(catalog: &Catalog) {
    for e in &catalog.file_errors {
        eprintln!("warning: {e}");
    }
}
