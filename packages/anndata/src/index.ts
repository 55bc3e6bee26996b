/** Public API of @zask/anndata. */
export {};
