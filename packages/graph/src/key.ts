/**
 * A key names one node of a task graph. Keys of chunked collections are dask's
 * `[name, ...blockIndex]` tuples, encoded as their JSON text (`["x-1f2e",0,3]`) so that
 * they can be used directly as `Map` keys and printed as they are; any other key is a plain
 * string that does not start with `[`.
 */
export type Key = string;

/** A decoded block key: the collection's name and the block index. */
export type BlockKey = readonly [name: string, ...index: number[]];

/**
 * Encode the key of block `index` of collection `name`.
 *
 * @example
 * ```ts
 * blockKey("x-1f2e", [0, 3]); // '["x-1f2e",0,3]'
 * ```
 */
export function blockKey(name: string, index: readonly number[]): Key {
  let s = '["' + name + '"';
  for (let i = 0; i < index.length; i++) s += "," + index[i];
  return flat(s + "]");
}

/**
 * `s` as one flat string. Concatenation makes a tree of pieces; a key lives as long as its
 * task, and reading a character makes V8 copy it flat once, so the pieces die young instead
 * of being promoted with the key (about half the memory of a million keys, and less GC).
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/**
 * Whether `key` is a block key (`["name",i,...]`) rather than a plain string key.
 *
 * @example
 * ```ts
 * isBlockKey('["x",0]'); // true
 * isBlockKey("total"); // false
 * ```
 */
export function isBlockKey(key: Key): boolean {
  return key.charCodeAt(0) === 91; // "["
}

/**
 * Decode a key made by {@link blockKey} into `[name, ...index]`; a plain key decodes to `[key]`.
 *
 * @example
 * ```ts
 * parseKey('["x-1f2e",0,3]'); // ["x-1f2e", 0, 3]
 * ```
 */
export function parseKey(key: Key): BlockKey {
  if (!isBlockKey(key)) return [key];
  return JSON.parse(key) as BlockKey;
}

/**
 * The collection name of a key: `name` for a block key, the key itself otherwise.
 *
 * @example
 * ```ts
 * keyName('["x-1f2e",0,3]'); // "x-1f2e"
 * ```
 */
export function keyName(key: Key): string {
  if (!isBlockKey(key)) return key;
  const end = key.indexOf('"', 2);
  return key.slice(2, end);
}

/**
 * Whether `key` is `name` or a block key of collection `name` (`keyName(key) === name`, without
 * cutting a string).
 */
export function namesLayer(key: Key, name: string): boolean {
  if (key.charCodeAt(0) !== 91) return key === name;
  return key.charCodeAt(1) === 34 && key.startsWith(name, 2) && key.charCodeAt(name.length + 2) === 34;
}
