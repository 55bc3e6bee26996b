const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

const pad = (n: number): string => String(n).padStart(2, "0");

/**
 * Formats one access-log line the way Python's `http.server` does, local time:
 * `127.0.0.1 - - [30/Nov/2026 15:20:01] "GET /a.zarr/X/0.0 HTTP/1.1" 200 51520`.
 * Control characters in the request line are escaped, so a client cannot forge log lines.
 *
 * @example
 * ```ts
 * formatLogLine({ remoteAddress: "127.0.0.1", time: new Date(), requestLine: "GET / HTTP/1.1", status: 404, bytes: 0 });
 * ```
 */
export function formatLogLine(entry: { remoteAddress: string; time: Date; requestLine: string; status: number; bytes: number | undefined }): string {
  const t = entry.time;
  const stamp = `${pad(t.getDate())}/${MONTHS[t.getMonth()]}/${t.getFullYear()} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  // eslint-disable-next-line no-control-regex
  const line = entry.requestLine.replace(/[\x00-\x1f\x7f"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `${entry.remoteAddress} - - [${stamp}] "${line}" ${entry.status} ${entry.bytes ?? "-"}`;
}

/** The fields of one access-log line, as `parseLogLine` finds them. */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  bytes: number;
}

/**
 * Parses a line in the format of `formatLogLine` (or nginx's with the same quoted request,
 * status and size at the end); returns `undefined` for any other line.
 *
 * @example
 * ```ts
 * parseLogLine('127.0.0.1 - - [30/Nov/2026 15:20:01] "GET /X/0.0 HTTP/1.1" 200 51520');
 * // { method: "GET", path: "/X/0.0", status: 200, bytes: 51520 }
 * ```
 */
export function parseLogLine(line: string): LoggedRequest | undefined {
  const match = /"(\S+) (\S+)(?: [^"]*)?" (\d{3}) (\d+|-)\s*$/.exec(line);
  if (match === null) return undefined;
  const [, method = "", path = "", status = "0", bytes = "-"] = match;
  return { method, path, status: Number(status), bytes: bytes === "-" ? 0 : Number(bytes) };
}
