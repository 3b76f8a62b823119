// Recipe codes: a short random code that names one finished job (and one image of it), handed out by ℹ
// and read back by /imagine recipe. The code is the only way in (it cannot be guessed, and says nothing),
// and it lasts as long as the job's record: past that, the images it would make again are gone too.
import { randomInt } from 'node:crypto';
import type { Store } from './store.ts';

const ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const LENGTH = 10;
export const RECIPE_CODE = new RegExp(`^[${ALPHABET}]{${LENGTH}}$`);

export interface RecipeRef {
  jobId: string;
  /** 1-based image of the job; absent for the whole job (a grid). */
  index?: number;
}

/** Ten characters without look-alikes (no 0/O, 1/l/I): about 57 bits. */
export function newRecipeCode(): string {
  let code = '';
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}

export function recipeKey(code: string): string {
  return `recipe:${code}`;
}

/** Stores a new code for `ref`, kept `ttlMs` (what is left of the job's retention). */
export async function storeRecipe(store: Store, ref: RecipeRef, ttlMs: number): Promise<string> {
  const code = newRecipeCode();
  const value: RecipeRef = { jobId: ref.jobId, ...(ref.index !== undefined ? { index: ref.index } : {}) };
  await store.set(recipeKey(code), value, Math.max(1, ttlMs));
  return code;
}

/** What a code names; undefined for a malformed, unknown or expired one. */
export async function readRecipe(store: Store, code: string): Promise<RecipeRef | undefined> {
  return RECIPE_CODE.test(code) ? store.get<RecipeRef>(recipeKey(code)) : undefined;
}
