//! CRC-64/Jones exactly as Redis's `crc64.c` computes it (polynomial 0xad93d23594c935a9,
//! reflected input and output, initial value 0, no final xor): the checksum that closes a
//! DUMP payload.
//!
//! Not here: where the checksum sits in the payload (`mod.rs`).

/// The Jones polynomial, bit-reversed for the reflected (LSB-first) table.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// One step per input byte; built at compile time.
static TABLE: [u64; 256] = table();

const fn table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// The CRC-64 of `bytes`, as Redis's `crc64(0, bytes, len)`.
pub(super) fn crc64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |crc, &byte| {
        TABLE[((crc ^ u64::from(byte)) & 0xff) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::crc64;

    #[test]
    fn matches_redis_check_value_and_a_real_dump() {
        // The check value `crc64.c`'s own test prints.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b""), 0);
        // Redis 7.0.15: DUMP of "hello" is these 9 bytes, then the CRC little-endian.
        let body = b"\x00\x05hello\x0a\x00";
        assert_eq!(crc64(body).to_le_bytes(), *b"cr\xdfve4 \n");
    }
}
