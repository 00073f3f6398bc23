// Agents that send too much, too slowly or never end, against a real `forge-sync sync`: each is one
// clear per-agent error within seconds, and the honest agent beside it is synced all the same.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_CONTENT_TYPE, MANIFEST_CONTENT_TYPE, PROTOCOL_VERSION } from '../common/protocol.js';
import { fakePng } from './helpers/files.js';
import { syncJson, tempDir } from './helpers/processes.js';
import { type FileSpec, fileHeader, fileSpec, unrequestedEntry, validTar } from './fixtures/tars.js';
import { ScriptedAgent, manifestText, sendTar } from './helpers/scripted-agent.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('sync against agents that exceed a bound', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let honest: ScriptedAgent;
  let hostile: ScriptedAgent;
  let good: FileSpec;
  let asked: FileSpec;
  let run = 0;

  beforeAll(async () => {
    work = await tempDir('fms-bounds-');
    good = await fileSpec('output/good.png', fakePng(2000));
    asked = await fileSpec('output/asked.png', fakePng(20_000));
    honest = await new ScriptedAgent([good]).start();
    honest.archive = async (res) => sendTar(res, await validTar([good]));
    hostile = await new ScriptedAgent([asked]).start();
  });

  afterEach(() => hostile.reset());

  afterAll(async () => {
    await honest?.close();
    await hostile?.close();
    await work?.[Symbol.asyncDispose]();
  });

  /**
   * Syncs the hostile agent beside the honest one into a fresh --dest, with these limits; checks
   * the honest one's file landed and returns the hostile one's error and how long it took.
   */
  async function syncBoth(
    limits: Record<string, number> = {},
  ): Promise<{ code: string; message: string; ms: number }> {
    const dest = join(work.path, `dest-${++run}`);
    const started = Date.now();
    const result = await syncJson(
      dest,
      { honest: honest.url, hostile: hostile.url },
      ['--log-level', 'fatal'],
      {
        FORGE_SYNC_INTERNAL_AGENT_LIMITS: JSON.stringify(limits),
      },
    );
    const ms = Date.now() - started;
    expect(result.code, result.stderr).not.toBe(0);
    const byName = new Map(result.summary!.agents.map((agent) => [agent.name, agent]));
    expect(byName.get('honest'), 'the pass goes on with the other agents').toMatchObject({
      ok: true,
      filesTransferred: 1,
    });
    expect(sha256(await readFile(join(dest, 'honest', good.path)))).toBe(sha256(good.content));
    const error = byName.get('hostile')!.error;
    expect(error, JSON.stringify(byName.get('hostile'))).toBeDefined();
    return { ...error!, ms };
  }

  it('refuses a manifest line that never ends, having read little of it', async () => {
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      res.write(
        `${JSON.stringify({ type: 'header', protocol: PROTOCOL_VERSION, generation: 1, since: null })}\n`,
      );
      const run = Buffer.alloc(64 << 10, 0x61);
      hostile.flood(res, () => run);
    };
    const error = await syncBoth();
    expect(error.code).toBe('E_PROTOCOL');
    expect(error.message).toMatch(/manifest line longer than 65536 bytes/);
    expect(error.ms).toBeLessThan(20_000);
    // What the controller read before refusing: the line limit plus socket buffers, not the stream.
    expect(hostile.sent).toBeLessThan(32 << 20);
  });

  it('refuses a gzip-encoded manifest without decoding it, having asked for identity', async () => {
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE, 'content-encoding': 'gzip' });
      res.end(gzipSync(manifestText([asked])));
    };
    const error = await syncBoth();
    expect(hostile.manifestHeaders?.['accept-encoding']).toBe('identity');
    expect(error.code).toBe('E_PROTOCOL');
    expect(error.message).toMatch(/content-encoding "gzip"/);
  });

  it('refuses a manifest of more files than the limit', async () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ ...asked, path: `output/many-${i}.png` }));
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      res.end(manifestText(many));
    };
    const error = await syncBoth({ manifestFiles: 3 });
    expect(error.code).toBe('E_AGENT_LIMIT');
    expect(error.message).toMatch(/manifest of more than 3 files/);
  });

  it('refuses a manifest longer than the limit in bytes', async () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ ...asked, path: `output/many-${i}.png` }));
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      res.end(manifestText(many)); // about 3 KB; the honest agent's is a third of that
    };
    const error = await syncBoth({ manifestBytes: 1500 });
    expect(error.code).toBe('E_AGENT_LIMIT');
    expect(error.message).toMatch(/manifest of more than 1500 bytes/);
  });

  it('gives up a manifest that keeps reporting a scan past its deadline', async () => {
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      const scan = Buffer.from(
        `${JSON.stringify({ type: 'scan', phase: 'hashing', filesSeen: 1, filesToHash: 1, filesHashed: 0, bytesToHash: 1, bytesHashed: 0 })}\n`,
      );
      hostile.every(res, 100, () => scan);
    };
    const error = await syncBoth({ stallMs: 1000, stallBytes: 256, manifestMs: 2000 });
    expect(error.code).toBe('E_AGENT_DEADLINE');
    expect(error.message).toMatch(/within 2 s/);
    expect(error.ms).toBeLessThan(15_000);
  });

  it('refuses an entry declaring 2^40 bytes for a 20 KB file before reading its body', async () => {
    hostile.archive = (res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      res.write(fileHeader(asked.path, 2 ** 40));
      const zeros = Buffer.alloc(64 << 10);
      hostile.flood(res, () => zeros);
    };
    const error = await syncBoth();
    expect(error.code).toBe('E_AGENT_LIMIT');
    expect(error.message).toMatch(/1099511627776 bytes declared, 20\d{3} expected/);
    expect(error.ms).toBeLessThan(20_000);
    expect(hostile.sent).toBeLessThan(64 << 20);
  });

  it('ends an archive of endless unrequested entries', async () => {
    let index = 0;
    hostile.archive = (res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      hostile.flood(res, () => Buffer.concat(Array.from({ length: 64 }, () => unrequestedEntry(index++))));
    };
    const error = await syncBoth();
    expect(error.code).toBe('E_AGENT_LIMIT');
    expect(error.message).toMatch(/more than 1000 refused entries/);
    expect(error.ms).toBeLessThan(20_000);
  });

  it('gives up an archive that trickles a byte at a time, though no gap is long', async () => {
    hostile.archive = (res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      const whole = fileHeader(asked.path, asked.content.length);
      let at = 0;
      hostile.every(res, 200, () => whole.subarray(at, ++at));
    };
    const error = await syncBoth({ stallMs: 1500, stallBytes: 1024 });
    expect(error.code).toBe('E_AGENT_STALLED');
    expect(error.message).toMatch(/less than 1024 bytes in 1.5 s/);
    expect(error.ms).toBeLessThan(15_000);
  });

  it('gives up an agent that stops writing mid-manifest', async () => {
    hostile.manifest = (res) => {
      res.writeHead(200, { 'content-type': MANIFEST_CONTENT_TYPE });
      const text = manifestText([asked]);
      res.write(text.slice(0, text.length / 2)); // and nothing more, the socket left open
    };
    const error = await syncBoth({ stallMs: 1500 });
    expect(error.code).toBe('E_AGENT_STALLED');
    expect(error.ms).toBeLessThan(15_000);
  });

  it('gives up a small JSON answer whose body never comes', async () => {
    hostile.info = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"protocol":'); // and nothing more
    };
    const error = await syncBoth({ stallMs: 1500 });
    expect(error.code).toBe('E_AGENT_STALLED');
    expect(error.ms).toBeLessThan(15_000);
  });

  it('gives up an archive that keeps sending but past its deadline', async () => {
    hostile.archive = (res) => {
      res.writeHead(200, { 'content-type': ARCHIVE_CONTENT_TYPE });
      // A steady 10 KiB/s of small entries: never a stall, and the archive never ends.
      let index = 0;
      hostile.every(res, 100, () => unrequestedEntry(index++));
    };
    const error = await syncBoth({ stallMs: 1000, stallBytes: 1024, archiveBaseMs: 1500 });
    expect(error.code).toBe('E_AGENT_DEADLINE');
    expect(error.message).toMatch(/within 1.5 s/);
    expect(error.ms).toBeLessThan(15_000);
  });
});
