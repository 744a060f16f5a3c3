//! Reading and writing manifests: parse, validate, splice status, atomic writes.

pub mod document;
mod render;
mod tree;

pub use document::{parse, read, Document, ManifestFile, ParseError, ParseErrorKind};
