// Bad input to the real CLI: one clear stderr line naming the problem, a non-zero exit, nothing half-written.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lstat, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_HEADER } from '../common/protocol.js';
import { fakePng, put, treeDigest } from './helpers/files.js';
import {
  type RunResult,
  freePort,
  plainLines,
  runCli,
  startAgent,
  syncJson,
  tempDir,
} from './helpers/processes.js';

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** The one line a person reads; fails with the whole stderr when there is not exactly one. */
function oneLine(result: RunResult): string {
  const lines = plainLines(result.stderr);
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0]!;
}

/** A destination a failed sync left as it found it: no stored file, no temp file, no lock. */
async function expectNothingStored(dest: string): Promise<void> {
  expect(await treeDigest(dest)).toEqual(new Map());
  expect(await readdir(join(dest, '.forge-sync/tmp'))).toEqual([]);
  expect(await exists(join(dest, '.forge-sync/lock'))).toBe(false);
}

describe('forge-sync on bad input', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    work = await tempDir('fms-cli-');
  });

  afterAll(async () => {
    await work?.[Symbol.asyncDispose]();
  });

  it('prints usage for --help and sync --help, and exits 0', async () => {
    const top = await runCli(['--help']);
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout).toMatch(/^Usage: forge-sync <command>/m);
    expect(top.stdout).toMatch(/^\s+sync\s/m);
    expect(top.stderr).toBe('');

    const sync = await runCli(['sync', '--help']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/^Usage: forge-sync sync \[flags\]/m);
    expect(sync.stdout).toMatch(/--dest DIR/);
    expect(sync.stdout).toMatch(/--agent NAME=URL/);
    expect(sync.stderr).toBe('');
  });

  it('rejects an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(oneLine(result)).toMatch(/unknown command "frobnicate".*forge-sync --help/);
    expect(result.stdout).toBe('');
  });

  it('rejects an unknown flag before touching --dest', async () => {
    const dest = join(work.path, 'bogus-dest');
    const result = await runCli(['sync', '--dest', dest, '--agent', 'a=http://127.0.0.1:9', '--bogus']);
    expect(result.code).toBe(2);
    expect(oneLine(result)).toMatch(/unknown flag --bogus.*forge-sync sync --help/);
    expect(await exists(dest)).toBe(false);
  });

  it('rejects a malformed duration, naming the flag and the value', async () => {
    const root = join(work.path, 'settle-root');
    await mkdir(root);
    const result = await runCli(['agent', '--root', root, '--settle', '10x', '--port', '0']);
    expect(result.code).toBe(2);
    expect(oneLine(result)).toMatch(/--settle.*"10x"/);
    expect(result.stderr).not.toMatch(/agent listening/);
    expect(await readdir(root)).toEqual([]);
  });

  it.each([
    [['purge', '--older-than', '0s'], /--older-than: expected a duration above zero.*"0s"/],
    [['purge', '--older-than', '-1h'], /--older-than.*"-".*not accepted/],
    [['sync', '--batch-bytes', '0'], /--batch-bytes: expected a size above zero.*"0"/],
    [['sync', '--batch-bytes', '-5MiB'], /--batch-bytes.*"-".*not accepted/],
  ])('refuses a zero or negative limit: %j', async (args, message) => {
    const dest = join(work.path, `limits-${args.join('_').replace(/[^a-z0-9]+/gi, '')}`);
    const result = await runCli([...args, '--dest', dest, '--agent', 'a=http://127.0.0.1:9']);
    expect(result.code).toBe(2);
    expect(oneLine(result)).toMatch(message);
    expect(await exists(dest)).toBe(false);
  });

  it('rejects a root folder that does not exist, and does not create it', async () => {
    const root = join(work.path, 'no-such-root');
    const result = await runCli(['agent', '--root', root, '--port', '0']);
    expect(result.code).toBe(2);
    const line = oneLine(result);
    expect(line).toContain(root);
    expect(line).toMatch(/not an existing folder/);
    expect(await exists(root)).toBe(false);
  });

  it('refuses to start an agent without a token unless --insecure', async () => {
    const root = join(work.path, 'token-root');
    await mkdir(root);
    const result = await runCli(['agent', '--root', root, '--port', '0'], { FORGE_SYNC_TOKEN: '' });
    expect(result.code).toBe(2);
    expect(oneLine(result)).toMatch(/no token.*FORGE_SYNC_TOKEN.*--insecure/);
    expect(result.stderr).not.toMatch(/agent listening/);
  });

  it('reports an unreachable agent and stores nothing', async () => {
    const dest = join(work.path, 'unreachable-dest');
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await syncJson(dest, { gone: url });
    expect(result.code).toBe(1);
    const line = oneLine(result);
    expect(line).toMatch(/agent gone .*unreachable.*ECONNREFUSED/);
    expect(line).toContain(url);
    expect(result.summary!.agents[0]!.error?.code).toBe('E_AGENT_UNREACHABLE');
    await expectNothingStored(dest);
  });

  it('reports a wrong token against a real agent and stores nothing', async () => {
    const root = join(work.path, 'auth-root');
    await put(root, 'txt2img-images/00000-1.png', fakePng(200));
    const agent = await startAgent([root]);
    try {
      const dest = join(work.path, 'auth-dest');
      const result = await syncJson(dest, { gpu1: agent.url }, [], { FORGE_SYNC_TOKEN: 'not-the-token' });
      expect(result.code).toBe(1);
      expect(oneLine(result)).toMatch(/agent gpu1 rejected the token.*FORGE_SYNC_TOKEN/);
      expect(result.summary!.agents[0]!.error?.code).toBe('E_AUTH');
      await expectNothingStored(dest);
    } finally {
      await agent.stop();
    }
  });

  it('refuses a --dest that is a regular file and leaves the file as it was', async () => {
    const file = join(work.path, 'dest-is-a-file');
    await writeFile(file, 'precious bytes');
    const before = await stat(file);
    const result = await syncJson(file, { gone: `http://127.0.0.1:${await freePort()}` });
    expect(result.code).toBe(1);
    const line = oneLine(result);
    expect(line).toContain(`--dest ${file}`);
    expect(line).toMatch(/not a writable folder/);
    expect(result.stdout).toBe('');
    expect(await readFile(file, 'utf8')).toBe('precious bytes');
    const after = await stat(file);
    expect(after.isFile()).toBe(true);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect((await readdir(work.path)).filter((name) => name.startsWith('dest-is-a-file'))).toEqual([
      'dest-is-a-file',
    ]);
  });

  describe('against a web page that is not an agent', () => {
    let server: Server;
    let url: string;

    beforeAll(async () => {
      // What --agent gets when it names the WebUI's own port: 200 and HTML, no protocol header.
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>Stable Diffusion</title>');
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise<void>((done) => {
        server?.close(() => done());
        server?.closeAllConnections();
      });
    });

    it('says it is not a forge-sync agent and stores nothing', async () => {
      const dest = join(work.path, 'webui-dest');
      const result = await syncJson(dest, { webui: url });
      expect(result.code).toBe(1);
      const line = oneLine(result);
      expect(line).toContain(url);
      expect(line).toMatch(/without a forge-sync protocol header; is it a forge-sync agent\?/);
      expect(result.summary!.agents[0]!.error?.code).toBe('E_PROTOCOL_MISMATCH');
      await expectNothingStored(dest);
    });
  });

  describe('against an agent that speaks another protocol version', () => {
    let server: Server;
    let url: string;

    beforeAll(async () => {
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', [PROTOCOL_HEADER]: '2' });
        res.end(JSON.stringify({ protocol: 2, version: '9.9.9', roots: [], capabilities: [] }));
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise<void>((done) => {
        server?.close(() => done());
        server?.closeAllConnections();
      });
    });

    it('refuses to sync and stores nothing', async () => {
      const dest = join(work.path, 'protocol-dest');
      const result = await syncJson(dest, { future: url });
      expect(result.code).toBe(1);
      expect(oneLine(result)).toMatch(/agent future speaks protocol 2; this controller speaks 1/);
      expect(result.summary!.agents[0]!.error?.code).toBe('E_PROTOCOL_MISMATCH');
      await expectNothingStored(dest);
    });
  });
});
