//! CRC-32 as used by zlib, PNG and Ethernet (polynomial 0x04C11DB7, reflected, initial value and final
//! XOR all ones), table-driven with the table built at compile time.

/// The reflected polynomial.
const POLY: u32 = 0xedb8_8320;

/// The byte-wise lookup table.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { POLY ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// Continues a CRC-32 computation: `crc` is a previous result (0 to start).
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8);
    }
    !c
}

/// The CRC-32 of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    crc32_update(0, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_check_values() {
        // The CRC catalogue's "check" value for CRC-32/ISO-HDLC, and two widely published strings.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414f_a339
        );
    }

    #[test]
    fn update_in_pieces_matches_one_shot() {
        let part = crc32_update(0, b"12345");
        assert_eq!(crc32_update(part, b"6789"), 0xcbf4_3926);
    }
}
