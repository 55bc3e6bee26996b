/**
 * The memory benchmarks' child (./memory-child.ts) as plain JavaScript, so that the process
 * whose peak RSS is measured runs zask the way users do, from the built packages, without
 * tsx's loader: that loader runs on a thread of its own with its own V8 heap, about 33 MiB of
 * RSS that is the harness's, not zask's.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import ts from "typescript";

// the child and the modules it imports at run time (type-only imports vanish)
const MODULES = ["memory-child.ts", "zask-queries.ts", "results.ts"];

/**
 * Transpiles the child and its imports into benchmarks/results/tmp/memory-child/ (inside the
 * repository, so that `@zask/*` resolve to the workspace's packages) and returns the path of
 * the child's script, to run with plain `node`.
 *
 * @example
 * ```ts
 * await execFile(process.execPath, [await memoryChildScript(), storeUrl]);
 * ```
 */
export async function memoryChildScript(): Promise<string> {
  const out = new URL("../results/tmp/memory-child/", import.meta.url);
  await mkdir(out, { recursive: true });
  for (const name of MODULES) {
    const source = await readFile(new URL(`./${name}`, import.meta.url), "utf8");
    const { outputText } = ts.transpileModule(source, {
      fileName: name,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        rewriteRelativeImportExtensions: true,
        verbatimModuleSyntax: false,
      },
    });
    await writeFile(new URL(name.replace(/\.ts$/, ".js"), out), outputText);
  }
  return new URL("memory-child.js", out).pathname;
}
