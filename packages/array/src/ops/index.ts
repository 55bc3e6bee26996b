// Built-in ops of @zask/array, importable by worker threads as `@zask/array/ops`.
export * from "./elementwise.js";
export * from "./reductions.js";
