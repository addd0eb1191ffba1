// The query language of SPEC §5: a lazy tokenizer that keeps 1-based positions and a
// recursive-descent parser over it, producing the QueryNode tree of ast.ts. Field values are
// checked and normalised here (levels, timestamps, regexes), so every mistake is reported with the
// position where it starts, what was expected there and what was found.
//
//   query   := or
//   or      := and ( "OR" and )*
//   and     := unary ( "AND"? unary )*          adjacent terms are ANDed; AND binds tighter than OR
//   unary   := ( "NOT" | "-" ) unary | primary
//   primary := "(" or ")" | term "*"? | "\"phrase\"" "*"? | field ":" value
//   value   := ( ">" | ">=" | "<" | "<=" )? ( word | "\"quoted\"" )
//            | word "*" | "\"quoted\"" "*"      prefix; `field:*` alone means "field is present"
//            | "/" regex "/" "i"?               unanchored; `\/` is a slash, `i` = case-insensitive
//
// Keywords are upper-case only (`and` is a search term). In bare words `\` escapes the next
// character (`\:`, `\*`, `\-`, `\ `); in quotes only `\"` and `\\` are escapes, so Windows paths
// survive. Free text matches words (words.ts); a trailing `*` makes its last word a prefix.

import { LhError } from '../errors.js';
import { normaliseLevel } from '../model/level.js';
import { LEVELS, formatMicros } from '../model/record.js';
import { parseTimestamp } from '../model/timestamp.js';
import type { FieldRef, MatchOp, QueryNode } from './ast.js';
import { resolveField } from './fields.js';
import { isTimeInRange } from './time.js';

export const MAX_QUERY_LENGTH = 4096;
/** Parentheses and negations together; bounds the recursion of the parser and of every consumer. */
export const MAX_QUERY_DEPTH = 64;

type Token =
  | { kind: 'lparen' | 'rparen' | 'and' | 'or' | 'not' | 'minus' | 'end'; pos: number; raw: string }
  | { kind: 'text'; pos: number; raw: string; value: string; phrase: boolean; prefix: boolean }
  | { kind: 'match'; pos: number; raw: string; node: QueryNode };

const COMPARISONS: Record<string, MatchOp> = { '>=': 'gte', '<=': 'lte', '>': 'gt', '<': 'lt' };
const KEYWORDS = new Map<string, 'and' | 'or' | 'not'>([
  ['AND', 'and'],
  ['OR', 'or'],
  ['NOT', 'not'],
]);
const LEVEL_HINT = `a level (${LEVELS.join(', ')}, or a spelling such as WARNING, err, E)`;
const TIME_HINT = 'a time (RFC 3339 such as 2024-05-01T12:00:00Z, or Unix s/ms/µs/ns)';

/** Parse a query string; undefined when it is empty or blank. Throws LhError (LH_ERR_QUERY_*). */
export function parseQuery(q: string): QueryNode | undefined {
  if (q.length > MAX_QUERY_LENGTH) {
    throw syntaxError(MAX_QUERY_LENGTH + 1, `a query of at most ${MAX_QUERY_LENGTH} characters`, `${q.length} characters`);
  }
  if (q.trim() === '') return undefined;
  return new Parser(new Lexer(q)).parse();
}

function syntaxError(position: number, expected: string, found: string): LhError {
  return new LhError('LH_ERR_QUERY_SYNTAX', `at position ${position}: expected ${expected}, found ${found}`, {
    position,
    expected,
    found,
  });
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /\s/.test(ch);
}

class Parser {
  private depth = 0;

  constructor(private readonly lex: Lexer) {}

  parse(): QueryNode {
    const node = this.parseOr();
    const t = this.lex.peek();
    if (t.kind !== 'end') {
      // parseOr only stops early at a ")" that no "(" opened.
      throw syntaxError(t.pos, 'end of query (this ")" closes no "(")', describe(t));
    }
    return node;
  }

  private parseOr(): QueryNode {
    const children = [this.parseAnd()];
    while (this.lex.peek().kind === 'or') {
      this.lex.next();
      this.expectTermAfter('"OR"');
      children.push(this.parseAnd());
    }
    return combine('or', children);
  }

  private parseAnd(): QueryNode {
    const children = [this.parseUnary()];
    for (;;) {
      const t = this.lex.peek();
      if (t.kind === 'and') {
        this.lex.next();
        this.expectTermAfter('"AND"');
      } else if (!startsTerm(t)) {
        break;
      }
      children.push(this.parseUnary());
    }
    return combine('and', children);
  }

  private parseUnary(): QueryNode {
    const t = this.lex.peek();
    if (t.kind !== 'not' && t.kind !== 'minus') return this.parsePrimary();
    this.lex.next();
    this.enter(t);
    this.expectTermAfter(t.kind === 'not' ? '"NOT"' : '"-"');
    const child = this.parseUnary();
    this.depth--;
    return { kind: 'not', child };
  }

  private parsePrimary(): QueryNode {
    const t = this.lex.next();
    switch (t.kind) {
      case 'text':
        return { kind: 'text', value: t.value, phrase: t.phrase, prefix: t.prefix };
      case 'match':
        return t.node;
      case 'lparen': {
        this.enter(t);
        this.expectTermAfter('"("');
        const inner = this.parseOr();
        const close = this.lex.next();
        if (close.kind !== 'rparen') {
          throw syntaxError(close.pos, `")" to close the "(" at position ${t.pos}`, describe(close));
        }
        this.depth--;
        return inner;
      }
      default:
        throw syntaxError(t.pos, 'a term', describe(t));
    }
  }

  private expectTermAfter(what: string): void {
    const t = this.lex.peek();
    if (!startsTerm(t)) throw syntaxError(t.pos, `a term after ${what}`, describe(t));
  }

  private enter(t: Token): void {
    if (++this.depth > MAX_QUERY_DEPTH) {
      throw syntaxError(t.pos, `at most ${MAX_QUERY_DEPTH} nested parentheses and negations`, 'deeper nesting');
    }
  }
}

function startsTerm(t: Token): boolean {
  return t.kind === 'text' || t.kind === 'match' || t.kind === 'lparen' || t.kind === 'not' || t.kind === 'minus';
}

function describe(t: Token): string {
  return t.kind === 'end' ? 'end of query' : quote(t.raw);
}

/** and/or of one child is the child; nested and-of-and (from parentheses) is flattened. */
function combine(kind: 'and' | 'or', children: QueryNode[]): QueryNode {
  if (children.length === 1) return children[0]!;
  const flat: QueryNode[] = [];
  for (const c of children) {
    if (c.kind === kind) flat.push(...c.children);
    else flat.push(c);
  }
  return { kind, children: flat };
}

/** Produces tokens on demand, so errors surface in source order: the first mistake is the one reported. */
class Lexer {
  private i = 0;
  private ahead: Token | undefined;

  constructor(private readonly src: string) {}

  peek(): Token {
    return (this.ahead ??= this.scan());
  }

  next(): Token {
    const t = this.peek();
    this.ahead = undefined;
    return t;
  }

  private scan(): Token {
    const src = this.src;
    while (this.i < src.length && isSpace(src[this.i]!)) this.i++;
    const start = this.i;
    const pos = start + 1;
    if (start >= src.length) return { kind: 'end', pos, raw: '' };
    const ch = src[start]!;
    if (ch === '(' || ch === ')') {
      this.i++;
      return { kind: ch === '(' ? 'lparen' : 'rparen', pos, raw: ch };
    }
    if (ch === '-') {
      const after = src[start + 1];
      if (after === undefined || isSpace(after) || after === ')') {
        throw syntaxError(pos + 1, 'a term after "-"', this.describeAt(start + 1));
      }
      this.i++;
      return { kind: 'minus', pos, raw: '-' };
    }
    if (ch === '"') {
      const value = this.readQuoted();
      const prefix = src[this.i] === '*';
      if (prefix) this.i++;
      this.expectTermEnd();
      if (value === '') throw syntaxError(pos, 'a non-empty phrase', '""');
      return { kind: 'text', pos, raw: src.slice(start, this.i), value, phrase: true, prefix };
    }
    return this.readWordOrMatch(start);
  }

  private readWordOrMatch(start: number): Token {
    const src = this.src;
    const pos = start + 1;
    const word = this.readBare();
    if (src[this.i] === ':') {
      // A URL such as https://example.com/x is a search term, not a field named "https".
      if (src.startsWith('//', this.i + 1)) return this.readUrl(start, word.value);
      if (word.value === '') throw syntaxError(pos, 'a field name before ":"', '":"');
      this.i++;
      const node = this.readMatch(word.value, pos);
      return { kind: 'match', pos, raw: src.slice(start, this.i), node };
    }
    this.expectTermEnd();
    const raw = src.slice(start, this.i);
    const keyword = KEYWORDS.get(raw);
    if (keyword !== undefined) return { kind: keyword, pos, raw };
    const value = word.starred ? word.value.slice(0, -1) : word.value;
    if (value === '') throw syntaxError(pos, 'a term', quote(raw));
    return { kind: 'text', pos, raw, value, phrase: false, prefix: word.starred };
  }

  /**
   * A bare word up to whitespace, a parenthesis, a quote or (unless `allowColon`) an unescaped
   * colon. `starred` tells whether it ends in an unescaped `*`.
   */
  private readBare(allowColon = false): { value: string; starred: boolean } {
    const src = this.src;
    let value = '';
    let starred = false;
    while (this.i < src.length) {
      const ch = src[this.i]!;
      if (isSpace(ch) || ch === '(' || ch === ')' || ch === '"' || (ch === ':' && !allowColon)) break;
      if (ch === '\\') {
        if (this.i + 1 >= src.length) {
          throw syntaxError(this.i + 2, 'a character after "\\"', 'end of query');
        }
        value += src[this.i + 1];
        this.i += 2;
        starred = false;
        continue;
      }
      value += ch;
      starred = ch === '*';
      this.i++;
    }
    return { value, starred };
  }

  private readUrl(start: number, scheme: string): Token {
    this.i++; // the colon
    const rest = this.readBare(true);
    this.expectTermEnd();
    return { kind: 'text', pos: start + 1, raw: this.src.slice(start, this.i), value: `${scheme}:${rest.value}`, phrase: false, prefix: false };
  }

  /** `"…"` starting at this.i; returns the unescaped content and leaves this.i after the closing quote. */
  private readQuoted(): string {
    const src = this.src;
    const open = this.i;
    let value = '';
    this.i++;
    while (this.i < src.length) {
      const ch = src[this.i]!;
      if (ch === '"') {
        this.i++;
        return value;
      }
      if (ch === '\\' && (src[this.i + 1] === '"' || src[this.i + 1] === '\\')) {
        value += src[this.i + 1];
        this.i += 2;
        continue;
      }
      value += ch;
      this.i++;
    }
    throw syntaxError(src.length + 1, `a closing '"' for the quote opened at position ${open + 1}`, 'end of query');
  }

  /** `/…/` or `/…/i` starting at this.i; returns the pattern, with a leading `(?i)` for the flag. */
  private readRegex(): string {
    const src = this.src;
    const open = this.i;
    let body = '';
    this.i++;
    for (;;) {
      if (this.i >= src.length) {
        throw syntaxError(src.length + 1, `"/" to close the regex opened at position ${open + 1}`, 'end of query');
      }
      const ch = src[this.i]!;
      if (ch === '/') break;
      if (ch === '\\' && this.i + 1 < src.length) {
        // `\/` is a literal slash; every other escape belongs to the regex and is kept whole, so
        // `\\/` is an escaped backslash followed by the closing slash.
        body += src[this.i + 1] === '/' ? '/' : src.slice(this.i, this.i + 2);
        this.i += 2;
        continue;
      }
      body += ch;
      this.i++;
    }
    this.i++; // closing slash
    let insensitive = false;
    if (src[this.i] === 'i') {
      insensitive = true;
      this.i++;
    }
    const after = src[this.i];
    if (after !== undefined && !isSpace(after) && after !== ')') {
      throw syntaxError(this.i + 1, 'whitespace, ")" or the flag "i" after the regex', this.describeAt(this.i));
    }
    if (body === '') throw syntaxError(open + 1, 'a non-empty regex', '"//"');
    checkRegex(body, insensitive, open + 1);
    return insensitive && !body.startsWith('(?i)') ? `(?i)${body}` : body;
  }

  private readMatch(name: string, fieldPos: number): QueryNode {
    const src = this.src;
    const field = resolveField(name, { position: fieldPos, bareNamesAreAttrs: true });
    let op: MatchOp = 'eq';
    let opText = '';
    for (const text of ['>=', '<=', '>', '<']) {
      if (src.startsWith(text, this.i)) {
        op = COMPARISONS[text]!;
        opText = text;
        this.i += text.length;
        break;
      }
    }
    const valueStart = this.i;
    const ch = src[valueStart];
    let value: string;
    if (ch === '"') {
      value = this.readQuoted();
      if (op === 'eq' && src[this.i] === '*') {
        op = 'prefix';
        this.i++;
      }
      this.expectTermEnd();
    } else if (ch === '/' && op === 'eq' && !(isPathField(field) && !this.closesAsRegex())) {
      op = 'regex';
      value = this.readRegex();
    } else {
      const word = this.readBare(true);
      if (word.value === '') {
        throw syntaxError(valueStart + 1, `a value after "${name}:${opText}"`, this.describeAt(valueStart));
      }
      this.expectTermEnd();
      value = word.value;
      if (op === 'eq' && word.starred) {
        op = 'prefix';
        value = value.slice(0, -1);
      }
    }
    return { kind: 'match', field, op, value: normaliseValue(field, op, value, valueStart + 1) };
  }

  /**
   * Whether the value at this.i reads as a whole regex, `/…/` or `/…/i` followed by whitespace, ")"
   * or the end. A path field's value that does not (`path:/api/*`, `path:/api/v1/users`) is a path.
   */
  private closesAsRegex(): boolean {
    const src = this.src;
    for (let i = this.i + 1; i < src.length; i++) {
      const ch = src[i]!;
      if (ch === '\\') {
        i++;
        continue;
      }
      if (isSpace(ch)) return false;
      if (ch !== '/') continue;
      const after = src[src[i + 1] === 'i' ? i + 2 : i + 1];
      return i > this.i + 1 && (after === undefined || isSpace(after) || after === ')');
    }
    return false;
  }

  /** A term must be followed by whitespace, ")" or the end: `foo(bar)` and `a"b"` are mistakes, not ANDs. */
  private expectTermEnd(): void {
    const ch = this.src[this.i];
    if (ch !== undefined && !isSpace(ch) && ch !== ')') {
      throw syntaxError(this.i + 1, 'whitespace, ")" or end of query after a term', this.describeAt(this.i));
    }
  }

  private describeAt(i: number): string {
    const ch = this.src[i];
    if (ch === undefined) return 'end of query';
    return isSpace(ch) ? 'whitespace' : quote(ch);
  }
}

/**
 * attrs keys of access logs that hold URL paths: their values start with `/`, so there a `/…`
 * value is a path (a prefix with `*`) unless it reads as a whole regex.
 */
const PATH_ATTRS = new Set(['path', 'url', 'pattern', 'url_pattern', 'uri', 'transformed_uri', 'redirect_url', 'referer']);

function isPathField(field: FieldRef): boolean {
  return field.kind === 'attr' && field.path.length === 1 && PATH_ATTRS.has(field.path[0]!);
}

/** Check a value against what its field holds and bring it to the form sql.ts expects. */
function normaliseValue(field: FieldRef, op: MatchOp, value: string, pos: number): string {
  if (field.kind === 'attr') return value;
  const name = field.name;
  const patternOp = op === 'prefix' || op === 'regex';
  switch (name) {
    case 'level': {
      if (patternOp) throw syntaxError(pos, `${LEVEL_HINT} or a comparison such as level:>=warn`, `a ${op}`);
      const level = normaliseLevel(value);
      if (level === null) throw syntaxError(pos, LEVEL_HINT, quote(value));
      return level;
    }
    case 'severity': {
      if (patternOp) throw syntaxError(pos, 'a severity number or a comparison such as severity:>=17', `a ${op}`);
      if (!/^-?\d{1,6}$/.test(value)) throw syntaxError(pos, 'an integer severity (1–24)', quote(value));
      return String(Number(value));
    }
    case 'ts':
    case 'received_at': {
      if (patternOp) throw syntaxError(pos, `${TIME_HINT} or a comparison such as ${name}:>=2024-05-01`, `a ${op}`);
      const us = parseTimestamp(value);
      if (us === null || !isTimeInRange(us)) throw syntaxError(pos, TIME_HINT, quote(value));
      // The canonical RFC 3339 form keeps the AST unambiguous (a bare number would be re-read by
      // magnitude) and readable in cache keys and logs.
      return formatMicros(us);
    }
    default:
      return value;
  }
}

/**
 * The pattern must compile, and stay within what both backends' engines (DuckDB's RE2 and
 * PostgreSQL's ARE) accept: no lookaround, backreferences or named groups, which RE2 rejects only
 * when the query runs, with a far less helpful message.
 */
function checkRegex(body: string, insensitive: boolean, pos: number): void {
  const shown = `/${body}/${insensitive ? 'i' : ''}`;
  const jsBody = body.startsWith('(?i)') ? body.slice(4) : body;
  try {
    new RegExp(jsBody, insensitive || body.startsWith('(?i)') ? 'i' : '');
  } catch (e) {
    throw syntaxError(pos, `a valid regular expression (${(e as Error).message})`, quote(shown));
  }
  let inClass = false;
  for (let i = 0; i < jsBody.length; i++) {
    const ch = jsBody[i];
    if (ch === '\\') {
      const next = jsBody[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || next === 'k')) {
        throw syntaxError(pos, 'a regex without backreferences', quote(shown));
      }
      i++;
    } else if (ch === '[' && !inClass) {
      inClass = true;
    } else if (ch === ']' && inClass) {
      inClass = false;
    } else if (ch === '(' && !inClass && (jsBody.startsWith('?=', i + 1) || jsBody.startsWith('?!', i + 1) || jsBody.startsWith('?<', i + 1))) {
      throw syntaxError(pos, 'a regex without lookaround or named groups', quote(shown));
    }
  }
}
