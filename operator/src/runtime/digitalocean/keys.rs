//! The cluster's keys on this machine, under `<state>/digitalocean/<cluster>/`: each
//! droplet's host key (generated and written here before the droplet is requested, so that a
//! restart between the two reuses the key the droplet was given) and, when the spec names
//! no login key, the generated login key. Private keys are files of mode 0600, written
//! atomically. The known_hosts file rendered from them is what the SSH layer verifies
//! against: no host is ever trusted on first sight.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::DoError;
use super::provider::HostKey;

pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    pub fn new(state_dir: &Path, cluster: &str) -> KeyStore {
        KeyStore { dir: state_dir.join("digitalocean").join(cluster) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn host_key_path(&self, droplet: &str) -> Result<PathBuf, DoError> {
        // Droplet names are the operator's own, but a name from the API must never walk
        // out of the directory.
        if droplet.is_empty() || droplet.starts_with('.') || droplet.contains(['/', '\\', '\0']) {
            return Err(DoError::KeyStore(format!("not a droplet name: {droplet:?}")));
        }
        Ok(self.dir.join("host-keys").join(droplet))
    }

    /// The host key of a droplet: the stored one, or a new one, stored before it is returned.
    pub fn host_key(&self, droplet: &str) -> Result<HostKey, DoError> {
        let path = self.host_key_path(droplet)?;
        self.load_or_create(&path)
    }

    /// The stored host key of a droplet, if any (a droplet without one cannot be verified
    /// and is replaced, never trusted).
    pub fn known_host_key(&self, droplet: &str) -> Result<Option<HostKey>, DoError> {
        let path = self.host_key_path(droplet)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => HostKey::from_openssh(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DoError::KeyStore(format!("reading {}: {e}", path.display()))),
        }
    }

    pub fn forget_host_key(&self, droplet: &str) -> Result<(), DoError> {
        let path = self.host_key_path(droplet)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DoError::KeyStore(format!("removing {}: {e}", path.display()))),
        }
    }

    /// The generated login key (for clusters whose spec gives none) and the path of its
    /// private half, which the SSH layer loads.
    pub fn login_key(&self) -> Result<(HostKey, PathBuf), DoError> {
        let path = self.dir.join("login_ed25519");
        Ok((self.load_or_create(&path)?, path))
    }

    /// Writes the known_hosts file for `(address, port, droplet name)` entries; every
    /// droplet must have a stored host key.
    pub fn write_known_hosts(&self, entries: &[(String, u16, String)]) -> Result<PathBuf, DoError> {
        let mut text = String::new();
        for (address, port, droplet) in entries {
            let key = self
                .known_host_key(droplet)?
                .ok_or_else(|| DoError::KeyStore(format!("no host key stored for droplet {droplet}")))?;
            text.push_str(&key.known_hosts_line(address, *port));
            text.push('\n');
        }
        let path = self.dir.join("known_hosts");
        // Rewritten (and synced) only when a droplet or an address changed: every
        // reconcile pass asks for it.
        if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
            self.write_private(&path, text.as_bytes())?;
        }
        Ok(path)
    }

    fn load_or_create(&self, path: &Path) -> Result<HostKey, DoError> {
        match std::fs::read_to_string(path) {
            Ok(text) => return HostKey::from_openssh(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(DoError::KeyStore(format!("reading {}: {e}", path.display()))),
        }
        let key = HostKey::generate()?;
        self.write_private(path, key.private_openssh().as_bytes())?;
        Ok(key)
    }

    /// Temp file (created 0600) in the same directory, fsync, rename: a crash leaves the
    /// old file or the new one, never half a key.
    fn write_private(&self, path: &Path, bytes: &[u8]) -> Result<(), DoError> {
        let err = |what: &str, e: std::io::Error| DoError::KeyStore(format!("{what} {}: {e}", path.display()));
        let dir = path.parent().ok_or_else(|| DoError::KeyStore(format!("no directory for {}", path.display())))?;
        std::fs::create_dir_all(dir).map_err(|e| err("creating the directory of", e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| err("creating a temp file for", e))?;
        tmp.write_all(bytes).map_err(|e| err("writing", e))?;
        tmp.as_file().sync_all().map_err(|e| err("syncing", e))?;
        tmp.persist(path).map_err(|e| err("renaming into", e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_host_key_is_stored_before_use_and_reused_after_a_restart() {
        let state = tempfile::tempdir().unwrap();
        let store = KeyStore::new(state.path(), "demo");
        assert!(store.known_host_key("sparkswarm-demo-1").unwrap().is_none());
        let key = store.host_key("sparkswarm-demo-1").unwrap();
        // A new store (the restarted operator) finds the same key.
        let again = KeyStore::new(state.path(), "demo").host_key("sparkswarm-demo-1").unwrap();
        assert_eq!(again.public_openssh, key.public_openssh);
        let path = store.dir().join("host-keys/sparkswarm-demo-1");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_ne!(store.host_key("sparkswarm-demo-2").unwrap().public_openssh, key.public_openssh);
        store.forget_host_key("sparkswarm-demo-1").unwrap();
        store.forget_host_key("sparkswarm-demo-1").unwrap();
        assert!(store.known_host_key("sparkswarm-demo-1").unwrap().is_none());
    }

    #[test]
    fn names_cannot_escape_the_directory() {
        let state = tempfile::tempdir().unwrap();
        let store = KeyStore::new(state.path(), "demo");
        for bad in ["../x", "..", "a/b", ""] {
            assert_eq!(store.host_key(bad).unwrap_err().reason(), "KeyStore", "{bad}");
        }
    }

    #[test]
    fn known_hosts_lists_each_droplet_with_its_own_key() {
        let state = tempfile::tempdir().unwrap();
        let store = KeyStore::new(state.path(), "demo");
        let k1 = store.host_key("sparkswarm-demo-1").unwrap();
        let k2 = store.host_key("sparkswarm-demo-2").unwrap();
        let path = store
            .write_known_hosts(&[
                ("203.0.113.1".into(), 22, "sparkswarm-demo-1".into()),
                ("127.0.0.1".into(), 2222, "sparkswarm-demo-2".into()),
            ])
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("203.0.113.1 {}\n[127.0.0.1]:2222 {}\n", k1.public_openssh, k2.public_openssh));
        // russh's own parser reads it back to the same keys.
        let found = russh::keys::known_hosts::known_host_keys_path("127.0.0.1", 2222, &path).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.to_openssh().unwrap(), k2.public_openssh);
        // No stored key: no line, an error.
        assert!(store.write_known_hosts(&[("203.0.113.3".into(), 22, "sparkswarm-demo-3".into())]).is_err());
        let (login, login_path) = store.login_key().unwrap();
        assert!(login.public_openssh.starts_with("ssh-ed25519 "));
        assert!(russh::keys::load_secret_key(&login_path, None).is_ok());
    }
}
