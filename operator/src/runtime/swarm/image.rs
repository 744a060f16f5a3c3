//! Making sure the engine has the images a cluster runs: the Spark image (built by
//! `images/spark/build-offline.sh` when it is ours and missing on a local engine) and the
//! registry image; with a registry, the Spark image is pushed into it so that every node
//! pulls it as `127.0.0.1:PORT/...` (or `MANAGER:PORT/...`, see `ClusterTarget::registry_host`).
//! A remote engine that lacks one of our images gets it copied from this machine's engine
//! (built here first when needed): `docker save | docker load` through the API.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use bollard::query_parameters::{PushImageOptionsBuilder, TagImageOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use tokio::io::AsyncBufReadExt;

use super::error::{is_not_found, SwarmError};
use super::{SwarmRuntime, DEFAULT_IMAGE, REGISTRY_IMAGE};

/// Overrides where `images/` is looked for (default: in the state directory's ancestors,
/// i.e. the project root however deep the manifests are, then beside the binary's
/// ancestors (a checkout's target/), then the working directory).
pub const IMAGES_DIR_ENV: &str = "SPARKSWARM_IMAGES_DIR";

pub fn find_images_dir(state_dir: &Path) -> Option<PathBuf> {
    let has_script = |d: &Path| d.join("spark").join("build-offline.sh").is_file();
    if let Some(d) = std::env::var_os(IMAGES_DIR_ENV).map(PathBuf::from) {
        return has_script(&d).then_some(d);
    }
    let exe = std::env::current_exe().ok();
    let cwd = std::env::current_dir().ok();
    let roots = [Some(state_dir.to_path_buf()), exe, cwd];
    roots.iter().flatten().flat_map(|r| r.ancestors()).map(|a| a.join("images")).find(|d| has_script(d))
}

pub async fn exists(docker: &Docker, image: &str) -> Result<bool, SwarmError> {
    match docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(SwarmError::DockerApiError { what: format!("inspecting image {image}"), source: e }),
    }
}

/// The script that builds one of our images, for messages and for running it.
fn script_for(image: &str) -> Option<&'static str> {
    match image {
        DEFAULT_IMAGE => Some("spark/build-offline.sh"),
        REGISTRY_IMAGE => Some("registry/build-offline.sh"),
        _ => None,
    }
}

/// Ensures `image` is on the engine. Ours are built when missing, on a local engine only
/// (the build uses this machine's docker CLI and debootstrap); anything else must exist.
pub async fn ensure(rt: &SwarmRuntime, docker: &Docker, image: &str, local_engine: bool) -> Result<(), SwarmError> {
    if exists(docker, image).await? {
        return Ok(());
    }
    if !local_engine {
        // A remote engine: this machine's engine (DOCKER_HOST honoured, as by the docker
        // CLI) has the image or can build it.
        let here = super::connect::effective(super::connect::DEFAULT_ENDPOINT);
        let local = super::connect::connect(&super::connect::parse(&here, None)?).await;
        if let Ok(local) = local {
            if exists(&local, image).await? || (script_for(image).is_some() && rt.images_dir.is_some()) {
                Box::pin(ensure(rt, &local, image, true)).await?;
                return copy(rt, &local, docker, image).await;
            }
        }
    }
    let Some(script) = script_for(image) else {
        return Err(SwarmError::ImageMissing(format!(
            "the image {image} is not on the engine and cannot be pulled by sparkswarm: `docker pull {image}` (or load it) on the manager"
        )));
    };
    let Some(dir) = rt.images_dir.as_ref().filter(|_| local_engine) else {
        return Err(SwarmError::ImageMissing(format!(
            "the image {image} is not on the engine; build it on the manager with `images/{script}` (or `docker build -t {image} images/{}`)",
            script.split('/').next().unwrap_or("spark")
        )));
    };
    let _guard = rt.build_lock.lock().await;
    // Another reconcile may have built it while this one waited.
    if exists(docker, image).await? {
        return Ok(());
    }
    let path = dir.join(script);
    rt.progress(&format!("building {image} with {} (first use only; a few minutes)", path.display()));
    run_build(rt, &path).await?;
    if exists(docker, image).await? {
        rt.progress(&format!("{image} is built"));
        Ok(())
    } else {
        Err(SwarmError::ImageBuildFailed(format!("{} finished but {image} is not on the engine", path.display())))
    }
}

/// Streams `image` from one engine to another (`docker save | docker load`), e.g. from this
/// machine into a droplet's engine through the SSH tunnel: no registry on the way.
async fn copy(rt: &SwarmRuntime, from: &Docker, to: &Docker, image: &str) -> Result<(), SwarmError> {
    let _guard = rt.build_lock.lock().await;
    if exists(to, image).await? {
        return Ok(());
    }
    rt.progress(&format!("copying {image} to the cluster's manager (first use only)"));
    let started = std::time::Instant::now();
    let tar = from.export_image(image);
    let opts = bollard::query_parameters::ImportImageOptionsBuilder::default().quiet(true).build();
    let mut load = to.import_image_stream(opts, tar, None);
    while let Some(item) = load.next().await {
        let info = item.map_err(SwarmError::api(format!("loading {image} into the engine")))?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(SwarmError::ImageMissing(format!("loading {image} into the engine failed: {err}")));
        }
    }
    if !exists(to, image).await? {
        return Err(SwarmError::ImageMissing(format!("{image} was streamed to the engine but is not there")));
    }
    tracing::info!(image, secs = started.elapsed().as_secs_f64(), "copied the image to the remote engine");
    Ok(())
}

/// Runs a build script, forwarding its `==>` progress lines and keeping its last output
/// lines for the error.
async fn run_build(rt: &SwarmRuntime, script: &Path) -> Result<(), SwarmError> {
    let mut child = tokio::process::Command::new("bash")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(SwarmError::io(format!("running {}", script.display())))?;
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(SwarmError::ImageBuildFailed("no output pipes".into()));
    };
    let mut out = tokio::io::BufReader::new(out).lines();
    let mut err = tokio::io::BufReader::new(err).lines();
    let (mut out_done, mut err_done) = (false, false);
    while !(out_done && err_done) {
        let line = tokio::select! {
            l = out.next_line(), if !out_done => l,
            l = err.next_line(), if !err_done => l,
        };
        match line {
            Ok(Some(l)) => {
                if let Some(msg) = l.strip_prefix("==> ") {
                    rt.progress(msg);
                }
                tail.push_back(l);
                if tail.len() > 15 {
                    tail.pop_front();
                }
            }
            // One of the two streams ended; which one does not matter for the tail.
            Ok(None) | Err(_) => {
                if out_done {
                    err_done = true;
                } else {
                    out_done = true;
                }
            }
        }
    }
    let status = child.wait().await.map_err(SwarmError::io(format!("waiting for {}", script.display())))?;
    if status.success() {
        Ok(())
    } else {
        Err(SwarmError::ImageBuildFailed(format!(
            "{} exited with {status}:\n{}",
            script.display(),
            tail.into_iter().collect::<Vec<_>>().join("\n")
        )))
    }
}

/// Tags `image` as `ADDRESS/<image>` and pushes it into the cluster's registry at
/// `ADDRESS` (`host:port`). Returns the reference the services use.
pub async fn push_to_registry(docker: &Docker, image: &str, address: &str) -> Result<String, SwarmError> {
    let (repo, tag) = match image.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    };
    let target_repo = format!("{address}/{repo}");
    let opts = TagImageOptionsBuilder::default().repo(&target_repo).tag(&tag).build();
    docker
        .tag_image(image, Some(opts))
        .await
        .map_err(SwarmError::api(format!("tagging {image} as {target_repo}:{tag}")))?;
    let opts = PushImageOptionsBuilder::default().tag(&tag).build();
    let mut stream = docker.push_image(&target_repo, Some(opts), None);
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| SwarmError::RegistryPushFailed(format!("{target_repo}:{tag}: {e}")))?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(SwarmError::RegistryPushFailed(format!("{target_repo}:{tag}: {err}")));
        }
    }
    Ok(format!("{target_repo}:{tag}"))
}
