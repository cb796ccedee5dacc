//! The parameters CONFIG GET reports and CONFIG SET accepts, with Redis 7.0's names, aliases,
//! value syntax and error texts, and [`Settings`], the values set on this node.
//!
//! Three kinds of parameter: *stored* ones (encoding thresholds and other tunables that quorum
//! either has no use for or reads itself, like `latency-tracking`) take any value Redis would
//! take and keep it on this node, in memory; *fixed* ones report what the node started with
//! and refuse any other value with the reason (a client asking for AOF off or an eviction
//! policy must not be told OK); *immutable* and *protected* ones are refused as Redis refuses
//! them. Not here: the command itself (`config_cmd.rs`).

use parking_lot::Mutex;

use crate::node::Node;

/// How a parameter's value is written and checked (Redis's config types).
#[derive(Clone, Copy)]
pub enum Syntax {
    /// A number (`INTEGER_CONFIG`), or with `memory` a byte count with an optional unit
    /// (`MEMORY_CONFIG`: `10k`, `1gb`). `unsigned` types check bounds after a cast to
    /// unsigned, as Redis does, so `-1` is out of range rather than unparsable.
    Number {
        memory: bool,
        unsigned: bool,
        min: i128,
        max: i128,
    },
    /// `yes` or `no`.
    Bool,
    /// One of these, case-insensitively.
    Enum(&'static [&'static str]),
    /// Save points: `seconds changes` pairs.
    Save,
    /// Keyspace event classes.
    NotifyEvents,
    /// Percentiles between 0 and 100, separated by spaces.
    Percentiles,
    /// Any text.
    Text,
}

/// Where a parameter's value comes from and whether CONFIG SET may change it.
#[derive(Clone, Copy)]
pub enum Access {
    /// Kept in [`Settings`], starting at this default.
    Stored(&'static str),
    /// What the node runs with; another value is refused for the reason given.
    Fixed(fn(&Node) -> String, &'static str),
    /// Redis's `IMMUTABLE_CONFIG`.
    Immutable(fn(&Node) -> String),
    /// Redis's `PROTECTED_CONFIG` (refused unless `enable-protected-configs`, off by default).
    Protected(fn(&Node) -> String),
}

/// One parameter.
pub struct Param {
    /// The name CONFIG GET reports.
    pub name: &'static str,
    /// Redis's older name for it, a parameter of its own for CONFIG GET and SET.
    pub alias: Option<&'static str>,
    /// Its value syntax.
    pub syntax: Syntax,
    /// Where its value lives.
    pub access: Access,
}

const INT_MIN: i128 = i32::MIN as i128;
const INT_MAX: i128 = i32::MAX as i128;
const LONG_MAX: i128 = i64::MAX as i128;

const fn int(min: i128, max: i128) -> Syntax {
    Syntax::Number {
        memory: false,
        unsigned: false,
        min,
        max,
    }
}

const fn unsigned(min: i128, max: i128) -> Syntax {
    Syntax::Number {
        memory: false,
        unsigned: true,
        min,
        max,
    }
}

const fn memory(min: i128, max: i128) -> Syntax {
    Syntax::Number {
        memory: true,
        unsigned: true,
        min,
        max,
    }
}

const fn param(
    name: &'static str,
    alias: Option<&'static str>,
    syntax: Syntax,
    access: Access,
) -> Param {
    Param {
        name,
        alias,
        syntax,
        access,
    }
}

const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

const AT_START: &str = "quorum sets it when the node starts";

/// Every parameter, in the order CONFIG GET lists them. One line per parameter keeps the table
/// reviewable against Redis's `config.c`.
#[rustfmt::skip]
pub static PARAMS: &[Param] = &[
    // Stored: tunables of encodings quorum does not have, and of features it reads itself.
    param("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), unsigned(0, LONG_MAX), Access::Stored("512")),
    param("hash-max-listpack-value", Some("hash-max-ziplist-value"), memory(0, LONG_MAX), Access::Stored("64")),
    param("set-max-intset-entries", None, unsigned(0, LONG_MAX), Access::Stored("512")),
    param("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), unsigned(0, LONG_MAX), Access::Stored("128")),
    param("zset-max-listpack-value", Some("zset-max-ziplist-value"), memory(0, LONG_MAX), Access::Stored("64")),
    param("list-max-listpack-size", Some("list-max-ziplist-size"), int(INT_MIN, INT_MAX), Access::Stored("-2")),
    param("list-compress-depth", None, int(0, INT_MAX), Access::Stored("0")),
    param("stream-node-max-bytes", None, memory(0, LONG_MAX), Access::Stored("4096")),
    param("stream-node-max-entries", None, int(0, LONG_MAX), Access::Stored("100")),
    param("hll-sparse-max-bytes", None, memory(0, LONG_MAX), Access::Stored("3000")),
    param("slowlog-log-slower-than", None, int(-1, LONG_MAX), Access::Stored("10000")),
    param("slowlog-max-len", None, unsigned(0, LONG_MAX), Access::Stored("128")),
    param("busy-reply-threshold", Some("lua-time-limit"), int(0, LONG_MAX), Access::Stored("5000")),
    param("latency-monitor-threshold", None, int(0, LONG_MAX), Access::Stored("0")),
    param("latency-tracking", None, Syntax::Bool, Access::Stored("yes")),
    param("latency-tracking-info-percentiles", None, Syntax::Percentiles, Access::Stored("50 99 99.9")),
    // Fixed: what quorum is, or what the node was started with.
    param("appendonly", None, Syntax::Bool, Access::Fixed(|_| "yes".into(), "every write goes through the Raft log; it cannot be turned off")),
    param("appendfsync", None, Syntax::Enum(&["everysec", "always", "no"]), Access::Fixed(|_| "always".into(), "every write is fsynced on a majority before it is acknowledged")),
    param("save", None, Syntax::Save, Access::Fixed(|_| String::new(), "quorum persists through its Raft log and snapshots, not RDB save points")),
    param("maxmemory", None, memory(0, u64::MAX as i128), Access::Fixed(|n| n.config.maxmemory_bytes.to_string(), "quorum sets it with --maxmemory when the node starts")),
    param("maxmemory-policy", None, Syntax::Enum(MAXMEMORY_POLICIES), Access::Fixed(|_| "noeviction".into(), "quorum supports only noeviction")),
    param("maxclients", None, unsigned(1, u32::MAX as i128), Access::Fixed(|n| n.config.limits.clients_max.to_string(), "quorum sets it with --clients-max when the node starts")),
    param("notify-keyspace-events", None, Syntax::NotifyEvents, Access::Fixed(|_| String::new(), "quorum has no keyspace notifications")),
    param("timeout", None, int(0, INT_MAX), Access::Fixed(|_| "0".into(), "quorum does not close idle clients")),
    param("tcp-keepalive", None, int(0, INT_MAX), Access::Fixed(|_| "0".into(), "quorum does not enable TCP keepalive on client connections")),
    param("port", None, int(0, 65535), Access::Fixed(|n| n.config.listen.port().to_string(), AT_START)),
    param("bind", None, Syntax::Text, Access::Fixed(|n| n.config.listen.ip().to_string(), AT_START)),
    param("proto-max-bulk-len", None, Syntax::Number { memory: true, unsigned: false, min: 1024 * 1024, max: LONG_MAX }, Access::Fixed(|n| n.config.limits.bulk_bytes_max.to_string(), AT_START)),
    param("client-query-buffer-limit", None, memory(1024 * 1024, LONG_MAX), Access::Fixed(|n| n.config.limits.query_buffer_bytes_max.to_string(), AT_START)),
    // Immutable and protected, as in Redis.
    param("databases", None, int(1, INT_MAX), Access::Immutable(|n| n.config.databases.to_string())),
    param("cluster-enabled", None, Syntax::Bool, Access::Immutable(|_| "no".into())),
    param("daemonize", None, Syntax::Bool, Access::Immutable(|_| "no".into())),
    param("dir", None, Syntax::Text, Access::Protected(|n| n.config.data_dir.display().to_string())),
];

/// A parameter name as a client may use it: the parameter and the name (its own or alias).
#[derive(Clone, Copy, PartialEq)]
pub struct Entry {
    /// Index in [`PARAMS`].
    pub param: usize,
    /// The canonical name or the alias.
    pub name: &'static str,
}

/// Every name CONFIG knows, aliases included (Redis lists both).
pub fn entries() -> impl Iterator<Item = Entry> {
    PARAMS.iter().enumerate().flat_map(|(param, p)| {
        std::iter::once(Entry {
            param,
            name: p.name,
        })
        .chain(p.alias.map(|name| Entry { param, name }))
    })
}

/// The entry named `name`, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<Entry> {
    entries().find(|e| name.eq_ignore_ascii_case(e.name.as_bytes()))
}

/// The values CONFIG SET gave this node's stored parameters (in memory: a restart forgets
/// them, as Redis forgets what was not written with CONFIG REWRITE).
pub struct Settings {
    values: Mutex<Vec<String>>,
}

impl Default for Settings {
    fn default() -> Self {
        let values = PARAMS
            .iter()
            .map(|p| match p.access {
                Access::Stored(default) => default.to_string(),
                _ => String::new(),
            })
            .collect();
        Settings {
            values: Mutex::new(values),
        }
    }
}

impl Settings {
    /// A parameter's current value.
    pub fn get(&self, node: &Node, param: usize) -> String {
        match PARAMS[param].access {
            Access::Stored(_) => self.values.lock()[param].clone(),
            Access::Fixed(value, _) | Access::Immutable(value) | Access::Protected(value) => {
                value(node)
            }
        }
    }

    /// Replaces stored values, all at once.
    pub fn set(&self, changes: &[(usize, String)]) {
        let mut values = self.values.lock();
        for (param, value) in changes {
            values[*param] = value.clone();
        }
    }

    /// `latency-tracking-info-percentiles`, parsed.
    pub fn latency_percentiles(&self) -> Vec<f64> {
        let index = PARAMS
            .iter()
            .position(|p| p.name == "latency-tracking-info-percentiles")
            .expect("the parameter is in the table");
        parse_percentiles(&self.values.lock()[index]).unwrap_or_default()
    }
}

/// Checks `value` against `syntax` as Redis does and returns it as CONFIG GET will show it,
/// or Redis's reason for refusing it.
pub fn normalize(syntax: Syntax, value: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(value);
    match syntax {
        Syntax::Number {
            memory,
            unsigned,
            min,
            max,
        } => {
            let parsed = if memory {
                memory_bytes(&text)
                    .map(|v| {
                        if unsigned {
                            i128::from(v)
                        } else {
                            i128::from(v as i64)
                        }
                    })
                    .ok_or("argument must be a memory value")?
            } else {
                let v = strict_i64(&text).ok_or("argument couldn't be parsed into an integer")?;
                if unsigned {
                    i128::from(v as u64)
                } else {
                    i128::from(v)
                }
            };
            if parsed < min || parsed > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(parsed.to_string())
        }
        Syntax::Bool => match text.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Syntax::Enum(names) => names
            .iter()
            .find(|n| text.eq_ignore_ascii_case(n))
            .map(|n| n.to_string())
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    names.join(", ")
                )
            }),
        Syntax::Save => normalize_save(&text).ok_or_else(|| "Invalid save parameters".into()),
        Syntax::NotifyEvents => {
            if text.chars().all(|c| "Ag$lshzxeKEtmdn".contains(c)) {
                Ok(text.into_owned())
            } else {
                Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
            }
        }
        Syntax::Percentiles => parse_percentiles(&text).map(|ps| {
            ps.iter()
                .map(|p| crate::info::format_percentile(*p))
                .collect::<Vec<_>>()
                .join(" ")
        }),
        Syntax::Text => Ok(text.into_owned()),
    }
}

/// Redis's `string2ll`: an optional minus, digits, no leading zero, no spaces, no overflow.
fn strict_i64(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0";
    canonical.then(|| text.parse().ok()).flatten()
}

/// Redis's `memtoull`: digits with an optional unit (`b`, `k`, `kb`, `m`, `mb`, `g`, `gb`).
fn memory_bytes(text: &str) -> Option<u64> {
    let unit_at = text
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(unit_at);
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.is_empty() {
        // strtoull of "" is 0 without an error, so "kb" alone means 0, as in Redis.
        return Some(0);
    }
    Some(digits.parse::<u64>().ok()?.wrapping_mul(multiplier))
}

/// Save points as Redis normalizes them: an even number of integers split on single spaces,
/// seconds at least 1, changes at least 0.
fn normalize_save(text: &str) -> Option<String> {
    if text.is_empty() {
        return Some(String::new());
    }
    let parts: Vec<&str> = text.split(' ').collect();
    if parts.len() % 2 == 1 {
        return None;
    }
    let numbers: Vec<i64> = parts
        .iter()
        .map(|p| {
            // strtoll: leading spaces and a sign are fine, trailing bytes are not.
            let p = p.trim_start();
            let digits = p.trim_start_matches(['+', '-']);
            if digits.is_empty() {
                Some(0)
            } else {
                p.parse::<i64>().ok()
            }
        })
        .collect::<Option<_>>()?;
    let valid = numbers.chunks(2).all(|pair| pair[0] >= 1 && pair[1] >= 0);
    valid.then(|| {
        numbers
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// `latency-tracking-info-percentiles`: doubles between 0 and 100 split on single spaces.
fn parse_percentiles(text: &str) -> Result<Vec<f64>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(' ')
        .map(|p| {
            // Rust's parser, like Redis's string2d, refuses spaces around the number.
            let value = p
                .parse::<f64>()
                .ok()
                .filter(|v| !v.is_nan())
                .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
            if !(0.0..=100.0).contains(&value) {
                return Err(
                    "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                        .to_string(),
                );
            }
            Ok(value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(syntax: Syntax, value: &str) -> Result<String, String> {
        normalize(syntax, value.as_bytes())
    }

    #[test]
    fn numbers_parse_and_fail_with_redis_texts() {
        let entries = unsigned(0, LONG_MAX);
        assert_eq!(check(entries, "256"), Ok("256".into()));
        for bad in ["abc", "1e3", "0x10", " 5", "+5", "05", ""] {
            assert_eq!(
                check(entries, bad),
                Err("argument couldn't be parsed into an integer".into()),
                "{bad:?}"
            );
        }
        assert_eq!(
            check(entries, "-1"),
            Err("argument must be between 0 and 9223372036854775807 inclusive".into())
        );
        assert_eq!(
            check(int(-1, LONG_MAX), "-5"),
            Err("argument must be between -1 and 9223372036854775807 inclusive".into())
        );
        let bytes = memory(0, LONG_MAX);
        assert_eq!(check(bytes, "10k"), Ok("10000".into()));
        assert_eq!(check(bytes, "1GB"), Ok("1073741824".into()));
        assert_eq!(
            check(bytes, "10x"),
            Err("argument must be a memory value".into())
        );
        assert_eq!(
            check(bytes, "-1"),
            Err("argument must be a memory value".into())
        );
    }

    #[test]
    fn other_syntaxes_normalize_as_redis_does() {
        assert_eq!(check(Syntax::Bool, "YES"), Ok("yes".into()));
        assert_eq!(
            check(Syntax::Bool, "maybe"),
            Err("argument must be 'yes' or 'no'".into())
        );
        assert_eq!(
            check(Syntax::Enum(MAXMEMORY_POLICIES), "NoEviction"),
            Ok("noeviction".into())
        );
        assert_eq!(check(Syntax::Save, ""), Ok(String::new()));
        assert_eq!(
            check(Syntax::Save, "3600 1 300 +10"),
            Ok("3600 1 300 10".into())
        );
        for bad in ["60", "a b", "0 1", "60 -1"] {
            assert_eq!(
                check(Syntax::Save, bad),
                Err("Invalid save parameters".into()),
                "{bad}"
            );
        }
        assert_eq!(
            check(Syntax::Percentiles, "50 99.90 100"),
            Ok("50 99.9 100".into())
        );
        assert!(check(Syntax::Percentiles, "101").is_err());
        assert!(check(Syntax::Percentiles, "50  99").is_err());
        assert!(check(Syntax::NotifyEvents, "Z").is_err());
    }

    #[test]
    fn names_and_aliases_are_found_case_insensitively() {
        let entry = lookup(b"HASH-MAX-ZIPLIST-ENTRIES").unwrap();
        assert_eq!(entry.name, "hash-max-ziplist-entries");
        assert_eq!(PARAMS[entry.param].name, "hash-max-listpack-entries");
        assert!(lookup(b"nosuch").is_none());
        let settings = Settings::default();
        assert_eq!(settings.latency_percentiles(), vec![50.0, 99.0, 99.9]);
    }
}
