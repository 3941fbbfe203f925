//! Benchmark: cold start of the `rwaku` binary to `/health` READY (fresh data directory, so
//! the node key is generated too), and the idle RSS of a node with no peers.
//! Run: `cargo bench --bench node_startup`. Prints median, min and max over several starts.

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const STARTS: usize = 11;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn health_ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.contains("\"nodeHealth\":\"READY\"")
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let binary = env!("CARGO_BIN_EXE_rwaku");
    let mut starts = Vec::new();
    let mut rss = Vec::new();
    for i in 0..STARTS {
        let dir =
            std::env::temp_dir().join(format!("rwaku-bench-start-{}-{i}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rest_port = free_port();
        let started = Instant::now();
        let mut child = match Command::new(binary)
            .arg(format!("--rest-port={rest_port}"))
            .arg(format!("--tcp-port={}", free_port()))
            .arg("--listen-address=127.0.0.1")
            .arg(format!("--data-dir={}", dir.display()))
            .arg("--log-level=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("cannot start {binary}: {e}");
                std::process::exit(1);
            }
        };
        let mut ready = false;
        while started.elapsed() < Duration::from_secs(10) {
            if health_ready(rest_port) {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if ready {
            starts.push(elapsed);
            std::thread::sleep(Duration::from_secs(2));
            if let Some(kib) = rss_kib(child.id()) {
                rss.push(kib as f64 / 1024.0);
            }
        } else {
            eprintln!("start {i}: not READY within 10 s");
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }
    if starts.is_empty() {
        eprintln!("no start reached READY");
        std::process::exit(1);
    }
    let (median, min, max) = summary(starts);
    println!("node_startup: {STARTS} cold starts of {binary} (fresh data dir, key generated)");
    println!(
        "  start to /health READY   median {median:6.1} ms   min {min:6.1}   max {max:6.1}   (goal < 300 ms)"
    );
    if !rss.is_empty() {
        let (median, min, max) = summary(rss);
        println!(
            "  idle RSS after 2 s       median {median:6.1} MiB  min {min:6.1}   max {max:6.1}   (goal < 30 MB)"
        );
    }
}
