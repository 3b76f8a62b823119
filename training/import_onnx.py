"""Read a model folder that export.py wrote back into the training checkpoints, so training resumes from it.

  /usr/bin/python3 training/import_onnx.py --model models/emoji-tiny --out training/.work/shipped

The committed model folder is the one checkpoint that survives a fresh clone. Writes ae.pt, text_encoder.pt,
unet.pt (fp16 state dicts, as train.py saves them), log.json (vocabulary, context, the autoencoder's latent
statistics from the VAE config) and a copy of the folder's tokenizer.

torch's exporter keeps most parameter names but folds some into anonymous initializers (a Linear weight
without bias becomes a transposed `onnx::MatMul_N`, a GroupNorm's affine a `(C,1,1)` `onnx::Mul_N`). To
learn which is which, the same modules are exported once with every parameter filled with its own index,
and each anonymous initializer is matched by the index it holds. The import is then checked by exporting
the imported weights again and comparing every initializer with the folder's.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer  # noqa: E402
from export import export_graphs  # noqa: E402
from models import AutoEncoder, TextEncoder, UNet  # noqa: E402
from train import half_state, save_atomic  # noqa: E402

PARTS = ("text_encoder", "unet", "vae_decoder", "vae_encoder")


def export_all(te: TextEncoder, unet: UNet, ae: AutoEncoder, tok: ClipTokenizer, folder: Path) -> None:
    """The four graphs as export.py writes them, as folder/<part>.onnx."""
    with torch.no_grad():
        export_graphs(te, unet, ae, tok, lambda part: folder / f"{part}.onnx")


def initializers(path: Path) -> dict[str, np.ndarray]:
    """Weights by their exported name (the `_fp16` storage suffix removed), as float32."""
    out = {}
    for init in onnx.load(str(path)).graph.initializer:
        name = init.name[:-5] if init.name.endswith("_fp16") else init.name
        out[name] = numpy_helper.to_array(init).astype(np.float32)
    return out


def tag(modules: list[torch.nn.Module]) -> dict[int, tuple[torch.nn.Module, str]]:
    """Fill every parameter with its own index (from 1); fp16 holds integers up to 2048 exactly."""
    index: dict[int, tuple[torch.nn.Module, str]] = {}
    with torch.no_grad():
        for m in modules:
            for name, p in m.named_parameters():
                i = len(index) + 1
                p.fill_(float(i))
                index[i] = (m, name)
    return index


def mapping(tagged: Path, index: dict) -> dict[str, dict[str, tuple[torch.nn.Module, str, bool]]]:
    """Per part: exported initializer name -> (module, parameter name, stored transposed)."""
    out: dict[str, dict] = {}
    for part in PARTS:
        found = {}
        for name, arr in initializers(tagged / f"{part}.onnx").items():
            values = np.unique(arr)
            if len(values) != 1 or int(values[0]) not in index or values[0] != int(values[0]):
                raise SystemExit(f"{part}: initializer {name} holds no single parameter index; the exporter folded more")
            module, pname = index[int(values[0])]
            shape = tuple(dict(module.named_parameters())[pname].shape)
            # torch names an anonymous initializer after its consumer: a MatMul's is a Linear weight, stored as W.T
            found[name] = (module, pname, name.startswith("onnx::MatMul_") and len(shape) == 2)
        out[part] = found
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(HERE.parent / "models" / "emoji-tiny"))
    ap.add_argument("--out", default=str(HERE / ".work" / "shipped"))
    args = ap.parse_args()
    model, out = Path(args.model), Path(args.out)
    tok = ClipTokenizer.load(model / "tokenizer")
    V, L = len(tok.encoder), tok.max_length
    te, unet, ae = TextEncoder(V, L), UNet(ctx_dim=256), AutoEncoder()
    with tempfile.TemporaryDirectory() as tmp:
        tagged = Path(tmp) / "tagged"
        index = tag([te, unet, ae])
        export_all(te, unet, ae, tok, tagged)
        maps = mapping(tagged, index)
        params = {id(m): dict(m.named_parameters()) for m in (te, unet, ae)}
        with torch.no_grad():
            for part in PARTS:
                shipped = initializers(model / part / "model.onnx")
                if set(shipped) != set(maps[part]):
                    raise SystemExit(f"{model / part} was not written by this export.py (other initializers)")
                for name, (module, pname, transposed) in maps[part].items():
                    arr = shipped[name].T if transposed else shipped[name]
                    p = params[id(module)][pname]
                    p.copy_(torch.from_numpy(np.ascontiguousarray(arr)).reshape(p.shape))
        again = Path(tmp) / "again"
        export_all(te, unet, ae, tok, again)
        for part in PARTS:
            a, b = initializers(again / f"{part}.onnx"), initializers(model / part / "model.onnx")
            bad = [n for n in b if not np.array_equal(a[n], b[n])]
            if bad:
                raise SystemExit(f"{part}: re-exported weights differ from the folder's at {bad[:3]}")
    vae = json.loads((model / "vae_decoder" / "config.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    save_atomic(half_state(ae), out / "ae.pt")
    save_atomic(half_state(te), out / "text_encoder.pt")
    save_atomic(half_state(unet), out / "unet.pt")
    save_atomic({"vocab_size": V, "context_length": L, "imported_from": model.name,
                 "ae": {k: vae[k] for k in ("scaling_factor", "latent_rgb_factors", "latent_rgb_bias")}}, out / "log.json")
    shutil.rmtree(out / "tokenizer", ignore_errors=True)
    shutil.copytree(model / "tokenizer", out / "tokenizer")
    print(f"imported {model} into {out}: every initializer re-exports identically")


if __name__ == "__main__":
    main()
