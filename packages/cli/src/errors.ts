import { ZaskError } from "@zask/graph";

/** `serve` was pointed at something that is not a readable directory. */
export class ServeDirectoryError extends ZaskError {
  override name = "ServeDirectoryError" as const;
  /** The directory as given. */
  readonly dir: string;
  constructor(dir: string, options?: { cause?: unknown }) {
    super(`Cannot serve ${JSON.stringify(dir)}: not a readable directory`, options);
    this.dir = dir;
  }
}

/** The server could not listen on the requested address (port taken, host unknown, ...). */
export class ListenError extends ZaskError {
  override name = "ListenError" as const;
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, options?: { cause?: unknown }) {
    const reason = (options?.cause as NodeJS.ErrnoException | undefined)?.code ?? "unknown error";
    super(`Cannot listen on ${host}:${port} (${reason})`, options);
    this.host = host;
    this.port = port;
  }
}
