//! [`Frame`]: one reply value, as commands produce it and connections encode it.

use bytes::Bytes;
use quorum_types::ErrorReply;
use serde::{Deserialize, Serialize};

/// The protocol a connection speaks, chosen with `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Protocol {
    /// RESP2, the default for new connections.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// A reply value. Commands build frames without knowing the connection's protocol; the encoder
/// maps RESP3-only types onto RESP2 the way Redis does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    /// `+OK`
    Simple(String),
    /// `-ERR ...`
    Error(ErrorReply),
    /// `:42`
    Integer(i64),
    /// `$3\r\nfoo`
    Bulk(Bytes),
    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// A missing aggregate: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    /// `*2 ...`
    Array(Vec<Frame>),
    /// `%1 ...` in RESP3; a flat array of key, value, key, value… in RESP2.
    Map(Vec<(Frame, Frame)>),
    /// `~2 ...` in RESP3; an array in RESP2.
    Set(Vec<Frame>),
    /// `,3.14` in RESP3; a bulk string in RESP2.
    Double(f64),
    /// `#t` in RESP3; `:1`/`:0` in RESP2.
    Boolean(bool),
    /// `=15\r\ntxt:Some string` in RESP3; a bulk string in RESP2.
    Verbatim {
        /// Three-letter format, e.g. `txt`.
        format: [u8; 3],
        /// The text.
        text: Bytes,
    },
    /// `>3 ...` out-of-band push (pub/sub) in RESP3; an array in RESP2.
    Push(Vec<Frame>),
}

impl Frame {
    /// `+OK`
    pub fn ok() -> Frame {
        Frame::Simple("OK".to_string())
    }

    /// A bulk string from anything byte-like.
    pub fn bulk(bytes: impl Into<Bytes>) -> Frame {
        Frame::Bulk(bytes.into())
    }

    /// A bulk string, or `Null` for `None`.
    pub fn optional_bulk(bytes: Option<impl Into<Bytes>>) -> Frame {
        bytes.map_or(Frame::Null, |b| Frame::Bulk(b.into()))
    }

    /// An array of bulk strings.
    pub fn bulk_array<I, B>(items: I) -> Frame
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Frame::Array(items.into_iter().map(|b| Frame::Bulk(b.into())).collect())
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }
}

impl From<ErrorReply> for Frame {
    fn from(e: ErrorReply) -> Frame {
        Frame::Error(e)
    }
}

impl From<i64> for Frame {
    fn from(n: i64) -> Frame {
        Frame::Integer(n)
    }
}
