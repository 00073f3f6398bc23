// Property tests for manifest parsing: any bytes an agent sends give checked entries or an AppError, never a crash.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, type Problem } from '../../common/errors.js';
import { PROTOCOL_HEADER, PROTOCOL_VERSION } from '../../common/protocol.js';
import { anyPath, validPath } from '../../test/helpers/arbitraries.js';
import { type AgentClient, HttpAgentClient } from './agent-client.js';
import { readManifest } from './read-manifest.js';

const hex16 = fc.stringMatching(/^[0-9a-f]{16}$/);

const validFile = fc.record({
  type: fc.constant('file'),
  path: validPath,
  size: fc.nat(),
  mtimeMs: fc.nat(),
  xxh64: hex16,
});

/** Values whose conversion to a string throws, or that only look like a string or a number. */
const trickyValue = fc.constantFrom<unknown>(
  { toString: 1 },
  { toString: 1, valueOf: 1 },
  { __proto__: null },
  [],
  ['a'],
  null,
  '12',
  1.5,
  -1,
  2 ** 60,
  2 ** 53 + 2,
  '0123456789ABCDEF',
  '0123456789abcde',
);

/** A file line with at least one bad field. */
const badFile = fc
  .record({
    type: fc.constant('file'),
    path: fc.oneof(anyPath, trickyValue),
    size: fc.oneof(fc.nat(), trickyValue),
    mtimeMs: fc.oneof(fc.nat(), trickyValue),
    xxh64: fc.oneof(hex16, trickyValue, fc.string({ maxLength: 20 })),
  })
  .filter((line) => !isValidFileLine(line));

const otherLine = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constant({ type: 'header', protocol: 1, generation: 3, since: null, epoch: 'e1' }),
  fc.record({ type: fc.constant('header'), generation: trickyValue, since: trickyValue, epoch: trickyValue }),
  fc.record({
    type: fc.constant('end'),
    generation: trickyValue,
    files: fc.oneof(fc.nat(), trickyValue),
    pending: trickyValue,
    hashed: trickyValue,
    pendingReasons: fc.oneof(fc.jsonValue({ maxDepth: 2 }), trickyValue),
    longPending: fc.oneof(fc.jsonValue({ maxDepth: 2 }), trickyValue),
  }),
  fc.record({ type: fc.constant('scan'), filesSeen: trickyValue, filesHashed: trickyValue }),
  fc.record({ type: fc.constant('removed'), path: fc.oneof(anyPath, trickyValue) }),
  trickyValue,
);

const line = fc.oneof({ weight: 4, arbitrary: validFile }, { weight: 3, arbitrary: badFile }, otherLine);
const END = { type: 'end', generation: 9, files: 0, pending: 0, hashed: 0 };

/** The rule for a file line, written out plainly. */
function isValidFileLine(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { type, path, size, xxh64 } = value as Record<string, unknown>;
  if (type !== 'file' || typeof path !== 'string' || path.length === 0 || path.length > 4096) return false;
  if (Buffer.from(path, 'utf8').toString('utf8') !== path) return false;
  if (path.includes('\0') || path.includes('\\') || path.startsWith('/') || /^[A-Za-z]:/.test(path))
    return false;
  const segmentsOk = path
    .split('/')
    .every(
      (segment) => segment !== '' && segment !== '.' && segment !== '..' && Buffer.byteLength(segment) <= 255,
    );
  return (
    segmentsOk &&
    typeof xxh64 === 'string' &&
    /^[0-9a-f]{16}$/.test(xxh64) &&
    Number.isSafeInteger(size) &&
    (size as number) >= 0
  );
}

/** Either the checked entries, or the AppError it refused the manifest with; anything else fails the property. */
async function outcome(
  read: () => Promise<{ table: { allPaths(): string[] } }>,
): Promise<string[] | AppError> {
  try {
    return (await read()).table.allPaths();
  } catch (err) {
    expect(err, `not an AppError: ${String(err)}`).toBeInstanceOf(AppError);
    return err as AppError;
  }
}

describe('readManifest, on generated lines', () => {
  it('accepts exactly the valid file lines, in order, each path once, and refuses the rest with a problem or an AppError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 30 }), async (lines) => {
        // Each line goes through JSON text, as from the wire: `__proto__` keys stay own keys.
        const texts = [...lines, END].map((value) => JSON.stringify(value) ?? 'null');
        const client = {
          // As HttpAgentClient does: only JSON objects are lines (the HTTP property below holds it to that).
          async *manifest() {
            for (const text of texts) {
              const value = JSON.parse(text) as unknown;
              if (typeof value !== 'object' || value === null || Array.isArray(value))
                throw new AppError('E_PROTOCOL', 'not a JSON object');
              yield value as never;
            }
          },
        } as unknown as AgentClient;
        const problems: Problem[] = [];
        const result = await outcome(() => readManifest(client, problems));
        if (result instanceof AppError) return;
        const parsed = texts.map((text) => JSON.parse(text) as unknown);
        // Each path once, where it was first listed.
        const valid = new Set(
          parsed.filter(isValidFileLine).map((value) => (value as { path: string }).path),
        );
        expect(result).toEqual([...valid]);
        const badFiles = parsed.filter(
          (value) => (value as { type?: unknown } | null)?.type === 'file' && !isValidFileLine(value),
        );
        expect(problems).toHaveLength(badFiles.length);
        for (const problem of problems) expect(typeof problem.path).toBe('string');
      }),
      { numRuns: 400 },
    );
  });
});

describe('HttpAgentClient.manifest and readManifest, on generated bytes over HTTP', () => {
  let server: Server;
  let body: Buffer[] = [];
  let url = '';

  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(200, {
        [PROTOCOL_HEADER]: String(PROTOCOL_VERSION),
        'content-type': 'application/x-ndjson',
      });
      for (const chunk of body) response.write(chunk);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** Lines as text: JSON, junk, empty, CRLF, over-long; then split into chunks anywhere. */
  const wire = fc
    .tuple(
      fc.array(
        fc.oneof(
          { weight: 6, arbitrary: line.map((value) => JSON.stringify(value) ?? 'null') },
          fc.string({ unit: 'binary', maxLength: 40 }),
          fc.constant(''),
          line.map((value) => `${JSON.stringify(value) ?? 'null'}\r`),
          fc.constant(`{"type":"file","path":"${'x'.repeat(70_000)}"}`),
        ),
        { maxLength: 25 },
      ),
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 8 }),
    )
    .map(([lines, ended, cuts]) => {
      const text = Buffer.from(`${[...lines, ...(ended ? [JSON.stringify(END)] : [])].join('\n')}\n`);
      const chunks: Buffer[] = [];
      let at = 0;
      for (let i = 0; at < text.length; i++) {
        const size = cuts[i % cuts.length]!;
        chunks.push(text.subarray(at, at + size));
        at += size;
      }
      return { lines, chunks };
    });

  it('never crashes: every accepted entry is a valid file line that was sent', async () => {
    await fc.assert(
      fc.asyncProperty(wire, async ({ lines, chunks }) => {
        body = chunks;
        const agent = new HttpAgentClient({ name: 'gpu1', url }, 'token');
        const result = await outcome(() => readManifest(agent, []));
        if (result instanceof AppError) return;
        const sent = new Set(
          lines.flatMap((text) => {
            try {
              const value = JSON.parse(text) as unknown;
              return isValidFileLine(value) ? [(value as { path: string }).path] : [];
            } catch {
              return [];
            }
          }),
        );
        for (const path of result) expect(sent.has(path), path).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
