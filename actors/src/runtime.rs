//! The actix System on a multi-threaded tokio runtime, so tokio-spawned network work (noise,
//! yamux, the driver) uses every core while actors keep actix's mailbox semantics.

use std::future::Future;

/// Runs `main` inside an actix System backed by a multi-threaded tokio runtime and returns
/// its output once the future completes.
pub fn run_in_system<F, T>(worker_threads: Option<usize>, main: F) -> std::io::Result<T>
where
    F: Future<Output = T>,
{
    let system = actix::System::with_tokio_rt(move || {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().thread_name("rwaku-worker");
        if let Some(n) = worker_threads {
            builder.worker_threads(n.max(1));
        }
        builder
            .build()
            .unwrap_or_else(|e| panic!("cannot build the tokio runtime: {e}"))
    });
    Ok(system.block_on(main))
}
