// The file index's state file: NDJSON, a header line, then one array per file and per tombstone;
// read and written a line at a time, so a 200k-file index never sits in memory as text.
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { isXxh64 } from '../common/manifest.js';
import type { FileIdentity } from './file-table.js';

export interface StateHeader {
  epoch: string;
  generation: number;
  horizon: number;
}

/** What reading a state file hands over, line by line. */
export interface StateReader {
  header(header: StateHeader): void;
  file(path: string, identity: FileIdentity, xxh64: string, gen: number): void;
  tombstone(path: string, gen: number): void;
}

/**
 * Reads a state file (v2, or a v1 hash cache: its lines are files without a generation). A damaged
 * line is skipped: it only costs one re-hash. False when there is no such file.
 */
export async function readStateFile(path: string, reader: StateReader): Promise<boolean> {
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
  const opened = new Promise<boolean>((resolve, reject) => {
    input.once('open', () => resolve(true));
    input.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ENOENT' ? resolve(false) : reject(err),
    );
  });
  if (!(await opened)) return false;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line) readLine(line, reader);
  }
  return true;
}

function readLine(line: string, reader: StateReader): void {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return;
  }
  if (!Array.isArray(value)) {
    const header = value as { v?: unknown; epoch?: unknown; generation?: unknown; horizon?: unknown };
    if (header?.v === 2 && typeof header.epoch === 'string' && Number.isSafeInteger(header.generation)) {
      reader.header({
        epoch: header.epoch,
        generation: header.generation as number,
        horizon: Number.isSafeInteger(header.horizon) ? (header.horizon as number) : 0,
      });
    }
    return;
  }
  const [path, a, b, c, xxh64, gen] = value as unknown[];
  if (typeof path !== 'string') return;
  if (value.length === 2 && Number.isSafeInteger(a)) {
    reader.tombstone(path, a as number);
  } else if (isXxh64(xxh64) && [a, b, c].every((n) => typeof n === 'number')) {
    const stamp = Number.isSafeInteger(gen) ? (gen as number) : 0;
    reader.file(path, { size: a as number, mtimeMs: b as number, ino: c as number }, xxh64, stamp);
  }
}

/** Appends lines to an open file in chunks of about FLUSH_AT characters. */
export class LineWriter {
  private chunk = '';
  private static readonly FLUSH_AT = 1 << 20;

  constructor(private readonly handle: FileHandle) {}

  async line(value: unknown): Promise<void> {
    this.chunk += `${JSON.stringify(value)}\n`;
    if (this.chunk.length > LineWriter.FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.chunk === '') return;
    const chunk = this.chunk;
    this.chunk = '';
    await this.handle.write(chunk);
  }
}

/**
 * Replaces the state file at `target` atomically: `fill` writes the lines into a temp file, which is
 * fsynced and renamed over it. On failure the temp file is removed and the old file stays.
 */
export async function writeStateFile(
  target: string,
  fill: (out: LineWriter) => Promise<void>,
): Promise<void> {
  const temp = `${target}.${process.pid}.tmp`;
  const handle = await open(temp, 'w');
  try {
    const out = new LineWriter(handle);
    await fill(out);
    await out.flush();
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temp, target);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await (await open(path, 'r')).close();
    return true;
  } catch {
    return false;
  }
}
