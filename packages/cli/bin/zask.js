#!/usr/bin/env node
// Committed (unlike dist/) so that npm links the `zask` bin at install time; it loads the built CLI.
import { existsSync } from "node:fs";

const built = new URL("../dist/bin.js", import.meta.url);
if (!existsSync(built)) {
  process.stderr.write("zask: the CLI is not built yet; run `npm run build` at the repository root\n");
  process.exit(1);
}
await import(built.href);
