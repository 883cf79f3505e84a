//! Process facts the harness reads; starting and supervising the service processes is
//! `egide_testkit::Supervised`'s job (they die with the test process however it dies).

use std::{ffi::OsString, path::Path};

use anyhow::{Context as _, anyhow};

/// Environment pairs as the supervisor takes them.
pub fn os_envs(envs: Vec<(String, String)>) -> Vec<(OsString, OsString)> {
    envs.into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

/// The resident set size of `pid` in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or_else(|| anyhow!("no VmRSS for pid {pid}"))?;
    let kib: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("VmRSS {line:?}"))?;
    Ok(kib * 1024)
}

/// The last `max` bytes of `path` (lossy UTF-8).
pub fn tail(path: &Path, max: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max);
    let text = String::from_utf8_lossy(&bytes[start..]).into_owned();
    if start > 0 {
        format!("…{text}")
    } else {
        text
    }
}
