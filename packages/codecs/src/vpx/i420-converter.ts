import { SoftwareScaleContext } from 'node-av/lib';
import { AV_PIX_FMT_RGBA, AV_PIX_FMT_YUV420P, SWS_POINT } from 'node-av/constants';

/**
 * RGBA → planar YUV 4:2:0 (I420: Y, then U, then V, no row padding) with swscale, synchronously
 * on the calling thread: ~1 ms for 720p here. Synchronous on purpose: the VP9 encoder node
 * converts each frame as it arrives, while libvpx encodes earlier frames on the libuv pool, so
 * conversion and encoding overlap on the two cores instead of taking turns in one async chain
 * (and no RGBA copy into an AVFrame is needed: swscale reads the packet's bytes in place).
 */
export class I420Converter {
  readonly #sws = new SoftwareScaleContext();
  readonly #src: [Buffer] = [Buffer.alloc(0)];
  readonly #srcStride: [number];
  readonly #dstStride: [number, number, number];

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (width % 2 !== 0 || height % 2 !== 0)
      throw new RangeError(`I420 needs an even size, not ${width}×${height}`);
    // Same size in and out: no scaling happens, so the cheapest filter is enough.
    this.#sws.getContext(
      width,
      height,
      AV_PIX_FMT_RGBA,
      width,
      height,
      AV_PIX_FMT_YUV420P,
      SWS_POINT,
    );
    this.#srcStride = [width * 4];
    this.#dstStride = [width, width / 2, width / 2];
  }

  /** Bytes of one I420 frame of this size. */
  get frameBytes(): number {
    return (this.width * this.height * 3) / 2;
  }

  /** Converts `rgba` (width × height × 4 bytes, untouched) into a new I420 buffer. */
  convert(rgba: Uint8Array): Uint8Array {
    const { width, height } = this;
    if (rgba.byteLength !== width * height * 4)
      throw new RangeError(`RGBA frame has ${rgba.byteLength} bytes, not ${width * height * 4}`);
    // Not from Buffer's shared pool: the result is handed on (and may be transferred) alone. Not
    // zeroed either: swscale writes every byte.
    const out = Buffer.allocUnsafeSlow(this.frameBytes);
    const ySize = width * height;
    const cSize = ySize / 4;
    this.#src[0] = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
    const ret = this.#sws.scaleSync(
      this.#src,
      this.#srcStride,
      0,
      height,
      [out.subarray(0, ySize), out.subarray(ySize, ySize + cSize), out.subarray(ySize + cSize)],
      this.#dstStride,
    );
    // Do not keep the caller's packet alive through the context.
    this.#src[0] = EMPTY;
    if (ret !== height) throw new Error(`swscale converted ${ret} of ${height} rows`);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** Frees the swscale context now (the native object would otherwise go with garbage collection). */
  close(): void {
    this.#sws.freeContext();
  }
}

const EMPTY = Buffer.alloc(0);
