//! Intsets (`intset.c`): the sorted array of integers Redis uses for small all-integer sets,
//! read only, with `intsetValidateIntegrity`'s checks in deep mode.
//!
//! Layout: element width in bytes (u32 LE: 2, 4 or 8), count (u32 LE), then the integers,
//! little-endian, strictly increasing.
//!
//! Not here: writing (DUMP writes sets as plain member lists, which Redis accepts).

/// Header: width and count.
const HEADER_BYTES: usize = 8;

/// The integers of the intset `is`, or `None` when it is malformed, empty, or not strictly
/// increasing.
pub(super) fn members(is: &[u8]) -> Option<Vec<i64>> {
    let header = is.get(..HEADER_BYTES)?;
    let width = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
    let count = u32::from_le_bytes(header[4..8].try_into().ok()?) as usize;
    let size = count
        .checked_mul(width)
        .and_then(|n| n.checked_add(HEADER_BYTES));
    if !matches!(width, 2 | 4 | 8) || size != Some(is.len()) {
        return None;
    }
    let values: Vec<i64> = is[HEADER_BYTES..]
        .chunks_exact(width)
        .map(|chunk| {
            let mut value = 0i64;
            for (i, b) in chunk.iter().enumerate() {
                value |= i64::from(*b) << (8 * i);
            }
            let shift = 64 - 8 * width as u32;
            (value << shift) >> shift
        })
        .collect();
    let increasing = values.windows(2).all(|pair| pair[0] < pair[1]);
    (!values.is_empty() && increasing).then_some(values)
}

#[cfg(test)]
mod tests {
    use super::members;

    #[test]
    fn reads_each_width_and_refuses_disorder() {
        // Redis 7.0.15: SADD s 1 2 3 is this 16-bit intset.
        let is = b"\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00";
        assert_eq!(members(is), Some(vec![1, 2, 3]));
        let wide = [
            &[8u8, 0, 0, 0, 2, 0, 0, 0][..],
            &i64::MIN.to_le_bytes(),
            &(-1i64).to_le_bytes(),
        ]
        .concat();
        assert_eq!(members(&wide), Some(vec![i64::MIN, -1]));
        let int32 = b"\x04\x00\x00\x00\x01\x00\x00\x00\xff\xff\xff\xff";
        assert_eq!(members(int32), Some(vec![-1]));
        assert!(members(b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00").is_none());
        assert!(members(b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x01\x00").is_none());
        assert!(members(b"\x02\x00\x00\x00\x00\x00\x00\x00").is_none());
        assert!(members(b"\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00").is_none());
        assert!(members(b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00").is_none());
        assert!(members(b"\x02\x00\x00\x00\xff\xff\xff\xff").is_none());
    }
}
