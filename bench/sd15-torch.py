#!/usr/bin/python3
"""Full-size SD 1.5 from diffusers' own classes (v0.10.2), random weights, for `npm run bench:sd15`.

    /usr/bin/python3 bench/sd15-torch.py export DIR [DIFFUSERS_SRC]   the ONNX export in optimum's layout,
                                                                  weights in model.onnx_data (needs python3-onnx)
    /usr/bin/python3 bench/sd15-torch.py time THREADS [DIFFUSERS_SRC] one U-Net call at batch 2, 512x512, PyTorch eager:
                                                                  prints {"unet_ms", "gflop", "sgemm_gflops"} as JSON

Both build the same modules from the same seed (SD 1.5's configs: U-Net 320/640/1280/1280, VAE
128/256/512/512, a CLIP ViT-L/14-sized text transformer), so the timing runs the very weights the export holds.
"""
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).parent
spec = importlib.util.spec_from_file_location('exports', HERE.parent / 'test' / 'fixtures' / 'make-diffusers-exports.py')
exports = importlib.util.module_from_spec(spec)
spec.loader.exec_module(exports)

UNET = dict(exports.SD15_UNET, block_out_channels=(320, 640, 1280, 1280), norm_num_groups=32, cross_attention_dim=768, attention_head_dim=8, sample_size=64)
VAE = dict(exports.VAE, block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32, sample_size=512)
TEXT = dict(hidden=768, layers=12, heads=12, positions=77, intermediate=3072)
VOCAB = 49408


def build(classes):
    torch.manual_seed(1515)
    text = exports.ClipTextModel(VOCAB, **TEXT).eval()
    unet = classes['UNet2DConditionModel'](**UNET).eval()
    vae = classes['AutoencoderKL'](**VAE).eval()
    return text, unet, vae


def one_file(path: Path) -> None:
    """torch writes one file per tensor for a model over 2 GB; optimum's layout is one model.onnx_data."""
    import onnx

    model = onnx.load(str(path))
    for f in path.parent.iterdir():
        if f.name not in ('model.onnx', 'config.json'):
            f.unlink()
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location='model.onnx_data')


def export_all(out: Path, classes) -> None:
    text, unet, vae = build(classes)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copytree(HERE.parent / 'models' / 'emoji-tiny' / 'tokenizer', out / 'tokenizer')
    image_axes = {0: 'batch_size', 2: 'height', 3: 'width'}
    with torch.no_grad():
        exports.export(text, (torch.zeros((1, 32), dtype=torch.int32),), out / 'text_encoder' / 'model.onnx', ['input_ids'], ['last_hidden_state', 'pooler_output'], {'input_ids': {0: 'batch_size'}}, small=False)
        del text
        exports.export(
            exports.UNetExport(unet),
            (torch.randn(2, 4, 64, 64), torch.tensor([999, 999], dtype=torch.int64), torch.randn(2, 77, 768)),
            out / 'unet' / 'model.onnx',
            ['sample', 'timestep', 'encoder_hidden_states'],
            ['out_sample'],
            {'sample': image_axes, 'timestep': {0: 'steps'}, 'encoder_hidden_states': {0: 'batch_size', 1: 'sequence_length'}, 'out_sample': image_axes},
            small=False,
        )
        del unet
        one_file(out / 'unet' / 'model.onnx')
        exports.export(exports.VaeDecoderExport(vae), (torch.randn(1, 4, 64, 64),), out / 'vae_decoder' / 'model.onnx', ['latent_sample'], ['sample'], {'latent_sample': image_axes, 'sample': image_axes}, small=False)
    (out / 'scheduler').mkdir()
    (out / 'scheduler' / 'scheduler_config.json').write_text(json.dumps(exports.SD15_SCHEDULER, indent=2) + '\n')
    (out / 'unet' / 'config.json').write_text(json.dumps({'_class_name': 'UNet2DConditionModel', **UNET}, indent=2) + '\n')
    (out / 'vae_decoder' / 'config.json').write_text(json.dumps({'_class_name': 'AutoencoderKL', **VAE, 'scaling_factor': exports.SCALING_FACTOR}, indent=2) + '\n')
    index = {'_class_name': 'OnnxStableDiffusionPipeline', 'name': 'sd15-full-random', 'scheduler': ['diffusers', 'PNDMScheduler']}
    (out / 'model_index.json').write_text(json.dumps(index, indent=2) + '\n')
    print(f'wrote {out}')


def count_gflop(model, run) -> float:
    """GFLOP (2 per multiply-add) of convolutions, linear layers and the attention products, by forward hooks."""
    flop = 0
    attention = sys.modules['diffusers.models.attention'].CrossAttention

    def hook(m, args, out):
        nonlocal flop
        if isinstance(m, torch.nn.Conv2d):
            kh, kw = m.kernel_size
            flop += 2 * out.numel() * (m.in_channels // m.groups) * kh * kw
        elif isinstance(m, torch.nn.Linear):
            flop += 2 * out.numel() * m.in_features
        elif isinstance(m, attention):
            x = args[0]
            ctx = args[1] if len(args) > 1 and args[1] is not None else x
            flop += 2 * 2 * x.shape[0] * x.shape[1] * ctx.shape[1] * m.to_q.out_features  # q @ k^T and w @ v

    handles = [sub.register_forward_hook(hook) for sub in model.modules()]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return flop / 1e9


def sgemm_gflops(n: int = 2048, reps: int = 5) -> float:
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    best = float('inf')
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def time_unet(threads: int, classes) -> None:
    torch.set_num_threads(threads)
    _, unet, _ = build(classes)
    sample, t, ctx = torch.randn(2, 4, 64, 64), torch.tensor([500, 500]), torch.randn(2, 77, 768)
    with torch.no_grad():
        run = lambda: unet(sample, t, ctx, return_dict=False)
        gflop = count_gflop(unet, run)  # also the warm-up
        t0 = time.perf_counter()
        run()
        ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({'unet_ms': round(ms), 'gflop': round(gflop, 1), 'sgemm_gflops': round(sgemm_gflops(), 1)}))


if __name__ == '__main__':
    mode, arg = sys.argv[1], sys.argv[2]
    classes = exports.stub_framework(Path(sys.argv[3] if len(sys.argv) > 3 else '/tmp/diffusers-0102/src/diffusers'))
    if mode == 'export':
        export_all(Path(arg), classes)
    else:
        time_unet(int(arg), classes)
