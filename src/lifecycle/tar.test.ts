// The archives' tar, against the system's own tar and gzip: what TarWriter writes, `tar` lists
// and extracts byte for byte; what readTar reads back is what went in; a damaged byte is found
// and named by member.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TarReadError, TarWriter, readTar } from './tar.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-tar-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const LONG = `2026-11-20/${'%C3%A9'.repeat(30)}-a-category-name-longer-than-ustar-holds.jsonl`;
const members: [string, Buffer][] = [
  ['manifest.json', Buffer.from('{"records":3}\n')],
  ['2026-11-20/general.jsonl', Buffer.from('{"message":"a"}\n{"message":"b"}\n')],
  ['2026-11-20/empty.jsonl', Buffer.alloc(0)],
  [LONG, Buffer.from('x'.repeat(1500))],
  ['2026-11-20/exactly-a-block.jsonl', Buffer.from('y'.repeat(512))],
];

async function writeArchive(file: string): Promise<void> {
  const gz = zlib.createGzip();
  const done = new Promise<void>((resolve, reject) => gz.pipe(fs.createWriteStream(file)).on('finish', resolve).on('error', reject));
  const tar = new TarWriter(gz);
  for (const [name, content] of members) {
    if (name.endsWith('general.jsonl')) {
      const f = path.join(dir, 'general.jsonl');
      fs.writeFileSync(f, content);
      await tar.addFile(name, f, content.length);
    } else await tar.addBuffer(name, content);
  }
  await tar.end();
  await done;
}

async function readBack(file: string): Promise<[string, Buffer][]> {
  const out: [string, Buffer[]][] = [];
  await readTar(
    fs.createReadStream(file).pipe(zlib.createGunzip()),
    (m) => out.push([m.name, []]),
    (c) => out[out.length - 1]![1].push(Buffer.from(c)),
  );
  return out.map(([n, cs]) => [n, Buffer.concat(cs)]);
}

describe('archive tar', () => {
  it('is listed and extracted by the system tar exactly as written, long names included', async () => {
    const file = path.join(dir, 'a.tar.gz');
    await writeArchive(file);
    expect(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n')).toEqual(members.map(([n]) => n));
    const out = path.join(dir, 'x');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xzf', file, '-C', out]);
    for (const [name, content] of members) expect(fs.readFileSync(path.join(out, name)).equals(content), name).toBe(true);
    expect(execFileSync('sh', ['-c', `zcat ${file} | wc -c`], { encoding: 'utf8' }).trim()).toMatch(/^\d+$/);
  });

  it('reads back what it wrote, and what the system tar writes', async () => {
    const file = path.join(dir, 'b.tar.gz');
    await writeArchive(file);
    const back = await readBack(file);
    expect(back.map(([n]) => n)).toEqual(members.map(([n]) => n));
    back.forEach(([, c], i) => expect(c.equals(members[i]![1])).toBe(true));
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, '2026-11-20'), { recursive: true });
    fs.writeFileSync(path.join(src, LONG), 'made by tar\n');
    execFileSync('tar', ['--format=pax', '-czf', path.join(dir, 'sys.tar.gz'), '-C', src, LONG]);
    const sys = await readBack(path.join(dir, 'sys.tar.gz'));
    expect(sys.filter(([n]) => n === LONG).map(([, c]) => c.toString())).toEqual(['made by tar\n']);
  });

  it('names the member a damaged byte falls in', async () => {
    const file = path.join(dir, 'c.tar.gz');
    // Incompressible content, so that a byte of the file is a byte of one member.
    const noise = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 2654435761) >>> 24));
    const gz = zlib.createGzip({ level: 0 });
    const done = new Promise((resolve) => gz.pipe(fs.createWriteStream(file)).on('finish', resolve));
    const tar = new TarWriter(gz);
    await tar.addBuffer('first.jsonl', Buffer.from('small\n'));
    await tar.addBuffer('second.jsonl', noise);
    await tar.end();
    await done;
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    const err = await readBack(file).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TarReadError);
    expect((err as TarReadError).member).toBe('second.jsonl');
  });
});
