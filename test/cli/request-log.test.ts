import assert from "node:assert/strict";
import { test } from "node:test";
import { formatLogLine, parseLogLine } from "zask";

test("formatLogLine writes Python http.server's line: address, local time, request line, status, size", () => {
  const time = new Date(2026, 10, 30, 15, 20, 1);
  const line = formatLogLine({ remoteAddress: "127.0.0.1", time, requestLine: "GET /data/pbmc3k_processed.zarr/X/0.0 HTTP/1.1", status: 200, bytes: 51520 });
  assert.equal(line, '127.0.0.1 - - [30/Nov/2026 15:20:01] "GET /data/pbmc3k_processed.zarr/X/0.0 HTTP/1.1" 200 51520');
});

test("formatLogLine writes - for an unknown size and escapes quotes and control characters", () => {
  const line = formatLogLine({ remoteAddress: "::1", time: new Date(2026, 0, 2, 3, 4, 5), requestLine: 'GET /a"b\n HTTP/1.1', status: 400, bytes: undefined });
  assert.equal(line, '::1 - - [02/Jan/2026 03:04:05] "GET /a\\x22b\\x0a HTTP/1.1" 400 -');
});

test("parseLogLine reads back formatLogLine's lines and nginx's with the same format", () => {
  const ours = formatLogLine({ remoteAddress: "127.0.0.1", time: new Date(), requestLine: "HEAD /x/.zarray HTTP/1.1", status: 200, bytes: 0 });
  assert.deepEqual(parseLogLine(ours), { method: "HEAD", path: "/x/.zarray", status: 200, bytes: 0 });
  const nginx = '127.0.0.1 - - [30/Nov/2026:15:20:01 +0000] "GET /c5.zarr/X/0.3 HTTP/1.1" 206 4096';
  assert.deepEqual(parseLogLine(nginx), { method: "GET", path: "/c5.zarr/X/0.3", status: 206, bytes: 4096 });
});

test("parseLogLine skips lines that are not access-log lines", () => {
  assert.equal(parseLogLine("Serving HTTP on 127.0.0.1 port 8080 (http://127.0.0.1:8080/) ..."), undefined);
  assert.equal(parseLogLine(""), undefined);
});
