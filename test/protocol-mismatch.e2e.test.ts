// Agents from another release beside a real one: each gets one clear per-agent line, the pass goes on with
// the others, and nothing of theirs is written, half-written, archived or purged.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Capabilities, type InfoResponse } from '../common/protocol.js';
import { type PurgeSummary } from '../common/run-results.js';
import { fakePng, put } from './helpers/files.js';
import { catalogRows } from './helpers/nothing-lost.js';
import { type Started, plainLines, runCli, startAgent, syncJson, tempDir } from './helpers/processes.js';
import { fileSpec, validTar } from './fixtures/tars.js';
import { ScriptedAgent, agentInfo, sendTar } from './helpers/scripted-agent.js';

const OLD = new Date(Date.now() - 2 * 24 * 3600_000);

function info(protocol: number): InfoResponse {
  return { ...agentInfo(1), protocol, version: '9.0.0', capabilities: Object.values(Capabilities) };
}

/** A scripted agent with one file, whose archives are honest: only its protocol can keep it out. */
async function agentWithOneFile(name: string): Promise<ScriptedAgent> {
  const spec = await fileSpec(`output/${name}.png`, fakePng(3000));
  const agent = await new ScriptedAgent([spec]).start();
  agent.archive = async (res) => sendTar(res, await validTar([spec]));
  return agent;
}

describe('agents speaking another protocol version', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let dest: string;
  let real: Started;
  /** Says protocol 2 in its info body (and 1 in its headers). */
  let bodyTwo: ScriptedAgent;
  /** Says protocol 2 in the header of every answer (and 1 in its info body). */
  let headerTwo: ScriptedAgent;
  /** Speaks protocol 1 for the sync, then is upgraded to 2 before the purge. */
  let upgraded: ScriptedAgent;

  beforeAll(async () => {
    work = await tempDir('fms-protocol-');
    out = join(work.path, 'output');
    dest = join(work.path, 'synced');
    for (const name of ['a.png', 'b.png', 'c.png']) await put(out, name, fakePng(2000), OLD);
    real = await startAgent([out], ['--min-purge-age', '1h']);
    bodyTwo = await agentWithOneFile('body-two');
    bodyTwo.info = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(info(2)));
    };
    headerTwo = await agentWithOneFile('header-two');
    headerTwo.protocolHeader = '2';
    upgraded = await agentWithOneFile('upgraded');
  });

  afterAll(async () => {
    await real?.stop();
    for (const agent of [bodyTwo, headerTwo, upgraded]) await agent?.close();
    await work?.[Symbol.asyncDispose]();
  });

  it('sync: one line per such agent, the others synced, nothing of theirs written', async () => {
    const result = await syncJson(dest, {
      gpu1: real.url,
      'body-two': bodyTwo.url,
      'header-two': headerTwo.url,
      upgraded: upgraded.url,
    });
    expect(result.code).toBe(1);
    const byName = new Map(result.summary!.agents.map((agent) => [agent.name, agent]));
    expect(byName.get('gpu1')).toMatchObject({ ok: true, filesTransferred: 3, errors: 0 });
    expect(byName.get('upgraded')).toMatchObject({ ok: true, filesTransferred: 1, errors: 0 });
    for (const name of ['body-two', 'header-two']) {
      expect(byName.get(name)!.error?.code, name).toBe('E_PROTOCOL_MISMATCH');
      expect(byName.get(name)!.filesTransferred).toBe(0);
      const lines = plainLines(result.stderr).filter((line) => line.includes(`agent ${name} `));
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`agent ${name} speaks protocol 2; this controller speaks 1`));
    }
    // Only their info was asked for: no manifest, no archive, no acknowledgement.
    expect(bodyTwo.requests).toEqual(['GET /v1/info']);
    expect(headerTwo.requests).toEqual(['GET /v1/info']);
    const stored = await readdir(dest);
    expect(stored.sort()).toEqual(['.forge-sync', 'gpu1', 'upgraded']);
    expect(await readdir(join(dest, '.forge-sync/tmp')).catch(() => [])).toEqual([]);
    const agents = new Set((await catalogRows(dest)).map((row) => row.agent));
    expect([...agents].sort()).toEqual(['gpu1', 'upgraded']);
  });

  it('purge: an agent upgraded since its sync is refused and asked to delete nothing; the other is purged', async () => {
    upgraded.protocolHeader = '2';
    upgraded.info = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(info(1)));
    };
    upgraded.requests.length = 0;
    const result = await runCli([
      'purge',
      '--dest',
      dest,
      '--agent',
      `gpu1=${real.url}`,
      '--agent',
      `upgraded=${upgraded.url}`,
      '--older-than',
      '1d',
      '--json',
    ]);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as PurgeSummary;
    const byName = new Map(summary.agents.map((agent) => [agent.name, agent]));
    expect(byName.get('gpu1')).toMatchObject({ ok: true, filesPurged: 3 });
    expect(byName.get('upgraded')).toMatchObject({ filesPurged: 0 });
    expect(byName.get('upgraded')!.error?.code).toBe('E_PROTOCOL_MISMATCH');
    expect(plainLines(result.stderr).filter((line) => line.includes('agent upgraded '))).toEqual([
      expect.stringMatching(/agent upgraded speaks protocol 2; this controller speaks 1/) as string,
    ]);
    expect(upgraded.requests).toEqual(['GET /v1/info']);
    const rows = await catalogRows(dest);
    expect(rows.filter((row) => row.agent === 'upgraded' && row.purge_outcome !== null)).toEqual([]);
  });
});
