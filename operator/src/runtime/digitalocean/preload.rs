//! The Spark image on every droplet without a registry: saved once from this machine's
//! engine into a zstd-compressed archive under the state directory (started while the
//! droplets boot), then streamed into each droplet's engine (`docker load`) over that
//! droplet's own SSH session, all droplets at once, each as soon as its Docker runs. A
//! droplet with `zstd` (DigitalOcean's images have it) is sent the compressed bytes, about
//! two thirds of the image, and decompresses them itself; to one without, the archive is
//! decompressed here on the way. Nothing is pushed or pulled: the
//! services run the image by its ID (`ClusterTarget::image_on_nodes`).
//!
//! The scripts are pure and unit-tested; a droplet that has the image already (same ID) is
//! not sent it again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_compression::tokio::bufread::ZstdDecoder;
use async_compression::tokio::write::ZstdEncoder;
use async_compression::Level;
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWriteExt};

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
    /// The saved image, compressed with zstd.
    pub path: PathBuf,
    /// The compressed archive's size.
    pub bytes: u64,
}

/// What loading did on one droplet.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// The droplet had the image (same ID) already.
    Present,
    /// `bytes` went over the SSH session, compressed or not.
    Sent { bytes: u64, compressed: bool, took: Duration },
}

/// Prints the ID of `id` when the engine has it, then `zstd` when the droplet can
/// decompress; nothing (and success) for what it lacks.
pub fn has_image(id: &str) -> String {
    format!(
        "docker image inspect --format '{{{{.Id}}}}' {id} 2>/dev/null || true\n\
         command -v zstd >/dev/null 2>&1 && echo zstd || true\n"
    )
}

/// Loads the image archive streamed to stdin.
pub const LOAD: &str = "set -eu\ndocker load -q\n";

/// Loads the zstd-compressed image archive streamed to stdin. A stream cut short ends the tar
/// early, which fails `docker load`; the image is then checked by its ID in any case.
pub const LOAD_ZSTD: &str = "set -eu\nzstd -dcq | docker load -q\n";

/// True when the output of [`has_image`] says the engine has `id`.
pub fn present(output: &str, id: &str) -> bool {
    output.lines().any(|l| l.trim() == id)
}

/// True when the output of [`has_image`] says the droplet has `zstd`.
pub fn can_decompress(output: &str) -> bool {
    output.lines().any(|l| l.trim() == "zstd")
}

/// The archive's file name for an image ID: the hex digits only (`sha256:` is no part of a
/// portable file name).
pub fn file_name(id: &str) -> Option<String> {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| format!("{hex}.tar.zst"))
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
    let step = format!("loading {}", archive.image);
    let compressed = can_decompress(&seen.stdout);
    let bytes = if compressed {
        node.run_with_input(&step, LOAD_ZSTD, input).await?;
        archive.bytes
    } else {
        let mut raw = Counted { inner: ZstdDecoder::new(input), bytes: 0 };
        node.run_with_input(&step, LOAD, &mut raw).await?;
        raw.bytes
    };
    let seen = node.run("checking for the Spark image", &has_image(&archive.id), None).await?;
    if !present(&seen.stdout, &archive.id) {
        return Err(DoError::ImageLoadFailed(format!(
            "{}: {} was loaded but the engine has no image {}",
            node.name, archive.image, archive.id
        )));
    }
    Ok(Loaded::Sent { bytes, compressed, took: started.elapsed() })
}

/// A reader that counts what went through it.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        self.bytes += (buf.filled().len() - before) as u64;
        polled
    }
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
    remove_leftovers(dir).await;
    let tmp = dir.join(format!(
        ".{}.{}.partial",
        std::process::id(),
        path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    let started = Instant::now();
    let written = async {
        // Level 1: as fast as the engine saves (BENCHMARKS.md, issue 15), two thirds the bytes.
        let mut out = ZstdEncoder::with_quality(
            tokio::io::BufWriter::with_capacity(
                1 << 20,
                tokio::fs::File::create(&tmp).await.map_err(|e| fail(&format!("creating {}", tmp.display()), &e))?,
            ),
            Level::Precise(1),
        );
        let mut tar = std::pin::pin!(local.export_image(image));
        let mut bytes = 0u64;
        while let Some(chunk) = tar.next().await {
            let chunk = chunk.map_err(|e| fail(&format!("saving {image}"), &e))?;
            bytes += chunk.len() as u64;
            out.write_all(&chunk).await.map_err(|e| fail(&format!("writing {}", tmp.display()), &e))?;
        }
        out.shutdown().await.map_err(|e| fail(&format!("writing {}", tmp.display()), &e))?;
        Ok::<u64, DoError>(bytes)
    }
    .await;
    let raw = match written {
        Ok(b) => b,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
    };
    tokio::fs::rename(&tmp, &path).await.map_err(|e| fail(&format!("renaming {}", tmp.display()), &e))?;
    let bytes = tokio::fs::metadata(&path).await.map_err(|e| fail(&format!("reading {}", path.display()), &e))?.len();
    tracing::info!(image, %id, raw, bytes, secs = started.elapsed().as_secs_f64(), "saved the image for the droplets");
    Ok(Archive { image: image.to_string(), id, path, bytes })
}

/// Removes what an operator killed while saving left behind (one operator per state
/// directory: no other is writing one now), and the uncompressed `<id>.tar` archives of
/// earlier versions, which nothing reads any more and which are an image's size each.
async fn remove_leftovers(dir: &Path) {
    let Ok(mut rd) = tokio::fs::read_dir(dir).await else { return };
    while let Ok(Some(e)) = rd.next_entry().await {
        let name = e.file_name();
        if is_leftover(&name.to_string_lossy()) {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

fn is_leftover(name: &str) -> bool {
    let partial = name.starts_with('.') && name.ends_with(".partial");
    let uncompressed =
        name.strip_suffix(".tar").is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    partial || uncompressed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_presence_check_names_the_id_and_reads_it_back() {
        let id = "sha256:0123abcd";
        let s = has_image(id);
        assert!(s.contains("--format '{{.Id}}' sha256:0123abcd"), "{s}");
        assert!(
            s.lines().all(|l| l.trim_end().ends_with("|| true")),
            "what is missing is an answer, not a failure: {s}"
        );
        assert!(present("sha256:0123abcd\n", id));
        assert!(present("sha256:0123abcd\nzstd\n", id));
        assert!(!present("", id));
        assert!(!present("sha256:0123abcdef\n", id));
        assert!(can_decompress("zstd\n") && can_decompress("sha256:0123abcd\nzstd\n"));
        assert!(!can_decompress("sha256:0123abcd\n") && !can_decompress(""));
    }

    /// The path to a droplet without `zstd`: the archive is decompressed here on the way, and
    /// what went over the session is counted as sent.
    #[tokio::test]
    async fn an_archive_decompresses_on_the_way_to_what_was_saved() {
        let image: Vec<u8> = (0..300_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let mut enc = ZstdEncoder::with_quality(Vec::new(), Level::Precise(1));
        enc.write_all(&image).await.expect("compress");
        enc.shutdown().await.expect("finish");
        let archive = enc.into_inner();
        assert!(archive.len() < image.len() / 2, "{} of {}", archive.len(), image.len());
        let mut raw = Counted { inner: ZstdDecoder::new(tokio::io::BufReader::new(&archive[..])), bytes: 0 };
        let mut out = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut raw, &mut out).await.expect("decompress");
        assert_eq!(out, image);
        assert_eq!(raw.bytes, image.len() as u64);
    }

    #[test]
    fn leftovers_are_partials_and_uncompressed_archives_only() {
        assert!(is_leftover(".123.00ff.tar.zst.partial"));
        assert!(is_leftover("00ff.tar"));
        assert!(!is_leftover("00ff.tar.zst"));
        assert!(!is_leftover("notes.tar") && !is_leftover(".tar") && !is_leftover("keys"));
    }

    #[test]
    fn archive_names_are_the_hex_of_the_id() {
        assert_eq!(file_name("sha256:00ff").as_deref(), Some("00ff.tar.zst"));
        assert_eq!(file_name("sha256:../x"), None);
        assert_eq!(file_name(""), None);
    }
}
