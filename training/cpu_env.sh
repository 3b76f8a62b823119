# Sourced by rebuild.sh and gen2.sh: how PyTorch trains fast on this folder's 2-core CPU machines.
# jemalloc with decay off avoids page-fault storms (up to 4x slower without); two threads on two cores
export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
export MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 TORCH_THREADS=2
W=training/.work
PY=/usr/bin/python3
