//! The Spark image on every droplet without a registry: saved once from this machine's
//! engine into an archive under the state directory (started while the droplets boot), then
//! streamed into each droplet's engine (`docker load`) over that droplet's own SSH session,
//! all droplets at once, each as soon as its Docker runs. Nothing is pushed or pulled: the
//! services run the image by its ID (`ClusterTarget::image_on_nodes`).
//!
//! The scripts are pure and unit-tested; a droplet that has the image already (same ID) is
//! not sent it again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::bootstrap::Node;
use super::error::DoError;
use crate::runtime::swarm::{connect, image, SwarmRuntime};

/// An image saved on this machine, ready to be loaded into droplets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// The image as the spec names it.
    pub image: String,
    /// Its ID on this machine's engine (`sha256:...`), which `docker load` keeps.
    pub id: String,
    pub path: PathBuf,
    pub bytes: u64,
}

/// What loading did on one droplet.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// The droplet had the image (same ID) already.
    Present,
    Sent {
        bytes: u64,
        took: Duration,
    },
}

/// Prints the ID of `id` when the engine has it; nothing (and success) when not.
pub fn has_image(id: &str) -> String {
    format!("docker image inspect --format '{{{{.Id}}}}' {id} 2>/dev/null || true\n")
}

/// Loads the image archive streamed to stdin.
pub const LOAD: &str = "set -eu\ndocker load -q\n";

/// True when the output of [`has_image`] says the engine has `id`.
pub fn present(output: &str, id: &str) -> bool {
    output.lines().any(|l| l.trim() == id)
}

/// The archive's file name for an image ID: the hex digits only (`sha256:` is no part of a
/// portable file name).
pub fn file_name(id: &str) -> Option<String> {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| format!("{hex}.tar"))
}

/// Loads `archive` into the droplet's engine unless it has the image already.
pub async fn load(node: &Node, archive: &Archive) -> Result<Loaded, DoError> {
    let seen = node.run("checking for the Spark image", &has_image(&archive.id), None).await?;
    if present(&seen.stdout, &archive.id) {
        return Ok(Loaded::Present);
    }
    let started = Instant::now();
    let file = tokio::fs::File::open(&archive.path)
        .await
        .map_err(|e| DoError::ImageLoadFailed(format!("opening {}: {e}", archive.path.display())))?;
    let input = tokio::io::BufReader::with_capacity(1 << 20, file);
    node.run_with_input(&format!("loading {}", archive.image), LOAD, input).await?;
    let seen = node.run("checking for the Spark image", &has_image(&archive.id), None).await?;
    if !present(&seen.stdout, &archive.id) {
        return Err(DoError::ImageLoadFailed(format!(
            "{}: {} was loaded but the engine has no image {}",
            node.name, archive.image, archive.id
        )));
    }
    Ok(Loaded::Sent { bytes: archive.bytes, took: started.elapsed() })
}

/// The archives of this operator run, one per image, each made once (concurrent callers wait
/// for the same one; a failed attempt is tried again by the next caller).
type Cell = Arc<tokio::sync::OnceCell<Archive>>;
/// An image's archive once made, and the background task making it.
type Entry = (Cell, Option<tokio::task::JoinHandle<()>>);

pub struct Archives {
    dir: PathBuf,
    /// By image: the archive once made, and the background task making it.
    cells: parking_lot::Mutex<HashMap<String, Entry>>,
}

impl Archives {
    pub fn new(dir: PathBuf) -> Self {
        Archives { dir, cells: Default::default() }
    }

    fn cell(&self, image: &str) -> Cell {
        self.cells.lock().entry(image.to_string()).or_default().0.clone()
    }

    /// Starts making the archive of `image` in the background (e.g. while droplets boot),
    /// unless it is made or being made.
    pub fn prepare(&self, swarm: Arc<SwarmRuntime>, image: &str) {
        let mut cells = self.cells.lock();
        let (cell, task) = cells.entry(image.to_string()).or_default();
        if cell.initialized() || task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let (cell, dir, image) = (cell.clone(), self.dir.clone(), image.to_string());
        *task = Some(tokio::spawn(async move {
            if let Err(e) = cell.get_or_try_init(|| make(&swarm, &dir, &image)).await {
                // Reported by the pass that needs the archive (it tries again).
                tracing::debug!(image, error = %e, "saving the image for the droplets failed");
            }
        }));
    }

    /// The archive of `image`, made now or waited for.
    pub async fn get(&self, swarm: &SwarmRuntime, image: &str) -> Result<Archive, DoError> {
        let cell = self.cell(image);
        cell.get_or_try_init(|| make(swarm, &self.dir, image)).await.cloned()
    }
}

/// Saves `image` from this machine's engine (built first when it is ours and missing) into
/// `<dir>/<id>.tar`, unless that file is there already. Written to a temporary name and
/// renamed: a file under the final name is always whole.
async fn make(swarm: &SwarmRuntime, dir: &Path, image: &str) -> Result<Archive, DoError> {
    let here = connect::effective(connect::DEFAULT_ENDPOINT);
    let local =
        connect::connect(&connect::parse(&here, None).map_err(DoError::swarm)?).await.map_err(DoError::swarm)?;
    image::ensure(swarm, &local, image, true).await.map_err(DoError::swarm)?;
    let id = local
        .inspect_image(image)
        .await
        .map_err(|e| DoError::ImageLoadFailed(format!("inspecting {image} on this machine: {e}")))?
        .id
        .unwrap_or_default();
    let name = file_name(&id)
        .ok_or_else(|| DoError::ImageLoadFailed(format!("{image} has no usable ID on this machine ({id:?})")))?;
    let path = dir.join(name);
    let fail = |what: &str, e: &dyn std::fmt::Display| DoError::ImageLoadFailed(format!("{what}: {e}"));
    if let Ok(meta) = tokio::fs::metadata(&path).await {
        return Ok(Archive { image: image.to_string(), id, path, bytes: meta.len() });
    }
    tokio::fs::create_dir_all(dir).await.map_err(|e| fail(&format!("creating {}", dir.display()), &e))?;
    remove_partials(dir).await;
    let tmp = dir.join(format!(
        ".{}.{}.partial",
        std::process::id(),
        path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    let started = Instant::now();
    let written = async {
        let mut out = tokio::io::BufWriter::with_capacity(
            1 << 20,
            tokio::fs::File::create(&tmp).await.map_err(|e| fail(&format!("creating {}", tmp.display()), &e))?,
        );
        let mut tar = std::pin::pin!(local.export_image(image));
        let mut bytes = 0u64;
        while let Some(chunk) = tar.next().await {
            let chunk = chunk.map_err(|e| fail(&format!("saving {image}"), &e))?;
            bytes += chunk.len() as u64;
            out.write_all(&chunk).await.map_err(|e| fail(&format!("writing {}", tmp.display()), &e))?;
        }
        out.flush().await.map_err(|e| fail(&format!("writing {}", tmp.display()), &e))?;
        Ok::<u64, DoError>(bytes)
    }
    .await;
    let bytes = match written {
        Ok(b) => b,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
    };
    tokio::fs::rename(&tmp, &path).await.map_err(|e| fail(&format!("renaming {}", tmp.display()), &e))?;
    tracing::info!(image, %id, bytes, secs = started.elapsed().as_secs_f64(), "saved the image for the droplets");
    Ok(Archive { image: image.to_string(), id, path, bytes })
}

/// Removes what an operator killed while saving left behind (one operator per state
/// directory: no other is writing one now).
async fn remove_partials(dir: &Path) {
    let Ok(mut rd) = tokio::fs::read_dir(dir).await else { return };
    while let Ok(Some(e)) = rd.next_entry().await {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".partial") {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_presence_check_names_the_id_and_reads_it_back() {
        let id = "sha256:0123abcd";
        let s = has_image(id);
        assert!(s.contains("--format '{{.Id}}' sha256:0123abcd"), "{s}");
        assert!(s.trim_end().ends_with("|| true"), "a missing image is an answer, not a failure: {s}");
        assert!(present("sha256:0123abcd\n", id));
        assert!(!present("", id));
        assert!(!present("sha256:0123abcdef\n", id));
    }

    #[test]
    fn archive_names_are_the_hex_of_the_id() {
        assert_eq!(file_name("sha256:00ff").as_deref(), Some("00ff.tar"));
        assert_eq!(file_name("sha256:../x"), None);
        assert_eq!(file_name(""), None);
    }
}
