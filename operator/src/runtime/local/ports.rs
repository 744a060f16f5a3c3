//! Port choice and readiness for the local cluster's daemons.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use crate::runtime::RuntimeError;

/// `n` distinct free ports on 127.0.0.1, chosen by the kernel. All listeners are held until
/// every port is chosen so the same port cannot come back twice; there is still a window
/// before the daemon binds it, which is why the daemons run with `spark.port.maxRetries=0`
/// (a lost race fails loudly instead of Spark silently moving to the next port).
pub(crate) fn free_ports(n: usize) -> Result<Vec<u16>, RuntimeError> {
    let mut listeners = Vec::with_capacity(n);
    for _ in 0..n {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(RuntimeError::io("binding 127.0.0.1:0 to find a free port"))?;
        listeners.push(l);
    }
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).map_err(RuntimeError::io("reading a bound port")))
        .collect()
}

/// Whether nothing listens on 127.0.0.1:`port` right now (so a daemon may take it).
pub(crate) fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`, giving up early
/// when `still_alive` says the process that should listen there is gone.
pub(crate) async fn wait_listening(
    port: u16,
    timeout: Duration,
    still_alive: impl Fn() -> bool,
) -> Result<(), RuntimeError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await {
            return Ok(());
        }
        if !still_alive() {
            return Err(RuntimeError::ProcessError(format!(
                "the process that should listen on 127.0.0.1:{port} exited"
            )));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RuntimeError::Unreachable(format!(
                "nothing listens on 127.0.0.1:{port} after {}s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_free() {
        let ports = free_ports(3).expect("free ports");
        assert_eq!(ports.len(), 3);
        assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
        assert!(ports.iter().all(|p| is_free(*p)));
    }

    #[tokio::test]
    async fn waits_for_a_listener() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = l.local_addr().expect("addr").port();
        assert!(wait_listening(port, Duration::from_secs(5), || true).await.is_ok());
        drop(l);
        let r = wait_listening(port, Duration::from_secs(5), || false).await;
        assert!(matches!(r, Err(RuntimeError::ProcessError(_))));
    }
}
