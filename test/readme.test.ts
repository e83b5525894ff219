// Runs every ```js example of README.md and checks each `// → output` comment.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README examples', () => {
  it('has examples', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(examples.map((code, i) => [i + 1, code] as const))('example %i prints what it says', (_, code) => {
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]!.trim());
    // `require('statsd-native')` resolves to this package through its "exports"
    // (a package may require itself by name), i.e. to the built dist/.
    const out = execFileSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' });
    expect(out.trim().split('\n').map((l) => l.trim())).toEqual(expected);
  });
});
