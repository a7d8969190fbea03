/** Ogg page header flags (RFC 3533 §6). */
export const OggHeaderType = {
  continued: 0x01,
  bos: 0x02,
  eos: 0x04,
} as const;

/** Lacing values a page may hold (one byte counts them). */
export const OGG_MAX_SEGMENTS = 255;

const CRC_TABLE = (() => {
  // CRC-32 with polynomial 0x04c11db7, MSB first, no reflection, init 0, no final xor (RFC 3533).
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let b = 0; b < 8; b++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++)
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]!) & 0xff]!) >>> 0;
  return crc;
}

/** Lacing values a packet of `length` bytes needs: 255s, then one value < 255 (maybe 0). */
export function lacingCount(length: number): number {
  return Math.floor(length / 255) + 1;
}

export interface OggPageInput {
  headerType: number;
  /** -1 when no packet ends on the page. */
  granule: number;
  serial: number;
  sequence: number;
  /** Whole packets only (this writer never splits a packet across pages). */
  packets: readonly Uint8Array[];
}

/** One Ogg page with its CRC. */
export function oggPage(page: OggPageInput): Uint8Array {
  const lacing: number[] = [];
  let bodyLength = 0;
  for (const p of page.packets) {
    for (let n = p.length; ; n -= 255) {
      if (n >= 255) lacing.push(255);
      else {
        lacing.push(n);
        break;
      }
    }
    bodyLength += p.length;
  }
  if (lacing.length > OGG_MAX_SEGMENTS)
    throw new Error(`an Ogg page holds ${OGG_MAX_SEGMENTS} segments, not ${lacing.length}`);
  const out = new Uint8Array(27 + lacing.length + bodyLength);
  const view = new DataView(out.buffer);
  out.set([0x4f, 0x67, 0x67, 0x53]); // "OggS"
  out[4] = 0; // version
  out[5] = page.headerType;
  view.setBigInt64(6, BigInt(page.granule), true);
  view.setUint32(14, page.serial >>> 0, true);
  view.setUint32(18, page.sequence >>> 0, true);
  // bytes 22..25: CRC, zero while it is computed
  out[26] = lacing.length;
  out.set(lacing, 27);
  let at = 27 + lacing.length;
  for (const p of page.packets) {
    out.set(p, at);
    at += p.length;
  }
  view.setUint32(22, oggCrc(out), true);
  return out;
}
