// One progress client of the load scenario: counts what a dashboard would receive, cheaply.
import { WebSocket } from 'ws';
import { AUTH } from './processes.js';

/**
 * One watcher of /v1/progress. Messages are only scanned, not parsed, except the few that end
 * something: 50 clients of a 160k-file pass receive millions of `file.stored`, and the measuring
 * process must keep up as a real dashboard would.
 */
export class Watcher {
  readonly completed = new Map<string, { runId: string; filesTransferred: number; errors: number }>();
  readonly fileEvents = new Map<string, number>();
  messages = 0;
  dropped = false;
  private closing = false;
  private readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly snapshot: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/progress`, { headers: AUTH });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    let snapshotSeen: () => void;
    this.snapshot = new Promise((resolve) => (snapshotSeen = resolve));
    this.ws.on('message', (data: Buffer) => {
      this.messages++;
      const text = data.toString('utf8');
      if (text.includes('"type":"file.stored"')) {
        const agent = /"agent":"([^"]+)"/.exec(text)?.[1] ?? '';
        this.fileEvents.set(agent, (this.fileEvents.get(agent) ?? 0) + 1);
      } else if (text.includes('"type":"snapshot"')) {
        snapshotSeen();
      } else if (text.includes('"type":"sync.completed"')) {
        const message = JSON.parse(text) as {
          agent: string;
          runId: string;
          result: { filesTransferred: number; errors: number };
        };
        const { filesTransferred, errors } = message.result;
        this.completed.set(message.agent, { runId: message.runId, filesTransferred, errors });
      }
    });
    this.ws.on('close', () => {
      if (!this.closing) this.dropped = true;
    });
    this.ws.on('error', () => undefined);
  }

  /** True once every agent's `sync.completed` of `runId` is here. */
  done(agents: readonly string[], runId: string): boolean {
    return agents.every((agent) => this.completed.get(agent)?.runId === runId);
  }

  close(): void {
    this.closing = true;
    this.ws.terminate();
  }
}
