#!/usr/bin/env node
// The `zask` command line: thin dispatch over the packages.
import { parseArgs } from "node:util";
import { demo } from "./demo.js";
import { formatInspection, inspect } from "./inspect.js";
import { serve } from "./serve.js";

const USAGE = `Usage: zask <command> [options]

Commands:
  serve DIR [--port 8080] [--host 127.0.0.1]
      Serve DIR over HTTP (GET, HEAD, Range, CORS), one log line per request on stderr.
  demo [--dir DIR] [--port 0]
      The tutorial end to end: write a pbmc3k-shaped AnnData, serve it, query it over HTTP,
      rechunk, and show what each query cost in requests (stores kept in DIR if given).
  inspect URL|PATH
      An AnnData store's repr, then each element's encoding, shape, dtype, chunks and codec.

Options:
  -h, --help  Show this help.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serveCommand(rest);
    case "demo":
      return demoCommand(rest);
    case "inspect":
      return inspectCommand(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`zask: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 1;
  }
}

async function inspectCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) {
    process.stderr.write(`zask inspect: expected one URL or path, got ${positionals.length}\n\n${USAGE}`);
    return 1;
  }
  process.stdout.write(`${formatInspection(await inspect(positionals[0] as string))}\n`);
  return 0;
}

async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { dir: { type: "string" }, port: { type: "string", default: "0" } },
  });
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  await demo({ dir: values.dir, port: Number(values.port), signal: controller.signal });
  return 0;
}

async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: "string", short: "p", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
      quiet: { type: "boolean", short: "q", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`zask serve: expected one directory, got ${positionals.length}\n\n${USAGE}`);
    return 1;
  }
  const dir = positionals[0] as string;
  const port = Number(values.port);
  const controller = new AbortController();
  const server = await serve(dir, { port, host: values.host, log: !values.quiet, signal: controller.signal });
  // Same banner as python3 -m http.server, so scripts (and the bench harness) can read the port.
  process.stderr.write(
    `Serving HTTP on ${server.address.host} port ${server.address.port} (${server.url}) from ${server.root} ...\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      controller.abort();
      void server.close().then(resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`zask: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
