/**
 * The symbol of an object's remote form: an object that a distributed worker must rebuild
 * (a store) implements `[remoteSymbol]()`, returning how: call (or, with `construct`, `new`)
 * the export `name` of `module` with `args`. A registered symbol, so packages above the
 * scheduler need not share its module instance.
 *
 * @example
 * ```ts
 * class MyStore {
 *   constructor(readonly url: string) {}
 *   [remoteSymbol](): RemoteForm {
 *     return { module: "my-package", name: "MyStore", args: [this.url], construct: true };
 *   }
 * }
 * ```
 */
export const remoteSymbol: unique symbol = Symbol.for("zask.remote");

/** How a worker rebuilds an object (see {@link remoteSymbol}). */
export interface RemoteForm {
  readonly module: string;
  readonly name: string;
  /** Plain data (what V8's serializer takes). */
  readonly args: readonly unknown[];
  /** `new` the export instead of calling it. @default false */
  readonly construct?: boolean;
}

/** An object with a {@link RemoteForm}. */
export interface Remotable {
  [remoteSymbol](): RemoteForm | undefined;
}
