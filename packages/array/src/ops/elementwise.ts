// Element-wise kernels (worker ops). (stub: being written)
export {};
