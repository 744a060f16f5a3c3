//! The digitalocean runtime: droplets created for a cluster, then a swarm on them.
//!
//! The foundation, not yet wired into the reconcilers:
//! - `client`: the DigitalOcean API v2 client (reqwest + rustls), to the contract in
//!   `shared/contracts/digitalocean/openapi.yaml`: pagination, rate limits, retries;
//! - `token`: the API token from `tokenFrom`, never printable;
//! - `provider`: the pure plans (which droplets to create or delete from what the cluster's
//!   tag lists, the firewall, the per-droplet host key in cloud-init `user_data`), plus
//!   `destroy` and `wait_active` over the client;
//! - `keys`: host and login keys under the state directory, and the known_hosts file the SSH
//!   layer verifies against.

/// Droplets do not see this machine's directories: only named volumes (NFS, a volume
/// plugin) reach them.
pub const VOLUMES: super::VolumeSupport = super::VolumeSupport { host_path: false, named: true };

pub mod bootstrap;
pub mod bringup;
pub mod client;
pub mod cluster;
pub mod error;
pub mod keys;
pub mod preload;
pub mod provider;
pub mod token;
pub mod types;

pub use client::{Client, ClientOptions, API_URL_ENV, DEFAULT_API_URL};
pub use error::DoError;
pub use token::Token;
