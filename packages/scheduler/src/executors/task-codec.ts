// How a task and its values travel between a coordinator and a distributed worker: V8's
// serializer (typed arrays, Maps, bigints and NaN survive exactly), with refs and objects
// that have a remote form replaced by tagged plain objects before, and rebuilt after.
import { deserialize, serialize } from "node:v8";
import { DataNode, Fused, Ref, Task, isOpRef, type GraphNode, type Key, type OpRef } from "@zask/graph";
import { NotTransportableError } from "../errors.js";
import { remoteSymbol, type Remotable, type RemoteForm } from "./remote-form.js";

const TAG = "\u0000zask";

interface EncodedStep {
  readonly key: Key;
  readonly op: OpRef;
  readonly args: unknown;
}

interface EncodedTask {
  readonly key: Key;
  readonly steps: readonly EncodedStep[];
  /** Whether the node was fused (its steps run as one node) or a single task. */
  readonly fused: boolean;
  readonly deps: readonly (readonly [Key, unknown])[];
}

/** Whether `node` can run on a distributed worker: every op it calls is an {@link OpRef}. */
export function isRemoteNode(node: GraphNode): node is Task | Fused {
  if (node instanceof Task) return typeof node.op !== "function" && node.op.lane !== "inline";
  if (node instanceof Fused) return node.ops.every((o) => typeof o !== "function") && node.ops.some((o) => typeof o !== "function" && o.lane !== "inline");
  return false;
}

/** The payload of `node` with its dependencies' values. */
export function encodeTask(node: Task | Fused, deps: readonly (readonly [Key, unknown])[]): Uint8Array {
  const steps = node instanceof Task ? [node] : node.stepsOnce();
  const encoded: EncodedTask = {
    key: node.key,
    fused: node instanceof Fused,
    steps: steps.map((s) => ({ key: s.key, op: plainOp(s.op as OpRef), args: tag(s.args, node.key) })),
    deps: deps.map(([k, v]) => [k, tag(v, node.key)] as const),
  };
  return serialize(encoded);
}

/** The node and its dependencies as data nodes, rebuilt from {@link encodeTask}'s payload. */
export async function decodeTask(payload: Uint8Array): Promise<{ node: Task | Fused; deps: DataNode[] }> {
  const t = deserialize(payload) as EncodedTask;
  const steps: Task[] = [];
  for (const s of t.steps) steps.push(new Task(s.key, s.op, (await untag(s.args)) as unknown[]));
  const deps: DataNode[] = [];
  for (const [k, v] of t.deps) deps.push(new DataNode(k, await untag(v)));
  const node = t.fused ? new Fused(t.key, steps) : steps[0]!;
  return { node, deps };
}

/** A task's value as bytes (`key`: the task, for errors). */
export function encodeResult(value: unknown, key: Key): Uint8Array {
  return serialize(tag(value, key));
}

/** A value from {@link encodeResult}. */
export function decodeResult(bytes: Uint8Array): Promise<unknown> {
  return untag(deserialize(bytes));
}

function plainOp(op: OpRef): OpRef {
  return { module: op.module, name: op.name, lane: op.lane };
}

/** `x` with refs and remotable objects tagged; arrays and plain objects copied only where needed. */
function tag(x: unknown, key: Key): unknown {
  if (typeof x === "function") throw new NotTransportableError(key, `function ${x.name || "<anonymous>"}`);
  if (typeof x !== "object" || x === null) return x;
  if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) return x;
  if (x instanceof Ref) return { [TAG]: "ref", key: x.key };
  if (typeof (x as Partial<Remotable>)[remoteSymbol] === "function") {
    const form = (x as Remotable)[remoteSymbol]();
    if (form === undefined) throw new NotTransportableError(key, `a ${x.constructor.name} without a remote form`);
    return { [TAG]: "remote", form: { ...form, args: tag(form.args, key) } };
  }
  if (Array.isArray(x)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < x.length; i++) {
      const v = tag(x[i], key);
      if (out !== undefined) out[i] = v;
      else if (v !== x[i]) {
        out = x.slice(0, i);
        out[i] = v;
      }
    }
    return out ?? x;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto === Object.prototype || proto === null) {
    let out: Record<string, unknown> | undefined;
    const o = x as Record<string, unknown>;
    for (const k in o) {
      const v = tag(o[k], key);
      if (v !== o[k]) (out ??= { ...o })[k] = v;
    }
    return out ?? x;
  }
  if (x instanceof Map || x instanceof Set || x instanceof Date || x instanceof RegExp) return x;
  if (isOpRef(x)) return x;
  throw new NotTransportableError(key, `a ${(x as object).constructor?.name ?? "object"}`);
}

// One rebuilt object per remote form and process: a worker's store keeps what it learnt.
const rebuilt = new Map<string, Promise<unknown>>();

async function untag(x: unknown): Promise<unknown> {
  if (typeof x !== "object" || x === null || x instanceof ArrayBuffer) return x;
  // V8's deserializer leaves typed arrays as views of the whole message: each gets its own
  // buffer, so that moving one to a pool thread cannot detach another
  if (ArrayBuffer.isView(x)) return x.byteLength === x.buffer.byteLength || x instanceof DataView ? x : (x as unknown as { slice(): unknown }).slice();
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) x[i] = await untag(x[i]);
    return x;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return x;
  const o = x as Record<string, unknown>;
  if (o[TAG] === "ref") return new Ref(o.key as Key);
  if (o[TAG] === "remote") return rebuild(o.form as RemoteForm);
  for (const k in o) o[k] = await untag(o[k]);
  return o;
}

function rebuild(form: RemoteForm): Promise<unknown> {
  const id = JSON.stringify([form.module, form.name, form.construct === true, form.args]);
  let p = rebuilt.get(id);
  if (p === undefined) {
    p = (async () => {
      const mod = (await import(form.module)) as Record<string, unknown>;
      const f = mod[form.name];
      if (typeof f !== "function") throw new TypeError(`Expected ${form.module} to export a function ${form.name}, got ${typeof f}`);
      const args = (await untag(form.args)) as unknown[];
      return form.construct === true ? new (f as new (...a: unknown[]) => unknown)(...args) : (f as (...a: unknown[]) => unknown)(...args);
    })();
    rebuilt.set(id, p);
    p.catch(() => rebuilt.delete(id));
  }
  return p;
}
