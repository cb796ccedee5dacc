//! Command-line behaviour that needs no running cluster: defaults documented in `--help`,
//! flag > environment > config file > default precedence (through `--print-config`), and
//! clear errors for bad input.

use std::path::Path;
use std::process::{Command, Output};

const QUORUM: &str = env!("CARGO_BIN_EXE_quorum");

/// The binary with no inherited `QUORUM_*` variables, so the test's environment cannot leak in.
fn quorum() -> Command {
    let mut command = Command::new(QUORUM);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("QUORUM_") {
            command.env_remove(key);
        }
    }
    command
}

fn run(command: &mut Command) -> (bool, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run quorum");
    (
        status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Runs and expects failure with `needle` in stderr.
fn fails_with(command: &mut Command, needle: &str) {
    let (ok, stdout, stderr) = run(command);
    assert!(!ok, "expected failure, got success; stdout:\n{stdout}");
    assert!(
        stderr.contains(needle),
        "stderr lacks `{needle}`:\n{stderr}"
    );
}

fn print_config(command: &mut Command) -> toml::Table {
    let (ok, stdout, stderr) = run(command.arg("--print-config"));
    assert!(ok, "--print-config failed: {stderr}");
    toml::from_str(&stdout)
        .unwrap_or_else(|e| panic!("--print-config is not TOML ({e}):\n{stdout}"))
}

const CLUSTER: &str = "1=127.0.0.1:8001,2=127.0.0.1:8002,3=127.0.0.1:8003";

#[test]
fn help_documents_flags_defaults_and_env() {
    let (ok, help, _) = run(quorum().args(["node", "--help"]));
    assert!(ok);
    for needle in [
        "--data-dir",
        "QUORUM_DATA_DIR",
        "--initial-cluster",
        "[default: 127.0.0.1:7001]",
        "[default: 127.0.0.1:8001]",
        "[default: 127.0.0.1:9001]",
        "--request-timeout-ms",
        "--bulk-bytes-max",
        "--output-buffer-bytes-max",
        "--election-timeout-min-ms",
        "--snapshot-logs-since-last",
        "--config",
        "--log-format",
        "Precedence: flag > environment > file > default",
    ] {
        assert!(
            help.contains(needle),
            "node --help lacks `{needle}`:\n{help}"
        );
    }
    let (ok, help, _) = run(quorum().args(["dev", "--help"]));
    assert!(ok);
    for needle in [
        "--nodes",
        "[default: 3]",
        "--base-port",
        "[default: 7001]",
        "./data/dev",
    ] {
        assert!(
            help.contains(needle),
            "dev --help lacks `{needle}`:\n{help}"
        );
    }
    let (ok, help, _) = run(quorum().args(["cluster", "--help"]));
    assert!(ok);
    for needle in ["add-node", "remove-node", "status"] {
        assert!(
            help.contains(needle),
            "cluster --help lacks `{needle}`:\n{help}"
        );
    }
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.toml");
    std::fs::write(
        &file,
        r#"
id = 2
data-dir = "/from/file"
initial_cluster = ["1=127.0.0.1:8001", "2=127.0.0.1:8002", "3=127.0.0.1:8003"]
listen = "127.0.0.1:7100"
peer_listen = "127.0.0.1:8002"
clients_max = 10
request_timeout_ms = 1234
"#,
    )
    .unwrap();
    let config = print_config(
        quorum()
            .args(["node", "--config"])
            .arg(&file)
            .env("QUORUM_LISTEN", "127.0.0.1:7200")
            .env("QUORUM_CLIENTS_MAX", "20")
            .args(["--clients-max", "30"]),
    );
    assert_eq!(config["id"].as_integer(), Some(2), "file");
    assert_eq!(config["data_dir"].as_str(), Some("/from/file"), "file");
    assert_eq!(
        config["request_timeout_ms"].as_integer(),
        Some(1234),
        "file over default"
    );
    assert_eq!(
        config["listen"].as_str(),
        Some("127.0.0.1:7200"),
        "env over file"
    );
    assert_eq!(
        config["clients_max"].as_integer(),
        Some(30),
        "flag over env"
    );
    assert_eq!(
        config["http_listen"].as_str(),
        Some("127.0.0.1:9001"),
        "default"
    );
    assert_eq!(config["initial_cluster"].as_str(), Some(CLUSTER));

    // QUORUM_CONFIG names the file too, and the printed config round-trips as a config file.
    let printed = dir.path().join("printed.toml");
    std::fs::write(&printed, toml::to_string(&config).unwrap()).unwrap();
    let again = print_config(quorum().arg("node").env("QUORUM_CONFIG", &printed));
    assert_eq!(again, config);
}

#[test]
fn joining_node_needs_no_initial_cluster() {
    let config = print_config(quorum().args(["node", "--id", "4", "--data-dir", "d", "--join"]));
    assert_eq!(config["join"].as_bool(), Some(true));
}

#[test]
fn bad_node_configuration_gets_a_clear_error() {
    let base = ["node", "--data-dir", "d"];
    fails_with(
        quorum().args(base).args(["--initial-cluster", CLUSTER]),
        "missing node id",
    );
    fails_with(
        quorum().args(["node", "--id", "1", "--initial-cluster", CLUSTER]),
        "missing data directory",
    );
    fails_with(
        quorum().args(base).args(["--id", "1"]),
        "pass --initial-cluster",
    );
    fails_with(
        quorum()
            .args(base)
            .args(["--id", "4", "--initial-cluster", CLUSTER]),
        "node 4 is not in --initial-cluster",
    );
    fails_with(
        quorum().args(base).args([
            "--id",
            "1",
            "--initial-cluster",
            "1=127.0.0.1:8001,1=127.0.0.1:8002",
        ]),
        "lists node id 1 twice",
    );
    fails_with(
        quorum()
            .args(base)
            .args(["--id", "1", "--initial-cluster", "1=127.0.0.1"]),
        "has no port",
    );
    fails_with(
        quorum()
            .args(base)
            .args(["--id", "1", "--initial-cluster", "x=127.0.0.1:8001"]),
        "id must be a positive integer",
    );
    fails_with(
        quorum()
            .args(base)
            .args(["--id", "1", "--initial-cluster", CLUSTER, "--join"]),
        "--join",
    );
    fails_with(
        quorum().args(base).args([
            "--id",
            "1",
            "--initial-cluster",
            CLUSTER,
            "--listen",
            "nope",
        ]),
        "invalid value 'nope' for '--listen",
    );
    fails_with(
        quorum().args(base).args([
            "--id",
            "1",
            "--initial-cluster",
            CLUSTER,
            "--http-listen",
            "127.0.0.1:7001",
        ]),
        "--listen and --http-listen are both 127.0.0.1:7001",
    );
    fails_with(
        quorum().args(base).args([
            "--id",
            "1",
            "--initial-cluster",
            CLUSTER,
            "--election-timeout-min-ms",
            "50",
        ]),
        "must be greater than --heartbeat-interval-ms",
    );
    fails_with(
        quorum().args(base).args([
            "--id",
            "1",
            "--initial-cluster",
            CLUSTER,
            "--bulk-bytes-max",
            "0",
        ]),
        "--bulk-bytes-max must be greater than 0",
    );
    fails_with(
        quorum().args(["node", "--no-such-flag"]),
        "unexpected argument '--no-such-flag'",
    );
}

#[test]
fn bad_config_file_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "id = 1\nlisten_addr = \"x\"\n").unwrap();
    fails_with(
        quorum().args(["node", "--config"]).arg(&file),
        "unknown key `listen_addr`",
    );
    std::fs::write(&file, "id = [").unwrap();
    fails_with(
        quorum().args(["node", "--config"]).arg(&file),
        "is not valid TOML",
    );
    fails_with(
        quorum()
            .args(["node", "--config"])
            .arg(Path::new("/nonexistent/quorum.toml")),
        "cannot read config file",
    );
}

#[test]
fn cluster_command_reports_unreachable_endpoint() {
    // Port 1 on loopback is essentially never listening.
    fails_with(
        quorum().args([
            "cluster",
            "status",
            "--endpoint",
            "127.0.0.1:1",
            "--timeout-ms",
            "2000",
        ]),
        "cannot connect to 127.0.0.1:1",
    );
}

#[test]
fn dev_refuses_a_data_dir_made_with_other_settings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dev.toml"), "nodes = 5\nbase_port = 7001\n").unwrap();
    fails_with(
        quorum()
            .args(["dev", "--nodes", "3", "--data-dir"])
            .arg(dir.path()),
        "holds a cluster made with --nodes 5 --base-port 7001",
    );
    fails_with(
        quorum().args(["dev", "--base-port", "65400"]),
        "leaves no room",
    );
}
