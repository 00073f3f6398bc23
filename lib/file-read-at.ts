// Positioned reads from an open file, as the ReadAt the pure media rules in common/media/ take.
import type { FileHandle } from 'node:fs/promises';
import type { ReadAt } from '../common/media/read-at.js';

/**
 * A ReadAt over a file the caller keeps open (and closes), whose size it knows. Reads stop at that
 * size even if the file has grown since: what is checked or read is the file as it was measured.
 */
export function fileReadAt(handle: FileHandle, size: number): ReadAt<Buffer> {
  return {
    size,
    async read(position, length) {
      const wanted = Math.max(0, Math.min(length, size - position));
      if (wanted === 0) return Buffer.alloc(0);
      const buffer = Buffer.allocUnsafe(wanted);
      let filled = 0;
      while (filled < wanted) {
        const { bytesRead } = await handle.read(buffer, filled, wanted - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === wanted ? buffer : buffer.subarray(0, filled);
    },
  };
}
