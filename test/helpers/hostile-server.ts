// A static file server on raw TCP sockets that misbehaves on chosen paths the way real servers
// and proxies do: compressing against the client's wish, sending bodies that never end,
// stalling, trickling bytes, refusing access. Built on the raw server of the scheduler tests.
import { readFile } from "node:fs/promises";
import type { Socket } from "node:net";
import path from "node:path";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { startRawServer, type RawServer } from "../scheduler/fixtures/server.ts";

/** How the server answers one request. */
export type Misbehaviour =
  /** The file, compressed with this Content-Encoding (or labelled with an encoding it does not use). */
  | { readonly kind: "encode"; readonly encoding: "gzip" | "deflate" | "br" | "zstd" }
  /** A gzip body that inflates to `bytes` zero bytes (a decompression bomb). */
  | { readonly kind: "bomb"; readonly bytes: number }
  /** A 200 whose body never ends: chunked, or framed by the end of the connection. */
  | { readonly kind: "endless"; readonly framing: "chunked" | "close" }
  /** A 200 announcing `length` bytes and sending them slowly, 1 KiB every 10 ms. */
  | { readonly kind: "length"; readonly length: number }
  /** Nothing at all: the request waits for headers that never come. */
  | { readonly kind: "stall" }
  /** Headers at once, then one byte every 20 ms, forever (no gap long enough for a timeout). */
  | { readonly kind: "trickle" }
  /** This status with an empty body. */
  | { readonly kind: "status"; readonly status: number };

/** A hostile server: the raw server's state (connections, request heads) and its root. */
export type HostileServer = RawServer;

/**
 * Serve the files under `root` on 127.0.0.1 (percent-decoded paths, 404 when absent, bodies
 * framed by Content-Length), except where `misbehave(path)` says otherwise.
 */
export function startHostileServer(root: string, misbehave: (requestPath: string) => Misbehaviour | undefined = () => undefined): Promise<HostileServer> {
  const timers = new Set<ReturnType<typeof setInterval>>();
  const every = (socket: Socket, ms: number, fn: () => void): void => {
    const t = setInterval(() => {
      if (socket.destroyed || socket.writableEnded) {
        clearInterval(t);
        timers.delete(t);
      } else fn();
    }, ms);
    timers.add(t);
  };
  const server = startRawServer(async (socket, head) => {
    const target = head.split(" ")[1] ?? "/";
    const requestPath = decodeURIComponent(new URL(target, "http://x").pathname);
    const how = misbehave(requestPath);
    const send = (status: number, headers: Record<string, string | number>, body: Uint8Array): void => {
      let text = `HTTP/1.1 ${status} X\r\n`;
      for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
      socket.write(`${text}Content-Length: ${body.byteLength}\r\n\r\n`);
      socket.write(body);
    };
    if (how?.kind === "stall") return;
    if (how?.kind === "status") return send(how.status, {}, new Uint8Array(0));
    if (how?.kind === "bomb") return send(200, { "Content-Encoding": "gzip" }, gzipSync(Buffer.alloc(how.bytes)));
    if (how?.kind === "endless") {
      const piece = Buffer.alloc(64 * 1024, 7);
      if (how.framing === "chunked") {
        socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        every(socket, 1, () => socket.write(`${piece.length.toString(16)}\r\n${piece.toString("latin1")}\r\n`, "latin1"));
      } else {
        socket.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        every(socket, 1, () => socket.write(piece));
      }
      return;
    }
    if (how?.kind === "length") {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${how.length}\r\n\r\n`);
      every(socket, 10, () => socket.write(Buffer.alloc(1024)));
      return;
    }
    if (how?.kind === "trickle") {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      every(socket, 20, () => socket.write("1\r\nx\r\n"));
      return;
    }
    const file = path.join(root, path.normalize(requestPath));
    let body: Buffer;
    try {
      if (!file.startsWith(root)) throw new Error("outside the root");
      body = await readFile(file);
    } catch {
      return send(404, {}, new Uint8Array(0));
    }
    if (how?.kind === "encode") {
      const encoded =
        how.encoding === "gzip" ? gzipSync(body) : how.encoding === "deflate" ? deflateSync(body) : how.encoding === "br" ? brotliCompressSync(body) : body;
      return send(200, { "Content-Encoding": how.encoding }, encoded);
    }
    send(200, {}, body);
  });
  return server.then((s) => ({
    ...s,
    get connections() {
      return s.connections;
    },
    close: () => {
      for (const t of timers) clearInterval(t);
      timers.clear();
      return s.close();
    },
  }));
}
