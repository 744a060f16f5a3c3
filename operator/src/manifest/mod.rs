//! Reading and writing manifests: parse, validate, splice status, atomic writes.

pub mod document;
pub mod paths;
mod render;
pub mod scan;
pub mod splice;
mod tree;
pub mod validate;
pub mod write;

pub use document::{parse, read, Document, ManifestFile, ParseError, ParseErrorKind};
pub use splice::{splice_status, SpliceError};
pub use validate::{validate, FieldError, Resource};
