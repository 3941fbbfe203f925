//! Logging: tracing with nwaku's level names; `RUST_LOG` overrides `--log-level`.

use tracing_subscriber::EnvFilter;

fn directive(level: &str) -> &'static str {
    match level.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "NOTICE" | "INFO" => "info",
        "WARN" => "warn",
        _ => "error",
    }
}

pub fn init(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{},libp2p_gossipsub=warn,multistream_select=warn,yamux=warn",
            directive(level)
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
