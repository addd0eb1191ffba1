// Category routing (SPEC §4): a record keeps the category it came with; one without gets the
// category of the first configured rule that matches it (globs on its source path, service, host,
// tenant, level), or `general`. Applied where every protocol meets — rows entering the pipeline —
// so the spool, the token index, the store, the category files and every answer see the same
// category. The SDK assigns categories with the same Router.

import { textValue, type RowBatch, type BufferSource } from '../store/row-format.js';

/** The category of a record that has none and matches no rule. */
export const DEFAULT_CATEGORY = 'general';

/** Fields a rule may match, each a glob; a rule matches when all its fields do. */
export const RULE_FIELDS = ['source', 'service', 'host', 'tenant', 'level'] as const;
export type RuleField = (typeof RULE_FIELDS)[number];

export type RoutingRule = { category: string } & Partial<Record<RuleField, string>>;

/** What a rule looks at. `source` is matched by its path: `file:line[:col] [function]` without the rest. */
export type RoutedFields = Partial<Record<RuleField, string | null>>;

interface CompiledRule {
  category: string;
  tests: [RuleField, RegExp][];
}

/**
 * A glob as a regular expression over the whole value: `**` any characters, `*` any but `/`,
 * `?` one character but `/`, `[abc]` and `[!abc]` a class, `\x` the character x; everything
 * else stands for itself.
 */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        // `dir/**/x` also matches `dir/x`.
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) throw new Error(`"[" at ${i} is never closed`);
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\') {
      if (i + 1 >= glob.length) throw new Error('it ends with a lone "\\"');
      re += escapeRegExp(glob[++i]!);
    } else {
      re += escapeRegExp(c);
    }
  }
  return new RegExp(`^${re}$`, 's');
}

function escapeRegExp(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

/** Why a rule list cannot be used (config validation), one message per problem. */
export function ruleProblems(rules: readonly RoutingRule[]): string[] {
  const problems: string[] = [];
  rules.forEach((rule, i) => {
    const at = `routing.rules[${i}]`;
    if (typeof rule.category !== 'string' || rule.category === '') problems.push(`${at}: category must be a non-empty string`);
    problems.push(...globFieldProblems(at, rule, RULE_FIELDS));
  });
  return problems;
}

/** What is wrong with the glob fields of a rule (routing, retention): none given, or one that is not a glob. */
export function globFieldProblems<F extends string>(at: string, rule: Partial<Record<F, unknown>>, names: readonly F[]): string[] {
  const problems: string[] = [];
  const fields = names.filter((f) => rule[f] !== undefined);
  if (fields.length === 0) problems.push(`${at}: a rule needs at least one of ${names.join(', ')} to match`);
  for (const f of fields) {
    try {
      globRegExp(String(rule[f]));
    } catch (e) {
      problems.push(`${at}.${f}: ${JSON.stringify(rule[f])} is not a valid glob: ${(e as Error).message}`);
    }
  }
  return problems;
}

/** The path part of a `source` (`src/a.ts:12:5 fn` → `src/a.ts`). */
export function sourcePath(source: string): string {
  const m = /:\d+(?::\d+)?(?:\s.*)?$/s.exec(source);
  return m === null ? source : source.slice(0, m.index);
}

const TAB = 9;
const NL = 10;
const BACKSLASH = 92;

/** Row columns (row-format.ts) the rules can read, by their place. */
const COLUMN_OF: Record<RuleField, number> = { tenant: 2, level: 3, service: 5, host: 6, source: 8 };
const CATEGORY_COLUMN = 7;

export class Router {
  private readonly rules: CompiledRule[];
  /** Bytes of each category a row can get, as a text column. */
  private readonly categoryBytes = new Map<string, Buffer>();
  private readonly longestCategory: number;

  constructor(rules: readonly RoutingRule[] = []) {
    const problems = ruleProblems(rules);
    if (problems.length > 0) throw new Error(problems.join('; '));
    this.rules = rules.map((r) => ({ category: r.category, tests: RULE_FIELDS.filter((f) => r[f] !== undefined).map((f) => [f, globRegExp(r[f]!)] as [RuleField, RegExp]) }));
    for (const c of [DEFAULT_CATEGORY, ...rules.map((r) => r.category)]) {
      this.categoryBytes.set(c, Buffer.from(JSON.stringify(c).slice(1, -1), 'utf8'));
    }
    this.longestCategory = Math.max(...[...this.categoryBytes.values()].map((b) => b.length));
  }

  /** The category for a record with none. */
  categoryOf(fields: RoutedFields): string {
    return this.match(fields) ?? DEFAULT_CATEGORY;
  }

  /** The category of the first rule that matches, or null when none does. */
  match(fields: RoutedFields): string | null {
    for (const rule of this.rules) {
      let all = true;
      for (const [f, re] of rule.tests) {
        const v = fields[f];
        if (v === null || v === undefined || !re.test(f === 'source' ? sourcePath(v) : v)) {
          all = false;
          break;
        }
      }
      if (all) return rule.category;
    }
    return null;
  }

  /**
   * The rows with a category assigned to every row that has none (`\N`); the same batch when no
   * row needed one, else a new one (from `buffers`) and the old one released.
   */
  route(batch: RowBatch, buffers: BufferSource): RowBatch {
    const src = batch.bytes;
    let out: Buffer | null = null;
    let outPos = 0;
    let copied = 0;
    let rows = 0;
    const cols = new Int32Array(14);
    for (let start = 0; start < src.length; ) {
      let end = src.indexOf(NL, start);
      if (end === -1) end = src.length;
      // Column starts, up to the one after the category.
      cols[0] = start;
      let n = 1;
      for (let p = start; n <= CATEGORY_COLUMN + 2 && p < end; ) {
        const t = src.indexOf(TAB, p);
        if (t === -1 || t > end) break;
        cols[n++] = t + 1;
        p = t + 1;
      }
      const at = cols[CATEGORY_COLUMN]!;
      if (n > CATEGORY_COLUMN + 1 && cols[CATEGORY_COLUMN + 1]! - 1 - at === 2 && src[at] === BACKSLASH && src[at + 1] === 78) {
        const category = this.categoryBytes.get(this.rules.length === 0 ? DEFAULT_CATEGORY : this.categoryOf(this.fieldsOf(src, cols, n)))!;
        if (out === null) out = buffers.take(src.length + (batch.count - rows) * (this.longestCategory + 1));
        src.copy(out, outPos, copied, at);
        outPos += at - copied;
        category.copy(out, outPos);
        outPos += category.length;
        copied = at + 2;
      }
      rows++;
      start = end + 1;
    }
    if (out === null) return batch;
    src.copy(out, outPos, copied, src.length);
    outPos += src.length - copied;
    const bytes = out.subarray(0, outPos);
    const count = batch.count;
    const longestRow = batch.longestRow + this.longestCategory;
    batch.release();
    let released = false;
    const buf = out;
    return {
      bytes,
      count,
      longestRow,
      release() {
        if (released) return;
        released = true;
        buffers.give(buf);
      },
    };
  }

  private fieldsOf(src: Buffer, cols: Int32Array, n: number): RoutedFields {
    const fields: RoutedFields = {};
    for (const rule of this.rules) {
      for (const [f] of rule.tests) {
        if (f in fields) continue;
        const c = COLUMN_OF[f];
        fields[f] = c + 1 < n ? textValue(src.toString('utf8', cols[c]!, cols[c + 1]! - 1)) : null;
      }
    }
    return fields;
  }
}
