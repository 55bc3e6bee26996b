// Reduction kernels (worker ops). (stub: being written)
export {};
