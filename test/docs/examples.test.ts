import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../../", import.meta.url));
const packages = { graph: "@zask/graph", scheduler: "@zask/scheduler", array: "@zask/array", anndata: "@zask/anndata", cli: "zask" } as const;

interface Snippet {
  /** Where it came from, `file:line`. */
  readonly where: string;
  readonly code: string;
  /** The package whose exports a JSDoc example may use without importing them. */
  readonly pkg: keyof typeof packages | undefined;
  /** A JSDoc example's module, as built (`packages/<pkg>/dist/<file>.js`): its exports are in scope too. */
  readonly module: string | undefined;
}

function fenced(text: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```ts\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    out.push({ line: start, code: body.join("\n") });
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function snippets(): Snippet[] {
  const out: Snippet[] = [];
  for (const file of ["README.md", ...Object.keys(packages).map((p) => `packages/${p}/README.md`)]) {
    const text = readFileSync(join(root, file), "utf8");
    for (const { line, code } of fenced(text)) out.push({ where: `${file}:${line}`, code, pkg: undefined, module: undefined });
  }
  for (const pkg of Object.keys(packages) as (keyof typeof packages)[]) {
    for (const file of sourceFiles(join(root, "packages", pkg, "src"))) {
      const text = readFileSync(file, "utf8");
      for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
        if (!comment[0].includes("@example")) continue;
        const before = text.slice(0, comment.index).split("\n").length;
        const body = comment[0].replace(/^\s*\/?\*+\/?[ ]?/gm, "");
        const module = join(root, "packages", pkg, "dist", relative(join(root, "packages", pkg, "src"), file).replace(/\.ts$/, ".js"));
        for (const { line, code } of fenced(body)) out.push({ where: `${relative(root, file)}:${before + line}`, code, pkg, module });
      }
    }
  }
  return out;
}

/** The names a package exports (values and types), from its built declarations. */
function exportsOf(program: ts.Program, specifier: string, from: string): string[] {
  const checker = program.getTypeChecker();
  const resolved = ts.resolveModuleName(specifier, from, program.getCompilerOptions(), ts.sys).resolvedModule;
  const sf = resolved && program.getSourceFile(resolved.resolvedFileName);
  const sym = sf && checker.getSymbolAtLocation(sf);
  return sym ? checker.getExportsOfModule(sym).map((s) => s.name) : [];
}

const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2023.d.ts"],
  types: ["node"],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
};

function compile(files: Map<string, string>): ts.Program {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => {
    const text = files.get(name);
    return text !== undefined ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  return ts.createProgram([...files.keys()], options, host);
}

test("the README's and the JSDoc's TypeScript examples type-check under strict mode", { timeout: 120_000 }, () => {
  const all = snippets();
  assert.ok(all.length > 20, `found ${all.length} examples`);
  const dir = join(root, "test", "docs");
  const name = (i: number): string => join(dir, `example-${i}.mts`);
  // pass 1: find the package names each JSDoc example uses without importing them, and its free variables
  const modules = [...new Set(all.flatMap((s) => (s.module === undefined ? [] : [s.module])))];
  const probe = compile(new Map([[name(-1), [...Object.values(packages), ...modules].map((p, i) => `import * as p${i} from "${p}";`).join("\n")]]));
  const exported = new Map([...Object.values(packages), ...modules].map((spec) => [spec, exportsOf(probe, spec, name(-1))]));
  const prelude = (s: Snippet): string => {
    if (s.pkg === undefined || s.module === undefined) return "";
    const taken = new Set(
      [...s.code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((m) =>
        m[1]!.split(",").map(
          (n) =>
            n
              .trim()
              .split(/\s+as\s+/)
              .pop()!,
        ),
      ),
    );
    const lines: string[] = [];
    // the example's own module first (an ops kernel named like a package builder is the kernel), then its package
    for (const spec of [s.module, packages[s.pkg]]) {
      const used = exported.get(spec)!.filter((n) => !taken.has(n) && new RegExp(`\\b${n}\\b`).test(s.code));
      for (const n of used) taken.add(n);
      if (used.length > 0) lines.push(`import { ${used.join(", ")} } from "${spec}";\n`);
    }
    return lines.join("");
  };
  const texts = all.map((s) => `${prelude(s)}${s.code}\nexport {};\n`);
  const first = compile(new Map(texts.map((t, i) => [name(i), t])));
  const free = texts.map(() => new Set<string>());
  for (const d of ts.getPreEmitDiagnostics(first)) {
    const i = d.file === undefined ? -1 : Number(/example-(\d+)\.mts$/.exec(d.file.fileName)?.[1] ?? -1);
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const m = /^(?:Cannot find name|No value exists in scope for the shorthand property) '(\w+)'/.exec(text);
    // a JSDoc example's free variables (`x`, `url`, `store`) are the reader's: `any` here
    if (i >= 0 && all[i]!.pkg !== undefined && m !== null && (d.code === 2304 || d.code === 2552 || d.code === 18004)) free[i]!.add(m[1]!);
  }
  const final = compile(new Map(texts.map((t, i) => [name(i), [...free[i]!].map((n) => `declare const ${n}: any;\n`).join("") + t])));
  const errors = ts.getPreEmitDiagnostics(final).map((d) => {
    const i = d.file === undefined ? -1 : Number(/example-(\d+)\.mts$/.exec(d.file.fileName)?.[1] ?? -1);
    const where = i >= 0 ? all[i]!.where : (d.file?.fileName ?? "?");
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
  });
  assert.deepEqual(errors, []);
});
