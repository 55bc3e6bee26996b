/** Public API of @zask/array. */
export {};
