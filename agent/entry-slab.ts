// Room for small files' tar entries, carved in order from shared slabs: an archive of 20,000 small
// files allocates a slab per 50 files instead of a body per file and a joined copy of them all.

/** A slab's size; an entry over a quarter of it gets memory of its own. */
const SLAB_BYTES = 1 << 20;

/**
 * Hands out consecutive regions of one slab until it is full, then starts another; a slab is freed
 * once no region of it is referenced. Regions taken one after another are adjacent in memory, so
 * entries sent in the order they were taken leave as one write without being joined (see
 * ArchiveOut). A region's bytes are whatever the slab held: the caller writes every byte of it.
 */
export class EntrySlab {
  private slab: Buffer | undefined;
  private used = 0;

  take(bytes: number): Buffer {
    if (bytes > SLAB_BYTES / 4) return Buffer.allocUnsafeSlow(bytes);
    if (!this.slab || this.used + bytes > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    const region = this.slab.subarray(this.used, this.used + bytes);
    this.used += bytes;
    return region;
  }
}
