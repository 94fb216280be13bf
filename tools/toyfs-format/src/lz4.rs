// SPDX-License-Identifier: GPL-2.0
//! LZ4 in the block format the kernel's `lib/lz4` uses: what
//! `LZ4_compress_default` writes and `LZ4_decompress_safe` reads (raw
//! sequences, no frame, no size prefix), by the `lz4_flex` crate.

use crate::compressed::CompressedError;

/// Compresses `input` into one LZ4 block.
pub fn compress(input: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress(input)
}

/// Decompresses one LZ4 block that must yield exactly `length` bytes, as
/// the kernel checks `LZ4_decompress_safe`'s result against the header.
pub fn decompress(data: &[u8], length: usize) -> Result<Vec<u8>, CompressedError> {
    let mut output = vec![0u8; length];
    match lz4_flex::block::decompress_into(data, &mut output) {
        Ok(written) if written == length => Ok(output),
        _ => Err(CompressedError::Corrupt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_text_and_rejects_damage() {
        let text: Vec<u8> = b"toyfs stores a compressed block in the fewest fragments. "
            .iter()
            .cycle()
            .take(4096)
            .copied()
            .collect();
        let packed = compress(&text);
        assert!(packed.len() < 400, "{} bytes", packed.len());
        assert_eq!(decompress(&packed, 4096).unwrap(), text);
        assert_eq!(decompress(&packed, 4095), Err(CompressedError::Corrupt));
        assert_eq!(decompress(&packed, 4097), Err(CompressedError::Corrupt));
        assert_eq!(
            decompress(&packed[..packed.len() - 3], 4096),
            Err(CompressedError::Corrupt)
        );
    }

    /// A block written by the reference LZ4 (the `lz4` 1.9.4 command's
    /// frame, block taken out), which the kernel's `lib/lz4` follows:
    /// the crate reads the kernel's format.
    #[test]
    fn reads_the_reference_encoders_blocks() {
        let text = b"hello hello hello hello hello! toyfs compresses each block on its own. \
toyfs compresses each block on its own.\n";
        let reference = [
            0x6f, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x06, 0x00, 0x04, 0xff, 0x1a, 0x21, 0x20,
            0x74, 0x6f, 0x79, 0x66, 0x73, 0x20, 0x63, 0x6f, 0x6d, 0x70, 0x72, 0x65, 0x73, 0x73,
            0x65, 0x73, 0x20, 0x65, 0x61, 0x63, 0x68, 0x20, 0x62, 0x6c, 0x6f, 0x63, 0x6b, 0x20,
            0x6f, 0x6e, 0x20, 0x69, 0x74, 0x73, 0x20, 0x6f, 0x77, 0x6e, 0x2e, 0x28, 0x00, 0x11,
            0x50, 0x6f, 0x77, 0x6e, 0x2e, 0x0a,
        ];
        assert_eq!(decompress(&reference, text.len()).unwrap(), text);
    }

    /// Walks the sequences of an LZ4 block and checks the end-of-block
    /// rules the kernel's decoder enforces: the last sequence is literals
    /// only, the last 5 bytes are literals, and no match starts within 12
    /// bytes of the end.
    fn check_block_rules(block: &[u8], length: usize) {
        let (mut input, mut output) = (0usize, 0usize);
        let read_length = |input: &mut usize, mut value: usize| {
            if value == 15 {
                loop {
                    let byte = block[*input];
                    *input += 1;
                    value += usize::from(byte);
                    if byte != 255 {
                        break;
                    }
                }
            }
            value
        };
        loop {
            let token = block[input];
            input += 1;
            let literals = read_length(&mut input, usize::from(token >> 4));
            input += literals;
            output += literals;
            if input == block.len() {
                break;
            }
            input += 2;
            let match_len = read_length(&mut input, usize::from(token & 15)) + 4;
            assert!(output + 12 <= length, "match at {output} of {length}");
            output += match_len;
            assert!(output + 5 <= length, "match ends at {output} of {length}");
        }
        assert_eq!(output, length);
    }

    #[test]
    fn blocks_keep_the_end_rules_of_the_kernels_decoder() {
        let mut state = 0x1234_5678_u32;
        let mut noise = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for length in [1, 5, 12, 13, 17, 100, 1000, 4095, 4096] {
            let words = [&b"toyfs "[..], b"fragment ", b"tail ", b"\n", b"lz4 "];
            let mut text = Vec::new();
            while text.len() < length {
                text.extend_from_slice(words[noise() as usize % words.len()]);
            }
            text.truncate(length);
            let packed = compress(&text);
            check_block_rules(&packed, length);
            assert_eq!(decompress(&packed, length).unwrap(), text);
            let random: Vec<u8> = (0..length).map(|_| noise() as u8 & 7).collect();
            check_block_rules(&compress(&random), length);
        }
    }
}
