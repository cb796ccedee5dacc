//! LZF decompression (liblzf's `lzf_decompress`, as vendored by Redis), for the
//! `RDB_ENC_LZF` strings Redis writes for compressible values over 20 bytes.
//!
//! Bounded: the caller states the decompressed length, which is checked against what the
//! input could possibly produce before anything is allocated, and every copy is checked
//! against both buffers. Malformed input is refused, never a panic.
//!
//! Not here: compression (DUMP writes strings uncompressed, which Redis accepts).

/// Most output bytes one input byte can produce: a 3-byte back reference copies up to
/// 7 + 255 + 2 = 264 bytes. A stated length above `88 * input` cannot be reached.
const EXPANSION_MAX: usize = 88;

/// Decompresses `input` into exactly `out_len` bytes, or `None` when it does not produce
/// exactly that many (Redis's `lzf_decompress(...) != len` check).
///
/// `out_len == 0` always succeeds with an empty string: liblzf reports errors by returning
/// 0, which Redis then compares with the stated length, so Redis 7.0 accepts any input
/// stated to decompress to nothing.
pub(super) fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    if out_len == 0 {
        return Some(Vec::new());
    }
    if out_len > input.len().saturating_mul(EXPANSION_MAX) {
        return None;
    }
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            // A literal run of ctrl + 1 bytes.
            let run = ctrl + 1;
            if out.len() + run > out_len {
                return None;
            }
            out.extend_from_slice(input.get(ip..ip + run)?);
            ip += run;
            continue;
        }
        // A back reference: length in the top 3 bits (7 = one more length byte), then the
        // distance's high 5 bits here and its low 8 bits in the next byte.
        let mut len = ctrl >> 5;
        if ip >= input.len() {
            return None;
        }
        if len == 7 {
            len += usize::from(input[ip]);
            ip += 1;
            if ip >= input.len() {
                return None;
            }
        }
        let distance = ((ctrl & 0x1f) << 8) + usize::from(input[ip]) + 1;
        ip += 1;
        let len = len + 2;
        if out.len() + len > out_len {
            return None;
        }
        let start = out.len().checked_sub(distance)?;
        // Byte by byte: the source may overlap what this copy writes (runs).
        for i in start..start + len {
            let byte = out[i];
            out.push(byte);
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::decompress;

    #[test]
    fn decodes_literals_and_overlapping_back_references() {
        // What Redis 7.0.15 wrote for 40 × 'a': literal "aa", back reference (long form,
        // 7 + 27 + 2 = 36 bytes at distance 1), literal "aa".
        let input = b"\x01aa\xe0\x1b\x00\x01aa";
        assert_eq!(decompress(input, 40), Some(vec![b'a'; 40]));
        assert_eq!(decompress(input, 39), None);
        assert_eq!(decompress(input, 41), None);
        assert_eq!(decompress(b"\x02abc", 3), Some(b"abc".to_vec()));
    }

    #[test]
    fn refuses_truncated_input_and_references_before_the_start() {
        assert_eq!(decompress(b"\x05ab", 6), None);
        assert_eq!(decompress(b"\x00a\x20", 3), None);
        assert_eq!(decompress(b"\x00a\xe0", 10), None);
        assert_eq!(decompress(b"\x00a\x20\x01", 3), None);
        assert_eq!(decompress(b"", 1), None);
        assert_eq!(decompress(b"\x00a", 1_000), None);
        // A stated empty result is accepted whatever the input, as in Redis.
        assert_eq!(decompress(b"\xff", 0), Some(Vec::new()));
    }
}
