/**
 * A TCP proxy that makes a loopback server look remote: every piece of data is delayed by half
 * the round-trip time in each direction, and a new connection carries nothing for one more
 * round trip (its TCP handshake). It counts the requests that pass through it and how many are
 * in flight at once — from a request's head reaching the proxy until the last byte of its
 * answer leaves it — for HTTP/1.1 (heads and Content-Length framing, as a static server
 * answers) and for HTTP/2 (streams opened by the client, ended by the server).
 *
 * The benchmark runs it in a process of its own (latency-proxy-process.ts), so that its work
 * does not take turns with the reader's event loop, as a real network's does not.
 *
 * @example
 * ```ts
 * const proxy = await startLatencyProxy({ host: "127.0.0.1", port: 8080 }, 50);
 * await fetch(`${proxy.url}c5.zarr/.zmetadata`);
 * console.log(await proxy.take()); // { requests: 1, maxInFlight: 1, connections: 1 }
 * await proxy.close();
 * ```
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** What the proxy counted since the last {@link LatencyProxy.take}. */
export interface ProxyCounts {
  requests: number;
  maxInFlight: number;
  /** Connections opened. */
  connections: number;
}

/** A running {@link startLatencyProxy}. */
export interface LatencyProxy {
  /** Base URL with a trailing slash. */
  readonly url: string;
  readonly rttMs: number;
  /** The counts since the last call, and start counting afresh (in-flight requests carry over). */
  take(): Promise<ProxyCounts>;
  close(): Promise<void>;
}

/**
 * Start a proxy on a free loopback port in front of `target`, delaying by `rttMs` per round trip.
 * With `h2cTarget`, a connection that opens with the HTTP/2 preface goes there instead (a
 * server whose h2c port speaks only HTTP/2, as nginx's before 1.25, next to its HTTP/1.1 one).
 */
export async function startLatencyProxy(target: Target, rttMs: number, options: { h2cTarget?: Target } = {}): Promise<LatencyProxy> {
  if (!(rttMs >= 0)) throw new RangeError(`Expected the RTT to be a non-negative number of ms, got ${rttMs}`);
  const counts: ProxyCounts = { requests: 0, maxInFlight: 0, connections: 0 };
  let inFlight = 0;
  const opened = (): void => {
    counts.requests++;
    if (++inFlight > counts.maxInFlight) counts.maxInFlight = inFlight;
  };
  const closed = (): void => {
    inFlight--;
  };
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.setNoDelay(true);
  };
  const server: Server = createServer((client) => {
    counts.connections++;
    track(client);
    // the handshake's round trip: nothing passes before it is over
    const ready = performance.now() + rttMs;
    const meter = new Meter(opened, closed);
    let upstream: Socket | undefined;
    const up = new DelayLine(
      () => upstream,
      rttMs / 2,
      ready,
      (d) => meter.fromClient(d),
    );
    const down = new DelayLine(
      () => client,
      rttMs / 2,
      ready,
      (d) => meter.fromServer(d),
    );
    client.on("error", () => {
      client.destroy();
      upstream?.destroy();
    });
    client.on("data", (d: Buffer) => {
      if (upstream === undefined) {
        const to = options.h2cTarget !== undefined && d.subarray(0, 4).toString("latin1") === "PRI " ? options.h2cTarget : target;
        const u = connect(to.port, to.host);
        upstream = u;
        track(u);
        u.on("error", () => {
          client.destroy();
          u.destroy();
        });
        u.on("data", (x: Buffer) => down.push(x));
        u.on("end", () => down.end());
        u.on("close", () => down.end());
      }
      up.push(d);
    });
    client.on("end", () => up.end());
    client.on("close", () => {
      upstream?.destroy();
      meter.abandon();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    rttMs,
    async take() {
      const out = { ...counts };
      counts.requests = 0;
      counts.connections = 0;
      counts.maxInFlight = inFlight;
      return out;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A server's address. */
export interface Target {
  host: string;
  port: number;
}

/**
 * One direction of a connection: each piece written `delay` ms after it came (in order), or
 * after `ready` when it came earlier (bytes written during the TCP handshake leave once it is over).
 */
class DelayLine {
  readonly #out: () => Socket | undefined;
  readonly #delay: number;
  readonly #ready: number;
  readonly #delivered: (d: Buffer) => void;
  readonly #queue: { at: number; data: Buffer | null }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(out: () => Socket | undefined, delay: number, ready: number, delivered: (d: Buffer) => void) {
    this.#out = out;
    this.#delay = delay;
    this.#ready = ready;
    this.#delivered = delivered;
  }

  push(data: Buffer): void {
    this.#queue.push({ at: Math.max(performance.now(), this.#ready) + this.#delay, data });
    this.#schedule();
  }

  /** The sender ended its side: end ours once what came before is delivered. */
  end(): void {
    this.#queue.push({ at: Math.max(performance.now(), this.#ready) + this.#delay, data: null });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    const wait = this.#queue[0]!.at - performance.now();
    if (wait <= 0) this.#flush();
    else this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0]!.at <= now + 0.5) {
      const { data } = this.#queue.shift()!;
      const out = this.#out();
      if (out === undefined || out.destroyed) continue;
      if (data === null) out.end();
      else {
        out.write(data);
        this.#delivered(data);
      }
    }
    this.#schedule();
  }
}

const H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/**
 * Counts the requests of one connection as its bytes are delivered: HTTP/1.1 request heads
 * (GET and HEAD, without bodies) and their answers framed by Content-Length; or, after the
 * HTTP/2 preface, HEADERS frames opening streams and frames ending them.
 */
class Meter {
  readonly #opened: () => void;
  readonly #closed: () => void;
  #mode: "unknown" | "h1" | "h2" = "unknown";
  #clientBuf: Buffer = Buffer.alloc(0);
  #serverBuf: Buffer = Buffer.alloc(0);
  /** HTTP/1.1: methods of the requests whose answers have not ended. */
  readonly #methods: string[] = [];
  /** HTTP/1.1: body bytes of the current answer still to come (-1: reading a head). */
  #bodyLeft = -1;
  /** HTTP/2: streams open. */
  readonly #streams = new Set<number>();

  constructor(opened: () => void, closed: () => void) {
    this.#opened = opened;
    this.#closed = closed;
  }

  fromClient(d: Buffer): void {
    this.#clientBuf = Buffer.concat([this.#clientBuf, d]);
    if (this.#mode === "unknown") {
      if (this.#clientBuf.length < H2_PREFACE.length && H2_PREFACE.startsWith(this.#clientBuf.toString("latin1"))) return;
      if (this.#clientBuf.subarray(0, H2_PREFACE.length).toString("latin1") === H2_PREFACE) {
        this.#mode = "h2";
        this.#clientBuf = this.#clientBuf.subarray(H2_PREFACE.length);
      } else {
        this.#mode = "h1";
      }
    }
    if (this.#mode === "h1") {
      for (let end = this.#clientBuf.indexOf("\r\n\r\n"); end >= 0; end = this.#clientBuf.indexOf("\r\n\r\n")) {
        const head = this.#clientBuf.subarray(0, end).toString("latin1");
        this.#clientBuf = this.#clientBuf.subarray(end + 4);
        this.#methods.push(head.slice(0, head.indexOf(" ")));
        this.#opened();
      }
    } else {
      this.#clientBuf = this.#frames(this.#clientBuf, (type, _flags, stream) => {
        if (type === 1 && stream !== 0 && !this.#streams.has(stream)) {
          this.#streams.add(stream);
          this.#opened();
        }
        // a client's RST_STREAM ends the stream too
        if (type === 3) this.#end(stream);
      });
    }
  }

  fromServer(d: Buffer): void {
    this.#serverBuf = this.#serverBuf.length === 0 ? d : Buffer.concat([this.#serverBuf, d]);
    if (this.#mode === "h2") {
      this.#serverBuf = this.#frames(this.#serverBuf, (type, flags, stream) => {
        if (((type === 0 || type === 1) && (flags & 1) === 1) || type === 3) this.#end(stream);
      });
      return;
    }
    while (this.#serverBuf.length > 0) {
      if (this.#bodyLeft < 0) {
        const end = this.#serverBuf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = this.#serverBuf.subarray(0, end).toString("latin1");
        this.#serverBuf = this.#serverBuf.subarray(end + 4);
        const status = Number(head.slice(9, 12));
        if (status >= 100 && status < 200) continue;
        const method = this.#methods[0];
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        this.#bodyLeft = method === "HEAD" || status === 204 || status === 304 ? 0 : length === null ? 0 : Number(length[1]);
      }
      const take = Math.min(this.#bodyLeft, this.#serverBuf.length);
      this.#serverBuf = this.#serverBuf.subarray(take);
      this.#bodyLeft -= take;
      if (this.#bodyLeft === 0) {
        this.#bodyLeft = -1;
        if (this.#methods.shift() !== undefined) this.#closed();
      }
    }
  }

  /** The connection closed: its requests without an answer are no longer in flight. */
  abandon(): void {
    for (let k = this.#methods.length; k > 0; k--) this.#closed();
    this.#methods.length = 0;
    for (const _ of this.#streams) this.#closed();
    this.#streams.clear();
  }

  #end(stream: number): void {
    if (this.#streams.delete(stream)) this.#closed();
  }

  /** Walk the whole frames of `buf`; returns the rest. */
  #frames(buf: Buffer, each: (type: number, flags: number, stream: number) => void): Buffer {
    let at = 0;
    while (buf.length - at >= 9) {
      const length = buf.readUIntBE(at, 3);
      if (buf.length - at < 9 + length) break;
      each(buf[at + 3]!, buf[at + 4]!, buf.readUInt32BE(at + 5) & 0x7fffffff);
      at += 9 + length;
    }
    return buf.subarray(at);
  }
}
