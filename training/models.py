"""The three networks: autoencoder (64x64x3 <-> 16x16x4), text encoder, and a conditional U-Net.

Plain nn.Modules and explicit attention (no scaled_dot_product_attention), so the same code trains on
Debian's torch 1.13 and on torch 2.x, and exports to ONNX opset 17 with dynamic batch and spatial sizes.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(32, c // 4), c)


class Res(nn.Module):
    """GroupNorm-SiLU-conv twice, optional timestep shift, 1x1 skip when channels change."""

    def __init__(self, cin: int, cout: int, temb: int = 0):
        super().__init__()
        self.n1, self.c1 = norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.n2, self.c2 = norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.t = nn.Linear(temb, cout) if temb else None
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        h = self.c1(F.silu(self.n1(x)))
        if self.t is not None and t is not None:
            h = h + self.t(t)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


# ---------------------------------------------------------------- autoencoder

class Encoder(nn.Module):
    def __init__(self, ch=(32, 64, 128), z: int = 4):
        super().__init__()
        self.inp = nn.Conv2d(3, ch[0], 3, padding=1)
        self.r0 = Res(ch[0], ch[0])
        self.d0 = nn.Conv2d(ch[0], ch[1], 3, stride=2, padding=1)
        self.r1 = Res(ch[1], ch[1])
        self.d1 = nn.Conv2d(ch[1], ch[2], 3, stride=2, padding=1)
        self.r2 = Res(ch[2], ch[2])
        self.out = nn.Sequential(norm(ch[2]), nn.SiLU(), nn.Conv2d(ch[2], z, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.r0(self.inp(x))
        x = self.r1(self.d0(x))
        x = self.r2(self.d1(x))
        return self.out(x)


class Decoder(nn.Module):
    def __init__(self, ch=(32, 64, 128), z: int = 4):
        super().__init__()
        self.inp = nn.Conv2d(z, ch[2], 3, padding=1)
        self.r2a, self.r2b = Res(ch[2], ch[2]), Res(ch[2], ch[2])
        self.u1 = nn.Conv2d(ch[2], ch[1], 3, padding=1)
        self.r1 = Res(ch[1], ch[1])
        self.u0 = nn.Conv2d(ch[1], ch[0], 3, padding=1)
        self.r0 = Res(ch[0], ch[0])
        self.out = nn.Sequential(norm(ch[0]), nn.SiLU(), nn.Conv2d(ch[0], 3, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.r2b(self.r2a(self.inp(z)))
        x = self.r1(self.u1(F.interpolate(x, scale_factor=2.0, mode="nearest")))
        x = self.r0(self.u0(F.interpolate(x, scale_factor=2.0, mode="nearest")))
        return self.out(x)


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(), Decoder()


# ---------------------------------------------------------------- text encoder

class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, ctx_dim: int | None = None):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(ctx_dim or dim, dim, bias=False)
        self.v = nn.Linear(ctx_dim or dim, dim, bias=False)
        self.o = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor | None = None) -> torch.Tensor:
        ctx = x if ctx is None else ctx
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).reshape(b, -1, h, d // h).transpose(1, 2)
        k = self.k(ctx).reshape(b, -1, h, d // h).transpose(1, 2)
        v = self.v(ctx).reshape(b, -1, h, d // h).transpose(1, 2)
        w = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(d // h)), dim=-1)
        return self.o((w @ v).transpose(1, 2).reshape(b, -1, d))


class TextBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.n1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.n2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), nn.GELU(), nn.Linear(dim * 4, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.n1(x))
        return x + self.mlp(self.n2(x))


class TextEncoder(nn.Module):
    """Bidirectional transformer over BPE ids; last_hidden_state [B, L, dim]."""

    def __init__(self, vocab: int, length: int, dim: int = 256, layers: int = 4, heads: int = 4):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(1, length, dim) * 0.01)
        self.blocks = nn.ModuleList(TextBlock(dim, heads) for _ in range(layers))
        self.final = nn.LayerNorm(dim)
        nn.init.normal_(self.tok.weight, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.tok(ids.long()) + self.pos[:, : ids.shape[1]]
        for b in self.blocks:
            x = b(x)
        return self.final(x)


# ---------------------------------------------------------------- U-Net

class SpatialTransformer(nn.Module):
    """Self-attention, cross-attention to the text tokens, MLP; over the h*w positions."""

    def __init__(self, ch: int, ctx_dim: int, heads: int = 4):
        super().__init__()
        self.norm = norm(ch)
        self.proj_in = nn.Conv2d(ch, ch, 1)
        self.n1, self.self_attn = nn.LayerNorm(ch), Attention(ch, heads)
        self.n2, self.cross = nn.LayerNorm(ch), Attention(ch, heads, ctx_dim)
        self.n3 = nn.LayerNorm(ch)
        self.mlp = nn.Sequential(nn.Linear(ch, ch * 2), nn.GELU(), nn.Linear(ch * 2, ch))
        self.proj_out = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = x.shape
        h = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)
        h = h + self.self_attn(self.n1(h))
        h = h + self.cross(self.n2(h), ctx)
        h = h + self.mlp(self.n3(h))
        return x + self.proj_out(h.transpose(1, 2).reshape(b, c, hh, ww))


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps, t: [B] or [1] -> [B or 1, dim]."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * (-math.log(10000.0) / half))
    args = t.float().reshape(-1, 1) * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class UNet(nn.Module):
    """16x16 latent -> 8x8 -> 4x4, cross-attention at 8x8, 4x4 and the middle."""

    def __init__(self, ctx_dim: int = 256, ch=(64, 128, 192), z: int = 4, tdim: int = 256):
        super().__init__()
        c0, c1, c2 = ch
        self.tdim = tdim
        self.temb = nn.Sequential(nn.Linear(tdim, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.inp = nn.Conv2d(z, c0, 3, padding=1)
        self.down0 = Res(c0, c0, tdim)
        self.ds0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.down1, self.att1 = Res(c0, c1, tdim), SpatialTransformer(c1, ctx_dim)
        self.ds1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.down2, self.att2 = Res(c1, c2, tdim), SpatialTransformer(c2, ctx_dim)
        self.mid1, self.mida, self.mid2 = Res(c2, c2, tdim), SpatialTransformer(c2, ctx_dim), Res(c2, c2, tdim)
        self.up2, self.uatt2 = Res(c2 + c2, c2, tdim), SpatialTransformer(c2, ctx_dim)
        self.us2 = nn.Conv2d(c2, c2, 3, padding=1)
        self.up1, self.uatt1 = Res(c2 + c1, c1, tdim), SpatialTransformer(c1, ctx_dim)
        self.us1 = nn.Conv2d(c1, c1, 3, padding=1)
        self.up0 = Res(c1 + c0, c0, tdim)
        self.out = nn.Sequential(norm(c0), nn.SiLU(), nn.Conv2d(c0, z, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        te = self.temb(timestep_embedding(t, self.tdim))
        h0 = self.down0(self.inp(x), te)                      # 16x16
        h1 = self.att1(self.down1(self.ds0(h0), te), ctx)     # 8x8
        h2 = self.att2(self.down2(self.ds1(h1), te), ctx)     # 4x4
        m = self.mid2(self.mida(self.mid1(h2, te), ctx), te)
        u = self.uatt2(self.up2(torch.cat([m, h2], 1), te), ctx)
        u = self.us2(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.uatt1(self.up1(torch.cat([u, h1], 1), te), ctx)
        u = self.us1(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.up0(torch.cat([u, h0], 1), te)
        return self.out(u)


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


if __name__ == "__main__":
    ae, te, un = AutoEncoder(), TextEncoder(4514, 32), UNet()
    print("encoder", count(ae.encoder), "decoder", count(ae.decoder), "text", count(te), "unet", count(un))
    z = ae.encoder(torch.randn(2, 3, 64, 64))
    ctx = te(torch.zeros(2, 32, dtype=torch.long))
    print(z.shape, ae.decoder(z).shape, ctx.shape, un(z, torch.tensor([5.0]), ctx).shape)
