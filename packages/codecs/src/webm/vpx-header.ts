/**
 * The frame size from a VP9 keyframe's uncompressed header (VP9 bitstream spec §6.2), which a
 * WebM track header needs and an `encoded_video` packet does not carry. Returns undefined for
 * anything that is not a keyframe of profile 0–3.
 */
export function vp9KeyframeSize(data: Uint8Array): { width: number; height: number } | undefined {
  let bit = 0;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      const byte = data[bit >> 3];
      if (byte === undefined) throw new RangeError('truncated');
      v = (v << 1) | ((byte >> (7 - (bit & 7))) & 1);
    }
    return v;
  };
  try {
    if (read(2) !== 2) return undefined; // frame_marker
    const profile = read(1) | (read(1) << 1);
    if (profile === 3) read(1); // reserved_zero
    if (read(1) === 1) return undefined; // show_existing_frame
    if (read(1) !== 0) return undefined; // frame_type: 0 = KEY_FRAME
    read(2); // show_frame, error_resilient_mode
    if (read(24) !== 0x498342) return undefined; // frame_sync_code
    // color_config
    if (profile >= 2) read(1); // ten_or_twelve_bit
    const colorSpace = read(3);
    if (colorSpace !== 7) {
      read(1); // color_range
      if (profile === 1 || profile === 3) read(3); // subsampling_x, subsampling_y, reserved_zero
    } else if (profile === 1 || profile === 3) {
      read(1); // reserved_zero
    }
    return { width: read(16) + 1, height: read(16) + 1 };
  } catch {
    return undefined;
  }
}

/**
 * The frame size from a VP8 keyframe's header (RFC 6386 §9.1): a 3-byte frame tag whose low bit
 * is 0 for a keyframe, the start code 9d 01 2a, then 14-bit width and height (each with 2 bits
 * of scaling above). Returns undefined for anything else.
 */
export function vp8KeyframeSize(data: Uint8Array): { width: number; height: number } | undefined {
  if (data.length < 10 || (data[0]! & 1) !== 0) return undefined;
  if (data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) return undefined;
  const width = (data[6]! | (data[7]! << 8)) & 0x3fff;
  const height = (data[8]! | (data[9]! << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** The frame size from a VP8 or VP9 keyframe, or undefined when `data` is not one. */
export function vpxKeyframeSize(
  codec: string,
  data: Uint8Array,
): { width: number; height: number } | undefined {
  if (codec === 'vp8') return vp8KeyframeSize(data);
  if (codec === 'vp9') return vp9KeyframeSize(data);
  return undefined;
}
