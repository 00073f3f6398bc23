// A streaming tar reader: headers parsed in place, bodies handed out as slices of the received chunks.

const BLOCK = 512;
/**
 * Extended headers (PAX, GNU long names) before one entry, blocks included, larger than this in
 * all are refused: ours are a few hundred bytes, and an endless run of them must end.
 */
const MAX_META_BYTES = 1 << 20;

export type TarEntryType =
  'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo' | 'unknown';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
  mtimeMs: number;
  /** PAX records of this entry (global ones are ignored). */
  pax: Record<string, string>;
}

/** Where the archive's bytes come from, a chunk at a time (a ChunkReader over a stream, or one buffer); null at the end. */
export interface ChunkSource {
  next(): Promise<Buffer | null>;
}

export class TarFormatError extends Error {
  override readonly name = 'TarFormatError';
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

/**
 * Reads ustar, PAX and GNU long-name archives. Call `nextEntry`, then read or skip its body before
 * the next call. Body chunks are views of the network buffers: nothing is copied, and a consumer
 * that keeps one keeps that buffer alive. Every header's checksum is verified.
 */
export class TarReader {
  private chunk: Buffer = Buffer.alloc(0);
  private offset = 0;
  /** Bytes of the current entry's body not yet handed out, then its padding. */
  private bodyLeft = 0;
  private paddingLeft = 0;
  private done = false;

  constructor(private readonly source: ChunkSource) {}

  /** The next entry's header, or null at the end of the archive. */
  async nextEntry(): Promise<TarHeader | null> {
    if (this.bodyLeft > 0 || this.paddingLeft > 0) await this.skipBody();
    if (this.done) return null;
    const pax: Record<string, string> = Object.create(null) as Record<string, string>;
    let longName: string | undefined;
    let metaBytes = 0;
    for (;;) {
      const block = await this.readExact(BLOCK);
      if (!block) {
        throw new TarFormatError('the archive ends in the middle of a header');
      }
      if (isZeroBlock(block)) {
        this.done = true;
        return null;
      }
      const raw = parseHeaderBlock(block);
      if (raw.typeflag === 'x' || raw.typeflag === 'g' || raw.typeflag === 'L' || raw.typeflag === 'K') {
        metaBytes += BLOCK + raw.size + padding(raw.size);
        if (metaBytes > MAX_META_BYTES)
          throw new TarFormatError('the extended tar headers of an entry are too large');
        const body = await this.readMeta(raw.size);
        if (raw.typeflag === 'x') Object.assign(pax, parsePax(body));
        else if (raw.typeflag === 'L') longName = cString(body, 0, body.length);
        continue;
      }
      const size = pax.size !== undefined ? paxNumber(pax.size, 'size') : raw.size;
      const header: TarHeader = {
        name: pax.path ?? longName ?? raw.name,
        type: TYPES[raw.typeflag] ?? 'unknown',
        size,
        mode: raw.mode,
        mtimeMs: pax.mtime !== undefined ? paxNumber(pax.mtime, 'mtime') * 1000 : raw.mtime * 1000,
        pax,
      };
      // Links, folders and devices carry no body in tar, whatever their size field says.
      const hasBody = header.type === 'file' || header.type === 'unknown';
      this.bodyLeft = hasBody ? size : 0;
      this.paddingLeft = hasBody ? padding(size) : 0;
      return header;
    }
  }

  /** Bytes of the current entry's body not read yet: right after `nextEntry`, its declared size. */
  get bodyLeftBytes(): number {
    return this.bodyLeft;
  }

  /**
   * The current entry's body as chunks, in order; each is a view into a received buffer. Ends
   * with the entry; throws TarFormatError if the archive is cut short inside it.
   */
  async *body(): AsyncGenerator<Buffer> {
    while (this.bodyLeft > 0) {
      const piece = await this.take(this.bodyLeft);
      if (!piece) throw new TarFormatError('the archive ends in the middle of a file');
      this.bodyLeft -= piece.length;
      yield piece;
    }
    await this.skipPadding();
  }

  /** Reads and drops the rest of the current entry. */
  async skipBody(): Promise<void> {
    while (this.bodyLeft > 0) {
      const piece = await this.take(this.bodyLeft);
      if (!piece) throw new TarFormatError('the archive ends in the middle of a file');
      this.bodyLeft -= piece.length;
    }
    await this.skipPadding();
  }

  private async skipPadding(): Promise<void> {
    while (this.paddingLeft > 0) {
      const piece = await this.take(this.paddingLeft);
      if (!piece) throw new TarFormatError('the archive ends in the padding of a file');
      this.paddingLeft -= piece.length;
    }
  }

  /** Up to `max` bytes from the current chunk (pulling a new one when it is used up); null at the end. */
  private async take(max: number): Promise<Buffer | null> {
    if (this.offset >= this.chunk.length) {
      const next = await this.source.next();
      if (!next) return null;
      this.chunk = next;
      this.offset = 0;
    }
    const end = Math.min(this.chunk.length, this.offset + max);
    const piece = this.chunk.subarray(this.offset, end);
    this.offset = end;
    return piece;
  }

  /** Exactly `length` bytes (copied only when they straddle chunks); null if the stream ends first. */
  private async readExact(length: number): Promise<Buffer | null> {
    const first = await this.take(length);
    if (!first) return null;
    if (first.length === length) return first;
    const parts = [first];
    let have = first.length;
    while (have < length) {
      const piece = await this.take(length - have);
      if (!piece) return null;
      parts.push(piece);
      have += piece.length;
    }
    return Buffer.concat(parts, length);
  }

  private async readMeta(size: number): Promise<Buffer> {
    const body = size === 0 ? Buffer.alloc(0) : await this.readExact(size);
    if (!body) throw new TarFormatError('the archive ends in the middle of an extended header');
    const pad = padding(size);
    if (pad > 0 && !(await this.readExact(pad))) {
      throw new TarFormatError('the archive ends in the padding of an extended header');
    }
    return body;
  }
}

function padding(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

interface RawHeader {
  name: string;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
}

function parseHeaderBlock(block: Buffer): RawHeader {
  const stored = octal(block, 148, 8, 'checksum');
  let sum = 8 * 0x20; // the checksum field counts as spaces
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < BLOCK; i++) sum += block[i]!;
  if (sum !== stored) throw new TarFormatError('a tar header fails its checksum: the archive is corrupted');
  const typeflag = String.fromCharCode(block[156]!);
  let name = cString(block, 0, 100);
  // ustar splits long names into a prefix and a name.
  if (block.toString('latin1', 257, 262) === 'ustar') {
    const prefix = cString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    typeflag,
    size: numeric(block, 124, 12, 'size'),
    mode: octal(block, 100, 8, 'mode'),
    mtime: numeric(block, 136, 12, 'mtime'),
  };
}

function cString(buffer: Buffer, start: number, length: number): string {
  const end = buffer.indexOf(0, start);
  const stop = end < 0 || end > start + length ? start + length : end;
  return buffer.toString('utf8', start, stop);
}

function octal(block: Buffer, start: number, length: number, field: string): number {
  const text = block
    .toString('latin1', start, start + length)
    .replace(/[\0 ]+$/, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`a tar header has a malformed ${field} field`);
  return parseInt(text, 8);
}

/** Octal, or GNU base-256 when the top bit of the first byte is set (sizes of 8 GiB and more). */
function numeric(block: Buffer, start: number, length: number, field: string): number {
  if ((block[start]! & 0x80) === 0) return octal(block, start, length, field);
  if (block[start] !== 0x80) throw new TarFormatError(`a tar header has a negative ${field} field`);
  let value = 0;
  for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i]!;
  if (!Number.isSafeInteger(value)) throw new TarFormatError(`a tar header's ${field} field is too large`);
  return value;
}

function paxNumber(text: string, field: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new TarFormatError(`a PAX ${field} record is malformed`);
  const value = Number(text);
  if (!Number.isSafeInteger(Math.floor(value)))
    throw new TarFormatError(`a PAX ${field} record is too large`);
  return field === 'size' ? Math.floor(value) : value;
}

/** PAX records: `<length> <key>=<value>\n`, where length counts the whole record. */
function parsePax(body: Buffer): Record<string, string> {
  const records = Object.create(null) as Record<string, string>;
  let position = 0;
  while (position < body.length) {
    if (body[position] === 0) break; // NUL padding some writers leave
    const space = body.indexOf(0x20, position);
    if (space < 0) throw new TarFormatError('a PAX header is malformed');
    const lengthText = body.toString('latin1', position, space);
    const length = Number(lengthText);
    if (!/^\d+$/.test(lengthText) || length <= space - position || position + length > body.length) {
      throw new TarFormatError('a PAX header has a bad record length');
    }
    const record = body.toString('utf8', space + 1, position + length - 1);
    const equals = record.indexOf('=');
    if (equals <= 0) throw new TarFormatError('a PAX record has no key');
    records[record.slice(0, equals)] = record.slice(equals + 1);
    position += length;
  }
  return records;
}
