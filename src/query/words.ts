// How free text is cut into words — the one definition shared by the SQL the engine runs
// (sql.ts), the token index built beside the data (store/index/) and the planner that prunes with
// it, so that a search with the index finds exactly what a full scan finds.
//
// A word is a maximal run of word characters: ASCII letters, digits and `_`, and every non-ASCII
// character (so "café" and "東京" are words; "a-b", "a.b" and "a/b" are two words each). Matching
// is case-insensitive: the engine compares lower(text) with the lower-cased words of the query.
// A term or phrase matches where its words appear consecutively in the text, whatever separates
// them, and the first and last word are whole words (`timeo*` lets the last one be a prefix).

/** True for the UTF-16 code units of word characters (surrogates belong to non-ASCII characters). */
export function isWordUnit(c: number): boolean {
  return c >= 0x80 || (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

/** True for the bytes of word characters in UTF-8 text (every byte of a multi-byte character). */
export function isWordByte(b: number): boolean {
  return b >= 0x80 || (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f;
}

/** The words of a query term or phrase, in order, as written (not lower-cased). */
export function wordsOf(text: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const word = i < text.length && isWordUnit(text.charCodeAt(i));
    if (word && start === -1) start = i;
    else if (!word && start !== -1) {
      words.push(text.slice(start, i));
      start = -1;
    }
  }
  return words;
}

/**
 * The form a word takes in the token index, or null when the index cannot answer for it. Only
 * words of ASCII characters are looked up: their lower case is the same in JavaScript and in the
 * engine, where some non-ASCII characters are lower-cased differently (a word with one is
 * simply not used to prune; the scan still decides).
 */
export function indexWord(word: string): string | null {
  for (let i = 0; i < word.length; i++) if (word.charCodeAt(i) >= 0x80) return null;
  return word.toLowerCase();
}

/**
 * The regular expression (RE2 and PostgreSQL ARE alike) that a lower-cased text must match for
 * the words to appear there consecutively: whole words, any separators between them, the last one
 * a prefix when `prefix`. The words must be lower-cased the engine's way and contain only word
 * characters, none of which is a regex metacharacter.
 */
export const NON_WORD_CLASS = '[^0-9a-z_\\x{80}-\\x{10ffff}]';
/** The same class in PostgreSQL's regex syntax. */
export const PG_NON_WORD_CLASS = '[^0-9a-z_\\u0080-\\U0010ffff]';
