//! Port leases for servers that must listen on a port chosen before they start.
//!
//! Our own processes bind port 0 and report the address they got. Third-party servers
//! (PostgreSQL, OpenBao) cannot report one, and every server that is killed and restarted
//! in a fault test must come back on the *same* port, or its clients lose it. Picking a
//! port by binding port 0 and closing the socket races with everything else on the
//! machine: the kernel hands the same port to the next `bind(0)` or outgoing `connect` of
//! any process, a test running beside us included. So a port a test hands to a server is
//! **leased**, never picked and released:
//!
//! * it lies outside the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`),
//!   so no `bind(0)` and no outgoing connection on this machine is ever given it;
//! * it is held by an exclusive `flock` on `/tmp/egide-port-leases/<port>.lock` for the whole
//!   life of the [`PortLease`], so no other lessee — another test of this binary, another
//!   test binary, a second `cargo test` beside this one — takes it, even while the server on
//!   it is down between a kill and a restart. The lock dies with the process however it
//!   dies; there is nothing to clean up;
//! * it was bindable on loopback when leased (a process that is not one of ours may
//!   hold it).
//!
//! What remains is a process that is not ours binding that very port explicitly between
//! the lease and the server's own bind. The server then fails with "address already in
//! use", which [`crate::process::wait_ready`] tells apart from any other failure (and from
//! another server answering on that port: readiness requires that the listening socket
//! belong to our server), and [`retry_on_new_ports`] starts it again on fresh leases.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::hash::{BuildHasher, RandomState};
use std::net::TcpListener;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::process::AddrInUse;

/// The directory of the lease lock files, shared by every user of the machine.
const LEASE_DIR: &str = "/tmp/egide-port-leases";

/// Ports below this are left alone (well-known services, `egide dev up`'s defaults).
const LOWEST: u16 = 20_000;

/// How many candidate ports [`PortLease::acquire`] tries before giving up.
const TRIES: usize = 2_000;

/// How many times a server is started on fresh leases when its port was taken.
const STARTS: usize = 5;

/// `count` consecutive loopback ports, held until dropped (see the module docs).
///
/// A lease with no server on it is also a port that stays closed: neither the kernel nor
/// any of our processes binds a leased port, so connections to [`addr`](Self::addr) are
/// refused for as long as the lease lives — what a test of an unreachable peer needs.
#[derive(Debug)]
pub struct PortLease {
    first: u16,
    count: u16,
    _locks: Vec<File>,
}

impl PortLease {
    /// Leases one port.
    pub fn one() -> Result<PortLease> {
        Self::acquire(1)
    }

    /// Leases `count` consecutive ports (OpenBao takes its API port and the next one).
    pub fn acquire(count: u16) -> Result<PortLease> {
        if count == 0 {
            bail!("a port lease needs at least one port");
        }
        let dir = lease_dir()?;
        let ranges = candidate_ranges(count);
        let total: u32 = ranges.iter().map(|r| u32::from(r.end - r.start)).sum();
        if total == 0 {
            bail!("no loopback port range outside the kernel's ephemeral ports is left to lease");
        }
        let random = RandomState::new();
        for attempt in 0..TRIES {
            let mut pick = (random.hash_one(attempt) % u64::from(total)) as u32;
            let Some(first) = ranges.iter().find_map(|r| {
                let len = u32::from(r.end - r.start);
                if pick < len {
                    Some(r.start + pick as u16)
                } else {
                    pick -= len;
                    None
                }
            }) else {
                continue;
            };
            if let Some(locks) = try_lease(&dir, first, count)? {
                return Ok(PortLease {
                    first,
                    count,
                    _locks: locks,
                });
            }
        }
        bail!(
            "no {count} free consecutive loopback port(s) to lease after {TRIES} tries (leases in {LEASE_DIR})"
        )
    }

    /// The (first) leased port.
    pub fn port(&self) -> u16 {
        self.first
    }

    /// `127.0.0.1:port` of the (first) leased port.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.first))
    }

    /// All leased ports.
    pub fn ports(&self) -> Range<u16> {
        self.first..self.first + self.count
    }
}

/// Starts a server with `start(ports)` on fresh leases of the given sizes (one lease per
/// entry of `counts`), and again on new leases when it reports [`AddrInUse`]: the one place
/// where a port taken by someone else is handled. Any other error is returned at once.
pub(crate) fn retry_on_new_ports<T>(
    what: &str,
    counts: &[u16],
    mut start: impl FnMut(&[u16]) -> Result<T>,
) -> Result<(T, Vec<PortLease>)> {
    let mut last = None;
    for attempt in 1..=STARTS {
        let leases = counts
            .iter()
            .map(|&n| PortLease::acquire(n))
            .collect::<Result<Vec<_>>>()?;
        let ports: Vec<u16> = leases.iter().map(PortLease::port).collect();
        match start(&ports) {
            Ok(started) => return Ok((started, leases)),
            Err(e) if e.is::<AddrInUse>() => {
                tracing::warn!(
                    attempt,
                    ?ports,
                    "egide-testkit: {what}: a port was taken by another process; starting again on new ports"
                );
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last
        .unwrap_or_else(|| anyhow::anyhow!("no start attempted"))
        .context(format!(
            "{what}: its port was taken {STARTS} times in a row"
        )))
}

/// Locks and probes `first..first + count`; `None` when any of them is not free.
fn try_lease(dir: &Path, first: u16, count: u16) -> Result<Option<Vec<File>>> {
    let mut locks = Vec::with_capacity(usize::from(count));
    for port in first..first + count {
        let path = dir.join(format!("{port}.lock"));
        let file = open_lock(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        // Held by a process that is not one of ours (or a server of an earlier run that
        // is still shutting down).
        if TcpListener::bind(("127.0.0.1", port)).is_err() {
            return Ok(None);
        }
        locks.push(file);
    }
    Ok(Some(locks))
}

/// Opens (creating if needed) a lock file; read-only is enough for `flock`, and is all
/// another user's file allows.
fn open_lock(path: &Path) -> Result<File> {
    match File::open(path) {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let _ = crate::process::set_mode(path, 0o666);
            Ok(f)
        }
        Err(e) => Err(e).with_context(|| format!("opening {}", path.display())),
    }
}

fn lease_dir() -> Result<PathBuf> {
    let dir = PathBuf::from(LEASE_DIR);
    if !dir.is_dir() {
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // Every user of the machine leases from the same set of ports.
        let _ = crate::process::set_mode(&dir, 0o1777);
    }
    Ok(dir)
}

/// The ranges whose every start leaves room for `count` ports outside the ephemeral range.
fn candidate_ranges(count: u16) -> Vec<Range<u16>> {
    let (low, high) = ephemeral_range();
    let spans = [
        (LOWEST, low.saturating_sub(1)),
        // Up to 65534, so that every range end below fits in a `u16`.
        (high.saturating_add(1).max(LOWEST), u16::MAX - 1),
    ];
    spans
        .into_iter()
        .filter(|&(a, b)| a <= b && b - a + 1 >= count)
        // `start..end` where every start leaves `count` ports up to `b` inclusive.
        .map(|(a, b)| a..(b - count + 2).max(a))
        .filter(|r| !r.is_empty())
        .collect()
}

/// The kernel's ephemeral port range; Linux's default when it cannot be read.
fn ephemeral_range() -> (u16, u16) {
    parse_range(&fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default())
        .unwrap_or((32_768, 60_999))
}

fn parse_range(text: &str) -> Option<(u16, u16)> {
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    match (it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b))) if a <= b => Some((a, b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernel_range() {
        assert_eq!(parse_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_range("60999 32768"), None);
        assert_eq!(parse_range(""), None);
    }

    #[test]
    fn candidates_avoid_the_ephemeral_range() {
        let (low, high) = ephemeral_range();
        for count in [1, 2, 12] {
            for r in candidate_ranges(count) {
                assert!(r.start >= LOWEST);
                let last = u32::from(r.end - 1) + u32::from(count) - 1;
                let outside = last < u32::from(low) || u32::from(r.start) > u32::from(high);
                assert!(outside, "{r:?} (+{count}) overlaps {low}-{high}");
                assert!(last <= u32::from(u16::MAX));
            }
        }
    }

    #[test]
    fn a_leased_port_is_not_leased_twice_until_dropped() {
        let leases: Vec<PortLease> = (0..50).map(|_| PortLease::one().unwrap()).collect();
        let mut ports: Vec<u16> = leases.iter().map(PortLease::port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 50, "a port was leased twice");
        let port = leases[0].port();
        let dir = lease_dir().unwrap();
        assert!(try_lease(&dir, port, 1).unwrap().is_none(), "held lease");
    }

    #[test]
    fn a_taken_port_is_retried_on_new_leases_and_other_errors_are_not() {
        let mut tried = Vec::new();
        let (value, leases) = retry_on_new_ports("test", &[1, 2], |p| {
            tried.push(p.to_vec());
            if tried.len() < 3 {
                Err(AddrInUse("taken".into()).into())
            } else {
                Ok(7)
            }
        })
        .unwrap();
        assert_eq!(value, 7);
        assert_eq!(tried.len(), 3);
        assert_eq!(leases.len(), 2);
        assert_eq!(leases[1].ports().len(), 2);
        assert_eq!(tried[2], vec![leases[0].port(), leases[1].port()]);

        let mut calls = 0;
        let err = retry_on_new_ports("test", &[1], |_| -> Result<()> {
            calls += 1;
            bail!("broken")
        })
        .unwrap_err();
        assert_eq!(calls, 1, "{err:#}");

        let err = retry_on_new_ports("test", &[1], |_| -> Result<()> {
            Err(AddrInUse("always".into()).into())
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("taken 5 times"), "{err:#}");
    }

    #[test]
    fn a_run_of_ports_is_consecutive_and_free() {
        let lease = PortLease::acquire(3).unwrap();
        assert_eq!(lease.ports().len(), 3);
        for p in lease.ports() {
            // Free for the server (the lease holds a lock file, not a socket).
            drop(TcpListener::bind(("127.0.0.1", p)).unwrap());
        }
    }

    #[test]
    fn a_port_in_use_by_a_stranger_is_skipped() {
        let lease = PortLease::one().unwrap();
        let port = lease.port();
        drop(lease);
        let _stranger = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let dir = lease_dir().unwrap();
        assert!(try_lease(&dir, port, 1).unwrap().is_none());
    }
}
