// Turns what people type into a search box into a PostgreSQL tsquery with prefix and word-part matching.

/**
 * A word is cut into its letter-and-digit runs, as the `simple` text parser cuts indexed text;
 * a decimal such as `1.2` stays one part, as the parser keeps it.
 */
const PART = /[\p{L}\p{N}]+(?:\.\p{N}+)*/gu;

/**
 * The tsquery (for `to_tsquery('simple', …)`) that the search text means: every word must match
 * (`girl` also finds `girlfriend`, and `1girl` through the word parts the index keeps), `-word`
 * excludes, `"two words"` must be adjacent, and `OR` between two terms accepts either. A word
 * such as `blue_hair` or `(masterpiece:1.2)` becomes its parts in sequence. Returns null when the
 * text holds no letters or digits at all. The output holds only parts, operators and `:*`, so it
 * cannot be malformed whatever was typed.
 */
export function toPrefixTsquery(text: string): string | null {
  const terms: string[] = [];
  let pendingOr = false;
  for (const [, negated, quoted, bare] of text.matchAll(/(-?)(?:"([^"]*)"?|(\S+))/g)) {
    const raw = quoted ?? bare ?? '';
    if (!negated && quoted === undefined && raw.toUpperCase() === 'OR') {
      pendingOr = terms.length > 0;
      continue;
    }
    const parts = raw.match(PART)?.map((part) => `${part.toLowerCase()}:*`);
    if (!parts) continue;
    let term = parts.length === 1 ? parts[0]! : `(${parts.join(' <-> ')})`;
    if (negated) term = `!${term}`;
    if (pendingOr) terms.push(`(${terms.pop()!} | ${term})`);
    else terms.push(term);
    pendingOr = false;
  }
  return terms.length > 0 ? terms.join(' & ') : null;
}
