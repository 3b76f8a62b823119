"""Export a training checkpoint to the diffusers/optimum ONNX folder layout the engine reads.

  /usr/bin/python3 training/export.py --ckpt training/.work/gpu --model models/emoji-tiny

Writes text_encoder/, unet/, vae_decoder/, vae_encoder/ (model.onnx + config.json), tokenizer/,
scheduler/scheduler_config.json and model_index.json. Weights are stored as float16 initializers, each
followed by a Cast to float32, so the file is half the size while every input and output stays float32
(onnxruntime folds the casts when it loads the model). Also writes reference inputs/outputs computed by
PyTorch (with the same fp16-rounded weights) to training/.work/verify/ for verify_onnx.mjs.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer  # noqa: E402
from models import AutoEncoder, TextEncoder, UNet  # noqa: E402
from train import load_half  # noqa: E402

OPSET = 17
DIFFUSERS_VERSION = "0.30.0"


class TextWrap(torch.nn.Module):
    def __init__(self, te: TextEncoder):
        super().__init__()
        self.te = te

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.te(input_ids)


class UNetWrap(torch.nn.Module):
    def __init__(self, unet: UNet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, timestep, encoder_hidden_states)


class DecWrap(torch.nn.Module):
    def __init__(self, ae: AutoEncoder):
        super().__init__()
        self.dec = ae.decoder

    def forward(self, latent_sample):
        return self.dec(latent_sample).clamp(-1.0, 1.0)


class EncWrap(torch.nn.Module):
    def __init__(self, ae: AutoEncoder):
        super().__init__()
        self.enc = ae.encoder

    def forward(self, sample):
        return self.enc(sample)


def to_fp16_storage(path: Path) -> None:
    """Float32 initializers -> float16 initializer + Cast(to float) producing the original name."""
    m = onnx.load(str(path))
    g = m.graph
    casts, keep = [], []
    for init in g.initializer:
        if init.data_type == TensorProto.FLOAT:
            arr = numpy_helper.to_array(init).astype(np.float16)
            new = numpy_helper.from_array(arr, init.name + "_fp16")
            keep.append(new)
            casts.append(helper.make_node("Cast", [new.name], [init.name], to=TensorProto.FLOAT, name=init.name + "_cast"))
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def export(module, args, path: Path, inputs, outputs, dyn) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=dyn,
                          opset_version=OPSET, do_constant_folding=True)
    to_fp16_storage(path)
    print(f"  {path} {path.stat().st_size / 1e6:.2f} MB")


def export_graphs(te: TextEncoder, unet: UNet, ae: AutoEncoder, tok: ClipTokenizer, path_of) -> None:
    """The four graphs, each at path_of(part); the example inputs fix the traced names import_onnx.py relies on."""
    ids = torch.tensor([tok("grinning face"), tok("")], dtype=torch.int32)
    export(TextWrap(te), (ids,), path_of("text_encoder"), ["input_ids"], ["last_hidden_state"],
           {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    ctx = te(ids)
    x = torch.randn(2, 4, 16, 16)
    ts = torch.tensor([500.0])
    export(UNetWrap(unet), (x, ts, ctx), path_of("unet"), ["sample", "timestep", "encoder_hidden_states"],
           ["out_sample"], {"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "timestep_batch"},
                            "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch", 2: "height", 3: "width"}})
    export(DecWrap(ae), (x,), path_of("vae_decoder"), ["latent_sample"], ["sample"],
           {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "height", 3: "width"}})
    img = torch.rand(2, 3, 64, 64) * 2 - 1
    export(EncWrap(ae), (img,), path_of("vae_encoder"), ["sample"], ["latent_sample"],
           {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "height", 3: "width"}})


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")


def save_case(folder: Path, name: str, inputs: dict, outputs: dict) -> dict:
    """Raw little-endian tensors + a manifest entry for verify_onnx.mjs."""
    entry = {"inputs": {}, "outputs": {}}
    for kind, tensors in (("inputs", inputs), ("outputs", outputs)):
        for k, v in tensors.items():
            arr = v.numpy()
            f = f"{name}.{kind}.{k}.bin"
            (folder / f).write_bytes(arr.tobytes())
            entry[kind][k] = {"dtype": str(arr.dtype), "dims": list(arr.shape), "file": f}
    return entry


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--model", default=str(HERE.parent / "models" / "emoji-tiny"))
    ap.add_argument("--tokenizer", default=str(HERE / ".work" / "tokenizer"))
    ap.add_argument("--lcm", action="store_true", help="a distill_lcm.py U-Net: LCMScheduler, 4 steps, no guidance batch")
    args = ap.parse_args()
    ckpt, model = Path(args.ckpt), Path(args.model)
    log = json.loads((ckpt / "log.json").read_text())
    tok = ClipTokenizer.load(args.tokenizer)
    L, V = tok.max_length, len(tok.encoder)
    assert log["vocab_size"] == V and log["context_length"] == L, "checkpoint was trained with another tokenizer"
    torch.manual_seed(0)

    ae, te, unet = AutoEncoder(), TextEncoder(V, L), UNet(ctx_dim=256)
    for module, name in ((ae, "ae.pt"), (te, "text_encoder.pt"), (unet, "unet.pt")):
        load_half(module, ckpt / name).eval().requires_grad_(False)
    D = te.final.normalized_shape[0]

    for sub in ("text_encoder", "unet", "vae_decoder", "vae_encoder", "tokenizer", "scheduler"):
        shutil.rmtree(model / sub, ignore_errors=True)
    print("exporting to", model)
    export_graphs(te, unet, ae, tok, lambda part: model / part / "model.onnx")

    # configs the engine reads
    shutil.copytree(args.tokenizer, model / "tokenizer")
    ae_log = log["ae"]
    if "scaling_factor" not in ae_log:
        raise SystemExit("log.json has no autoencoder statistics")
    scheduler = "LCMScheduler" if args.lcm else "EulerAncestralDiscreteScheduler"
    index = {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": DIFFUSERS_VERSION, "_name_or_path": "emoji-tiny",
        "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
        "scheduler": ["diffusers", scheduler], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "vae_encoder": ["diffusers", "OnnxRuntimeModel"]}
    sched = {"_class_name": scheduler, "_diffusers_version": DIFFUSERS_VERSION,
             "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
             "trained_betas": None, "prediction_type": "epsilon", "timestep_spacing": "trailing", "steps_offset": 0}
    if args.lcm:
        # the teacher's guidance is distilled in: no negative batch (guidance 1), LCMScheduler's own timesteps
        index["emojiforge"] = {"steps": 4, "guidance": 1, "sampler": "lcm"}
        sched.update({"original_inference_steps": 50, "timestep_scaling": 10.0, "timestep_spacing": "leading"})
    write_json(model / "model_index.json", index)
    write_json(model / "scheduler" / "scheduler_config.json", sched)
    write_json(model / "text_encoder" / "config.json", {
        "_class_name": "TinyTextEncoder", "hidden_size": D, "num_hidden_layers": len(te.blocks), "num_attention_heads": 4,
        "max_position_embeddings": L, "vocab_size": V, "bos_token_id": tok.bos, "eos_token_id": tok.eos, "pad_token_id": tok.eos})
    write_json(model / "unet" / "config.json", {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": DIFFUSERS_VERSION, "sample_size": 16,
        "in_channels": 4, "out_channels": 4, "cross_attention_dim": D, "block_out_channels": [64, 128, 192],
        "attention_resolutions": ["8x8", "4x4", "mid"], "prediction_type": "epsilon"})
    vae_cfg = {"_class_name": "AutoencoderKL", "_diffusers_version": DIFFUSERS_VERSION, "sample_size": 64,
               "in_channels": 3, "out_channels": 3, "latent_channels": 4, "block_out_channels": [32, 64, 128],
               "vae_scale_factor": 4, "scaling_factor": ae_log["scaling_factor"],
               "latent_rgb_factors": ae_log["latent_rgb_factors"], "latent_rgb_bias": ae_log["latent_rgb_bias"]}
    write_json(model / "vae_decoder" / "config.json", vae_cfg)
    write_json(model / "vae_encoder" / "config.json", vae_cfg)

    # reference cases for verify_onnx.mjs (other batch / spatial sizes than the traced ones)
    ver = HERE / ".work" / "verify"
    shutil.rmtree(ver, ignore_errors=True)
    ver.mkdir(parents=True)
    g = torch.Generator().manual_seed(1)
    ids3 = torch.tensor([tok("red apple"), tok("a cat face"), tok("")], dtype=torch.int32)
    ctx3 = te(ids3)
    x3 = torch.randn(3, 4, 12, 20, generator=g)
    ts1 = torch.tensor([321.5])
    img1 = torch.rand(1, 3, 48, 80, generator=g) * 2 - 1
    manifest = {
        "text_encoder": save_case(ver, "text_encoder", {"input_ids": ids3}, {"last_hidden_state": ctx3}),
        "unet": save_case(ver, "unet", {"sample": x3, "timestep": ts1, "encoder_hidden_states": ctx3},
                          {"out_sample": unet(x3, ts1, ctx3)}),
        "vae_decoder": save_case(ver, "vae_decoder", {"latent_sample": x3}, {"sample": ae.decoder(x3).clamp(-1, 1)}),
        "vae_encoder": save_case(ver, "vae_encoder", {"sample": img1}, {"latent_sample": ae.encoder(img1)}),
    }
    write_json(ver / "manifest.json", manifest)
    total = sum(f.stat().st_size for f in model.rglob("*") if f.is_file())
    print(f"model folder {total / 1e6:.2f} MB; reference cases in {ver}")


if __name__ == "__main__":
    with torch.no_grad():
        main()
