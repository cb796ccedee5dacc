//! GET, SET (with NX/XX/GET and EX/PX/EXAT/PXAT/KEEPTTL), SETNX, SETEX, PSETEX, GETSET,
//! GETDEL, GETEX, MGET, MSET, MSETNX: commands that read or replace whole string values.
//!
//! SET's and GETEX's options share one parser, as in Redis's
//! `parseExtendedStringArgumentsOrReply`, and it is the one both precheck and apply use.
//!
//! Not here: commands that compute a new value from the old one (`counter.rs`, `range.rs`).

use bytes::Bytes;
use quorum_keyspace::{Keyspace, Value};
use quorum_resp::Frame;
use quorum_types::ErrorReply;

use super::get_string;
use crate::parse::{arg, is_keyword, parse_i64, Args};
use crate::Reply;

/// The options of SET or GETEX, as written (the TTL number not yet validated).
#[derive(Debug, Default, PartialEq, Eq)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    ttl_word: Option<(TtlWord, Option<&'a Bytes>)>,
}

/// What a SET/GETEX does to the deadline.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub(crate) enum TtlOption {
    /// No TTL option: SET clears the deadline, GETEX leaves it.
    #[default]
    Unset,
    /// KEEPTTL (SET only).
    Keep,
    /// PERSIST (GETEX only).
    Persist,
    /// EX or PX: milliseconds from now (validated positive, not yet added to now).
    RelativeMs(i64),
    /// EXAT or PXAT: unix milliseconds (validated positive).
    AbsoluteMs(i64),
}

impl TtlOption {
    /// The absolute deadline this option asks for, or `ERR invalid expire time` when adding
    /// `now_ms` overflows (Redis detects the same overflow as a non-positive result).
    pub(crate) fn deadline(self, command: &str, now_ms: u64) -> Result<Option<u64>, ErrorReply> {
        match self {
            TtlOption::RelativeMs(ms) => {
                let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
                let at = ms
                    .checked_add(now)
                    .ok_or_else(|| ErrorReply::invalid_expire_time(command))?;
                Ok(Some(at as u64))
            }
            TtlOption::AbsoluteMs(at) => Ok(Some(at as u64)),
            TtlOption::Unset | TtlOption::Keep | TtlOption::Persist => Ok(None),
        }
    }
}

/// The TTL keywords; at most one kind may appear (repeating the same one is allowed).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum TtlWord {
    Ex,
    Px,
    ExAt,
    PxAt,
    KeepTtl,
    Persist,
}

impl TtlWord {
    fn parse(word: &[u8], grammar: Grammar) -> Option<TtlWord> {
        let found = [
            ("ex", TtlWord::Ex),
            ("px", TtlWord::Px),
            ("exat", TtlWord::ExAt),
            ("pxat", TtlWord::PxAt),
            ("keepttl", TtlWord::KeepTtl),
            ("persist", TtlWord::Persist),
        ]
        .into_iter()
        .find(|(name, _)| is_keyword(word, name))
        .map(|(_, ttl_word)| ttl_word)?;
        match (found, grammar) {
            (TtlWord::KeepTtl, Grammar::GetEx) | (TtlWord::Persist, Grammar::Set) => None,
            _ => Some(found),
        }
    }

    fn takes_value(self) -> bool {
        !matches!(self, TtlWord::KeepTtl | TtlWord::Persist)
    }
}

/// Which command's grammar: SET accepts NX/XX/GET/KEEPTTL, GETEX accepts PERSIST.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Grammar {
    Set,
    GetEx,
}

/// Parses SET/GETEX options from `args[start..]` with Redis's rules: an unknown word, an
/// option conflicting with one already seen, or a TTL keyword without a value is
/// `ERR syntax error`; repeating an option is allowed and the last value wins. The TTL
/// number is not checked here: see [`SetOptions::resolve_ttl`].
fn parse_options(
    args: &[Bytes],
    start: usize,
    grammar: Grammar,
) -> Result<SetOptions<'_>, ErrorReply> {
    let mut opts = SetOptions::default();
    let mut cursor = Args::new(args, start);
    while let Some(word) = cursor.next() {
        let set = grammar == Grammar::Set;
        if set && is_keyword(word, "nx") && !opts.xx {
            opts.nx = true;
        } else if set && is_keyword(word, "xx") && !opts.nx {
            opts.xx = true;
        } else if set && is_keyword(word, "get") {
            opts.get = true;
        } else if let Some(ttl_word) = TtlWord::parse(word, grammar) {
            if opts.ttl_word.is_some_and(|(seen, _)| seen != ttl_word) {
                return Err(ErrorReply::syntax());
            }
            let value = if ttl_word.takes_value() {
                Some(cursor.value()?)
            } else {
                None
            };
            opts.ttl_word = Some((ttl_word, value));
        } else {
            return Err(ErrorReply::syntax());
        }
    }
    Ok(opts)
}

impl SetOptions<'_> {
    /// Validates the TTL number, after all options parsed, as Redis does (GETEX does it
    /// only once it found the key, so its precheck skips this).
    fn resolve_ttl(&self, command: &str) -> Result<TtlOption, ErrorReply> {
        Ok(match self.ttl_word {
            None => TtlOption::Unset,
            Some((TtlWord::KeepTtl, _)) => TtlOption::Keep,
            Some((TtlWord::Persist, _)) => TtlOption::Persist,
            Some((word, value)) => {
                let value = value.ok_or_else(ErrorReply::syntax)?;
                let seconds = matches!(word, TtlWord::Ex | TtlWord::ExAt);
                let ms = expire_ms(value, seconds, command)?;
                if matches!(word, TtlWord::Ex | TtlWord::Px) {
                    TtlOption::RelativeMs(ms)
                } else {
                    TtlOption::AbsoluteMs(ms)
                }
            }
        })
    }
}

/// Validates a SET-family TTL number and converts it to milliseconds: it must be a positive
/// integer whose millisecond value fits in 64 bits (Redis's `getExpireMillisecondsOrReply`).
pub(crate) fn expire_ms(value: &[u8], seconds: bool, command: &str) -> Result<i64, ErrorReply> {
    let n = parse_i64(value)?;
    let ms = if seconds {
        n.checked_mul(1000)
    } else {
        Some(n)
    };
    match ms {
        Some(ms) if n > 0 => Ok(ms),
        _ => Err(ErrorReply::invalid_expire_time(command)),
    }
}

pub(crate) fn precheck(name: &str, args: &[Bytes]) -> Result<(), ErrorReply> {
    match name {
        "set" => parse_options(args, 3, Grammar::Set)?
            .resolve_ttl(name)
            .map(drop),
        "getex" => parse_options(args, 2, Grammar::GetEx).map(drop),
        "setex" | "psetex" => expire_ms(arg(args, 2)?, name == "setex", name).map(drop),
        "mset" | "msetnx" if args.len().is_multiple_of(2) => Err(ErrorReply::wrong_arity(name)),
        _ => Ok(()),
    }
}

pub(crate) fn apply(name: &str, ks: &mut Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    precheck(name, args)?;
    let key = arg(args, 1)?;
    let plain = SetOptions::default();
    match name {
        "set" => {
            let opts = parse_options(args, 3, Grammar::Set)?;
            let ttl = opts.resolve_ttl(name)?;
            set(ks, key, arg(args, 2)?, &opts, ttl, name, now_ms)
        }
        "setnx" => {
            let opts = SetOptions { nx: true, ..plain };
            let reply = set(
                ks,
                key,
                arg(args, 2)?,
                &opts,
                TtlOption::Unset,
                name,
                now_ms,
            )?;
            Ok(Frame::Integer(i64::from(reply != Frame::Null)))
        }
        "setex" | "psetex" => {
            let ttl = TtlOption::RelativeMs(expire_ms(arg(args, 2)?, name == "setex", name)?);
            set(ks, key, arg(args, 3)?, &plain, ttl, name, now_ms)
        }
        "getset" => {
            let opts = SetOptions { get: true, ..plain };
            set(
                ks,
                key,
                arg(args, 2)?,
                &opts,
                TtlOption::Unset,
                name,
                now_ms,
            )
        }
        "getdel" => {
            let old = get_string(ks, key, now_ms)?.cloned();
            if old.is_some() {
                ks.remove(key);
            }
            Ok(Frame::optional_bulk(old))
        }
        "getex" => getex(ks, key, &parse_options(args, 2, Grammar::GetEx)?, now_ms),
        "mset" => {
            for pair in args[1..].chunks_exact(2) {
                ks.insert(pair[0].clone(), Value::Str(pair[1].clone()), None);
            }
            Ok(Frame::ok())
        }
        "msetnx" => {
            let pairs = args[1..].chunks_exact(2);
            if pairs.clone().any(|pair| ks.contains(&pair[0], now_ms)) {
                return Ok(Frame::Integer(0));
            }
            for pair in pairs {
                ks.insert(pair[0].clone(), Value::Str(pair[1].clone()), None);
            }
            Ok(Frame::Integer(1))
        }
        _ => Err(crate::unhandled_name(name)),
    }
}

/// SET's core, shared by SETNX, SETEX, PSETEX and GETSET as in Redis's `setGenericCommand`.
/// Replies `OK`, or the old value with GET, or nil when NX/XX prevented the write.
fn set(
    ks: &mut Keyspace,
    key: &Bytes,
    value: &Bytes,
    opts: &SetOptions,
    ttl: TtlOption,
    command: &str,
    now_ms: u64,
) -> Reply {
    let deadline = ttl.deadline(command, now_ms)?;
    let old = if opts.get {
        Some(get_string(ks, key, now_ms)?.cloned())
    } else {
        None
    };
    let found = ks.contains(key, now_ms);
    if (opts.nx && found) || (opts.xx && !found) {
        return Ok(old.map_or(Frame::Null, Frame::optional_bulk));
    }
    let deadline = match ttl {
        TtlOption::Keep => ks.get(key, now_ms).and_then(|e| e.expires_at_ms),
        _ => deadline,
    };
    match deadline {
        // A deadline already past (EXAT/PXAT in the past) leaves no key behind.
        Some(at) if at <= now_ms => {
            ks.remove(key);
        }
        _ => {
            ks.insert(key.clone(), Value::Str(value.clone()), deadline);
        }
    }
    Ok(old.map_or_else(Frame::ok, Frame::optional_bulk))
}

/// GETEX, in Redis's order: options, then the key (nil when absent, before the TTL number
/// is even looked at), then the type, then the TTL number.
fn getex(ks: &mut Keyspace, key: &Bytes, opts: &SetOptions, now_ms: u64) -> Reply {
    let Some(value) = get_string(ks, key, now_ms)?.cloned() else {
        return Ok(Frame::Null);
    };
    let ttl = opts.resolve_ttl("getex")?;
    let deadline = ttl.deadline("getex", now_ms)?;
    match ttl {
        TtlOption::Persist => {
            ks.set_expiry(key, None);
        }
        // A deadline already past deletes the key, as Redis does for EXAT/PXAT.
        TtlOption::AbsoluteMs(_) | TtlOption::RelativeMs(_) => match deadline {
            Some(at) if at <= now_ms => {
                ks.remove(key);
            }
            _ => {
                ks.set_expiry(key, deadline);
            }
        },
        TtlOption::Unset | TtlOption::Keep => {}
    }
    Ok(Frame::Bulk(value))
}

pub(crate) fn read(name: &str, ks: &Keyspace, args: &[Bytes], now_ms: u64) -> Reply {
    match name {
        "get" => Ok(Frame::optional_bulk(
            get_string(ks, arg(args, 1)?, now_ms)?.cloned(),
        )),
        "mget" => Ok(Frame::Array(
            args[1..]
                .iter()
                .map(|key| {
                    // MGET answers nil for a key of another type instead of failing.
                    let value = get_string(ks, key, now_ms).ok().flatten();
                    Frame::optional_bulk(value.cloned())
                })
                .collect(),
        )),
        _ => Err(crate::unhandled_name(name)),
    }
}
