//! The digitalocean runtime: droplets created for a cluster, then a swarm on them.
//!
//! This is the foundation only: the API client (`client`), the token handling (`token`) and
//! the pure planning of droplets and host keys (`provider`). Nothing here is wired into the
//! reconcilers yet.

pub mod client;
pub mod error;
pub mod keys;
pub mod provider;
pub mod token;
pub mod types;

pub use client::{Client, ClientOptions, API_URL_ENV, DEFAULT_API_URL};
pub use error::DoError;
pub use token::Token;
