// Cutting a manifest body into lines: chunk boundaries anywhere, blank and CRLF lines, and every bound that refuses it.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../common/errors.js';
import { ChunkReader } from '../../lib/chunk-reader.js';
import { MAX_MANIFEST_LINE_BYTES, manifestLines } from './manifest-lines.js';

const HEADER = '{"type":"header","protocol":1,"generation":1,"since":null}';
const END = '{"type":"end","generation":1,"files":1,"pending":0,"hashed":0,"cacheHits":0}';
const file = (path: string): string =>
  JSON.stringify({ type: 'file', path, size: 1, mtimeMs: 0, xxh64: '0123456789abcdef' });
const WIDE = { manifestBytes: 1 << 30, manifestFiles: 1000 };

/**
 * Runs manifestLines over `chunks`, handed out exactly as given (a PassThrough would merge them);
 * returns each line as `type` or `type path`, the error's code and message, and whether the reader was destroyed.
 */
async function cut(
  chunks: readonly (string | Buffer)[],
  bounds = WIDE,
): Promise<{ lines: string[]; error?: { code: string; message: string }; destroyed: boolean }> {
  const stream = new PassThrough();
  const reader = new ChunkReader(stream);
  const queue = chunks.map((chunk) => Buffer.from(chunk));
  const lines: string[] = [];
  let error: { code: string; message: string } | undefined;
  try {
    for await (const line of manifestLines(reader, 'gpu1', bounds, async () => queue.shift() ?? null)) {
      lines.push(line.type === 'file' ? `file ${line.path}` : line.type);
    }
  } catch (err) {
    if (!isAppError(err)) throw err;
    error = { code: err.code, message: err.message };
  }
  return { lines, ...(error ? { error } : {}), destroyed: stream.destroyed };
}

describe('manifestLines', () => {
  it.each<{ name: string; chunks: string[]; lines: string[] }>([
    {
      name: 'one line a chunk',
      chunks: [`${HEADER}\n`, `${file('output/a.png')}\n`, `${END}\n`],
      lines: ['header', 'file output/a.png', 'end'],
    },
    {
      name: 'all lines in one chunk',
      chunks: [`${HEADER}\n${file('output/a.png')}\n${END}\n`],
      lines: ['header', 'file output/a.png', 'end'],
    },
    {
      name: 'a line split across three chunks, and a newline alone',
      chunks: [
        `${HEADER}\n${file('output/a.png').slice(0, 10)}`,
        file('output/a.png').slice(10, 30),
        file('output/a.png').slice(30),
        '\n',
        `${END}\n`,
      ],
      lines: ['header', 'file output/a.png', 'end'],
    },
    {
      name: 'a chunk boundary right after the newline',
      chunks: [`${HEADER}\n`, `${file('output/a.png')}\n${END}`, '\n'],
      lines: ['header', 'file output/a.png', 'end'],
    },
    {
      name: 'CRLF line ends and blank lines',
      chunks: [`${HEADER}\r\n\n\n${file('output/a.png')}\r\n`, `\n${END}\r\n`],
      lines: ['header', 'file output/a.png', 'end'],
    },
    {
      name: 'lines of types it does not know pass through',
      chunks: [`${HEADER}\n{"type":"scan","phase":"hashing"}\n${END}\n`],
      lines: ['header', 'scan', 'end'],
    },
  ])('yields the lines: $name', async ({ chunks, lines }) => {
    const result = await cut(chunks);
    expect(result.error).toBeUndefined();
    expect(result.lines).toEqual(lines);
    expect(result.destroyed).toBe(true);
  });

  it.each<{
    name: string;
    chunks: (string | Buffer)[];
    bounds?: { manifestBytes: number; manifestFiles: number };
    lines: string[];
    code: string;
    message: RegExp;
  }>([
    {
      name: 'a body without an end line',
      chunks: [`${HEADER}\n${file('output/a.png')}\n`],
      lines: ['header', 'file output/a.png'],
      code: 'E_PROTOCOL',
      message: /^the manifest from agent gpu1 was cut short; the sync of this agent is retried next pass$/,
    },
    {
      name: 'an end line without its newline',
      chunks: [`${HEADER}\n${END}`],
      lines: ['header'],
      code: 'E_PROTOCOL',
      message: /was cut short/,
    },
    {
      name: 'an empty body',
      chunks: [],
      lines: [],
      code: 'E_PROTOCOL',
      message: /was cut short/,
    },
    {
      name: 'a line that is not JSON',
      chunks: [`${HEADER}\n{"type":"file",\n${END}\n`],
      lines: ['header'],
      code: 'E_PROTOCOL',
      message: /^agent gpu1 sent a manifest line that is not JSON$/,
    },
    ...['null', '42', '"end"', '[{"type":"end"}]', 'true'].map((json) => ({
      name: `a line of JSON ${json}`,
      chunks: [`${HEADER}\n${json}\n${END}\n`],
      lines: ['header'],
      code: 'E_PROTOCOL',
      message: /^agent gpu1 sent a manifest line that is not a JSON object$/,
    })),
    {
      name: 'a line one byte longer than the limit, in one chunk',
      chunks: [`${HEADER}\n${' '.repeat(MAX_MANIFEST_LINE_BYTES - 1)}{}\n${END}\n`],
      lines: ['header'],
      code: 'E_PROTOCOL',
      message: /^agent gpu1 sent a manifest line longer than 65536 bytes; the manifest is refused$/,
    },
    {
      name: 'a line longer than the limit, over many chunks without a newline',
      chunks: [`${HEADER}\n`, ...Array.from({ length: 5 }, () => Buffer.alloc(20_000, 0x20))],
      lines: ['header'],
      code: 'E_PROTOCOL',
      message: /longer than 65536 bytes/,
    },
    {
      name: 'more bytes than the limit',
      chunks: [`${HEADER}\n`, `${file('output/a.png')}\n`, `${END}\n`],
      bounds: { manifestBytes: HEADER.length + 10, manifestFiles: 1000 },
      lines: ['header'],
      code: 'E_AGENT_LIMIT',
      message: new RegExp(
        `^agent gpu1 sent a manifest of more than ${HEADER.length + 10} bytes, past this controller's limit`,
      ),
    },
    {
      name: 'more files than the limit',
      chunks: [
        `${HEADER}\n${file('output/a.png')}\n${file('output/b.png')}\n${file('output/c.png')}\n${END}\n`,
      ],
      bounds: { manifestBytes: 1 << 30, manifestFiles: 2 },
      lines: ['header', 'file output/a.png', 'file output/b.png'],
      code: 'E_AGENT_LIMIT',
      message: /a manifest of more than 2 files/,
    },
  ])('refuses $name', async ({ chunks, bounds, lines, code, message }) => {
    const result = await cut(chunks, bounds);
    expect(result.lines).toEqual(lines);
    expect(result.error?.code).toBe(code);
    expect(result.error?.message).toMatch(message);
    expect(result.destroyed, 'the reader is destroyed on a refusal too').toBe(true);
  });

  it('takes exactly as many files and bytes as the limits allow', async () => {
    const body = `${HEADER}\n${file('output/a.png')}\n${file('output/b.png')}\n${END}\n`;
    const result = await cut([body], { manifestBytes: Buffer.byteLength(body), manifestFiles: 2 });
    expect(result.error).toBeUndefined();
    expect(result.lines).toEqual(['header', 'file output/a.png', 'file output/b.png', 'end']);
  });

  it('takes a line of exactly the limit, cut across chunks', async () => {
    const line = `{"type":"header","pad":"${'x'.repeat(MAX_MANIFEST_LINE_BYTES - 26)}"}`;
    expect(Buffer.byteLength(line)).toBe(MAX_MANIFEST_LINE_BYTES);
    const result = await cut([line.slice(0, 40_000), line.slice(40_000), `\n${END}\n`]);
    expect(result.error).toBeUndefined();
    expect(result.lines).toEqual(['header', 'end']);
  });
});
