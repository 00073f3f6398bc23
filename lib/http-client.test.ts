// httpRequest: a request written onto a keep-alive socket the server is closing is sent again, once, on a new one.
import { once } from 'node:events';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpConnectError, httpRequest, readBody } from './http-client.js';

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/**
 * A server that answers the first request on each connection with keep-alive, and drops the
 * connection, unanswered, when a second request arrives on it: the race a client meets when the
 * server's keep-alive window ends just as it writes.
 */
async function closingServer(): Promise<{ url: string; connections: () => number; requests: () => number }> {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    let answered = 0;
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        requests++;
        if (answered++ === 0) {
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
        } else {
          socket.destroy();
          return;
        }
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push({
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connections: () => connections,
    requests: () => requests,
  };
}

describe('httpRequest', () => {
  it('sends a request again on a fresh connection when the reused one is dropped unanswered', async () => {
    const server = await closingServer();
    for (let i = 0; i < 3; i++) {
      const response = await httpRequest({ url: server.url, method: i % 2 ? 'POST' : 'GET', body: 'x' });
      expect(response.statusCode).toBe(200);
      expect((await readBody(response, 100)).toString()).toBe('ok');
    }
    // Requests 2 and 3 each met a dropped socket first, and went through on a new connection.
    expect(server.requests()).toBeGreaterThanOrEqual(3);
    expect(server.connections()).toBeGreaterThanOrEqual(3);
  });

  it('reports a refused connection with its code, without retrying forever', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    server.close();
    const error = await httpRequest({ url: `http://127.0.0.1:${port}/` }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HttpConnectError);
    expect((error as HttpConnectError).code).toBe('ECONNREFUSED');
  });

  it('gives up on a server that sends no answer in time, and honours an abort', async () => {
    const silent = createServer((socket) => socket.on('error', () => undefined));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    servers.push({ close: () => silent.close() });
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
    const timedOut = await httpRequest({ url, headersTimeoutMs: 100 }).catch((err: unknown) => err);
    expect((timedOut as HttpConnectError).code).toBe('ETIMEDOUT');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const aborted = await httpRequest({ url, signal: controller.signal }).catch((err: unknown) => err);
    expect((aborted as Error).name).toBe('AbortError');
  });
});
