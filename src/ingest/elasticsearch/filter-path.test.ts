import { describe, expect, it } from 'vitest';
import { compileFilterPath, filterPath } from './filter-path.js';

const answer = {
  took: 3,
  errors: true,
  items: [
    { index: { _index: 'a', _id: '1', status: 201, result: 'created' } },
    { create: { _index: 'a', _id: '2', status: 400, error: { type: 't', reason: 'r' } } },
  ],
};

describe('filter_path', () => {
  it('keeps the paths asked for, looking through arrays', () => {
    expect(filterPath(answer, compileFilterPath('errors,items.*.error,items.*.status'))).toEqual({
      errors: true,
      items: [{ index: { status: 201 } }, { create: { status: 400, error: { type: 't', reason: 'r' } } }],
    });
  });

  it('takes ** for any depth, name patterns, and - for exclusions', () => {
    expect(filterPath(answer, compileFilterPath('**.reason'))).toEqual({ items: [{ create: { error: { reason: 'r' } } }] });
    expect(filterPath(answer, compileFilterPath('items.*._i*'))).toEqual({
      items: [{ index: { _index: 'a', _id: '1' } }, { create: { _index: 'a', _id: '2' } }],
    });
    expect(filterPath(answer, compileFilterPath('-items,-took'))).toEqual({ errors: true });
  });

  it('leaves nothing when nothing matches', () => {
    expect(filterPath(answer, compileFilterPath('nope'))).toBeUndefined();
  });
});
