//! Reading and writing manifests: parse, validate, splice status, atomic writes.
//!
//! The status contract (DESIGN.md) lives here: the operator owns the top-level `status:` of
//! each document and every other byte of the user's file survives each write.

pub mod annotate;
pub mod catalog;
pub mod document;
pub mod group_commit;
pub mod handoff;
pub mod lease;
pub mod open;
pub mod paths;
pub(crate) mod render;
pub mod scan;
pub mod spec_paths;
pub mod spec_volumes;
pub mod splice;
pub mod status_write;
mod tree;
pub mod validate;
pub mod write;

pub use annotate::set_annotation;
pub use catalog::{Catalog, Entry};
pub use document::{parse, read, Document, ManifestFile, ParseError, ParseErrorKind};
pub use paths::{confine_dst, resolve, PathError, Roots};
pub use scan::list_files;
pub use splice::{splice_status, SpliceError};
pub use status_write::{StatusWrite, StatusWriter};
pub use validate::{schema_for, validate, FieldError, Resource};
pub use write::{write_if_unchanged, WriteError, WriteOutcome};
