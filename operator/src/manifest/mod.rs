//! Reading and writing manifests: parse, validate, splice status, atomic writes.

pub mod document;
mod render;
pub mod splice;
mod tree;

pub use document::{parse, read, Document, ManifestFile, ParseError, ParseErrorKind};
pub use splice::{splice_status, SpliceError};
