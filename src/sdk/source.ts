// Where a log call was made: the caller's file, line, column and function, from V8's structured
// call sites (one frame captured, never a formatted stack), worked out once per call site and
// cached by its position. A source reads `path:line:column function`, the path relative to the
// working directory when it is under it.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CallSiteInfo {
  /** `src/payments/charge.ts:42:7 chargeCard` (no function part for top-level code). */
  source: string;
  /** `,"source":"…"`: the source as a record field, rendered once. */
  sourceJson: string;
  /** The category fields this call site's records get, by the logger's service, then by level rank. */
  categoryJson: Map<string, string[]>;
}

type Frames = NodeJS.CallSite[];
const asFrames = (_e: Error, frames: Frames): Frames => frames;
/** Where the stack is captured: one object, reused (calls are synchronous), is cheaper than a new one each time. */
const holder: { stack?: Frames } = {};

/**
 * The frame of whoever called `fn` (a logging method). Small enough for V8 to inline into the
 * logging method, and it into its caller: every frame of optimised code the capture walks
 * through costs a decoding of that frame, which is most of a capture's cost.
 */
export function callerFrame(fn: Function): NodeJS.CallSite | undefined {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  Error.prepareStackTrace = asFrames;
  Error.stackTraceLimit = 1;
  Error.captureStackTrace(holder, fn);
  const frames = holder.stack;
  Error.prepareStackTrace = prepare;
  Error.stackTraceLimit = limit;
  return frames?.[0];
}

export class SourceCache {
  private readonly sites = new Map<string, Map<number, CallSiteInfo>>();
  private size = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly cwd = process.cwd(),
    private readonly maxSites = 10_000,
  ) {}

  /** What is known of `frame` (from callerFrame), worked out on its first sight. */
  site(frame: NodeJS.CallSite): CallSiteInfo {
    const file = frame.getFileName() ?? frame.getScriptNameOrSourceURL() ?? '<anonymous>';
    const line = frame.getLineNumber() ?? 0;
    const column = frame.getColumnNumber() ?? 0;
    // By file (the same string each time), then by position as one number: no key string per call.
    let inFile = this.sites.get(file);
    if (inFile === undefined) this.sites.set(file, (inFile = new Map()));
    const at = line * 2 ** 32 + column;
    const known = inFile.get(at);
    if (known !== undefined) {
      this.hits++;
      return known;
    }
    this.misses++;
    const fnName = frame.getFunctionName() ?? frame.getMethodName();
    const source = `${this.relative(file)}:${line}:${column}${fnName ? ` ${fnName}` : ''}`;
    const info: CallSiteInfo = { source, sourceJson: `,"source":${JSON.stringify(source)}`, categoryJson: new Map() };
    // A program generating code without end would otherwise grow the cache without end.
    if (this.size >= this.maxSites) {
      this.forgetOldest();
      if (!this.sites.has(file)) this.sites.set(file, inFile);
    }
    inFile.set(at, info);
    this.size++;
    return info;
  }

  private forgetOldest(): void {
    const [file, inFile] = this.sites.entries().next().value!;
    inFile.delete(inFile.keys().next().value!);
    if (inFile.size === 0) this.sites.delete(file);
    this.size--;
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
