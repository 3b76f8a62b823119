// What the U-Net is conditioned on, one row per batch row: rows [negative x count, positive x count] with
// classifier-free guidance, else [positive x count]. SD 1.x/2.x: the text encoder's last hidden states.
// SDXL (as diffusers' StableDiffusionXLPipeline): both encoders' penultimate hidden states side by side, the
// second encoder's pooled projection (text_embeds) and the size ids (original size, crop top-left, target
// size: time_ids); an empty negative prompt is zeros when the folder says force_zeros_for_empty_prompt.
import type ort from 'onnxruntime-node';
import type { EngineLogger } from './logger.ts';
import type { DiffusionModel } from './model.ts';
import { floatTensor, idsTensor, toFloat32, type ModelSession, type RunClock } from './session.ts';
import type { ClipTokenizer } from './tokenizer.ts';
import type { GenerateRequest } from './types.ts';

interface Rows {
  data: Float32Array;
  /** values per row */
  width: number;
  /** the row shape after the batch dimension */
  dims: number[];
}

/** The U-Net feeds that stay the same every step: encoder_hidden_states, and for SDXL text_embeds and time_ids. */
export async function encodeConditioning(
  model: DiffusionModel,
  request: GenerateRequest,
  cfg: boolean,
  clock: RunClock,
  logger: EngineLogger,
): Promise<Record<string, ort.Tensor>> {
  const negative = request.negativePrompt ?? '';
  const batch = cfg ? 2 * request.count : request.count;
  // per batch row: 0 = negative, 1 = positive (the encoded texts are [negative, positive] with guidance)
  const textRow = (b: number) => (cfg && b >= request.count ? 1 : 0);
  const unet = model.unet;
  const feed = (rows: Rows, name: string, source = textRow) =>
    floatTensor(spread(rows, batch, source), [batch, ...rows.dims], unet.requireInput(name).type);

  if (!model.xl) {
    const texts = cfg ? [negative, request.prompt] : [request.prompt];
    const hidden = await encode(model.tokenizer, model.textEncoder, texts, ['last_hidden_state'], clock, logger);
    return { encoder_hidden_states: feed(hidden[0], 'encoder_hidden_states') };
  }

  const xl = model.xl;
  const zeros = cfg && xl.forceZerosForEmptyPrompt && negative.trim() === '';
  const texts = cfg && !zeros ? [negative, request.prompt] : [request.prompt];
  const [first] = await encode(model.tokenizer, model.textEncoder, texts, [xl.hiddenStates[0]], clock, logger);
  const [second, pooled] = await encode(
    xl.tokenizer2,
    xl.textEncoder2,
    texts,
    [xl.hiddenStates[1], 'text_embeds'],
    clock,
    logger,
  );
  let hidden = besideEachOther(first, second);
  let embeds = pooled;
  if (zeros) [hidden, embeds] = [withZeroRow(hidden), withZeroRow(embeds)];
  const { width, height } = request;
  const timeIds = { data: Float32Array.from([height, width, 0, 0, height, width]), width: 6, dims: [6] };
  return {
    encoder_hidden_states: feed(hidden, 'encoder_hidden_states'),
    text_embeds: feed(embeds, 'text_embeds'),
    time_ids: feed(timeIds, 'time_ids', () => 0), // the same for the negative and the positive rows
  };
}

/** The texts through one tokenizer and encoder in one batch; the named outputs as rows (a missing name: the first output). */
async function encode(
  tokenizer: ClipTokenizer,
  encoder: ModelSession,
  texts: readonly string[],
  outputs: readonly string[],
  clock: RunClock,
  logger: EngineLogger,
): Promise<Rows[]> {
  const ids = texts.map((text, i) => {
    const encoded = tokenizer.encode(text);
    if (encoded.truncated) {
      const which = i === texts.length - 1 ? 'prompt' : 'negative prompt';
      logger.warn(
        { tokens: encoded.tokenCount, limit: tokenizer.maxLength - 2 },
        `${which} truncated to the model token limit`,
      );
    }
    return encoded.ids;
  });
  const result = await encoder.run({ input_ids: idsTensor(ids, encoder.requireInput('input_ids').type) }, clock);
  return outputs.map((name) => {
    const tensor = result[encoder.pickOutput(name).name];
    const dims = (tensor.dims as number[]).slice(1);
    return { data: toFloat32(tensor), width: dims.reduce((a, b) => a * b, 1), dims };
  });
}

/** Row r of the batch is row source(r) of `rows`. */
function spread(rows: Rows, batch: number, source: (row: number) => number): Float32Array {
  const out = new Float32Array(batch * rows.width);
  for (let b = 0; b < batch; b++) {
    const from = source(b) * rows.width;
    if (from + rows.width > rows.data.length) throw new RangeError(`expected a row ${source(b)} to spread, got none`);
    out.set(rows.data.subarray(from, from + rows.width), b * rows.width);
  }
  return out;
}

/** [rows, seq, a] and [rows, seq, b] -> [rows, seq, a + b], as torch.cat(dim=-1). */
function besideEachOther(left: Rows, right: Rows): Rows {
  const [seq, a] = left.dims;
  const [seq2, b] = right.dims;
  if (seq !== seq2) throw new RangeError(`expected both text encoders to return ${seq} tokens, got ${seq2}`);
  const count = left.data.length / left.width;
  const data = new Float32Array(count * seq * (a + b));
  for (let r = 0; r < count * seq; r++) {
    data.set(left.data.subarray(r * a, (r + 1) * a), r * (a + b));
    data.set(right.data.subarray(r * b, (r + 1) * b), r * (a + b) + a);
  }
  return { data, width: seq * (a + b), dims: [seq, a + b] };
}

/** A row of zeros before the others (the negative prompt's, under force_zeros_for_empty_prompt). */
function withZeroRow(rows: Rows): Rows {
  const data = new Float32Array(rows.data.length + rows.width);
  data.set(rows.data, rows.width);
  return { ...rows, data };
}
