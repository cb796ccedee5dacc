//! How one history [`Call`] goes over the wire and how its reply becomes an [`Outcome`]:
//! the command each call sends, the timeout, and which error replies prove that nothing was
//! applied. Shared by `quorum chaos`, `quorum verify` and `quorum-sim`, so that all of them
//! record the same outcome for the same exchange.
//!
//! Not here: which calls a client makes (`workload.rs`, `queue.rs`) or connections.

use std::time::Duration;

use quorum_check::{Call, ListEnd, Outcome, Reply};

use crate::resp::{CallError, RespConn, Value};

/// Sends `call` on `key` over `conn` and waits at most `timeout` for the reply: the outcome as
/// the history records it. The caller must drop the connection unless the outcome is `Ok` (a
/// late reply would be read as the next request's). A blocking call's own timeout
/// (`block_ms`) is not added: the caller's `timeout` must cover it.
pub async fn execute_call<S>(
    conn: &mut RespConn<S>,
    key: &str,
    call: &Call,
    timeout: Duration,
) -> Outcome
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let sent = match call {
        Call::Range { with } => tokio::time::timeout(timeout, range(conn, key, with)).await,
        _ => {
            let args = command(key, call);
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            tokio::time::timeout(timeout, conn.call(&args)).await
        }
    };
    match sent {
        Err(_) => Outcome::Unknown {
            error: format!("no reply within {} ms", timeout.as_millis()),
        },
        Ok(Err(e @ CallError::AfterSend(_))) => Outcome::Unknown {
            error: e.to_string(),
        },
        Ok(Ok(value)) => classify(key, call, value),
    }
}

/// How long a client waits for the reply to `call`: `op_timeout`, plus the call's own blocking
/// timeout, so that a blocking pop that times out on the server is not recorded as unknown.
pub fn reply_timeout(call: &Call, op_timeout: Duration) -> Duration {
    let block_ms = match call {
        Call::Pop { block_ms, .. } | Call::Move { block_ms, .. } => block_ms.unwrap_or(0),
        _ => 0,
    };
    op_timeout + Duration::from_millis(block_ms)
}

/// The command of a single-command call.
fn command(key: &str, call: &Call) -> Vec<Vec<u8>> {
    let text = |s: &str| s.as_bytes().to_vec();
    let key = text(key);
    let side = |end: &ListEnd, head: &str, tail: &str| match end {
        ListEnd::Head => text(head),
        ListEnd::Tail => text(tail),
    };
    match call {
        Call::Get => vec![text("GET"), key],
        Call::Set { value } => vec![text("SET"), key, text(value)],
        Call::Swap { value } => vec![text("SET"), key, text(value), text("GET")],
        Call::Append { token } => vec![text("APPEND"), key, text(token)],
        Call::Incr => vec![text("INCR"), key],
        Call::SetPx { value, ttl_ms } => {
            let ttl = ttl_ms.to_string();
            vec![text("SET"), key, text(value), text("PX"), text(&ttl)]
        }
        Call::Pttl => vec![text("PTTL"), key],
        Call::Push { element, end } => vec![side(end, "LPUSH", "RPUSH"), key, text(element)],
        Call::Pop {
            end,
            block_ms: None,
        } => vec![side(end, "LPOP", "RPOP"), key],
        Call::Pop {
            end,
            block_ms: Some(ms),
        } => vec![side(end, "BLPOP", "BRPOP"), key, seconds(*ms)],
        Call::Move { to, block_ms: None } => {
            vec![text("LMOVE"), key, text(to), text("LEFT"), text("RIGHT")]
        }
        Call::Move {
            to,
            block_ms: Some(ms),
        } => {
            let (from, into) = (text("LEFT"), text("RIGHT"));
            vec![text("BLMOVE"), key, text(to), from, into, seconds(*ms)]
        }
        Call::Remove { element } => vec![text("LREM"), key, text("1"), text(element)],
        // Sent as a transaction by `range`.
        Call::Range { .. } => vec![text("LRANGE"), key, text("0"), text("-1")],
    }
}

/// A blocking command's timeout: seconds with three decimals, as Redis 6+ accepts.
fn seconds(ms: u64) -> Vec<u8> {
    format!("{}.{:03}", ms / 1000, ms % 1000).into_bytes()
}

/// `MULTI`, `LRANGE k 0 -1` for `key` and each of `with`, `EXEC`: the lists as of one point
/// in the log. The first error reply is returned as the reply (the caller then drops the
/// connection, which may still be inside MULTI).
async fn range<S>(conn: &mut RespConn<S>, key: &str, with: &[String]) -> Result<Value, CallError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let multi = conn.call(&[b"MULTI"]).await?;
    if multi != Value::Status("OK".into()) {
        return Ok(multi);
    }
    for list in std::iter::once(key).chain(with.iter().map(String::as_str)) {
        let queued = conn
            .call(&[b"LRANGE", list.as_bytes(), b"0", b"-1"])
            .await?;
        if queued != Value::Status("QUEUED".into()) {
            return Ok(queued);
        }
    }
    conn.call(&[b"EXEC"]).await
}

/// Maps a reply to an outcome: errors are `Unknown` unless they prove nothing was applied.
fn classify(key: &str, call: &Call, value: Value) -> Outcome {
    let reply = match (call, value) {
        (_, Value::Error(error)) if certain_no_effect(&error) => {
            return Outcome::Failed { error };
        }
        (_, Value::Error(error)) => return Outcome::Unknown { error },
        (Call::Get | Call::Swap { .. }, Value::Bulk(b)) => Reply::Value { value: text(b) },
        (Call::Set { .. } | Call::SetPx { .. }, Value::Status(s)) if s == "OK" => Reply::Ok,
        (
            Call::Append { .. } | Call::Incr | Call::Pttl | Call::Push { .. } | Call::Remove { .. },
            Value::Int(value),
        ) => Reply::Int { value },
        // LPOP and LMOVE answer a bulk string or nil; blocking forms a null array on timeout.
        (Call::Pop { .. } | Call::Move { .. }, Value::Bulk(b)) => Reply::Value { value: text(b) },
        (Call::Pop { .. } | Call::Move { .. }, Value::Array(None)) => Reply::Value { value: None },
        // BLPOP and BRPOP answer [key, element].
        (Call::Pop { .. }, Value::Array(Some(pair))) => match popped_from(key, pair) {
            Some(element) => Reply::Value {
                value: Some(element),
            },
            None => return unexpected("a blocking pop answered an element of another key"),
        },
        (Call::Range { with }, Value::Array(Some(items))) if items.len() == with.len() + 1 => {
            match lists(items) {
                Some(lists) => Reply::Lists { lists },
                None => return unexpected("EXEC returned a reply that is not a list"),
            }
        }
        (_, other) => {
            // The server answered, but not as the command promises: record it as unknown so the
            // checker does not reason from a reply it cannot interpret, and say what came back.
            return unexpected(&format!("unexpected reply {other:?}"));
        }
    };
    Outcome::Ok { reply }
}

/// The element of a blocking pop's `[key, element]` reply, when `key` is the key asked for.
fn popped_from(key: &str, pair: Vec<Value>) -> Option<String> {
    match <[Value; 2]>::try_from(pair).ok()? {
        [Value::Bulk(Some(k)), Value::Bulk(element)] if k == key.as_bytes() => text(element),
        _ => None,
    }
}

fn unexpected(error: &str) -> Outcome {
    Outcome::Unknown {
        error: error.to_string(),
    }
}

fn text(bulk: Option<Vec<u8>>) -> Option<String> {
    bulk.map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// EXEC's reply to LRANGEs: one array of bulk strings per key.
fn lists(items: Vec<Value>) -> Option<Vec<Vec<String>>> {
    items
        .into_iter()
        .map(|item| match item {
            Value::Array(Some(elements)) => elements
                .into_iter()
                .map(|e| match e {
                    Value::Bulk(Some(b)) => Some(String::from_utf8_lossy(&b).into_owned()),
                    _ => None,
                })
                .collect(),
            _ => None,
        })
        .collect()
}

/// Error replies that Redis (and quorum) send only when the command was rejected before it
/// could change anything.
fn certain_no_effect(error: &str) -> bool {
    [
        "WRONGTYPE",
        "ERR wrong number of arguments",
        "ERR syntax error",
        "ERR value is not an integer",
        "ERR unknown command",
        "NOAUTH",
        "READONLY ",
    ]
    .iter()
    .any(|prefix| error.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_that_prove_no_effect_are_failed_and_the_rest_unknown() {
        let failed = classify("k", &Call::Incr, Value::Error("WRONGTYPE Operation".into()));
        assert!(matches!(failed, Outcome::Failed { .. }));
        for ambiguous in [
            "CLUSTERDOWN no leader",
            "TRYAGAIN no quorum",
            "ERR whatever",
        ] {
            let outcome = classify("k", &Call::Incr, Value::Error(ambiguous.into()));
            assert!(matches!(outcome, Outcome::Unknown { .. }), "{ambiguous}");
        }
    }

    #[test]
    fn replies_map_to_the_history_format() {
        let swap = classify(
            "k",
            &Call::Swap { value: "v".into() },
            Value::Bulk(Some(b"old".to_vec())),
        );
        assert_eq!(
            swap,
            Outcome::Ok {
                reply: value(Some("old"))
            }
        );
        let odd = classify("k", &Call::Set { value: "v".into() }, Value::Bulk(None));
        assert!(matches!(odd, Outcome::Unknown { .. }));
    }

    fn value(v: Option<&str>) -> Reply {
        Reply::Value {
            value: v.map(str::to_string),
        }
    }

    #[test]
    fn pops_of_every_form_map_to_the_element_or_nil() {
        let blpop = Call::Pop {
            end: ListEnd::Head,
            block_ms: Some(250),
        };
        let pair = Value::Array(Some(vec![
            Value::Bulk(Some(b"q".to_vec())),
            Value::Bulk(Some(b"e1".to_vec())),
        ]));
        assert_eq!(
            classify("q", &blpop, pair.clone()),
            Outcome::Ok {
                reply: value(Some("e1"))
            }
        );
        // An element from a key it did not ask for is not a reply it can trust.
        assert!(matches!(
            classify("other", &blpop, pair),
            Outcome::Unknown { .. }
        ));
        let timed_out = classify("q", &blpop, Value::Array(None));
        assert_eq!(timed_out, Outcome::Ok { reply: value(None) });
        let lmove = Call::Move {
            to: "p".into(),
            block_ms: None,
        };
        let moved = classify("q", &lmove, Value::Bulk(Some(b"e2".to_vec())));
        assert_eq!(
            moved,
            Outcome::Ok {
                reply: value(Some("e2"))
            }
        );
        assert_eq!(
            command("q", &blpop),
            [&b"BLPOP"[..], b"q", b"0.250"].map(<[u8]>::to_vec)
        );
        let blmove = Call::Move {
            to: "p".into(),
            block_ms: Some(1500),
        };
        assert_eq!(command("q", &blmove).last(), Some(&b"1.500".to_vec()));
        let timeout = reply_timeout(&blmove, Duration::from_millis(2000));
        assert_eq!(timeout, Duration::from_millis(3500));
    }

    #[test]
    fn a_final_read_maps_to_one_list_per_key() {
        let range = Call::Range {
            with: vec!["p".into()],
        };
        let list = |items: &[&str]| {
            let bulks = items
                .iter()
                .map(|e| Value::Bulk(Some(e.as_bytes().to_vec())));
            Value::Array(Some(bulks.collect()))
        };
        let reply = Value::Array(Some(vec![list(&["a", "b"]), list(&[])]));
        let lists = vec![vec!["a".to_string(), "b".to_string()], Vec::new()];
        assert_eq!(
            classify("q", &range, reply),
            Outcome::Ok {
                reply: Reply::Lists { lists }
            }
        );
        let short = Value::Array(Some(vec![list(&["a"])]));
        assert!(matches!(
            classify("q", &range, short),
            Outcome::Unknown { .. }
        ));
    }
}
