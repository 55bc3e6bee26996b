// The `zask` command line: thin dispatch over the packages (bin/zask.js loads this built file).
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";

// Each command imports its module when it runs: `--help`, `serve` and the usage errors never
// load the array packages, and `worker` alone loads the executor.

const COMMANDS = {
  serve: `Usage: zask serve [DIR] [options]

Serve DIR (default: the current directory) over HTTP — GET, HEAD, Range, CORS — with one log
line per request on stderr, like \`python3 -m http.server\`. Never serves outside DIR.

Options:
  -p, --port PORT  Port to listen on, 0 for any free one. (default: 8080)
      --host HOST  Address to listen on. (default: 127.0.0.1)
  -q, --quiet      Don't log requests.
  -h, --help       Show this help.
`,
  demo: `Usage: zask demo [options]

The tutorial end to end: write a pbmc3k-shaped AnnData, serve it, query it over HTTP, rechunk
it, and show what each query cost in requests next to what plan() predicted.

Options:
      --dir DIR    Write and keep the stores in DIR. (default: a temporary directory, removed)
      --port PORT  Port of the demo's server, 0 for any free one. (default: 0)
  -h, --help       Show this help.
`,
  inspect: `Usage: zask inspect URL|PATH [options]

An AnnData store's repr, then each element's encoding, shape, dtype, chunks and codec, from its
consolidated metadata.

Options:
      --json  Print the inspection as JSON ({ repr, elements }).
  -h, --help  Show this help.
`,
  worker: `Usage: zask worker --redis URL [options]

Run tasks of distributed computes (\`scheduler: bullmq(...)\`) from a BullMQ queue on Redis, on
this process's I/O lane and worker pool, logging one line per job on stderr. Each worker
fetches its chunks from the store itself. SIGTERM or SIGINT: finish the current jobs, then exit.

Options:
      --redis URL                Redis to take jobs from (redis://host:port).
      --queue NAME               The queue's name. (default: zask)
      --concurrency N            Jobs run at once. (default: 8)
      --lock-duration MS         A job's lock; a killed worker's job runs again after it. (default: 30000)
      --stalled-interval MS      How often to look for stalled jobs. (default: 30000)
      --http-concurrency N       HTTP requests in flight per origin. (default: 16)
  -q, --quiet                    Don't log each job (the ready and stop lines stay).
  -h, --help                     Show this help.
`,
} as const;

const USAGE = `Usage: zask <command> [options]

Commands:
  serve [DIR]     Serve DIR (default: .) over HTTP, logging each request.
  demo            The tutorial end to end over a logging HTTP server.
  inspect TARGET  An AnnData store's repr and each element's encoding, shape, chunks, codec.
  worker          Run tasks of distributed computes from a BullMQ queue on Redis.

Options:
  -h, --help     Show this help (\`zask <command> --help\` for a command's).
  -v, --version  Show the version.
`;

type Command = keyof typeof COMMANDS;

/** A wrong command line: printed with the command's usage, exit code 2. */
class UsageError extends Error {
  override readonly name = "UsageError";
  readonly command: Command | undefined;
  constructor(command: Command | undefined, message: string) {
    super(message);
    this.command = command;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** parseArgs with `--help` added, its errors as {@link UsageError}s of `command`. */
function parse<O extends NonNullable<ParseArgsConfig["options"]>>(command: Command, args: string[], options: O) {
  try {
    return parseArgs({ args, allowPositionals: true, strict: true, options: { ...options, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    throw new UsageError(command, e instanceof Error ? e.message : String(e));
  }
}

/** A `--port` value: an integer from 0 to 65535. */
function port(command: Command, value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n > 65535) throw new UsageError(command, `Expected \`--port\` to be an integer from 0 to 65535, got \`${value}\``);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serveCommand(rest);
    case "demo":
      return demoCommand(rest);
    case "inspect":
      return inspectCommand(rest);
    case "worker":
      return workerCommand(rest);
    case "-v":
    case "--version":
      process.stdout.write(`${version()}\n`);
      return 0;
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(undefined, `unknown command ${JSON.stringify(command)}`);
  }
}

async function inspectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("inspect", args, { json: { type: "boolean" } });
  if (values.help === true) return help("inspect");
  if (positionals.length !== 1) throw new UsageError("inspect", `Expected one URL or path, got ${positionals.length}`);
  const { formatInspection, inspect } = await import("./inspect.js");
  const found = await inspect(positionals[0]!);
  process.stdout.write(values.json === true ? `${JSON.stringify(found, null, 2)}\n` : `${formatInspection(found)}\n`);
  return 0;
}

async function demoCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("demo", args, { dir: { type: "string" }, port: { type: "string", default: "0" } });
  if (values.help === true) return help("demo");
  if (positionals.length > 0) throw new UsageError("demo", `Expected no arguments, got \`${positionals.join(" ")}\``);
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const { demo } = await import("./demo.js");
  await demo({ dir: values.dir, port: port("demo", values.port), signal: controller.signal });
  return 0;
}

async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("serve", args, {
    port: { type: "string", short: "p", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
    quiet: { type: "boolean", short: "q", default: false },
  });
  if (values.help === true) return help("serve");
  if (positionals.length > 1) throw new UsageError("serve", `Expected at most one directory, got ${positionals.length}`);
  const dir = positionals[0] ?? process.cwd();
  const controller = new AbortController();
  const { serve } = await import("./serve.js");
  const server = await serve(dir, { port: port("serve", values.port), host: values.host, log: !values.quiet, signal: controller.signal });
  // Same banner as python3 -m http.server, so scripts (and the bench harness) can read the port.
  process.stderr.write(`Serving HTTP on ${server.address.host} port ${server.address.port} (${server.url}) from ${server.root} ...\n`);
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

/** A positive integer option. */
function positive(command: Command, name: string, value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(command, `Expected \`--${name}\` to be a positive integer, got \`${value}\``);
  return n;
}

async function workerCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("worker", args, {
    redis: { type: "string" },
    queue: { type: "string", default: "zask" },
    concurrency: { type: "string", default: "8" },
    "lock-duration": { type: "string", default: "30000" },
    "stalled-interval": { type: "string", default: "30000" },
    "http-concurrency": { type: "string", default: "16" },
    quiet: { type: "boolean", short: "q", default: false },
  });
  if (values.help === true) return help("worker");
  if (positionals.length > 0) throw new UsageError("worker", `Expected no arguments, got \`${positionals.join(" ")}\``);
  if (values.redis === undefined || !/^rediss?:\/\//.test(values.redis))
    throw new UsageError("worker", `Expected \`--redis\` to be a redis:// URL, got \`${values.redis ?? ""}\``);
  const { worker } = await import("./worker.js");
  await worker({
    connection: values.redis,
    queue: values.queue,
    concurrency: positive("worker", "concurrency", values.concurrency),
    lockDuration: positive("worker", "lock-duration", values["lock-duration"]),
    stalledInterval: positive("worker", "stalled-interval", values["stalled-interval"]),
    httpConcurrency: positive("worker", "http-concurrency", values["http-concurrency"]),
    log: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    say: (line) => process.stderr.write(`${line}\n`),
  });
  return 0;
}

function help(command: Command): number {
  process.stdout.write(COMMANDS[command]);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      const prefix = error.command === undefined ? "zask" : `zask ${error.command}`;
      process.stderr.write(`${prefix}: ${error.message}\n\n${error.command === undefined ? USAGE : COMMANDS[error.command]}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`zask: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
