//! A read lease (`fcntl(F_SETLEASE, F_RDLCK)`) on a manifest while its replacement is put in
//! place: the kernel grants it only while nobody has the file open for writing, and breaks
//! it when somebody opens it for writing meanwhile. An editor that writes in place, in one
//! write or in several chunks with pauses, keeps the file open for writing; the lease is how
//! the status writer learns of it without scanning `/proc`.
//!
//! The opener that breaks the lease waits in `open` until the lease is given up, which
//! happens when the [`Lease`] is dropped, within the few system calls of a replace.

// nix has no safe wrapper for F_SETLEASE, F_GETLEASE or F_SETSIG: these three fcntl calls on a
// descriptor we own are the only unsafe code of the crate.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

/// `<fcntl.h>`'s F_SETSIG on Linux, which the libc crate does not export.
const F_SETSIG: nix::libc::c_int = 10;

/// What asking for a lease told.
pub enum Asked<'f> {
    Held(Lease<'f>),
    /// Somebody has the file open for writing.
    Busy,
    /// Leases do not work here (not the file's owner without CAP_LEASE, a file system
    /// without leases such as NFS or overlayfs): nothing can be learnt this way.
    Unsupported(io::Error),
}

pub struct Lease<'f> {
    fd: BorrowedFd<'f>,
}

/// Asks for a read lease on `file`, which must be open read-only.
pub fn ask(file: &File) -> Asked<'_> {
    let fd = file.as_raw_fd();
    // The break is announced by a signal, SIGIO unless told otherwise, whose default action
    // ends the process. SIGURG is ignored by default and handled by nobody here; the lease
    // state is read with F_GETLEASE instead.
    // SAFETY: fcntl with integer arguments on a descriptor this function borrows.
    if unsafe { nix::libc::fcntl(fd, F_SETSIG, nix::libc::SIGURG) } == -1 {
        return Asked::Unsupported(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { nix::libc::fcntl(fd, nix::libc::F_SETLEASE, nix::libc::F_RDLCK) } == -1 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(nix::libc::EAGAIN) => Asked::Busy,
            _ => Asked::Unsupported(e),
        };
    }
    Asked::Held(Lease { fd: file.as_fd() })
}

impl Lease<'_> {
    /// Whether nobody opened the file for writing (or truncated it) since the lease was
    /// granted: a pending break shows as the type the lease is being downgraded to.
    pub fn intact(&self) -> bool {
        // SAFETY: fcntl with integer arguments on a descriptor the lease borrows.
        let t = unsafe { nix::libc::fcntl(self.fd.as_raw_fd(), nix::libc::F_GETLEASE) };
        t == nix::libc::F_RDLCK
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // SAFETY: as above. Failing to unlock only delays a waiting opener until the kernel's
        // lease-break time, and closing the file unlocks anyway.
        unsafe { nix::libc::fcntl(self.fd.as_raw_fd(), nix::libc::F_SETLEASE, nix::libc::F_UNLCK) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_writer_is_seen_before_and_during_the_lease() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        std::fs::write(&p, "a: 1\n").expect("write");
        let reader = File::open(&p).expect("open");
        {
            let _other_reader = File::open(&p).expect("open");
            let lease = match ask(&reader) {
                Asked::Held(l) => l,
                Asked::Busy => panic!("readers do not make a file busy"),
                Asked::Unsupported(e) => {
                    eprintln!("leases unsupported here ({e}); nothing to test");
                    return;
                }
            };
            assert!(lease.intact());
            let path = p.clone();
            // The writer's open waits for the lease to go; it runs on its own thread.
            let writer = std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().write(true).open(&path).expect("open for writing");
                f.write_all(b"a: 2\n").expect("write");
            });
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while lease.intact() {
                assert!(std::time::Instant::now() < deadline, "the writer's open never broke the lease");
                std::thread::yield_now();
            }
            drop(lease);
            writer.join().expect("writer");
        }
        let _writer = std::fs::OpenOptions::new().append(true).open(&p).expect("open for writing");
        assert!(matches!(ask(&reader), Asked::Busy));
    }
}
