import { open, type FileHandle } from "node:fs/promises";
import PQueue from "p-queue";
import { ByteRangeError, HttpAccessDeniedError, HttpError } from "./errors.js";
import { DEFAULT_MAX_BYTES as DEFAULT_LANE_MAX_BYTES } from "./io-lane.js";
import { sharedBodyPool } from "./http/shared-body-pool.js";
import { originOf, originStats } from "./origin-stats.js";
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_WASTE, planReads, type ByteRangeRequest, type CoalesceOptions, type PlannedRead } from "./plan-reads.js";
import { bodyPool } from "./http/body-pool.js";

/** How a {@link ReadPlanner} reaches http(s) objects: an io op's `ctx` (the I/O lane) or anything with its `get`. */
export interface RangeTransport {
  readonly signal?: AbortSignal;
  get(
    url: string,
    options: {
      headers: Readonly<Record<string, string>>;
      maxBytes?: number;
      shared?: boolean;
      pooled?: boolean;
      onBody?: (status: number, body: Uint8Array, received: number) => void;
    },
  ): Promise<{ readonly status: number; readonly body: Uint8Array | null }>;
  /** Declare bytes read from a file as held by nothing else (the I/O lane's `fresh`). */
  fresh?<T extends Uint8Array>(bytes: T): T;
}

/** Options of a {@link ReadPlanner}. */
export interface ReadPlannerOptions {
  /** Fixed thresholds instead of the measured ones (any field left out is measured or defaulted). */
  readonly coalesce?: CoalesceOptions;
  /** Requests in flight per origin (local files: positioned reads in flight). @default 16 */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /**
   * HTTP statuses that mean "no such object" (read as `null`); 401 and 403 are
   * {@link HttpAccessDeniedError}s unless listed. @default [404, 410]
   */
  readonly missingStatuses?: readonly number[];
  /** Called after each request with the bytes it got (0 for a missing object), e.g. for a store's counters. */
  readonly onRequest?: (read: PlannedRead, bytes: number) => void;
  /**
   * Declared requests are sent ahead of their first read while the requests sent ahead and not
   * yet read hold at most this many bytes (at least one is always sent ahead), so that the
   * next ranges are on their way while the tasks of the last ones run. @default 33554432 (32 MiB)
   */
  readonly readAheadBytes?: number;
  /**
   * Ask the transport for a body in a `SharedArrayBuffer` when a request serves several ranges,
   * so that each reader's view goes to a worker without being copied out (the scheduler copies
   * views of part of an unshared buffer), and for a pooled body (`IoGetOptions.pooled`) when it
   * serves one. Only for readers that never hand those views on as results (their bytes are
   * decoded into new buffers, and a pooled one given back): a result would share the body.
   * @default false
   */
  readonly sharedBodies?: boolean;
}

/** What a {@link ReadPlanner} has sent. */
export interface ReadPlannerStats {
  requests: number;
  bytes: number;
}

/**
 * The coalescing thresholds in force for `object` now: `options`' fields, the rest measured for
 * its origin. `plan()` and a compute that start from the same measurements plan the same requests.
 */
export function coalesceFor(options: CoalesceOptions = {}): (object: string) => Required<CoalesceOptions> {
  const gaps = new Map<string, number>();
  return (object) => {
    const origin = originOf(object);
    let maxGap = options.maxGap ?? gaps.get(origin);
    if (maxGap === undefined) gaps.set(origin, (maxGap = originStats(origin).maxGap()));
    return { maxGap, maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES, maxWaste: options.maxWaste ?? DEFAULT_MAX_WASTE };
  };
}

interface Group {
  readonly read: PlannedRead;
  /** Declared reads not yet begun, per part (`offset:length`). */
  readonly waiting: Map<string, number>;
  /** Declared reads not yet handed their bytes. */
  pending: number;
  promise: Promise<Uint8Array | null> | undefined;
  /** Sent ahead of its first read, which has not come yet (its bytes count in `#aheadBytes`). */
  ahead: boolean;
  /** The body of a shared request as it arrives, and how many of its bytes are in. */
  arriving?: { body: Uint8Array; received: number };
  /** Readers waiting for the body's bytes up to `end` (shared requests: parts are handed out as they arrive). */
  waiters?: { end: number; resolve: (body: Uint8Array) => void }[];
}

/**
 * The read planner of one compute: every ranged read of the compute goes through it. Tasks
 * declare the ranges they will read (`declare`, before reading, as many as are known); the
 * planner dedupes identical ranges and merges ranges of one object into one request when the
 * gap between them costs less than a round trip ({@link planReads}, thresholds from
 * {@link coalesceFor}), sends a merged request when the first of its ranges is read (and the
 * next declared one with it), and hands
 * each reader its own bytes. Requests are bounded per origin; http(s) objects are read with
 * `Range` requests through `transport` (the I/O lane, which also retries), local paths with
 * positioned reads. An object that does not exist (404, 410, `missingStatuses`, no file) reads
 * as `null`.
 *
 * State: `#groups` holds, per object, the planned requests that still have declared readers,
 * and `#parts` the group of each declared range; a group is dropped (and its bytes with it)
 * when its last declared reader has read, or when its request fails. `#unsent` lists the
 * declared groups in declaration order, those before `#unsentHead` sent: when one is first
 * read, the next ones are sent ahead while `#aheadBytes`, the bytes of the groups sent ahead
 * and not yet read, stay within `readAheadBytes` (always one).
 *
 * @example
 * ```ts
 * const planner = new ReadPlanner(ctx);
 * planner.declare([{ object: url, offset: 0, length: 100 }, { object: url, offset: 100, length: 50 }]);
 * const [a, b] = await Promise.all([planner.read({ object: url, offset: 0, length: 100 }), planner.read({ object: url, offset: 100, length: 50 })]); // one request
 * ```
 */
export class ReadPlanner {
  readonly stats: ReadPlannerStats = { requests: 0, bytes: 0 };
  readonly #transport: RangeTransport | undefined;
  readonly #coalesce: (object: string) => Required<CoalesceOptions>;
  readonly #concurrency: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onRequest: ((read: PlannedRead, bytes: number) => void) | undefined;
  readonly #missing: readonly number[];
  readonly #queues = new Map<string, PQueue>();
  readonly #groups = new Map<string, Set<Group>>();
  /** The live group of each declared range (`object` NUL `offset:length`). */
  readonly #parts = new Map<string, Group>();
  /** Declared groups not yet sent, in the order they were declared (for reading ahead). */
  readonly #unsent: Group[] = [];
  /** `#unsent` before this index has been sent. */
  #unsentHead = 0;
  readonly #readAheadBytes: number;
  readonly #shared: boolean;
  /** Bytes of the groups sent ahead and not yet read. */
  #aheadBytes = 0;
  /** The shared bodies of requests that have finished, for {@link release}. */
  readonly #sharedBuffers = new Set<SharedArrayBuffer>();

  constructor(transport?: RangeTransport, options: ReadPlannerOptions = {}) {
    const c = options.concurrency ?? 16;
    if (!Number.isInteger(c) || c < 1) throw new RangeError(`Expected \`concurrency\` to be a positive integer, got \`${String(c)}\` (${typeof c})`);
    this.#transport = transport;
    this.#coalesce = coalesceFor(options.coalesce);
    this.#concurrency = c;
    this.#signal = options.signal ?? transport?.signal;
    this.#onRequest = options.onRequest;
    this.#missing = options.missingStatuses ?? [404, 410];
    const ahead = options.readAheadBytes ?? DEFAULT_MAX_BYTES;
    if (!(ahead >= 0)) throw new RangeError(`Expected \`readAheadBytes\` to be a non-negative number, got \`${String(ahead)}\` (${typeof ahead})`);
    this.#readAheadBytes = ahead;
    this.#shared = options.sharedBodies === true;
  }

  /** The thresholds this planner uses for `object` (fixed at its first use, for the planner's life). */
  coalesce(object: string): Required<CoalesceOptions> {
    return this.#coalesce(object);
  }

  /** The requests `requests` would cost if declared now with nothing declared before (for plans). */
  plan(requests: Iterable<ByteRangeRequest>): PlannedRead[] {
    return planReads(requests, this.#coalesce);
  }

  /**
   * Declare reads to come: each occurrence is one `read` to be served (a range declared twice
   * is requested once and read twice). A range already planned and not yet read joins its group.
   */
  declare(requests: Iterable<ByteRangeRequest>): void {
    const fresh: ByteRangeRequest[] = [];
    const counts = new Map<string, number>();
    for (const r of requests) {
      const id = partId(r);
      const group = this.#find(r.object, id);
      if (group !== undefined) {
        group.waiting.set(id, group.waiting.get(id)! + 1);
        group.pending++;
        continue;
      }
      const k = r.object + "\u0000" + id;
      const n = counts.get(k);
      if (n === undefined) fresh.push(r);
      counts.set(k, (n ?? 0) + 1);
    }
    for (const read of planReads(fresh, this.#coalesce)) {
      const waiting = new Map<string, number>();
      let pending = 0;
      for (const p of read.parts) {
        const n = counts.get(read.object + "\u0000" + partId(p))!;
        waiting.set(partId(p), n);
        pending += n;
      }
      let list = this.#groups.get(read.object);
      if (list === undefined) this.#groups.set(read.object, (list = new Set()));
      const group: Group = { read, waiting, pending, promise: undefined, ahead: false };
      list.add(group);
      for (const part of read.parts) this.#parts.set(read.object + "\u0000" + partId(part), group);
      this.#unsent.push(group);
    }
  }

  /**
   * The bytes of one range (`null` when the object does not exist): from its declared group's
   * request, sent now if it is the group's first read; an undeclared range is read from a
   * planned request that covers it, or alone.
   */
  async read(r: ByteRangeRequest): Promise<Uint8Array | null> {
    this.#signal?.throwIfAborted();
    const id = partId(r);
    let group = this.#find(r.object, id);
    let declared = group !== undefined && group.waiting.get(id)! > 0;
    if (group === undefined) group = this.#covering(r);
    if (group === undefined) {
      // undeclared and not covered: a group of its own that nothing else reads
      const [read] = planReads([r], this.#coalesce);
      group = { read: read!, waiting: new Map([[id, 1]]), pending: 1, promise: undefined, ahead: false };
      declared = true;
    }
    if (declared) group.waiting.set(id, group.waiting.get(id)! - 1);
    const g = group;
    if (g.promise === undefined || g.ahead) {
      if (g.promise === undefined) this.#start(g);
      else this.#claim(g);
      // the tasks of this request wait on its body holding their I/O slots: the next declared
      // requests are sent now too, so that they are on their way meanwhile
      this.readAhead();
    }
    const body = await this.#arrived(g, r.offset - g.read.offset + r.length);
    if (declared && --g.pending === 0) this.#drop(g);
    if (body === null) return null;
    const start = r.offset - g.read.offset;
    const part = body.subarray(start, start + r.length);
    // a body read by more than one task: every one but the last gets a copy, since the
    // scheduler may move a view that spans its whole buffer to a worker, and a reader gives a
    // pooled body back once it has decoded it
    if (g.pending > 0 && (part.byteLength === body.buffer.byteLength || bodyPool.lent(body.buffer))) return part.slice();
    return part;
  }

  /**
   * Give the shared bodies of this planner's finished requests back to the shared body pool,
   * for later requests to fill. Call it only once no reader uses their bytes any more (the
   * compute that read through this planner has succeeded: its tasks decoded their parts into
   * new memory); a request still in flight keeps its body. A planner not released leaves its
   * bodies to the GC.
   */
  release(): void {
    for (const b of this.#sharedBuffers) sharedBodyPool.give(b);
    this.#sharedBuffers.clear();
  }

  /**
   * Send declared requests not yet sent, in the order they were declared, before any of their
   * ranges is read: the first, and more while the requests sent ahead and not yet read hold at
   * most `readAheadBytes`.
   */
  readAhead(): void {
    for (;;) {
      while (this.#unsentHead < this.#unsent.length && this.#unsent[this.#unsentHead]!.promise !== undefined) this.#unsentHead++;
      const next = this.#unsent[this.#unsentHead];
      if (next === undefined || (this.#aheadBytes > 0 && this.#aheadBytes + next.read.length > this.#readAheadBytes)) break;
      next.ahead = true;
      this.#aheadBytes += next.read.length;
      this.#start(next).catch(() => {}); // its readers see the error
    }
    if (this.#unsentHead > 1024 && this.#unsentHead * 2 > this.#unsent.length) {
      this.#unsent.splice(0, this.#unsentHead);
      this.#unsentHead = 0;
    }
  }

  /**
   * The body of `g` once its first `end` bytes are in: a request read into shared memory hands
   * each part out as soon as its bytes have arrived, so that a long merged read is decoded while
   * it downloads; any other, once it is whole.
   */
  #arrived(g: Group, end: number): Promise<Uint8Array | null> {
    if (!this.#progressive(g.read)) return g.promise!;
    const a = g.arriving;
    if (a !== undefined && a.received >= end) return Promise.resolve(a.body);
    return new Promise<Uint8Array | null>((resolve, reject) => {
      (g.waiters ??= []).push({ end, resolve });
      g.promise!.then(resolve, reject);
    });
  }

  /** Whether `read` comes in shared memory, handed out as it arrives. */
  #progressive(read: PlannedRead): boolean {
    return this.#shared && read.parts.length > 1;
  }

  /** Bytes of `g`'s body came in: the readers whose parts are whole have them now. */
  #onBody(g: Group, status: number, body: Uint8Array, received: number): void {
    if (status !== 206 || body.byteLength !== g.read.length) return;
    g.arriving = { body, received };
    const waiters = g.waiters;
    if (waiters === undefined) return;
    let k = 0;
    for (const w of waiters) {
      if (w.end <= received) w.resolve(body);
      else waiters[k++] = w;
    }
    waiters.length = k;
  }

  #start(g: Group): Promise<Uint8Array | null> {
    g.promise = this.#send(g).catch((e: unknown) => {
      this.#claim(g);
      this.#drop(g);
      throw e;
    });
    return g.promise;
  }

  /** A group sent ahead is read (or failed): its bytes leave the read-ahead budget. */
  #claim(g: Group): void {
    if (!g.ahead) return;
    g.ahead = false;
    this.#aheadBytes -= g.read.length;
  }

  #find(object: string, id: string): Group | undefined {
    return this.#parts.get(object + "\u0000" + id);
  }

  #covering(r: ByteRangeRequest): Group | undefined {
    const list = this.#groups.get(r.object);
    if (list === undefined) return undefined;
    for (const g of list) if (g.read.offset <= r.offset && r.offset + r.length <= g.read.offset + g.read.length) return g;
    return undefined;
  }

  #drop(g: Group): void {
    const list = this.#groups.get(g.read.object);
    if (list === undefined || !list.delete(g)) return;
    if (list.size === 0) this.#groups.delete(g.read.object);
    for (const part of g.read.parts) {
      const k = g.read.object + "\u0000" + partId(part);
      if (this.#parts.get(k) === g) this.#parts.delete(k);
    }
  }

  #send(g: Group): Promise<Uint8Array | null> {
    const read = g.read;
    const origin = originOf(read.object);
    let queue = this.#queues.get(origin);
    if (queue === undefined) this.#queues.set(origin, (queue = new PQueue({ concurrency: this.#concurrency })));
    return queue.add(async () => {
      this.#signal?.throwIfAborted();
      const t0 = performance.now();
      this.stats.requests++;
      const body = origin === "file:" ? await this.#readFile(read) : await this.#get(g);
      if (body !== null) {
        this.stats.bytes += body.byteLength;
        originStats(origin).record(performance.now() - t0, body.byteLength);
      }
      this.#onRequest?.(read, body?.byteLength ?? 0);
      return body;
    }) as Promise<Uint8Array | null>;
  }

  async #get(g: Group): Promise<Uint8Array | null> {
    const read = g.read;
    const { object, offset, length } = read;
    if (this.#transport === undefined) throw new TypeError(`Expected a transport for ranged reads of ${object}, got none`);
    // a body may be as long as the range, or the whole object from a server that ignores Range
    const res = await this.#transport.get(object, {
      headers: { range: `bytes=${offset}-${offset + length - 1}` },
      maxBytes: Math.max(length, DEFAULT_LANE_MAX_BYTES),
      ...(this.#progressive(read)
        ? { shared: true, onBody: (status: number, body: Uint8Array, received: number) => this.#onBody(g, status, body, received) }
        : this.#shared
          ? { pooled: true }
          : {}),
    });
    g.waiters = undefined;
    if (res.body !== null && res.body.buffer instanceof SharedArrayBuffer) this.#sharedBuffers.add(res.body.buffer);
    if (this.#missing.includes(res.status)) return null;
    if (res.status === 401 || res.status === 403) throw new HttpAccessDeniedError(object, res.status);
    if ((res.status !== 206 && res.status !== 200) || res.body === null) throw new HttpError(object, res.status);
    const body = res.body;
    if (res.status === 206) {
      if (body.byteLength !== length) throw new ByteRangeError(object, offset, length, `the server sent ${body.byteLength} bytes`);
      return body;
    }
    // a server that ignores Range sends the whole object
    if (body.byteLength < offset + length) throw new ByteRangeError(object, offset, length, `the object has only ${body.byteLength} bytes`);
    return body.subarray(offset, offset + length);
  }

  async #readFile(read: PlannedRead): Promise<Uint8Array | null> {
    const { object, offset, length } = read;
    let handle: FileHandle;
    try {
      handle = await open(object, "r");
    } catch (cause) {
      if ((cause as { code?: string }).code === "ENOENT") return null;
      throw new ByteRangeError(object, offset, length, "the file cannot be opened", { cause });
    }
    try {
      const out = new Uint8Array(length);
      let n = 0;
      while (n < length) {
        const { bytesRead } = await handle.read(out, n, length - n, offset + n);
        if (bytesRead === 0) throw new ByteRangeError(object, offset, length, `the file ends after ${offset + n} bytes`);
        n += bytesRead;
      }
      return this.#transport?.fresh ? this.#transport.fresh(out) : out;
    } finally {
      await handle.close();
    }
  }
}

function partId(r: { readonly offset: number; readonly length: number }): string {
  return `${r.offset}:${r.length}`;
}
