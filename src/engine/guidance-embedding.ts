// The extra U-Net input of LCM exports (timestep_cond): the guidance scale, embedded instead of run as an
// unconditional pass.

/**
 * LCM's guidance embedding (diffusers LatentConsistencyModelPipeline.get_guidance_scale_embedding):
 * w = guidance - 1, scaled by 1000, as sinusoids [sin..., cos...] of `dim` values, one row per batch entry.
 */
export function guidanceEmbedding(guidance: number, dim: number, batch: number): Float32Array {
  const w = (guidance - 1) * 1000;
  const half = Math.floor(dim / 2);
  const row = new Float32Array(dim);
  const scale = Math.log(10000) / Math.max(1, half - 1);
  for (let j = 0; j < half; j++) {
    const v = w * Math.exp(-scale * j);
    row[j] = Math.sin(v);
    row[half + j] = Math.cos(v);
  }
  const out = new Float32Array(batch * dim);
  for (let b = 0; b < batch; b++) out.set(row, b * dim);
  return out;
}
