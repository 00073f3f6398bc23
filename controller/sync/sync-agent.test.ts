// syncAgent against a real agent process, into a real destination and embedded catalog: a stream
// takes its next batch while the batch it read is made durable and catalogued, and a batch that
// cannot be made durable stops the pass with nothing of it catalogued.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.js';
import { noSink } from '../../common/ingest-events.js';
import { fakePng, put } from '../../test/helpers/files.js';
import { type Started, TOKEN, startAgent, tempDir } from '../../test/helpers/processes.js';
import { type AgentClient, HttpAgentClient } from '../agents/agent-client.js';
import type { AgentRef } from '../agents/agent-source.js';
import { type Store, openStore } from '../host-store/open-store.js';
import type { BatchJournal } from '../host-store/place.js';
import { noProgress } from '../progress/progress-hub.js';
import { finishingLimit, syncAgent } from './sync-agent.js';

const FILES = 3;

describe('syncAgent', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let agent: Started;
  let ref: AgentRef;
  let store: Store;

  beforeEach(async () => {
    work = await tempDir('sync-agent-');
    const out = join(work.path, 'output');
    for (let i = 0; i < FILES; i++) await put(out, `img-${i}.png`, fakePng(256, `file ${i}`));
    agent = await startAgent([out]);
    ref = { name: 'gpu1', url: agent.url };
    store = await openStore(join(work.path, 'dest'));
  });

  afterEach(async () => {
    await store.close();
    await agent.stop();
    await work[Symbol.asyncDispose]();
  });

  /** The agent's client, telling `onArchive` the files of each archive request as it is made. */
  const countingClient = (onArchive: (n: number, paths: string[]) => void): AgentClient => {
    const client = new HttpAgentClient(ref, TOKEN);
    let archives = 0;
    return new Proxy(client, {
      get(target, key, receiver) {
        if (key !== 'archive') return Reflect.get(target, key, receiver) as unknown;
        return (...args: Parameters<AgentClient['archive']>) => {
          onArchive(
            ++archives,
            args[0].map((file) => file.path),
          );
          return target.archive(...args);
        };
      },
    });
  };

  /**
   * One pass with one stream and one file a batch; `commit` stands in for making a batch durable,
   * `prepare` for listing a batch's names on disk.
   */
  const pass = (
    client: AgentClient,
    commit: (real: () => Promise<void>, batch: number) => Promise<void> = (real) => real(),
    prepare: (real: () => Promise<BatchJournal>) => Promise<BatchJournal> = (real) => real(),
  ) => {
    const run = store.host.beginRun(store.catalog);
    const durability = run.durability;
    let batches = 0;
    const commits = new Proxy(durability, {
      get(target, key, receiver) {
        if (key !== 'commit') return Reflect.get(target, key, receiver) as unknown;
        return (...args: Parameters<typeof durability.commit>) =>
          commit(() => target.commit(...args), ++batches);
      },
    });
    const placer = new Proxy(run.placer, {
      get(target, key, receiver) {
        if (key !== 'prepare') return Reflect.get(target, key, receiver) as unknown;
        return (...args: Parameters<typeof target.prepare>) => prepare(() => target.prepare(...args));
      },
    });
    return syncAgent(ref, {
      client,
      catalog: store.catalog,
      store: store.host,
      run: { ...run, durability: commits, placer },
      provenance: { host: 'test' },
      limits: { streams: 1, maxFiles: 1, maxBytes: 1 << 20 },
      runId: 'r1',
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      events: noSink,
      progress: noProgress,
    });
  };

  it('asks for the next batch while the one it read is made durable', async () => {
    let requested = 0;
    let nextAsked: () => void = () => undefined;
    const client = countingClient((n) => {
      requested = n;
      nextAsked();
    });
    const result = await pass(client, async (real, batch) => {
      // With one stream, batch n + 1 is asked for only once batch n is off the stream.
      if (batch < FILES && requested <= batch) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () =>
              reject(new Error(`batch ${batch + 1} was not asked for while batch ${batch} was made durable`)),
            10_000,
          );
          nextAsked = () => {
            if (requested <= batch) return;
            clearTimeout(timer);
            resolve();
          };
        });
      }
      await real();
    });
    expect(result.error).toBeUndefined();
    expect(result.filesTransferred).toBe(FILES);
    expect((await store.catalog.storedIndex('gpu1')).size).toBe(FILES);
  });

  it('stops at a batch that cannot be made durable, and catalogues nothing of it', async () => {
    const asked: string[][] = [];
    const result = await pass(
      countingClient((_n, paths) => asked.push(paths)),
      async (real, batch) => {
        if (batch === 1) throw new Error('the disk said no');
        await real();
      },
    );
    expect(result.error?.message).toContain('the disk said no');
    const stored = [...(await store.catalog.storedIndex('gpu1')).keys()];
    // The first batch's file is not catalogued. The second batch may have been asked for before
    // the failure was known, and then finishes; none is asked for after it.
    expect(asked.length).toBeLessThanOrEqual(2);
    expect(stored).not.toContain(asked[0]![0]);
    for (const path of stored) expect(asked[1]).toContain(path);
    expect(result.filesTransferred).toBe(stored.length);
  });

  /** Resolves once `asked()` holds, checking every 5 ms; rejects with `why` after 10 s. */
  const until = (asked: () => boolean, why: string) =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const check = (): void => {
        if (asked()) resolve();
        else if (Date.now() - started > 10_000) reject(new Error(why));
        else setTimeout(check, 5);
      };
      check();
    });

  it('asks for the archive while the batch is listed, and writes nothing before the list is on disk', async () => {
    let requested = 0;
    const client = countingClient((n) => (requested = n));
    const dest = join(work.path, 'dest', 'gpu1');
    const files = async () => (await readdir(dest, { recursive: true }).catch(() => [])).length;
    let prepares = 0;
    const result = await pass(client, undefined, async (real) => {
      const batch = ++prepares;
      await until(() => requested >= batch, `archive ${batch} was not asked for while its names were listed`);
      // The answer is coming; none of it may land before the list does.
      const before = await files();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await files()).toBe(before);
      return real();
    });
    expect(result.error).toBeUndefined();
    expect(result.filesTransferred).toBe(FILES);
  });

  it('stops at a batch whose names cannot be listed, lets its archive go, and the next pass takes all', async () => {
    const failed = await pass(new HttpAgentClient(ref, TOKEN), undefined, () =>
      Promise.reject(new Error('the journal folder said no')),
    );
    expect(failed.error?.message).toContain('the journal folder said no');
    expect(failed.filesTransferred).toBe(0);
    expect(await store.catalog.countFiles('gpu1')).toBe(0);
    // The archive asked for and never read took no connection or receipt the next pass needs.
    const next = await pass(new HttpAgentClient(ref, TOKEN));
    expect(next.error).toBeUndefined();
    expect(next.filesTransferred).toBe(FILES);
  });

  it('reports an archive refused while the names are looked up, and lists nothing more', async () => {
    const refusing = new Proxy(new HttpAgentClient(ref, TOKEN), {
      get(target, key, receiver) {
        if (key !== 'archive') return Reflect.get(target, key, receiver) as unknown;
        return () => Promise.reject(new Error('the agent refused the archive'));
      },
    });
    let prepared = 0;
    const result = await pass(refusing, undefined, async (real) => {
      // The refusal comes first: an unhandled rejection here would fail the test run.
      await new Promise((resolve) => setTimeout(resolve, 50));
      prepared++;
      return real();
    });
    expect(result.error?.message).toContain('the agent refused the archive');
    expect(prepared).toBe(1);
    expect(await store.catalog.countFiles('gpu1')).toBe(0);
  });
});

describe('finishingLimit', () => {
  it('lets as many batches finish as there are streams, within the receipts an agent keeps', () => {
    expect(finishingLimit(1)).toBe(1);
    expect(finishingLimit(2)).toBe(2);
    expect(finishingLimit(40)).toBe(64 - 40);
    expect(finishingLimit(64)).toBe(1);
  });
});
