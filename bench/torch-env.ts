// The environment a PyTorch peer runs in, so that its figures are its best on this machine (design.md):
// OpenBLAS (libopenblas0-pthread), jemalloc with decay off (page-fault storms cost up to 4x without it), and
// OMP_WAIT_POLICY=PASSIVE: with OpenMP's default spin-waiting, two-thread PyTorch ran 2-3x slower here.
import { existsSync } from 'node:fs';

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

export function torchEnv(threads: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MALLOC_CONF: 'dirty_decay_ms:-1,muzzy_decay_ms:-1',
    OMP_WAIT_POLICY: 'PASSIVE',
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    TORCH_THREADS: String(threads),
    ...(existsSync(JEMALLOC) ? { LD_PRELOAD: JEMALLOC } : {}),
  };
}
