// The spool's group rollback: a group of writes that fails halfway (a full disk) leaves the spool
// exactly as it was before the group, even when the group had sealed a segment on its way.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool } from './spool.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function spool(): Spool {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-spool-'));
  dirs.push(dir);
  return new Spool(dir, 1n);
}

const rows = (n: number, tag: string) => Buffer.from(Array.from({ length: n }, (_, i) => `${tag}${i}\n`).join(''));

describe('Spool', () => {
  it('rolls a group back across a sealed segment: the open one is cut back, newer ones are gone', () => {
    const s = spool();
    s.write([rows(3, 'a')], 3);
    const mark = s.mark();
    s.write([rows(2, 'b')], 2);
    s.seal();
    s.write([rows(4, 'c')], 4);
    s.seal();
    s.write([rows(1, 'd')], 1);
    s.rollback(mark);
    expect(s.takeSealed()).toEqual([]);
    expect(fs.readdirSync(s.dir)).toEqual(['segment-00000000000000000001.tsv']);
    expect(fs.readFileSync(path.join(s.dir, 'segment-00000000000000000001.tsv'), 'utf8')).toBe(rows(3, 'a').toString());
    expect([s.currentRows, s.currentBytes]).toEqual([3, rows(3, 'a').length]);
    // Writing goes on in the same segment, and the next one gets the next id again.
    s.write([rows(1, 'e')], 1);
    s.seal();
    s.write([rows(1, 'f')], 1);
    s.seal();
    expect(s.takeSealed().map((g) => [g.id, g.rows])).toEqual([
      [1n, 4],
      [2n, 1],
    ]);
  });

  it('rolls back to an empty spool when the group began with no open segment', () => {
    const s = spool();
    const mark = s.mark();
    s.write([rows(2, 'a')], 2);
    s.seal();
    s.write([rows(2, 'b')], 2);
    s.rollback(mark);
    expect(fs.readdirSync(s.dir)).toEqual([]);
    s.write([rows(1, 'c')], 1);
    s.seal();
    expect(s.takeSealed().map((g) => g.id)).toEqual([1n]);
  });

  it('cuts a torn last line off a leftover segment', () => {
    const s = spool();
    s.write([Buffer.from('one\ntwo\nthr')], 2);
    s.close();
    const [left] = Spool.leftovers(s.dir);
    expect(left!.bytes).toBe(8);
    expect(fs.readFileSync(left!.file, 'utf8')).toBe('one\ntwo\n');
  });
});
