/** Public API of zask. */
export {};
