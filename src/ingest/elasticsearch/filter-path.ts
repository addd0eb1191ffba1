// Elasticsearch's `filter_path` response filtering, as the bulk clients use it to shrink a
// thousand-item answer (`filter_path=errors,items.*.error,items.*.status`): comma-separated dotted
// paths, `*` for any one name, `**` for any depth, a leading `-` to exclude; arrays are looked
// through, their elements filtered by the same paths.

type Path = string[];

export interface FilterPaths {
  include: Path[];
  exclude: Path[];
}

export function compileFilterPath(spec: string): FilterPaths {
  const include: Path[] = [];
  const exclude: Path[] = [];
  for (const raw of spec.split(',')) {
    const p = raw.trim();
    if (p === '') continue;
    if (p.startsWith('-')) exclude.push(p.slice(1).split('.'));
    else include.push(p.split('.'));
  }
  return { include, exclude };
}

/** The parts of `value` the paths select (undefined when nothing is left). */
export function filterPath(value: unknown, paths: FilterPaths): unknown {
  const kept = paths.include.length > 0 ? select(value, paths.include) : value;
  return paths.exclude.length > 0 && kept !== undefined ? remove(kept, paths.exclude) : kept;
}

function matches(segment: string, key: string): boolean {
  if (segment === '*' || segment === '**') return true;
  if (!segment.includes('*')) return segment === key;
  const re = new RegExp(`^${segment.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(key);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The paths that go on below `key`; `[]` in the result means "everything below". */
function descend(paths: Path[], key: string): Path[] {
  const next: Path[] = [];
  for (const p of paths) {
    const [head, ...rest] = p;
    if (head === undefined) continue;
    if (head === '**') {
      next.push(p); // may match deeper
      if (rest.length > 0 && matches(rest[0]!, key)) next.push(rest.slice(1));
      else if (rest.length === 0) next.push([]);
    } else if (matches(head, key)) {
      next.push(rest);
    }
  }
  return next;
}

function select(value: unknown, paths: Path[]): unknown {
  if (paths.some((p) => p.length === 0)) return value;
  if (Array.isArray(value)) {
    const out = value.map((v) => select(v, paths)).filter((v) => v !== undefined);
    return out.length > 0 ? out : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  let out: Record<string, unknown> | undefined;
  for (const [key, v] of Object.entries(value)) {
    const next = descend(paths, key);
    if (next.length === 0) continue;
    const picked = select(v, next);
    if (picked !== undefined) (out ??= {})[key] = picked;
  }
  return out;
}

function remove(value: unknown, paths: Path[]): unknown {
  if (Array.isArray(value)) return value.map((v) => remove(v, paths));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const next = descend(paths, key);
    if (next.some((p) => p.length === 0)) continue;
    out[key] = next.length > 0 ? remove(v, next) : v;
  }
  return out;
}
