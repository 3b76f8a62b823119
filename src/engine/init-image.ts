// Image-to-image's start: the source picture, resized to the request, through the VAE encoder, as the
// U-Net sees latents (the distribution's mean times the scaling factor, as diffusers' img2img does).
import sharp from 'sharp';
import type { DiffusionModel } from './model.ts';
import { imageToPlanar } from './preview.ts';
import { floatTensor, toFloat32, type RunClock } from './session.ts';

export async function encodeInitImage(
  m: DiffusionModel,
  path: string,
  width: number,
  height: number,
  clock: RunClock,
): Promise<Float32Array> {
  const enc = m.vaeEncoder!;
  const { data } = await sharp(path)
    .resize(width, height, { fit: 'fill' })
    .flatten({ background: '#ffffff' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const planar = imageToPlanar({ width, height, data });
  const out = (
    await enc.run({ sample: floatTensor(planar, [1, 3, height, width], enc.requireInput('sample').type) }, clock)
  )[enc.pickOutput('latent_parameters', 'latent_sample', 'latent_dist').name];
  const values = toFloat32(out);
  const perImage = m.latentChannels * (height / m.vaeScaleFactor) * (width / m.vaeScaleFactor);
  // latent_parameters holds mean then log-variance; the mean is the first latentChannels planes
  const mean = values.slice(0, perImage);
  for (let i = 0; i < mean.length; i++) mean[i] *= m.scalingFactor;
  return mean;
}
