// /v1/progress over real sockets: auth on upgrade, every message to a reader, bounded memory for a client that never reads.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ProgressMessage } from '../../common/progress.js';
import { ProgressHub } from './progress-hub.js';
import { attachProgressSocket } from './progress-socket.js';
import { SESSION_COOKIE, SessionStore } from '../http/session.js';

const TOKEN = 'socket-test-token';
const clock = { now: () => Date.now() };

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('progress socket', () => {
  let server: Server;
  let hub: ProgressHub;
  let url: string;
  let socket: { close(): void };
  let sessions: SessionStore;

  beforeEach(async () => {
    server = createServer((_req, res) => res.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/progress`;
    hub = new ProgressHub(clock, 0);
    sessions = new SessionStore(clock);
    socket = attachProgressSocket(server, {
      hub,
      tokens: [TOKEN],
      clock,
      logger: pino({ level: 'silent' }),
      limits: { highWaterBytes: 64 * 1024, maxBacklog: 500, stuckMs: 1_000 },
      sessions,
    });
  });

  afterEach(async () => {
    socket.close();
    hub.close();
    await new Promise((resolve) => server.close(resolve));
  });

  function connect(
    options: { token?: string; query?: boolean; cookie?: string; origin?: string } = {},
  ): Promise<{ ws: WebSocket; messages: ProgressMessage[] }> {
    const token = options.token ?? TOKEN;
    const ws = options.query
      ? new WebSocket(`${url}?token=${token}`)
      : options.cookie !== undefined
        ? new WebSocket(url, {
            headers: { cookie: `${SESSION_COOKIE}=${options.cookie}` },
            ...(options.origin ? { origin: options.origin } : {}),
          })
        : new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const messages: ProgressMessage[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as ProgressMessage));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws, messages }));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  it('accepts a bearer header or a session cookie from its own origin, and never a token in the URL', async () => {
    await expect(connect({ token: 'wrong' })).rejects.toThrow('HTTP 401');
    // A token in the URL ends up in proxy access logs: refused even when it is right.
    await expect(connect({ query: true })).rejects.toThrow('HTTP 401');
    await expect(connect({ cookie: 'not-a-session' })).rejects.toThrow('HTTP 401');
    const { id } = sessions.create();
    await expect(connect({ cookie: id, origin: 'https://evil.example' })).rejects.toThrow('HTTP 401');
    const viaHeader = await connect();
    const viaCookie = await connect({ cookie: id, origin: new URL(url.replace('ws:', 'http:')).origin });
    await until(() => viaHeader.messages.length > 0 && viaCookie.messages.length > 0, 'snapshots');
    expect(viaHeader.messages[0]!.type).toBe('snapshot');
    expect(viaCookie.messages[0]!.type).toBe('snapshot');
    viaHeader.ws.close();
    viaCookie.ws.close();
  });

  it('gives a client that reads everything, in order, and drops a client that never reads once its backlog overflows', async () => {
    const reader = await connect();
    const stalled = await connect();
    // Stop reading: the kernel buffers fill, then the server-side socket does.
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await until(() => hub.listenerCount === 2, 'two listeners');
    const total = 20_000;
    // Published in bursts, as a sync does; the reader (in this same process) reads between them.
    for (let i = 0; i < total; i++) {
      hub.publish({
        type: 'file.stored',
        agent: 'gpu1',
        runId: 'r1',
        path: `output/${'x'.repeat(1000)}/${i}.png`,
        storedPath: `gpu1/${i}`,
        size: i,
      });
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => hub.listenerCount === 1, 'the stalled client to be dropped');
    await until(() => reader.messages.length === total + 1, 'every message at the reader', 20_000);
    const sizes = reader.messages.slice(1).map((m) => (m.type === 'file.stored' ? m.size : -1));
    expect(sizes).toEqual(Array.from({ length: total }, (_, i) => i));
    reader.ws.close();
  });

  it('gives a slow client the newest progress instead of every step, and keeps it', async () => {
    const slow = await connect();
    const raw = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    await until(() => hub.listenerCount === 1, 'the listener');
    const steps = 30_000;
    for (let i = 1; i <= steps; i++) {
      hub.publish({
        type: 'sync.progress',
        agent: 'gpu1',
        runId: 'r1',
        progress: {
          filesDone: i,
          filesTotal: steps,
          bytesDone: i,
          bytesTotal: steps,
          rateBps: null,
          etaSeconds: null,
        },
      });
    }
    hub.publish({ type: 'scan.started', agent: 'gpu2', runId: 'r2' });
    raw.resume();
    await until(() => slow.messages.some((m) => m.type === 'scan.started'), 'the must-deliver message');
    await until(
      () => slow.messages.some((m) => m.type === 'sync.progress' && m.progress.bytesDone === steps),
      'the newest progress',
    );
    expect(slow.messages.filter((m) => m.type === 'sync.progress').length).toBeLessThan(steps);
    expect(hub.listenerCount).toBe(1);
    slow.ws.close();
  });
});
