//! The layout of an attempt's directory in the state dir: the same for every runtime, and
//! what the CLI reads (`logs`) and the status points at (`outputsDir`).

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptDir {
    /// Absolute, so that markers and records compare it verbatim however it was given.
    pub dir: PathBuf,
}

impl AttemptDir {
    pub fn new(dir: &Path) -> Self {
        AttemptDir { dir: std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()) }
    }

    /// What the app wrote to `$SPARKSWARM_OUTPUT_DIR`, collected.
    pub fn outputs(&self) -> PathBuf {
        self.dir.join("outputs")
    }

    /// The driver's stdout and stderr.
    pub fn driver_log(&self) -> PathBuf {
        self.dir.join("driver.log")
    }

    /// The driver's exit code, written once it ended.
    pub fn exitcode(&self) -> PathBuf {
        self.dir.join("exitcode")
    }

    /// When the driver started.
    pub fn started(&self) -> PathBuf {
        self.dir.join("started")
    }

    /// Written by `kill` before anything else, so that a start racing it does not run.
    pub fn cancelled(&self) -> PathBuf {
        self.dir.join("cancelled")
    }
}
