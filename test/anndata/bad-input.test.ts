import assert from "node:assert/strict";
import { readFile, rm, truncate, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { describe, it, before, after } from "node:test";
import {
  AnnData,
  DataFrame,
  ElementReadError,
  NotAnnDataError,
  StoreOpenError,
  UnsupportedEncodingError,
  readDispatched,
  readElem,
  readZarr,
  writeZarr,
} from "@zask/anndata";
import { CSR, DENSE_C5, FIXTURES, copyFixture, serve, type FixtureServer } from "./fixtures.ts";

const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

async function withCopy(src: string, damage: (store: string) => Promise<void>, check: (store: string) => Promise<void>): Promise<void> {
  const copy = await copyFixture(src);
  try {
    await damage(copy.store);
    await check(copy.store);
  } finally {
    await copy.cleanup();
  }
}

describe("bad input gives typed errors naming the element", () => {
  it("an array of a dtype zarrita cannot read (float16) is a metadata error naming it, not a missing element", async () => {
    await withCopy(
      DENSE_C5,
      async (store) => {
        for (const file of ["X/.zarray", ".zmetadata"]) {
          const text = await readFile(path.join(store, file), "utf8").catch(() => undefined);
          if (text !== undefined)
            await writeFile(
              path.join(store, file),
              text.replace(/"X\/\.zarray"(\s*):(\s*)\{([^}]*?)"<f4"/, '"X/.zarray"$1:$2{$3"<f2"').replace(/^(\{[\s\S]*?"dtype": )"<f4"/, '$1"<f2"'),
            );
        }
      },
      async (store) => {
        await assert.rejects(readZarr(store), (e: unknown) => {
          assert.ok(e instanceof ElementReadError, String(e));
          assert.equal(e.reason, "metadata");
          assert.equal(e.path, "/X");
          assert.match(e.message, /float16/);
          return true;
        });
      },
    );
  });

  it("a plain zarr group is not an AnnData group", async () => {
    const store = new Map<string, Uint8Array>([
      ["/.zgroup", enc({ zarr_format: 2 })],
      ["/.zattrs", enc({})],
    ]);
    await assert.rejects(readZarr(store), (e: unknown) => e instanceof NotAnnDataError && e.path === "/" && e.encodingType === undefined);
  });

  it("a group of another encoding is not an AnnData group, and the message names it", async () => {
    await assert.rejects(readZarr(path.join(DENSE_C5, "obs")), (e: unknown) => {
      assert.ok(e instanceof NotAnnDataError);
      assert.equal(e.encodingType, "dataframe");
      assert.match(e.message, /encoding-type "dataframe"/);
      assert.match(e.message, /obs/);
      return true;
    });
  });

  it("a path with nothing there fails to open with the path in the error", async () => {
    await assert.rejects(readZarr(path.join(FIXTURES, "no-such.zarr")), (e: unknown) => e instanceof StoreOpenError && /no-such\.zarr/.test(e.url ?? ""));
  });

  it("malformed consolidated metadata is a metadata error on /.zmetadata", async () => {
    await withCopy(
      DENSE_C5,
      (s) => writeFile(path.join(s, ".zmetadata"), '{"metadata": {'),
      async (s) => {
        await assert.rejects(readZarr(s), (e: unknown) => {
          assert.ok(e instanceof ElementReadError);
          assert.equal(e.path, "/.zmetadata");
          assert.equal(e.reason, "metadata");
          assert.match(e.url ?? "", /\.zmetadata$/);
          return true;
        });
      },
    );
  });

  it("malformed per-node metadata (no .zmetadata) names the node", async () => {
    await withCopy(
      DENSE_C5,
      async (s) => {
        await rm(path.join(s, ".zmetadata"));
        await writeFile(path.join(s, "obs", ".zattrs"), "{not json");
      },
      async (s) => {
        await assert.rejects(readZarr(s), (e: unknown) => e instanceof ElementReadError && e.path === "/obs" && e.reason === "metadata");
      },
    );
  });

  it("a truncated chunk is a chunk error naming the array and its URL", async () => {
    await withCopy(
      DENSE_C5,
      (s) => truncate(path.join(s, "X", "0.0"), 20),
      async (s) => {
        await assert.rejects(readZarr(s, { lazy: false }), (e: unknown) => {
          assert.ok(e instanceof ElementReadError);
          assert.equal(e.path, "/X");
          assert.equal(e.reason, "chunk");
          assert.match(e.url ?? "", /pbmc-like\.dense\.c5\.zarr\/X$/);
          return true;
        });
      },
    );
  });

  it("a corrupted chunk of an obs column fails the open, naming the column", async () => {
    await withCopy(
      DENSE_C5,
      async (s) => {
        const f = path.join(s, "obs", "n_genes", "0");
        const bytes = await readFile(f);
        bytes.fill(0xab, 4, 16); // the blosc header: sizes no longer match the chunk
        await writeFile(f, bytes);
      },
      async (s) => {
        await assert.rejects(readZarr(s), (e: unknown) => e instanceof ElementReadError && e.path === "/obs/n_genes" && e.reason === "chunk");
      },
    );
  });

  it("an unknown codec is a codec error naming the array", async () => {
    await withCopy(
      DENSE_C5,
      async (s) => {
        const meta = JSON.parse(await readFile(path.join(s, ".zmetadata"), "utf8"));
        meta.metadata["obs/percent_mito/.zarray"].compressor = { id: "snappy-from-the-future" };
        await writeFile(path.join(s, ".zmetadata"), JSON.stringify(meta));
      },
      async (s) => {
        await assert.rejects(readZarr(s), (e: unknown) => e instanceof ElementReadError && e.path === "/obs/percent_mito" && e.reason === "codec");
      },
    );
  });

  it("an awkward-array element is unsupported by default but readable through readDispatched", async () => {
    const adata = new AnnData({ obs: new DataFrame({ index: ["a"] }), var: new DataFrame({ index: ["g"] }), uns: { awk: { x: 1 } } });
    const store = new Map<string, Uint8Array>();
    await writeZarr(adata, store);
    const attrs = { "encoding-type": "awkward-array", "encoding-version": "0.1.0", length: 1 };
    store.set("/uns/awk/.zattrs", enc(attrs));
    const meta = JSON.parse(new TextDecoder().decode(store.get("/.zmetadata")));
    meta.metadata["uns/awk/.zattrs"] = attrs;
    store.set("/.zmetadata", enc(meta));
    await assert.rejects(readZarr(store), (e: unknown) => {
      assert.ok(e instanceof UnsupportedEncodingError);
      assert.equal(e.path, "/uns/awk");
      assert.equal(e.encodingType, "awkward-array");
      assert.match(e.message, /readDispatched/);
      return true;
    });
    const read = (await readDispatched(store, (read, _name, elem, spec) => (spec.encodingType === "awkward-array" ? "skipped" : read(elem)))) as AnnData;
    assert.equal(read.uns.awk, "skipped");
  });
});

describe("HTTP failures give typed errors naming the URL", () => {
  let server: FixtureServer;
  before(async () => {
    server = await serve(FIXTURES);
  });
  after(async () => {
    await server.close();
  });

  it("an HTTP 500 on a chunk is an http error naming the element and URL", async () => {
    server.fail.add("/pbmc-like.csr.zarr/obs/n_genes/0");
    try {
      await assert.rejects(readZarr(`${server.url}/pbmc-like.csr.zarr`), (e: unknown) => {
        assert.ok(e instanceof ElementReadError);
        assert.equal(e.path, "/obs/n_genes");
        assert.equal(e.reason, "http");
        assert.equal(e.url, `${server.url}/pbmc-like.csr.zarr/obs/n_genes`);
        assert.match(e.message, /500/);
        return true;
      });
    } finally {
      server.fail.clear();
    }
  });

  it("an HTTP 500 on .zmetadata is an http error, not a silent fallback", async () => {
    server.fail.add("/pbmc-like.csr.zarr/.zmetadata");
    try {
      await assert.rejects(
        readZarr(`${server.url}/pbmc-like.csr.zarr`),
        (e: unknown) => e instanceof ElementReadError && e.reason === "http" && e.path === "/.zmetadata",
      );
    } finally {
      server.fail.clear();
    }
  });

  it("an eager readElem of a sparse matrix with a failing data chunk names the part", async () => {
    server.fail.add("/pbmc-like.csr.zarr/X/data/3");
    try {
      await assert.rejects(
        readZarr(`${server.url}/pbmc-like.csr.zarr`, { lazy: false }),
        (e: unknown) => e instanceof ElementReadError && e.path === "/X/data" && e.reason === "http",
      );
    } finally {
      server.fail.clear();
    }
  });

  it("a missing store over HTTP is a StoreOpenError", async () => {
    await assert.rejects(
      readZarr(`${server.url}/nothing-here.zarr`),
      (e: unknown) => e instanceof StoreOpenError && e.url === `${server.url}/nothing-here.zarr`,
    );
  });
});

void readElem;
void CSR;

describe("a stalled server", () => {
  it("fails the open with an http error after the timeout instead of hanging", async () => {
    const { createServer } = await import("node:http");
    const server = createServer(() => {
      // never answers
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    try {
      await assert.rejects(readZarr(`http://127.0.0.1:${port}/stalled.zarr`, { timeout: 200 }), (e: unknown) => {
        assert.ok(e instanceof ElementReadError);
        assert.equal(e.reason, "http");
        assert.equal(e.path, "/.zmetadata");
        return true;
      });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
