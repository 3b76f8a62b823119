#!/usr/bin/python3
"""Full-size SDXL base from diffusers' own classes (v0.19.3), random weights, for `npm run bench:sdxl`.

    /usr/bin/python3 bench/sdxl-torch.py export DIR [DIFFUSERS_SRC]   the ONNX export in optimum's SDXL layout, each
                                                                  part's weights as float16 in model.onnx_data
                                                                  (6.4 GB on disk; 16 minutes here)
    /usr/bin/python3 bench/sdxl-torch.py time THREADS [DIFFUSERS_SRC] one U-Net call at batch 1, 1024x1024, PyTorch
                                                                  eager: prints {"unet_ms", "params"} as JSON

Both build the same U-Net from the same seed (SDXL base's unet/config.json: 320/640/1280, 1/2/10 transformer
layers, 2.6 B parameters), its weights rounded to float16 as the export stores them, so the timing runs the very
weights the export holds. The text encoders have SDXL's sizes (CLIP ViT-L/14 and OpenCLIP ViT-bigG/14 with its
1280-wide projection), the VAE SDXL's (128/256/512/512, scaling factor 0.13025).
"""
import gc
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).parent
FIXTURES = HERE.parent / 'test' / 'fixtures'
spec = importlib.util.spec_from_file_location('sdxl_exports', FIXTURES / 'make-sdxl-exports.py')
xl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(xl)
sd = xl.sd

UNET = dict(
    xl.UNET,
    sample_size=128,
    block_out_channels=(320, 640, 1280),
    norm_num_groups=32,
    cross_attention_dim=2048,
    attention_head_dim=(5, 10, 20),
    transformer_layers_per_block=(1, 2, 10),
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
)
VAE = dict(sd.VAE, block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32, sample_size=1024)
TEXT = dict(hidden=768, layers=12, heads=12, positions=77, intermediate=3072)
TEXT_2 = dict(hidden=1280, layers=32, heads=20, positions=77, intermediate=5120)
PROJECTION = 1280
VOCAB = 49408
TOKENIZER = HERE.parent / 'models' / 'emoji-tiny' / 'tokenizer'


def seeded(module):
    """Weights rounded to float16, as the export stores them (the seed is set before the module is made)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.half().float())
    return module.eval()


def build_unet(classes):
    torch.manual_seed(2048)
    return seeded(classes['UNet2DConditionModel'](**UNET))


def export(module, args, path: Path, inputs, outputs, axes) -> None:
    """The graph without its weights (torch's exporter needs 2-3x a model's size in memory to write them: over
    24 GB for this U-Net), then the weights streamed into one model.onnx_data as float16, as optimum --fp16 stores
    them, cast back to float32 inside the graph (the CPU provider computes in float32)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=14, do_constant_folding=False, export_params=False)
    model = onnx.load(str(path))
    graph = model.graph
    weights = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    missing = [i.name for i in graph.input if i.name not in inputs and i.name not in weights]
    if missing:
        raise SystemExit(f'graph inputs that are neither inputs nor weights: {missing[:5]}')
    casts = []
    with open(path.parent / 'model.onnx_data', 'wb') as out:
        for value in [i for i in graph.input if i.name in weights]:
            array = weights[value.name].detach().numpy()
            name = value.name
            if array.dtype == np.float32:
                array = array.astype(np.float16)
                casts.append(helper.make_node('Cast', [name + '_fp16'], [name], to=TensorProto.FLOAT))
                name += '_fp16'
            tensor = numpy_helper.from_array(array, name)
            if array.nbytes > 1024:
                tensor.ClearField('raw_data')
                tensor.data_location = TensorProto.EXTERNAL
                for key, v in [('location', 'model.onnx_data'), ('offset', str(out.tell())), ('length', str(array.nbytes))]:
                    tensor.external_data.add(key=key, value=v)
                out.write(array.tobytes())
            graph.initializer.append(tensor)
            graph.input.remove(value)
            del array
    for i, node in enumerate(casts):
        graph.node.insert(i, node)
    onnx.save(model, str(path))


def export_all(out: Path, classes) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for name in ['tokenizer', 'tokenizer_2']:
        shutil.copytree(TOKENIZER, out / name)
    path = out / 'tokenizer_2' / 'tokenizer_config.json'
    path.write_text(json.dumps({**json.loads(path.read_text()), 'pad_token': '!'}, indent=2) + '\n')
    ids = torch.zeros((1, 77), dtype=torch.int32)
    seq = {0: 'batch_size', 1: 'sequence_length'}
    image_axes = {0: 'batch_size', 2: 'height', 3: 'width'}
    for part, config, act, projection, seed in [('text_encoder', TEXT, 'quick_gelu', 0, 1), ('text_encoder_2', TEXT_2, 'gelu', PROJECTION, 2)]:
        torch.manual_seed(seed)
        text = seeded(xl.ClipTextEncoder(VOCAB, act, projection, **config))
        layers = [f'hidden_states.{i}' for i in range(config['layers'] + 1)]
        names = ['text_embeds', 'last_hidden_state', *layers] if projection else ['last_hidden_state', 'pooler_output', *layers]
        export(text, (ids,), out / part / 'model.onnx', ['input_ids'], names, {'input_ids': seq, **{n: seq for n in names}, names[0]: {0: 'batch_size'}})
        del text
        gc.collect()
        print(f'{part} written', flush=True)
    unet = build_unet(classes)
    export(
        xl.UNetExport(unet),
        (torch.randn(1, 4, 64, 64), torch.tensor(999.0), torch.randn(1, 77, 2048), torch.randn(1, PROJECTION), torch.randn(1, 6)),
        out / 'unet' / 'model.onnx',
        ['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids'],
        ['out_sample'],
        {'sample': image_axes, 'encoder_hidden_states': seq, 'text_embeds': {0: 'batch_size'}, 'time_ids': {0: 'batch_size'}, 'out_sample': image_axes},
    )
    del unet
    gc.collect()
    print('unet written', flush=True)
    torch.manual_seed(3)
    vae = seeded(classes['AutoencoderKL'](**VAE, scaling_factor=xl.SCALING_FACTOR))
    export(sd.VaeDecoderExport(vae), (torch.randn(1, 4, 64, 64),), out / 'vae_decoder' / 'model.onnx', ['latent_sample'], ['sample'], {'latent_sample': image_axes, 'sample': image_axes})
    (out / 'scheduler').mkdir()
    (out / 'scheduler' / 'scheduler_config.json').write_text(json.dumps(xl.SCHEDULER, indent=2) + '\n')
    (out / 'unet' / 'config.json').write_text(json.dumps({'_class_name': 'UNet2DConditionModel', **UNET}, indent=2) + '\n')
    (out / 'vae_decoder' / 'config.json').write_text(json.dumps({'_class_name': 'AutoencoderKL', **VAE, 'scaling_factor': xl.SCALING_FACTOR}, indent=2) + '\n')
    index = {'_class_name': 'ORTStableDiffusionXLPipeline', 'name': 'sdxl-full-random', 'force_zeros_for_empty_prompt': True}
    (out / 'model_index.json').write_text(json.dumps(index, indent=2) + '\n')
    print(f'wrote {out}')


def time_unet(threads: int, classes) -> None:
    torch.set_num_threads(threads)
    unet = build_unet(classes)
    params = sum(p.numel() for p in unet.parameters())
    torch.manual_seed(0)
    sample, ctx = torch.randn(1, 4, 128, 128), torch.randn(1, 77, 2048)
    added = {'text_embeds': torch.randn(1, PROJECTION), 'time_ids': torch.tensor([[1024.0, 1024, 0, 0, 1024, 1024]])}
    with torch.no_grad():
        run = lambda: unet(sample, torch.tensor(500.0), ctx, added_cond_kwargs=added, return_dict=False)
        run()  # warm-up
        t0 = time.perf_counter()
        run()
        ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({'unet_ms': round(ms), 'params': params}))


if __name__ == '__main__':
    mode, arg = sys.argv[1], sys.argv[2]
    classes = xl.stub_framework(Path(sys.argv[3] if len(sys.argv) > 3 else '/tmp/diffusers-0193/src/diffusers'))
    if mode == 'export':
        export_all(Path(arg), classes)
    else:
        time_unet(int(arg), classes)
