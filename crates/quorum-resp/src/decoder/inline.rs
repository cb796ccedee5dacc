//! Splitting of one inline (telnet-style) request line into arguments, the way Redis'
//! `sdssplitargs` does: blanks separate arguments, `"..."` quotes understand `\n \r \t \b \a`
//! and `\xHH` escapes, `'...'` quotes understand only `\'`, and a closing quote must be followed
//! by a blank or the end of the line.
//!
//! Not here: finding the end of the line or enforcing its length (see `decoder.rs`).
//!
//! One deliberate difference: Redis handles the line as a C string, but it never gets that far
//! with a NUL byte (its newline search stops at the NUL, so such a request stalls until the
//! "too big inline request" limit). quorum treats NUL as an ordinary byte instead.

use bytes::Bytes;

/// The line has an unterminated quote, or a closing quote followed by something other than a
/// blank (`"foo"bar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnbalancedQuotes;

/// C `isspace` in the C locale: the blanks skipped between arguments.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The bytes that end an unquoted argument. Narrower than [`is_space`] on purpose: Redis lets
/// `\v` and `\f` start a line as blanks but keeps them inside an unquoted argument.
fn ends_unquoted(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits `line` (without its line ending) into arguments. Unquoted arguments are zero-copy
/// slices of `line`; an argument that contains a quote is copied, since escapes change it.
pub(crate) fn split_args(line: &Bytes) -> Result<Vec<Bytes>, UnbalancedQuotes> {
    let s: &[u8] = line;
    let at = |i: usize| s.get(i).copied();
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while at(p).is_some_and(is_space) {
            p += 1;
        }
        if p >= s.len() {
            return Ok(args);
        }
        let start = p;
        // `None` while the argument is a plain run of `s[start..p]`; the copy starts at the
        // first quote.
        let mut owned: Option<Vec<u8>> = None;
        let (mut in_double, mut in_single) = (false, false);
        let mut plain_end = s.len();
        loop {
            let c = at(p);
            if in_double {
                let buf = owned.get_or_insert_with(Vec::new);
                match c {
                    None => return Err(UnbalancedQuotes),
                    Some(b'\\') if at(p + 1) == Some(b'x') => {
                        let hi = at(p + 2).and_then(hex_value);
                        let lo = at(p + 3).and_then(hex_value);
                        if let (Some(hi), Some(lo)) = (hi, lo) {
                            buf.push(hi * 16 + lo);
                            p += 3;
                        } else {
                            // `\x` without two hex digits is an ordinary escape of `x`.
                            buf.push(b'x');
                            p += 1;
                        }
                    }
                    Some(b'\\') if p + 1 < s.len() => {
                        p += 1;
                        buf.push(match s[p] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if at(p + 1).is_some_and(|b| !is_space(b)) {
                            return Err(UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => buf.push(other),
                }
            } else if in_single {
                let buf = owned.get_or_insert_with(Vec::new);
                match c {
                    None => return Err(UnbalancedQuotes),
                    Some(b'\\') if at(p + 1) == Some(b'\'') => {
                        p += 1;
                        buf.push(b'\'');
                    }
                    Some(b'\'') => {
                        if at(p + 1).is_some_and(|b| !is_space(b)) {
                            return Err(UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => buf.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(b) if ends_unquoted(b) => {
                        plain_end = p;
                        p += 1;
                        break;
                    }
                    Some(q @ (b'"' | b'\'')) => {
                        // A quote may open mid-argument (`foo"bar baz"`): keep what came
                        // before it.
                        owned.get_or_insert_with(|| s[start..p].to_vec());
                        in_double = q == b'"';
                        in_single = q == b'\'';
                    }
                    // Quoted arguments end at their closing quote, so an unquoted byte
                    // always extends a plain run.
                    Some(_) => {}
                }
            }
            p += 1;
        }
        args.push(match owned {
            Some(buf) => Bytes::from(buf),
            None => line.slice(start..plain_end),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &[u8]) -> Result<Vec<Vec<u8>>, UnbalancedQuotes> {
        split_args(&Bytes::copy_from_slice(s)).map(|v| v.into_iter().map(|b| b.to_vec()).collect())
    }

    fn ok(s: &[u8], want: &[&[u8]]) {
        let want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
        assert_eq!(split(s), Ok(want), "input {:?}", String::from_utf8_lossy(s));
    }

    #[test]
    fn plain_words_and_blanks() {
        ok(b"", &[]);
        ok(b"   \t ", &[]);
        ok(b"set a b", &[b"set", b"a", b"b"]);
        ok(b"  set\t\ta   b  ", &[b"set", b"a", b"b"]);
        // \v and \f are skipped as leading blanks but stay inside an unquoted argument.
        ok(b"\x0bget a\x0cb", &[b"get", b"a\x0cb"]);
    }

    #[test]
    fn double_quotes_and_escapes() {
        ok(br#""hello world""#, &[b"hello world"]);
        ok(br#""a\nb\r\t\b\a\"\\\q""#, &[b"a\nb\r\t\x08\x07\"\\q"]);
        ok(br#""\x41\x7a\xff\x00""#, &[b"Az\xff\x00"]);
        ok(br#""\x4""#, &[b"x4"]);
        ok(br#""\xZZ""#, &[b"xZZ"]);
        ok(br#""""#, &[b""]);
        ok(br#"foo"bar baz" x"#, &[b"foobar baz", b"x"]);
    }

    #[test]
    fn single_quotes() {
        ok(br"'it\'s' 'a\nb'", &[b"it's", br"a\nb"]);
        ok(b"''", &[b""]);
    }

    #[test]
    fn unbalanced() {
        for s in [
            &br#""abc"#[..],
            br#""abc"def"#,
            br"'abc",
            br"'abc'x",
            br#""\"#,
            br#"set """test-key""" test-value"#,
        ] {
            assert_eq!(
                split(s),
                Err(UnbalancedQuotes),
                "input {:?}",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn unquoted_args_are_zero_copy() {
        let line = Bytes::from_static(b"get key");
        let args = split_args(&line).unwrap();
        assert_eq!(args[1].as_ptr(), line[4..].as_ptr());
    }
}
