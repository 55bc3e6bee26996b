import { createRequire } from "node:module";
import type cliProgress from "cli-progress";
import type { Callbacks, StartInfo } from "./callbacks.js";

/** Options of a {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** Show the bar only once a compute has run this long, ms. @default 500 */
  readonly minimum?: number;
  /** Where to draw. @default process.stderr */
  readonly stream?: NodeJS.WritableStream;
  /** Draw even when the stream is not a TTY (plain lines, for logs). @default false */
  readonly force?: boolean;
}

/**
 * A progress bar of tasks done (cli-progress), shown on stderr once a compute has run longer
 * than half a second. `compute` adds one by itself when stderr is a TTY (`progress: false`
 * turns it off); add your own to draw elsewhere.
 *
 * @example
 * ```ts
 * await compute(graph, keys, { progress: false, callbacks: [new ProgressBar({ minimum: 0 })] });
 * ```
 */
export class ProgressBar implements Callbacks {
  readonly #minimum: number;
  readonly #stream: NodeJS.WritableStream;
  readonly #force: boolean;
  #bar: cliProgress.SingleBar | undefined;
  #timer: NodeJS.Timeout | undefined;
  #done = 0;
  #total = 0;

  constructor(options: ProgressBarOptions = {}) {
    this.#minimum = options.minimum ?? 500;
    this.#stream = options.stream ?? process.stderr;
    this.#force = options.force ?? false;
  }

  start(info: StartInfo): void {
    this.#done = 0;
    this.#total = info.tasks;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#show(), this.#minimum);
    // a bar never keeps a script alive
    this.#timer.unref();
  }

  posttask(): void {
    this.#done++;
    this.#bar?.update(this.#done);
  }

  finish(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#bar !== undefined) {
      this.#bar.update(this.#done);
      this.#bar.stop();
      this.#bar = undefined;
    }
  }

  #show(): void {
    this.#timer = undefined;
    // loaded with the first bar shown: most processes never show one
    const bars = createRequire(import.meta.url)("cli-progress") as typeof cliProgress;
    this.#bar = new bars.SingleBar(
      {
        stream: this.#stream,
        format: "[{bar}] {percentage}% | {value}/{total} tasks | {duration_formatted}",
        hideCursor: false,
        noTTYOutput: this.#force,
        notTTYSchedule: 1000,
        etaBuffer: 50,
      },
      bars.Presets.shades_classic,
    );
    this.#bar.start(this.#total, this.#done);
  }
}
