// A TCP proxy on 127.0.0.1 between a controller and a real agent that misbehaves on purpose: it stalls,
// trickles, cuts a connection part-way, or holds a request or an answer until the test lets it go.
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';

/**
 * What the proxy does to the bytes of one direction of a connection. `down` is the agent's answer
 * (agent to controller), `up` the controller's request.
 *
 * - `stall`: stops forwarding (the bytes are held, the socket stays open, the sender is paused).
 * - `trickle`: forwards at most `bytes` every `everyMs`.
 * - `cut`: destroys both sockets.
 *
 * The fault starts once `afterBytes` of that direction have passed on a connection (0: at once),
 * counted from the first request that matches `when` (every connection when `when` is absent).
 */
export interface Fault {
  kind: 'stall' | 'trickle' | 'cut';
  direction?: 'down' | 'up';
  afterBytes?: number;
  /** Only connections whose request text (upstream bytes) matches, e.g. /^POST \/v1\/archive /m. */
  when?: RegExp;
  /** For `trickle`. */
  bytes?: number;
  everyMs?: number;
}

/** One direction of one proxied connection: where its bytes go and what the fault made of them. */
class Pipe {
  passed = 0;
  held: Buffer[] = [];
  heldBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedAt: number | undefined;
  /** The fault has set in: every byte from now on is held first (and trickled, or kept). */
  private active = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly link: Link,
  ) {
    from.on('data', (chunk: Buffer) => this.onData(chunk));
    from.on('end', () => {
      if (this.heldBytes === 0) to.end();
    });
  }

  /** The fault this pipe obeys from now on, counting `afterBytes` from here. */
  arm(): void {
    this.armedAt ??= this.passed;
  }

  private fault(): Fault | undefined {
    const fault = this.link.proxy.fault;
    if (!fault || this.link.released) return undefined;
    if ((fault.direction ?? 'down') !== this.direction) return undefined;
    // A fault for every connection counts from the first byte it sees here.
    if (!fault.when) this.arm();
    return this.armedAt === undefined ? undefined : fault;
  }

  get direction(): 'down' | 'up' {
    return this.from === this.link.upstream ? 'down' : 'up';
  }

  private onData(chunk: Buffer): void {
    if (this.direction === 'up') this.link.sawRequest(chunk);
    if (this.active || this.heldBytes > 0) {
      this.hold(chunk);
      return;
    }
    const fault = this.fault();
    if (!fault) {
      this.forward(chunk);
      return;
    }
    const allowed = Math.max(0, this.armedAt! + (fault.afterBytes ?? 0) - this.passed);
    if (chunk.length <= allowed) {
      this.forward(chunk);
      return;
    }
    this.forward(chunk.subarray(0, allowed));
    const rest = chunk.subarray(allowed);
    this.link.proxy.faulted++;
    this.active = true;
    if (fault.kind === 'cut') {
      this.link.destroy();
      return;
    }
    this.hold(rest);
    if (fault.kind === 'trickle') this.startTrickle(fault);
  }

  private forward(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.passed += chunk.length;
    this.to.write(chunk);
  }

  private hold(chunk: Buffer): void {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    this.link.proxy.heldBytes += chunk.length;
    // Back-pressure: the sender stops being read, as it would behind a stalled network.
    if (this.heldBytes > 64 << 10) this.from.pause();
  }

  private startTrickle(fault: Fault): void {
    const bytes = fault.bytes ?? 1;
    this.timer = setInterval(() => this.drain(bytes), fault.everyMs ?? 100);
  }

  /** Forwards up to `bytes` of what is held (all of it with Infinity). */
  drain(bytes: number): void {
    let budget = bytes;
    while (budget > 0 && this.held.length > 0) {
      const first = this.held[0]!;
      const part = first.subarray(0, Math.min(budget, first.length));
      if (part.length === first.length) this.held.shift();
      else this.held[0] = first.subarray(part.length);
      this.heldBytes -= part.length;
      this.link.proxy.heldBytes -= part.length;
      budget -= part.length;
      this.forward(part);
    }
    if (this.heldBytes <= 64 << 10) this.from.resume();
    if (this.heldBytes === 0 && this.from.readableEnded) this.to.end();
  }

  stop(): void {
    this.active = false;
    if (this.timer) clearInterval(this.timer);
  }
}

/** One controller connection and the agent connection made for it. */
class Link {
  readonly down: Pipe;
  readonly up: Pipe;
  released = false;
  private requestText = '';

  constructor(
    readonly proxy: FaultProxy,
    readonly client: Socket,
    readonly upstream: Socket,
  ) {
    this.up = new Pipe(client, upstream, this);
    this.down = new Pipe(upstream, client, this);
    const close = (): void => this.destroy();
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  sawRequest(chunk: Buffer): void {
    const when = this.proxy.fault?.when;
    if (!when || this.released) return;
    // Only the start of each chunk is kept: a request line and its headers come first.
    this.requestText = (this.requestText + chunk.subarray(0, 4096).toString('latin1')).slice(-8192);
    if (when.test(this.requestText)) {
      this.proxy.matched++;
      this.armBoth();
    }
  }

  private armBoth(): void {
    this.up.arm();
    this.down.arm();
  }

  /** Forwards everything held and obeys no fault from now on. */
  release(): void {
    this.released = true;
    this.up.stop();
    this.down.stop();
    this.up.drain(Infinity);
    this.down.drain(Infinity);
  }

  destroy(): void {
    this.up.stop();
    this.down.stop();
    this.client.destroy();
    this.upstream.destroy();
    this.proxy.links.delete(this);
  }
}

/** A proxy in front of `target` (host:port of an agent). Set `fault` at any time; new data obeys it. */
export class FaultProxy {
  url = '';
  fault: Fault | undefined;
  /** Connections open now. */
  readonly links = new Set<Link>();
  /** How many times a fault set in (bytes held, trickled or a connection cut). */
  faulted = 0;
  /** Requests that matched `fault.when`. */
  matched = 0;
  /** Bytes held back now, over all connections. */
  heldBytes = 0;
  private readonly server: Server;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      client.pause();
      upstream.once('connect', () => client.resume());
      this.links.add(new Link(this, client, upstream));
    });
  }

  static async start(targetUrl: string, fault?: Fault): Promise<FaultProxy> {
    const url = new URL(targetUrl);
    const proxy = new FaultProxy({ host: url.hostname, port: Number(url.port) });
    proxy.fault = fault;
    await new Promise<void>((done) => proxy.server.listen(0, '127.0.0.1', done));
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Lets every held byte through and turns the fault off. */
  release(): void {
    this.fault = undefined;
    for (const link of this.links) link.release();
  }

  async close(): Promise<void> {
    this.fault = undefined;
    for (const link of this.links) link.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
