// Where a log call was made: the caller's file, line, column and function, from V8's structured
// call sites (one frame captured, never a formatted stack), worked out once per call site and
// cached by its position. A source reads `path:line:column function`, the path relative to the
// working directory when it is under it.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CallSiteInfo {
  /** `src/payments/charge.ts:42:7 chargeCard` (no function part for top-level code). */
  source: string;
  /** Categories of this call site already worked out, by level. */
  categories: Map<string, string | null>;
}

type Frames = NodeJS.CallSite[];
const asFrames = (_e: Error, frames: Frames): Frames => frames;
/** Where the stack is captured: one object, reused (calls are synchronous), is cheaper than a new one each time. */
const holder: { stack?: Frames } = {};

export class SourceCache {
  private readonly sites = new Map<string, CallSiteInfo>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly cwd = process.cwd(),
    private readonly maxSites = 10_000,
  ) {}

  /** The call site of whoever called `fn` (a logging method), or null when there is none. */
  callerOf(fn: Function): CallSiteInfo | null {
    const prepare = Error.prepareStackTrace;
    const limit = Error.stackTraceLimit;
    Error.prepareStackTrace = asFrames;
    Error.stackTraceLimit = 1;
    Error.captureStackTrace(holder, fn);
    const frames = holder.stack;
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
    const frame = frames?.[0];
    if (frame === undefined) return null;
    const file = frame.getFileName() ?? frame.getScriptNameOrSourceURL() ?? '<anonymous>';
    const line = frame.getLineNumber() ?? 0;
    const column = frame.getColumnNumber() ?? 0;
    const key = `${file}:${line}:${column}`;
    const known = this.sites.get(key);
    if (known !== undefined) {
      this.hits++;
      return known;
    }
    this.misses++;
    const fnName = frame.getFunctionName() ?? frame.getMethodName();
    const info: CallSiteInfo = { source: `${this.relative(file)}:${line}:${column}${fnName ? ` ${fnName}` : ''}`, categories: new Map() };
    // A program generating code without end would otherwise grow the cache without end.
    if (this.sites.size >= this.maxSites) this.sites.delete(this.sites.keys().next().value!);
    this.sites.set(key, info);
    return info;
  }

  private relative(file: string): string {
    let p = file;
    if (p.startsWith('file://')) {
      try {
        p = fileURLToPath(p);
      } catch {
        return p;
      }
    }
    if (!path.isAbsolute(p)) return p;
    const rel = path.relative(this.cwd, p);
    return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel.split(path.sep).join('/');
  }
}
