//! The binaries' command line: help, bad values, clean shutdown.

use std::process::Command;

use rwaku_integration_tests::process::{NodeProcess, binary};

const FLAGS: [&str; 20] = [
    "--config-file",
    "--cluster-id",
    "--shard",
    "--nodekey",
    "--listen-address",
    "--tcp-port",
    "--websocket-support",
    "--websocket-port",
    "--staticnode",
    "--max-connections",
    "--rest",
    "--rest-address",
    "--rest-port",
    "--metrics-server",
    "--metrics-server-port",
    "--log-level",
    "--data-dir",
    "--dump-config",
    "--relay",
    "--num-shards-in-network",
];

#[test]
fn help_lists_the_flags_on_every_binary() -> anyhow::Result<()> {
    for name in ["rwaku", "rwaku-relay", "rwaku-store"] {
        let out = Command::new(binary(name)?).arg("--help").output()?;
        assert!(out.status.success(), "{name} --help failed");
        let help = String::from_utf8_lossy(&out.stdout);
        for flag in FLAGS {
            assert!(
                help.contains(flag),
                "{name} --help does not list {flag}:\n{help}"
            );
        }
    }
    Ok(())
}

#[test]
fn bad_values_exit_non_zero_and_name_the_key() -> anyhow::Result<()> {
    let rwaku = binary("rwaku")?;
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (&["--tcp-port=seventy"], &[], "tcp-port"),
        (&[], &[("RWAKU_LOG_LEVEL", "LOUD")], "log-level"),
        (&["--shard=5000"], &[], "shard"),
        (&[], &[("RWAKU_TCP_PROT", "1")], "tcp-prot"),
    ];
    for (args, env, key) in cases {
        let out = Command::new(&rwaku)
            .args(args)
            .envs(env.iter().copied())
            .arg("--dump-config")
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} {env:?} should fail");
        assert!(
            stderr.contains(key),
            "{args:?} {env:?}: error does not name {key}: {stderr}"
        );
    }
    Ok(())
}

#[test]
fn relay_binary_refuses_a_store() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = Command::new(binary("rwaku-relay")?)
        .args(["--store", "--tcp-port=0", "--rest=false"])
        .arg(format!("--data-dir={}", dir.path().display()))
        .output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("store"));
    Ok(())
}

#[tokio::test]
async fn sigterm_stops_the_node_with_exit_zero() -> anyhow::Result<()> {
    let mut node = NodeProcess::start("solo", &[]).await?;
    let status = node.terminate()?;
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        node.log()
    );
    assert!(node.log().contains("node stopped"));
    Ok(())
}
