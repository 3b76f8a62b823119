"""Checks peer_torch.count_gflop against hand-counted layers (2 FLOP a multiply-add).

  /usr/bin/python3 training/test_peer.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from models import Attention  # noqa: E402
from peer_torch import count_gflop  # noqa: E402


def main() -> None:
    torch.manual_seed(0)
    conv, lin = torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.Linear(16, 32)
    cross, own = Attention(16, 2, ctx_dim=8), Attention(16, 2)
    x, ctx = torch.randn(2, 6, 16), torch.randn(2, 3, 8)
    cases = [
        ("conv 3x3, 4->8, 16x16", [conv], lambda: conv(torch.randn(1, 4, 16, 16)), 2 * (8 * 16 * 16) * 4 * 9),
        ("linear 16->32 on 2x5 rows", [lin], lambda: lin(torch.randn(2, 5, 16)), 2 * (2 * 5 * 32) * 16),
        # q, o: 2*6 rows of 16x16; k, v: 2*3 rows of 8x16; q @ k^T and w @ v: 2 * (2*6*3*16) each
        ("cross-attention", [cross], lambda: cross(x, ctx), 2 * (2 * 12 * 256 + 2 * 6 * 128) + 2 * 2 * (2 * 6 * 3 * 16)),
        ("self-attention", [own], lambda: own(x), 2 * (4 * 12 * 256) + 2 * 2 * (2 * 6 * 6 * 16)),
    ]
    for name, models, run, want in cases:
        with torch.no_grad():
            got = count_gflop(models, run) * 1e9
        assert round(got) == want, f"{name}: expected {want} FLOP, counted {got:.0f}"
        print(f"ok  {name}: {want} FLOP")
    left = [m for m in (conv, lin, cross, own) for sub in m.modules() if sub._forward_hooks]
    assert not left, f"count_gflop left forward hooks on {left}"


if __name__ == "__main__":
    main()
