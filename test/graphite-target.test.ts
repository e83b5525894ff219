// Render targets parsed as graphite-web parses them (issue [6/7] item 2: the
// render API evaluates what this returns).
import { describe, expect, it } from 'vitest';

import { MAX_TARGET_LENGTH, parseTarget } from '../src/daemon/graphite-api/target';

describe('parseTarget', () => {
  it('a path pattern, braces and sets included', () => {
    expect(parseTarget('api.{a,b}.c[0-9].*')).toEqual({ kind: 'path', pattern: 'api.{a,b}.c[0-9].*' });
  });

  it('nested calls with numbers, strings and booleans, keeping each call\'s text', () => {
    const t = parseTarget('alias(summarize(scale(sumSeries(a.*, b.c), 0.5), "1min", \'max\', true), "all")');
    expect(t).toMatchObject({
      kind: 'call',
      name: 'alias',
      args: [
        {
          kind: 'call',
          name: 'summarize',
          text: 'summarize(scale(sumSeries(a.*, b.c), 0.5), "1min", \'max\', true)',
          args: [
            { kind: 'call', name: 'scale', args: [{ kind: 'call', name: 'sumSeries', args: [{ kind: 'path', pattern: 'a.*' }, { kind: 'path', pattern: 'b.c' }] }, { kind: 'number', value: 0.5 }] },
            { kind: 'string', value: '1min' },
            { kind: 'string', value: 'max' },
            { kind: 'boolean', value: true },
          ],
        },
        { kind: 'string', value: 'all' },
      ],
    });
    expect(parseTarget('keepLastValue(a.b)')).toMatchObject({ kind: 'call', name: 'keepLastValue', args: [{ kind: 'path', pattern: 'a.b' }] });
    expect(parseTarget('scale(a,-1e3)')).toMatchObject({ args: [{ kind: 'path' }, { kind: 'number', value: -1000 }] });
  });

  it('refuses what it cannot read, saying where, and bounds length and depth', () => {
    expect(() => parseTarget('sumSeries(a.b')).toThrow(/expected ',' or '\)'/);
    expect(() => parseTarget('alias(a, "x)')).toThrow(/unclosed string/);
    expect(() => parseTarget('a.b)')).toThrow(/unexpected "\)"/);
    expect(() => parseTarget('bad-name(a)')).toThrow(/not a function name/);
    expect(() => parseTarget('f(,)')).toThrow(/nothing at position 2/);
    expect(() => parseTarget('x'.repeat(MAX_TARGET_LENGTH + 1))).toThrow(/longer than/);
    expect(() => parseTarget('f('.repeat(40) + 'a' + ')'.repeat(40))).toThrow(/nested deeper/);
  });
});
