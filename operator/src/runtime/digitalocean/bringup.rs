//! Bringing droplets up, all of them at once: on each droplet, over its own SSH session,
//! Docker made to run, then at the same time its swarm step (`init` on the manager; `join`
//! on the others, with the token the manager's init printed) and the Spark image loaded
//! (`preload`). A droplet waits for nothing but its own steps and, to join, the manager's
//! init: the image travels while the swarm forms.

use std::time::Duration;

use futures::future::join_all;
use tokio::sync::watch;

use super::bootstrap::{self, Node};
use super::error::DoError;
use super::preload::{self, Archive, Loaded};
use crate::runtime::swarm::ssh::SshLogin;

/// A droplet as the pass found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub name: String,
    pub address: String,
    pub manager: bool,
    /// In the swarm (the manager: a swarm manager).
    pub joined: bool,
    /// Known to hold the image this pass wants on every node.
    pub loaded: bool,
}

/// The swarm step a droplet needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwarmStep {
    Init,
    Join,
    Nothing,
}

/// What to do on one droplet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub name: String,
    pub address: String,
    pub swarm: SwarmStep,
    pub load: bool,
}

/// The droplets that need anything, and what (pure).
pub fn plan(seen: &[Seen]) -> Vec<Work> {
    seen.iter()
        .filter(|s| !s.joined || !s.loaded)
        .map(|s| Work {
            name: s.name.clone(),
            address: s.address.clone(),
            swarm: match (s.joined, s.manager) {
                (true, _) => SwarmStep::Nothing,
                (false, true) => SwarmStep::Init,
                (false, false) => SwarmStep::Join,
            },
            load: !s.loaded,
        })
        .collect()
}

/// What one droplet did.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub name: String,
    pub swarm: SwarmStep,
    pub loaded: Option<Loaded>,
    /// From the first SSH connection to the end of the droplet's last step.
    pub took: Duration,
}

/// Where the droplets reach the manager, and what they trust.
pub struct Context<'a> {
    pub login: &'a SshLogin,
    /// The registry the engines are told to trust (`host:port`).
    pub registry: &'a str,
    /// The manager's address among the droplets (swarm init advertises it, joins dial it).
    pub manager_inner: &'a str,
    /// The worker join token when the manager is a swarm manager already.
    pub token: Option<String>,
    pub archive: Option<&'a Archive>,
}

/// Runs every droplet's work at once; one result per droplet, in `work`'s order.
pub async fn run(work: &[Work], cx: &Context<'_>) -> Vec<Result<Done, DoError>> {
    // The join token: known, or what the manager's init prints. Dropping the sender
    // without a token (the manager failed) ends the joins' wait with an error.
    let (tx, rx) = watch::channel(cx.token.clone());
    let mut tx = Some(tx);
    if cx.token.is_some() {
        tx = None;
    }
    let mut futures = Vec::with_capacity(work.len());
    for w in work {
        let sender = if w.swarm == SwarmStep::Init { tx.take() } else { None };
        futures.push(one(w, cx, sender, rx.clone()));
    }
    // Unused when no droplet inits (the joins then have the known token).
    drop(tx);
    join_all(futures).await
}

async fn one(
    w: &Work,
    cx: &Context<'_>,
    token_out: Option<watch::Sender<Option<String>>>,
    mut token_in: watch::Receiver<Option<String>>,
) -> Result<Done, DoError> {
    let started = std::time::Instant::now();
    let node = Node::connect(&w.name, &w.address, cx.login).await?;
    node.run("installing and starting Docker", &bootstrap::prepare_docker(cx.registry), None).await?;
    let swarm = async {
        match w.swarm {
            SwarmStep::Init => {
                let out = node.run("docker swarm init", &bootstrap::init_manager(cx.manager_inner), None).await?;
                let token = out.stdout.trim().to_string();
                if let Some(tx) = token_out {
                    let _ = tx.send(Some(token));
                }
                Ok(())
            }
            SwarmStep::Join => {
                let token = match token_in.wait_for(Option::is_some).await {
                    Ok(t) => t.clone().unwrap_or_default(),
                    Err(_) => {
                        return Err(DoError::BootstrapFailed {
                            node: w.name.clone(),
                            step: "docker swarm join".into(),
                            status: "not run".into(),
                            stderr: "the manager's swarm init did not complete".into(),
                        })
                    }
                };
                node.run("docker swarm join", &bootstrap::join_worker(&token, cx.manager_inner), Some(&token))
                    .await
                    .map(|_| ())
            }
            SwarmStep::Nothing => Ok(()),
        }
    };
    let load = async {
        match (w.load, cx.archive) {
            (true, Some(a)) => preload::load(&node, a).await.map(Some),
            _ => Ok(None),
        }
    };
    let (swarm, loaded) = tokio::join!(swarm, load);
    swarm?;
    Ok(Done { name: w.name.clone(), swarm: w.swarm, loaded: loaded?, took: started.elapsed() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(name: &str, manager: bool, joined: bool, loaded: bool) -> Seen {
        Seen { name: name.into(), address: format!("{name}.addr"), manager, joined, loaded }
    }

    #[test]
    fn a_fresh_cluster_inits_joins_and_loads_everywhere() {
        let w = plan(&[seen("m", true, false, false), seen("a", false, false, false)]);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].swarm, w[0].load), (SwarmStep::Init, true));
        assert_eq!((w[1].swarm, w[1].load), (SwarmStep::Join, true));
        assert_eq!(w[1].address, "a.addr");
    }

    #[test]
    fn only_what_is_missing_is_done() {
        let w = plan(&[seen("m", true, true, true), seen("a", false, true, false), seen("b", false, false, true)]);
        assert_eq!(
            w.iter().map(|w| (w.name.as_str(), w.swarm, w.load)).collect::<Vec<_>>(),
            vec![("a", SwarmStep::Nothing, true), ("b", SwarmStep::Join, false)]
        );
        assert!(plan(&[seen("m", true, true, true)]).is_empty());
    }
}
