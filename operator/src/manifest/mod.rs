//! Reading and writing manifests: parse, validate, splice status, atomic writes.
