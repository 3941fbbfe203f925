//! An in-process node: the same Supervisor the binaries use, with the plugins a test picks,
//! inside an actix System on a multi-threaded tokio runtime.

use std::future::Future;

use rwaku_actors::{NodePlugin, Supervisor, supervisor::RunningNode};
use rwaku_core::NodeConfig;

/// Runs a test body inside an actix System (the runtime every actor needs).
pub fn run<F, T>(body: F) -> T
where
    F: Future<Output = T>,
{
    rwaku_actors::runtime::run_in_system(Some(2), body)
        .unwrap_or_else(|e| panic!("actix system: {e}"))
}

/// Starts a node on loopback TCP with a free port, a temporary data dir and `plugins`.
pub async fn start_tcp(
    mut config: NodeConfig,
    plugins: Vec<NodePlugin>,
) -> anyhow::Result<(RunningNode, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    config.data_dir = dir.path().to_path_buf();
    config.listen_address = [127, 0, 0, 1].into();
    config.tcp_port = 0;
    config.rest = false;
    let node = Supervisor::new(config, plugins).start().await?;
    Ok((node, dir))
}
