//! INFO, CONFIG and CLIENT as tools read them, side by side with a real `redis-server`:
//! INFO's sections and field names (with the list of Redis fields quorum leaves out, which
//! must not grow), the same command/error counts as Redis after the same commands, CONFIG
//! SET/GET per node, CLIENT KILL's filters closing the right connections, and Debian's
//! `prometheus-redis-exporter` scraping a quorum node.
//!
//! Not here: byte-for-byte replies of CONFIG and CLIENT errors (`parity/server.redis`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{roles, Raw};
use quorum_testkit::{poll_until, start_redis_server, which, RedisServer};

/// Redis 7.0 fields quorum leaves out, by section: it has no such quantity (allocator and Lua
/// memory, replication ids, RDB load counts, per-thread CPU) or cannot count it yet. The test
/// fails if this list grows (a field went missing) or goes stale (a field was added).
#[rustfmt::skip]
const LEFT_OUT: &[(&str, &[&str])] = &[
    ("Server", &[]),
    ("Clients", &["clients_in_timeout_table"]),
    ("Memory", &[
        "used_memory_overhead", "used_memory_startup", "used_memory_dataset",
        "used_memory_dataset_perc", "allocator_allocated", "allocator_active",
        "allocator_resident", "used_memory_lua", "used_memory_vm_eval", "used_memory_lua_human",
        "used_memory_scripts_eval", "number_of_cached_scripts", "number_of_functions",
        "number_of_libraries", "used_memory_vm_functions", "used_memory_vm_total",
        "used_memory_vm_total_human", "used_memory_functions", "used_memory_scripts",
        "used_memory_scripts_human", "allocator_frag_ratio", "allocator_frag_bytes",
        "allocator_rss_ratio", "allocator_rss_bytes", "rss_overhead_ratio", "rss_overhead_bytes",
        "mem_not_counted_for_evict", "mem_replication_backlog", "mem_total_replication_buffers",
        "mem_clients_slaves", "mem_clients_normal", "mem_cluster_links", "mem_aof_buffer",
        "mem_allocator", "lazyfree_pending_objects", "lazyfreed_objects",
    ]),
    ("Persistence", &[
        "rdb_saves", "rdb_last_cow_size", "rdb_last_load_keys_expired", "rdb_last_load_keys_loaded",
    ]),
    ("Stats", &[
        "total_net_repl_input_bytes", "total_net_repl_output_bytes",
        "instantaneous_input_repl_kbps", "instantaneous_output_repl_kbps", "sync_full",
        "sync_partial_ok", "sync_partial_err", "expired_stale_perc",
        "expired_time_cap_reached_count", "expire_cycle_cpu_milliseconds",
        "dump_payload_sanitizations", "reply_buffer_shrinks", "reply_buffer_expands",
    ]),
    ("Replication", &["master_replid", "master_replid2", "repl_backlog_size"]),
    ("CPU", &["used_cpu_sys_main_thread", "used_cpu_user_main_thread"]),
    ("Cluster", &[]),
];

/// `INFO` text as `(section, field names)` in order.
fn sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("# ") {
            out.push((name.to_string(), Vec::new()));
        } else if let Some((field, _)) = line.split_once(':') {
            let section = out.last_mut().expect("a field before any section");
            section.1.push(field.to_string());
        }
    }
    out
}

fn section_names(text: &str) -> Vec<String> {
    sections(text).into_iter().map(|(name, _)| name).collect()
}

/// A command's reply as a string (INFO's bulk text, an error's text).
fn text(conn: &mut Raw, args: &[&str]) -> String {
    let reply = conn.cmd(args);
    match reply.split_once("\r\n") {
        Some((head, body)) if head.starts_with('$') => body.trim_end_matches("\r\n").to_string(),
        _ => reply,
    }
}

fn redis() -> RedisServer {
    start_redis_server(&[])
        .expect("start redis-server")
        .expect("redis-server is not installed: ./scripts/test installs Debian's redis-server")
}

#[test]
fn info_has_redis_sections_and_field_names() {
    let redis = redis();
    let mut cluster = common::cluster(&[]);
    let (leader, _) = roles(&mut cluster);
    let mut ours = Raw::connect(cluster.node(leader).resp_addr());
    let mut theirs = Raw::connect(redis.addr().parse().unwrap());
    for conn in [&mut ours, &mut theirs] {
        assert_eq!(conn.cmd(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(conn.cmd(&["GET", "k"]), "$1\r\nv\r\n");
    }

    let everything = text(&mut ours, &["INFO", "everything"]);
    let redis_everything = text(&mut theirs, &["INFO", "everything"]);
    let mut expected_names = section_names(&redis_everything);
    expected_names.push("Raft".into());
    assert_eq!(section_names(&everything), expected_names);
    // Default sections, `all`, several names (in Redis's order, unknown ones ignored).
    for args in [
        &["INFO"][..],
        &["INFO", "default"],
        &["INFO", "all"],
        &["INFO", "DEFAULT", "commandstats"],
        &["INFO", "cpu", "nosuch", "Clients"],
        &["INFO", "nosuch"],
        &["INFO", "keyspace", "everything"],
    ] {
        let mut expected = section_names(&text(&mut theirs, args));
        let ours_names = section_names(&text(&mut ours, args));
        if ours_names.last().map(String::as_str) == Some("Raft") {
            expected.push("Raft".into());
        }
        assert_eq!(ours_names, expected, "{args:?}");
    }
    assert_eq!(text(&mut ours, &["INFO", "nosuch"]), "");

    let ours_fields: BTreeMap<String, Vec<String>> = sections(&everything).into_iter().collect();
    let mut problems = Vec::new();
    for (section, redis_fields) in sections(&redis_everything) {
        let Some(&(_, left_out)) = LEFT_OUT.iter().find(|(name, _)| *name == section) else {
            continue;
        };
        let have: BTreeSet<&String> = ours_fields[&section].iter().collect();
        let missing: BTreeSet<&str> = redis_fields
            .iter()
            .filter(|f| !have.contains(f))
            .map(String::as_str)
            .collect();
        let listed: BTreeSet<&str> = left_out.iter().copied().collect();
        if missing != listed {
            problems.push(format!(
                "{section}: missing but not listed: {:?}; listed but present: {:?}",
                missing.difference(&listed).collect::<Vec<_>>(),
                listed.difference(&missing).collect::<Vec<_>>()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The values tools key on.
    let info = |field: &str| {
        everything
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {everything}"))
            .to_string()
    };
    assert_eq!(info("cluster_enabled"), "0");
    assert_eq!(info("maxmemory_policy"), "noeviction");
    assert_eq!(info("role"), "master");
    assert!(info("used_memory").parse::<u64>().unwrap() > 0);
    assert!(info("total_net_input_bytes").parse::<u64>().unwrap() > 0);
    assert!(info("used_cpu_user").parse::<f64>().is_ok());
    assert!(info("db0").starts_with("keys=1,"));
}

/// The `cmdstat_` lines without their times, the `errorstat_` lines, the commands with a
/// latency line, and `total_error_replies`.
fn counts(conn: &mut Raw) -> (BTreeSet<String>, Vec<String>, BTreeSet<String>, String) {
    let info = text(conn, &["INFO", "everything"]);
    let commandstats = info
        .lines()
        .filter(|l| l.starts_with("cmdstat_"))
        .map(|l| {
            let (name, rest) = l.split_once(':').unwrap();
            let kept: Vec<&str> = rest
                .split(',')
                .filter(|kv| kv.starts_with("calls=") || kv.contains("_calls="))
                .collect();
            format!("{name}:{}", kept.join(","))
        })
        .collect();
    let errorstats = info
        .lines()
        .filter(|l| l.starts_with("errorstat_"))
        .map(String::from)
        .collect();
    let latency = info
        .lines()
        .filter_map(|l| l.strip_prefix("latency_percentiles_usec_"))
        .map(|l| {
            let (name, rest) = l.split_once(':').unwrap();
            let quantiles: Vec<&str> = rest
                .split(',')
                .map(|q| q.split('=').next().unwrap())
                .collect();
            format!("{name}:{}", quantiles.join(","))
        })
        .collect();
    let errors = info
        .lines()
        .find_map(|l| l.strip_prefix("total_error_replies:"))
        .unwrap()
        .to_string();
    (commandstats, errorstats, latency, errors)
}

#[test]
fn command_and_error_counts_match_redis_after_the_same_commands() {
    let redis = redis();
    let mut cluster = common::cluster(&[]);
    let (_, followers) = roles(&mut cluster);
    // Through a follower: writes are forwarded, reads are served there; counted here.
    let mut ours = Raw::connect(cluster.node(followers[0]).resp_addr());
    let mut theirs = Raw::connect(redis.addr().parse().unwrap());
    let script: &[&[&str]] = &[
        &["CONFIG", "RESETSTAT"],
        &["SET", "a", "1"],
        &["GET", "a"],
        &["GET", "missing"],
        &["LPUSH", "a", "x"],
        &["GET"],
        &["nosuch", "x"],
        &["CLIENT", "ID"],
        &["CLIENT", "nosuch"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "SET", "nosuch", "1"],
        &["MULTI"],
        &["INCR", "a"],
        &["EXEC"],
        &["HSET", "h", "f", "v"],
        &["HGET", "h", "f"],
    ];
    for args in script {
        let (a, b) = (ours.cmd(args), theirs.cmd(args));
        if !args[0].eq_ignore_ascii_case("client") {
            assert_eq!(a, b, "{args:?}");
        }
    }
    let (ours_counts, theirs_counts) = (counts(&mut ours), counts(&mut theirs));
    assert_eq!(ours_counts.0, theirs_counts.0, "commandstats");
    assert_eq!(ours_counts.1, theirs_counts.1, "errorstats");
    assert_eq!(ours_counts.2, theirs_counts.2, "latencystats");
    assert_eq!(ours_counts.3, theirs_counts.3, "total_error_replies");
    // CONFIG RESETSTAT forgets them all; only itself is counted afterwards, as in Redis.
    for conn in [&mut ours, &mut theirs] {
        assert_eq!(conn.cmd(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    }
    let (ours_counts, theirs_counts) = (counts(&mut ours), counts(&mut theirs));
    assert_eq!(ours_counts, theirs_counts);
    assert_eq!(
        ours_counts.0.into_iter().collect::<Vec<_>>(),
        ["cmdstat_config|resetstat:calls=1,rejected_calls=0,failed_calls=0"]
    );
}

#[test]
fn config_set_is_per_node_and_refuses_what_quorum_cannot_do() {
    let mut cluster = common::cluster(&["--maxmemory", "1000000"]);
    let (leader, followers) = roles(&mut cluster);
    let mut one = Raw::connect(cluster.node(followers[0]).resp_addr());
    let mut other = Raw::connect(cluster.node(leader).resp_addr());
    let get = |conn: &mut Raw, name: &str| conn.cmd(&["CONFIG", "GET", name]);
    let pair = |name: &str, value: &str| {
        format!(
            "*2\r\n${}\r\n{name}\r\n${}\r\n{value}\r\n",
            name.len(),
            value.len()
        )
    };
    assert_eq!(
        one.cmd(&[
            "CONFIG",
            "SET",
            "hash-max-listpack-entries",
            "1000",
            "zset-max-ziplist-value",
            "1kb"
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        get(&mut one, "hash-max-listpack-entries"),
        pair("hash-max-listpack-entries", "1000")
    );
    assert_eq!(
        get(&mut one, "zset-max-listpack-value"),
        pair("zset-max-listpack-value", "1024")
    );
    // Per node, as Redis's CONFIG is per server.
    assert_eq!(
        get(&mut other, "hash-max-listpack-entries"),
        pair("hash-max-listpack-entries", "512")
    );
    // What the node started with is reported, accepted again, and nothing else is.
    assert_eq!(get(&mut one, "maxmemory"), pair("maxmemory", "1000000"));
    assert_eq!(
        one.cmd(&["CONFIG", "SET", "maxmemory", "1000000"]),
        "+OK\r\n"
    );
    for (name, value, reason) in [
        (
            "maxmemory",
            "2000000",
            "quorum sets it with --maxmemory when the node starts",
        ),
        (
            "maxmemory-policy",
            "allkeys-lru",
            "quorum supports only noeviction",
        ),
        (
            "appendonly",
            "no",
            "every write goes through the Raft log; it cannot be turned off",
        ),
        (
            "notify-keyspace-events",
            "KEA",
            "quorum has no keyspace notifications",
        ),
    ] {
        assert_eq!(
            one.cmd(&["CONFIG", "SET", name, value]),
            format!(
                "-ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}\r\n"
            )
        );
    }
    assert_eq!(get(&mut one, "appendonly"), pair("appendonly", "yes"));
    assert_eq!(get(&mut one, "appendfsync"), pair("appendfsync", "always"));
    // latency-tracking is read: off, calls add no latency line; the percentiles are INFO's.
    assert_eq!(
        one.cmd(&["CONFIG", "SET", "latency-tracking", "no"]),
        "+OK\r\n"
    );
    assert_eq!(one.cmd(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    one.cmd(&["PING"]);
    assert_eq!(text(&mut one, &["INFO", "latencystats"]), "# Latencystats");
    assert_eq!(
        one.cmd(&[
            "CONFIG",
            "SET",
            "latency-tracking",
            "yes",
            "latency-tracking-info-percentiles",
            "90"
        ]),
        "+OK\r\n"
    );
    one.cmd(&["PING"]);
    let latency = text(&mut one, &["INFO", "latencystats"]);
    assert!(
        latency.contains("latency_percentiles_usec_ping:p90="),
        "{latency}"
    );
}

#[test]
fn client_kill_filters_close_the_matching_connections() {
    let cluster = common::cluster(&[]);
    let addr = cluster.nodes()[0].resp_addr();
    let mut me = Raw::connect(addr);
    let id_of = |conn: &mut Raw| {
        conn.cmd(&["CLIENT", "ID"])
            .trim_start_matches(':')
            .trim()
            .to_string()
    };
    let closed = |conn: &mut Raw| conn.read_to_close(Duration::from_secs(5)).is_some();

    let mut by_id = Raw::connect(addr);
    let id = id_of(&mut by_id);
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", &id]), ":1\r\n");
    assert!(closed(&mut by_id), "CLIENT KILL ID");

    let mut by_addr = Raw::connect(addr);
    let peer = client_field(&mut by_addr, "addr");
    assert_eq!(me.cmd(&["CLIENT", "KILL", &peer]), "+OK\r\n");
    assert!(closed(&mut by_addr), "CLIENT KILL addr:port");
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", &peer]),
        "-ERR No such client\r\n"
    );

    // Every normal client on this local address but the caller (SKIPME yes by default).
    let mut others = [Raw::connect(addr), Raw::connect(addr)];
    for conn in &mut others {
        assert_eq!(conn.cmd(&["PING"]), "+PONG\r\n");
    }
    let laddr = client_field(&mut me, "laddr");
    let killed = me.cmd(&[
        "CLIENT", "KILL", "LADDR", &laddr, "TYPE", "normal", "USER", "default",
    ]);
    assert_eq!(killed, ":2\r\n");
    for conn in &mut others {
        assert!(closed(conn), "CLIENT KILL LADDR");
    }
    assert_eq!(me.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":0\r\n");
    // SKIPME no: the caller gets its reply, then is closed.
    let my_id = id_of(&mut me);
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "ID", &my_id, "SKIPME", "no"]),
        ":1\r\n"
    );
    assert!(closed(&mut me), "CLIENT KILL SKIPME no");
    // CLIENT LIST filters.
    let mut lister = Raw::connect(addr);
    let id = id_of(&mut lister);
    let list = text(&mut lister, &["CLIENT", "LIST", "ID", &id, "999999"]);
    assert!(
        list.starts_with(&format!("id={id} ")) && list.lines().count() == 1,
        "{list}"
    );
    assert_eq!(
        text(&mut lister, &["CLIENT", "LIST", "TYPE", "replica"]),
        ""
    );
    let normal = text(&mut lister, &["CLIENT", "LIST", "TYPE", "normal"]);
    assert!(normal.contains(&format!("id={id} ")), "{normal}");
}

/// A field of this connection's CLIENT INFO line.
fn client_field(conn: &mut Raw, name: &str) -> String {
    let line = text(conn, &["CLIENT", "INFO"]);
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        .to_string()
}

/// `prometheus-redis-exporter`: on `PATH`, or where `./scripts/test` unpacks Debian's package.
fn exporter_binary() -> PathBuf {
    if let Some(path) = which("prometheus-redis-exporter") {
        return path;
    }
    let cache = std::env::var_os("QUORUM_TEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/quorum")))
        .expect("QUORUM_TEST_CACHE or HOME is set");
    let path = cache.join("redis-exporter/root/usr/bin/prometheus-redis-exporter");
    assert!(
        path.is_file(),
        "no prometheus-redis-exporter on PATH or at {}: run ./scripts/test (its install step \
         unpacks Debian's package there)",
        path.display()
    );
    path
}

/// Kills the exporter however the test ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut body = String::new();
    stream
        .read_to_string(&mut body)
        .map_err(|e| e.to_string())?;
    Ok(body)
}

#[test]
fn redis_exporter_scrapes_a_quorum_node() {
    let binary = exporter_binary();
    let cluster = common::cluster(&[]);
    let node = cluster.nodes()[1].resp_addr();
    let mut conn = Raw::connect(node);
    assert_eq!(conn.cmd(&["SET", "k", "v"]), "+OK\r\n");
    let web = quorum_testkit::free_addrs(1).unwrap()[0];
    let _exporter = KillOnDrop(
        Command::new(&binary)
            .arg(format!("-redis.addr=redis://{node}"))
            .arg(format!("-web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display())),
    );
    let metrics = poll_until(
        "the exporter to scrape quorum",
        Duration::from_secs(20),
        Duration::from_millis(200),
        || {
            let body = http_get(web, "/metrics")?;
            Ok(body.lines().any(|l| l == "redis_up 1").then_some(body))
        },
    )
    .unwrap();
    for wanted in [
        "redis_commands_total{cmd=\"set\"} 1",
        "redis_db_keys{db=\"db0\"} 1",
        "redis_connected_clients ",
        "redis_memory_used_bytes ",
        "redis_cpu_user_seconds_total ",
        "redis_aof_enabled 1",
    ] {
        assert!(
            metrics.lines().any(|l| l.starts_with(wanted)),
            "no {wanted:?} in the exporter's metrics"
        );
    }
}
