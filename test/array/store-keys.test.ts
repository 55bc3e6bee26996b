import assert from "node:assert/strict";
import { test } from "node:test";
import * as zarr from "zarrita";
import { keyUrl, resolveStorePath, ZarrStore } from "@zask/array";

test("resolveStorePath keeps each segment verbatim: trailing spaces, %, #, ?, colons and unicode", () => {
  for (const name of ["a ", " a", "Unnamed: 0", "x%y", "h#s", "q?r", "sp ace", "ü-ñ", "%41"]) {
    assert.equal(resolveStorePath("/obs", name), `/obs/${name}`);
    assert.equal(resolveStorePath("/obs", `${name}/.zarray`), `/obs/${name}/.zarray`);
  }
  assert.equal(resolveStorePath("/obs/a", "../var"), "/obs/var");
  assert.equal(resolveStorePath("/obs", "/X"), "/X");
  assert.equal(resolveStorePath("/", ""), "/");
  assert.equal(resolveStorePath("/X", ""), "/X/");
});

test("zarrita's Location.resolve resolves child and metadata keys as store paths once @zask/array is loaded", () => {
  const group = zarr.root(new Map()).resolve("obs");
  assert.equal(group.resolve("h#s").resolve(".zarray").path, "/obs/h#s/.zarray");
  assert.equal(group.resolve("a ").path, "/obs/a ");
  assert.equal(group.resolve("Unnamed: 0").path, "/obs/Unnamed: 0");
  assert.equal(group.resolve("x%y").path, "/obs/x%y");
});

test("keyUrl percent-encodes each segment of a key, keeps the separators and the store URL's query", () => {
  assert.equal(keyUrl("http://h/x.zarr", "/obs/q?r/0"), "http://h/x.zarr/obs/q%3Fr/0");
  assert.equal(keyUrl("http://h/x.zarr/", "obs/a /0"), "http://h/x.zarr/obs/a%20/0");
  assert.equal(keyUrl("http://h/x.zarr", "obs/x%y/h#s/Unnamed: 0"), "http://h/x.zarr/obs/x%25y/h%23s/Unnamed%3A%200");
  assert.equal(keyUrl("http://h/x.zarr?sig=1", "/X/0.0"), "http://h/x.zarr/X/0.0?sig=1");
  const store = new ZarrStore("http://h/d/x.zarr?sig=1");
  assert.equal(store.location, "http://h/d/x.zarr/?sig=1");
  assert.equal(store.describe("obs/ü-ñ/0"), "http://h/d/x.zarr/obs/%C3%BC-%C3%B1/0?sig=1");
});
