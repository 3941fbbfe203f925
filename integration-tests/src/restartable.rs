//! A node process that can be stopped and started again with the same data directory (so the
//! same node key and peer id) and the same ports (so peers' static node addresses still
//! point at it), for scenarios where a node restarts in the middle of a network.

use std::{
    fs::File,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use anyhow::Context as _;

use crate::{eventually, free_port, process::binary, rest};

pub struct RestartableNode {
    pub name: String,
    pub rest_port: u16,
    pub tcp_port: u16,
    pub data_dir: tempfile::TempDir,
    args: Vec<String>,
    child: Option<Child>,
}

fn log_path(dir: &Path) -> std::path::PathBuf {
    dir.join("node.log")
}

impl RestartableNode {
    /// Starts `rwaku` with fixed free ports, its own data directory and `args`; waits until
    /// `/health` says READY.
    pub async fn start(name: &str, args: &[String]) -> anyhow::Result<Self> {
        let mut node = Self {
            name: name.to_string(),
            rest_port: free_port(),
            tcp_port: free_port(),
            data_dir: tempfile::tempdir()?,
            args: args.to_vec(),
            child: None,
        };
        node.spawn().await?;
        Ok(node)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        // Appended to, so the log of every run of the node stays readable in one place.
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path(self.data_dir.path()))
            .context("log file")?;
        let child = Command::new(binary("rwaku")?)
            .arg(format!("--rest-port={}", self.rest_port))
            .arg(format!("--tcp-port={}", self.tcp_port))
            .arg("--listen-address=127.0.0.1")
            .arg(format!("--data-dir={}", self.data_dir.path().display()))
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("RWAKU_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .context("spawning node")?;
        self.child = Some(child);
        let base = self.rest_base();
        let ready = eventually(
            Duration::from_secs(30),
            &format!("{} READY", self.name),
            || {
                let base = base.clone();
                async move {
                    let health = rest::get_json(&format!("{base}/health")).await.ok()?;
                    (health["nodeHealth"] == "READY").then_some(())
                }
            },
        )
        .await;
        if let Err(e) = ready {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            anyhow::bail!("{e}; exited: {exited:?}; log:\n{}", self.log());
        }
        Ok(())
    }

    pub fn rest_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.rest_port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(log_path(self.data_dir.path())).unwrap_or_default()
    }

    /// The node's loopback TCP multiaddr with `/p2p/<id>`, from `/info`.
    pub async fn tcp_multiaddr(&self) -> anyhow::Result<String> {
        let info = rest::get_json(&format!("{}/info", self.rest_base())).await?;
        let prefix = format!("/ip4/127.0.0.1/tcp/{}/", self.tcp_port);
        info["listenAddresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .find(|a| a.starts_with(&prefix))
            .map(String::from)
            .context("no loopback TCP address in /info")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let child = self.child.as_mut().context("not running")?;
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        for _ in 0..100 {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        anyhow::bail!("{} did not exit within 10 s of SIGTERM", self.name)
    }

    /// Starts the node again with the same data directory, ports and flags.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.child.is_none(), "{} is still running", self.name);
        self.spawn().await
    }
}

impl Drop for RestartableNode {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Ok(None) = child.try_wait()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.name, self.log());
        }
    }
}
