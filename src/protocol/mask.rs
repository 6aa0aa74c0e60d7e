//! The masking transformation of RFC 6455 §5.3.
//!
//! "The masking does not affect the length of the "Payload data". To convert masked data into
//! unmasked data, or vice versa, the following algorithm is applied. [...] Octet i of the
//! transformed data ("transformed-octet-i") is the XOR of octet i of the original data
//! ("original-octet-i") with octet at index i modulo 4 of the masking key ("masking-key-octet-j")."

use std::mem::MaybeUninit;

/// Masks (or unmasks) `buf` in place with `key`, `buf[0]` being payload octet 0.
///
/// Works a machine word at a time: a byte loop only for the unaligned head and the tail.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    // SAFETY: every bit pattern is a valid u64; align_to_mut only splits the slice.
    let (head, words, tail) = unsafe { buf.align_to_mut::<u64>() };
    apply_mask_bytes(head, key, 0);
    // The key as it lines up with the first aligned word.
    let shift = head.len() % 4;
    let rotated = [
        key[shift],
        key[(shift + 1) % 4],
        key[(shift + 2) % 4],
        key[(shift + 3) % 4],
    ];
    let word_key = u64::from_ne_bytes([
        rotated[0], rotated[1], rotated[2], rotated[3], rotated[0], rotated[1], rotated[2],
        rotated[3],
    ]);
    for word in words.iter_mut() {
        *word ^= word_key;
    }
    // Words are a multiple of 4 bytes, so the tail starts at the same key offset as the words.
    apply_mask_bytes(tail, rotated, 0);
}

/// Appends `payload` masked with `key` to `out`, copying and masking in one pass.
pub fn extend_masked(out: &mut Vec<u8>, payload: &[u8], key: [u8; 4]) {
    out.reserve(payload.len());
    copy_masked(
        &mut out.spare_capacity_mut()[..payload.len()],
        payload,
        key,
        0,
    );
    // SAFETY: the `payload.len()` bytes after the old length were all written just above.
    unsafe { out.set_len(out.len() + payload.len()) };
}

/// Writes `payload` masked with `key` into `dst` (of the same length), `payload[0]` being
/// octet `offset` of the frame's payload: a piece of a payload masked as it is written out.
pub fn mask_into(dst: &mut [u8], payload: &[u8], key: [u8; 4], offset: usize) {
    // SAFETY: the same memory seen as possibly uninitialized; `copy_masked` only writes
    // initialized bytes into it.
    let dst = unsafe { &mut *(dst as *mut [u8] as *mut [MaybeUninit<u8>]) };
    copy_masked(dst, payload, key, offset);
}

/// Copies and masks in one pass, a word at a time; writes every byte of `dst`.
fn copy_masked(dst: &mut [MaybeUninit<u8>], payload: &[u8], key: [u8; 4], offset: usize) {
    assert_eq!(dst.len(), payload.len());
    let key = [
        key[offset % 4],
        key[(offset + 1) % 4],
        key[(offset + 2) % 4],
        key[(offset + 3) % 4],
    ];
    let word_key = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let words = payload.chunks_exact(8);
    let tail = words.remainder();
    let (word_dst, tail_dst) = dst.split_at_mut(payload.len() - tail.len());
    for (src, dst) in words.zip(word_dst.chunks_exact_mut(8)) {
        let masked = u64::from_ne_bytes(src.try_into().expect("8 bytes")) ^ word_key;
        for (d, b) in dst.iter_mut().zip(masked.to_ne_bytes()) {
            d.write(b);
        }
    }
    // Words are a multiple of 4 bytes long, so the tail starts at key offset 0.
    for (i, (d, b)) in tail_dst.iter_mut().zip(tail).enumerate() {
        d.write(b ^ key[i % 4]);
    }
}

fn apply_mask_bytes(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(i + offset) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6455_example_hello() {
        // RFC 6455 §5.7: "A single-frame masked text message" 0x81 0x85 0x37 0xfa 0x21 0x3d
        // 0x7f 0x9f 0x4d 0x51 0x58 (contains "Hello").
        let mut data = *b"Hello";
        apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn word_path_matches_byte_loop_for_every_length_and_alignment() {
        let key = [0x6d, 0xb6, 0xb2, 0x80];
        let source: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for offset in 0..16 {
            for len in 0..(source.len() - offset) {
                let mut fast = source.clone();
                apply_mask(&mut fast[offset..offset + len], key);
                let mut slow = source.clone();
                apply_mask_bytes(&mut slow[offset..offset + len], key, 0);
                assert_eq!(fast, slow, "offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn extend_masked_matches_the_byte_loop_for_every_length() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let source: Vec<u8> = (0..200u32).map(|i| (i * 13 + 1) as u8).collect();
        for len in 0..source.len() {
            let mut out = vec![0xaa; 3]; // appends after existing bytes
            extend_masked(&mut out, &source[..len], key);
            let mut expected = vec![0xaa; 3];
            expected.extend_from_slice(&source[..len]);
            apply_mask_bytes(&mut expected[3..], key, 0);
            assert_eq!(out, expected, "len {len}");
        }
    }

    #[test]
    fn mask_into_continues_at_any_offset() {
        let key = [0x9a, 0xbc, 0xde, 0xf0];
        let source: Vec<u8> = (0..100u32).map(|i| (i * 17 + 5) as u8).collect();
        let mut whole = Vec::new();
        extend_masked(&mut whole, &source, key);
        for cut in 0..source.len() {
            let mut pieces = vec![0; source.len()];
            let (a, b) = pieces.split_at_mut(cut);
            mask_into(a, &source[..cut], key, 0);
            mask_into(b, &source[cut..], key, cut);
            assert_eq!(pieces, whole, "cut at {cut}");
        }
    }

    #[test]
    fn masking_twice_restores_the_payload() {
        let original: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        extend_masked(&mut out, &original, [1, 2, 3, 4]);
        assert_ne!(out, original);
        apply_mask(&mut out, [1, 2, 3, 4]);
        assert_eq!(out, original);
    }
}
