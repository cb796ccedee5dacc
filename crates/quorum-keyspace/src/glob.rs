//! [`GlobPattern`]: Redis's glob matching (`stringmatchlen` in `util.c`) for KEYS, SCAN MATCH
//! and, later, PSUBSCRIBE.
//!
//! Same syntax as Redis: `*` any run of bytes, `?` one byte, `[abc]`, `[a-c]` (ends may be
//! reversed), `[^a]` negation, `\x` a literal `x` (also inside classes); a trailing `\` is a
//! literal backslash and an unterminated class runs to the end of the pattern. The pattern
//! is compiled once into tokens that each consume exactly one byte except `*`, and matched
//! with single-point backtracking, so a match costs O(pattern · subject) even for patterns
//! like `*a*a*a*b` on which a naive recursive matcher goes exponential.
//!
//! Not here: case-insensitive matching (no command of this issue needs it).

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobPattern {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Star,
    AnyByte,
    Literal(u8),
    Class { negated: bool, items: Vec<(u8, u8)> },
}

impl Token {
    fn matches(&self, byte: u8) -> bool {
        match self {
            Token::Star | Token::AnyByte => true,
            Token::Literal(b) => *b == byte,
            Token::Class { negated, items } => {
                let hit = items.iter().any(|&(lo, hi)| lo <= byte && byte <= hi);
                hit != *negated
            }
        }
    }
}

impl GlobPattern {
    /// Compiles `pattern`. Every byte string is a valid pattern.
    pub fn new(pattern: &[u8]) -> Self {
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < pattern.len() {
            match pattern[i] {
                b'*' => {
                    // Consecutive stars are one star.
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                    i += 1;
                }
                b'?' => {
                    tokens.push(Token::AnyByte);
                    i += 1;
                }
                b'[' => {
                    let (token, next) = compile_class(pattern, i + 1);
                    tokens.push(token);
                    i = next;
                }
                b'\\' if i + 1 < pattern.len() => {
                    tokens.push(Token::Literal(pattern[i + 1]));
                    i += 2;
                }
                b => {
                    tokens.push(Token::Literal(b));
                    i += 1;
                }
            }
        }
        GlobPattern { tokens }
    }

    /// Whether the pattern is a lone `*` (lets callers skip matching altogether).
    pub fn matches_everything(&self) -> bool {
        self.tokens == [Token::Star]
    }

    /// Whether `subject` matches the whole pattern.
    pub fn matches(&self, subject: &[u8]) -> bool {
        let tokens = &self.tokens;
        let (mut t, mut s) = (0, 0);
        // Where to resume after the most recent star: (token after it, subject position).
        let mut backtrack: Option<(usize, usize)> = None;
        while s < subject.len() {
            match tokens.get(t) {
                Some(Token::Star) => {
                    backtrack = Some((t + 1, s));
                    t += 1;
                }
                Some(token) if token.matches(subject[s]) => {
                    t += 1;
                    s += 1;
                }
                _ => match backtrack {
                    // Let the last star swallow one more byte and retry.
                    Some((bt, bs)) => {
                        backtrack = Some((bt, bs + 1));
                        t = bt;
                        s = bs + 1;
                    }
                    None => return false,
                },
            }
        }
        tokens[t..].iter().all(|token| *token == Token::Star)
    }
}

/// Compiles a class whose body starts at `start` (just after `[`); returns the token and the
/// index after the closing `]` (or the pattern's end).
fn compile_class(pattern: &[u8], start: usize) -> (Token, usize) {
    let mut i = start;
    let negated = pattern.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    while i < pattern.len() {
        let b = pattern[i];
        if b == b'\\' && i + 1 < pattern.len() {
            items.push((pattern[i + 1], pattern[i + 1]));
            i += 2;
        } else if b == b']' {
            return (Token::Class { negated, items }, i + 1);
        } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' {
            let (lo, hi) = (b.min(pattern[i + 2]), b.max(pattern[i + 2]));
            items.push((lo, hi));
            i += 3;
        } else {
            items.push((b, b));
            i += 1;
        }
    }
    (Token::Class { negated, items }, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cases: &[(&str, &str, bool)]) {
        for (pattern, subject, expected) in cases {
            let got = GlobPattern::new(pattern.as_bytes()).matches(subject.as_bytes());
            assert_eq!(got, *expected, "pattern {pattern:?} subject {subject:?}");
        }
    }

    #[test]
    fn matches_like_redis_stringmatchlen() {
        check(&[
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "hllo", true),
            ("h*llo", "heeeello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[b-a]llo", "hallo", true),
            ("h[a-b]llo", "hcllo", false),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("[\\]]", "]", true),
            ("[]", "a", false),
            ("[^]", "a", true),
            ("[abc", "b", true),
            ("[abc", "bc", false),
            ("ab\\", "ab\\", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("*a*a*a*a*a*b", &"a".repeat(60), false),
            ("user:*:name", "user:42:name", true),
            ("[a-]", "-", false),
            ("[a-]", "^", true),
            ("a**", "a", true),
        ]);
    }
}
