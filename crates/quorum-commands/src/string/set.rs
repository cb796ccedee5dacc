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
use crate::{ReadCx, Reply, WriteCx};

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

pub(crate) fn precheck_set(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_options(args, 3, Grammar::Set)?
        .resolve_ttl("set")
        .map(drop)
}

pub(crate) fn precheck_getex(args: &[Bytes]) -> Result<(), ErrorReply> {
    parse_options(args, 2, Grammar::GetEx).map(drop)
}

pub(crate) fn precheck_setex(args: &[Bytes]) -> Result<(), ErrorReply> {
    expire_ms(arg(args, 2)?, true, "setex").map(drop)
}

pub(crate) fn precheck_psetex(args: &[Bytes]) -> Result<(), ErrorReply> {
    expire_ms(arg(args, 2)?, false, "psetex").map(drop)
}

/// MSET/MSETNX take key value pairs: an odd count is an arity error, as in Redis.
pub(crate) fn precheck_mset(args: &[Bytes]) -> Result<(), ErrorReply> {
    if args.len().is_multiple_of(2) {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return Err(ErrorReply::wrong_arity(&name));
    }
    Ok(())
}

pub(crate) fn set(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let opts = parse_options(args, 3, Grammar::Set)?;
    let ttl = opts.resolve_ttl("set")?;
    set_generic(cx, arg(args, 1)?, arg(args, 2)?, &opts, ttl, "set")
}

pub(crate) fn setnx(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let opts = SetOptions {
        nx: true,
        ..SetOptions::default()
    };
    let reply = set_generic(
        cx,
        arg(args, 1)?,
        arg(args, 2)?,
        &opts,
        TtlOption::Unset,
        "setnx",
    )?;
    Ok(Frame::Integer(i64::from(reply != Frame::Null)))
}

pub(crate) fn setex(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let ttl = TtlOption::RelativeMs(expire_ms(arg(args, 2)?, true, "setex")?);
    set_generic(
        cx,
        arg(args, 1)?,
        arg(args, 3)?,
        &SetOptions::default(),
        ttl,
        "setex",
    )
}

pub(crate) fn psetex(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let ttl = TtlOption::RelativeMs(expire_ms(arg(args, 2)?, false, "psetex")?);
    set_generic(
        cx,
        arg(args, 1)?,
        arg(args, 3)?,
        &SetOptions::default(),
        ttl,
        "psetex",
    )
}

pub(crate) fn getset(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let opts = SetOptions {
        get: true,
        ..SetOptions::default()
    };
    set_generic(
        cx,
        arg(args, 1)?,
        arg(args, 2)?,
        &opts,
        TtlOption::Unset,
        "getset",
    )
}

pub(crate) fn getdel(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let key = arg(args, 1)?;
    let old = get_string(cx.ks, key, cx.now_ms)?.cloned();
    if old.is_some() {
        cx.ks.remove(key);
    }
    Ok(Frame::optional_bulk(old))
}

pub(crate) fn getex(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    let opts = parse_options(args, 2, Grammar::GetEx)?;
    getex_with(cx.ks, arg(args, 1)?, &opts, cx.now_ms)
}

pub(crate) fn mset(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    precheck_mset(args)?;
    for pair in args[1..].chunks_exact(2) {
        cx.ks
            .insert(pair[0].clone(), Value::Str(pair[1].clone()), None);
    }
    Ok(Frame::ok())
}

pub(crate) fn msetnx(cx: &mut WriteCx<'_>, args: &[Bytes]) -> Reply {
    precheck_mset(args)?;
    let pairs = args[1..].chunks_exact(2);
    if pairs
        .clone()
        .any(|pair| cx.ks.contains(&pair[0], cx.now_ms))
    {
        return Ok(Frame::Integer(0));
    }
    for pair in pairs {
        cx.ks
            .insert(pair[0].clone(), Value::Str(pair[1].clone()), None);
    }
    Ok(Frame::Integer(1))
}

/// SET's core, shared by SETNX, SETEX, PSETEX and GETSET as in Redis's `setGenericCommand`.
/// Replies `OK`, or the old value with GET, or nil when NX/XX prevented the write.
fn set_generic(
    cx: &mut WriteCx<'_>,
    key: &Bytes,
    value: &Bytes,
    opts: &SetOptions,
    ttl: TtlOption,
    command: &str,
) -> Reply {
    let (ks, now_ms) = (&mut *cx.ks, cx.now_ms);
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
fn getex_with(ks: &mut Keyspace, key: &Bytes, opts: &SetOptions, now_ms: u64) -> Reply {
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

pub(crate) fn get(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    Ok(Frame::optional_bulk(
        get_string(cx.ks, arg(args, 1)?, cx.now_ms)?.cloned(),
    ))
}

pub(crate) fn mget(cx: &ReadCx<'_>, args: &[Bytes]) -> Reply {
    Ok(Frame::Array(
        args[1..]
            .iter()
            .map(|key| {
                // MGET answers nil for a key of another type instead of failing.
                let value = get_string(cx.ks, key, cx.now_ms).ok().flatten();
                Frame::optional_bulk(value.cloned())
            })
            .collect(),
    ))
}
