/** Public API of @zask/scheduler. */
export {};
