//! `--maxmemory` with Redis's `noeviction` behaviour on a real cluster: past the limit, writes
//! that may grow memory get Redis's exact `-OOM` error and change nothing, on every node
//! alike; deletions and reads still work, and writes resume once memory is back under.

mod common;

use common::load::connect;
use common::roles;

#[test]
fn past_maxmemory_growing_writes_get_oom_and_deletes_bring_memory_back() {
    let mut cluster = common::cluster(&["--maxmemory", "4000"]);
    let (_, followers) = roles(&mut cluster);
    // Through a follower: the leader's limit is stamped on the forwarded write.
    let mut conn = connect(cluster.node(followers[0]).resp_addr()).unwrap();
    let big = "x".repeat(5000);
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut conn)
        .unwrap();
    let err = redis::cmd("SET")
        .arg("more")
        .arg("1")
        .query::<()>(&mut conn)
        .unwrap_err();
    assert_eq!(err.code(), Some("OOM"), "{err}");
    assert_eq!(
        err.detail(),
        Some("command not allowed when used memory > 'maxmemory'.")
    );
    // In MULTI, queueing is refused as in Redis, and EXEC then aborts.
    let _: () = redis::cmd("MULTI").query(&mut conn).unwrap();
    let err = redis::cmd("LPUSH")
        .arg("q")
        .arg("job")
        .query::<()>(&mut conn)
        .unwrap_err();
    assert_eq!(err.code(), Some("OOM"), "{err}");
    let err = redis::cmd("EXEC").query::<()>(&mut conn).unwrap_err();
    assert_eq!(err.code(), Some("EXECABORT"), "{err}");
    let exists: i64 = redis::cmd("EXISTS")
        .arg("more")
        .arg("q")
        .query(&mut conn)
        .unwrap();
    assert_eq!(exists, 0);
    let deleted: i64 = redis::cmd("DEL").arg("big").query(&mut conn).unwrap();
    assert_eq!(deleted, 1);
    let _: () = redis::cmd("SET")
        .arg("more")
        .arg("1")
        .query(&mut conn)
        .unwrap();
    let config: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory*")
        .query(&mut conn)
        .unwrap();
    assert!(
        config.windows(2).any(|w| w == ["maxmemory", "4000"]),
        "{config:?}"
    );
}
