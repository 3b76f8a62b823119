// Slurs, refused in every server unless its moderators turn the filter off. The word list and the
// look-alike handling (l33t, repeated letters, spacing, confusable characters) are obscenity's English
// dataset and recommended transformers, maintained upstream; only its slur entries are used (the
// server's own banned words cover the rest). Left out as too often innocent in prompts: "negro" (Spanish
// and Portuguese for black), "chink" (of light), "dyke" (a dike), "spastic" (medicine), "tranny" (a gearbox), "retard" (flame retardant).
import { DataSet, RegExpMatcher, englishDataset, englishRecommendedTransformers } from 'obscenity';

const SLURS = new Set(['abeed', 'africoon', 'arabush', 'boonga', 'chingchong', 'fag', 'kike', 'nigger']);

type Meta = { originalWord?: string };
const slurs = new DataSet<Meta>()
  .addAll(englishDataset)
  .removePhrasesIf((p) => !SLURS.has(p.metadata?.originalWord ?? ''));
const matcher = new RegExpMatcher({ ...slurs.build(), ...englishRecommendedTransformers });

/** True when `text` contains one of the slurs, however it is spelled (spaced-out letters too). */
export function containsSlur(text: string): boolean {
  return matcher.hasMatch(text) || matcher.hasMatch(joinSpacedLetters(text));
}

/** "k i k e" -> "kike": runs of single letters joined, as obscenity matches words whole. */
function joinSpacedLetters(text: string): string {
  const out: string[] = [];
  let run = '';
  for (const token of [...text.split(/[\s._*-]+/u), '']) {
    if ([...token].length === 1) {
      run += token;
      continue;
    }
    if (run) out.push(run);
    run = '';
    if (token) out.push(token);
  }
  return out.join(' ');
}
