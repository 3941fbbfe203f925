//! Real node processes: builds the binaries once per test process, starts one with its own
//! data directory and ports, waits for `/health` READY, and stops it on drop.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use anyhow::Context as _;

use crate::{eventually, free_port, rest};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Path of a binary of the root package, built (debug, default features) on first use.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "rwaku", "--bins"])
            .current_dir(workspace_root())
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("cargo build failed: {status}"))
        }
    });
    built.clone().map_err(anyhow::Error::msg)?;
    let path = target_dir().join("debug").join(name);
    anyhow::ensure!(path.exists(), "binary {} not found", path.display());
    Ok(path)
}

pub struct NodeProcess {
    child: Child,
    pub rest_port: u16,
    pub data_dir: tempfile::TempDir,
    pub name: String,
}

impl NodeProcess {
    /// Starts `rwaku` with REST on a free loopback port, libp2p on a free TCP port, its own
    /// data directory, and `args`; waits until `/health` says READY.
    pub async fn start(name: &str, args: &[String]) -> anyhow::Result<Self> {
        Self::start_binary("rwaku", name, args).await
    }

    pub async fn start_binary(
        binary_name: &str,
        name: &str,
        args: &[String],
    ) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let rest_port = free_port();
        let mut command = Command::new(binary(binary_name)?);
        command
            .arg(format!("--rest-port={rest_port}"))
            .arg(format!("--tcp-port={}", free_port()))
            .arg("--listen-address=127.0.0.1")
            .arg(format!("--data-dir={}", data_dir.path().display()))
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("RWAKU_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(data_dir.path().join("node.log")).context("log file")?,
            ));
        let child = command.spawn().context("spawning node")?;
        let mut node = Self {
            child,
            rest_port,
            data_dir,
            name: name.to_string(),
        };
        let base = node.rest_base();
        let ready = eventually(Duration::from_secs(30), &format!("{name} READY"), || {
            let base = base.clone();
            async move {
                let health = rest::get_json(&format!("{base}/health")).await.ok()?;
                (health["nodeHealth"] == "READY").then_some(())
            }
        })
        .await;
        if let Err(e) = ready {
            let exited = node.child.try_wait().ok().flatten();
            anyhow::bail!("{e}; exited: {exited:?}; log:\n{}", node.log());
        }
        Ok(node)
    }

    pub fn rest_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.rest_port)
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("node.log")).unwrap_or_default()
    }

    /// The node's TCP multiaddr with `/p2p/<id>`, from `/info`.
    pub async fn tcp_multiaddr(&self) -> anyhow::Result<String> {
        let info = rest::get_json(&format!("{}/info", self.rest_base())).await?;
        info["listenAddresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/") && !a.contains("/ws"))
            .map(String::from)
            .context("no loopback TCP address in /info")
    }

    pub fn peer_id_of(multiaddr: &str) -> Option<&str> {
        multiaddr.rsplit("/p2p/").next()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        anyhow::bail!("{} did not exit within 10 s of SIGTERM", self.name)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.name, self.log());
        }
    }
}
