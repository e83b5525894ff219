// What a TypeScript user of the package gets: the packed package (npm pack of
// the built dist/, as npm would install it, without building the addon)
// type-checked by a strict project on TypeScript 5.9's `tsc --init` defaults,
// "types": [] included, with skipLibCheck off so that our .d.ts are checked
// too (test/fixtures/consumer). And the GraphiteSink such a user builds
// without a `format`: plaintext.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GraphiteSink } from '../../src';
import { ScriptedCarbon } from '../helpers/scripted-carbon';
import { waitFor } from '../helpers/receivers';

const ROOT = path.join(__dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'consumer');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

describe('a TypeScript consumer of the packed package', () => {
  let tmp = '';
  /** The consumer project: node_modules/statsd-native is the extracted tarball. */
  let project = '';
  let packed = '';

  beforeAll(() => {
    // dist/ is the build (`npm run build`, run by `pretest`); packing with
    // --ignore-scripts does not rebuild it under the tests that read it.
    if (!fs.existsSync(path.join(ROOT, 'dist', 'index.d.ts'))) throw new Error('dist/ is not built: run `npm run build`');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'statsd-native-consumer-'));
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tarball = path.join(tmp, (JSON.parse(out) as { filename: string }[])[0]!.filename);
    project = path.join(tmp, 'consumer');
    packed = path.join(project, 'node_modules', 'statsd-native');
    fs.mkdirSync(packed, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', packed, '--strip-components=1']);
    for (const name of ['package.json', 'tsconfig.json']) fs.copyFileSync(path.join(FIXTURE, name), path.join(project, name));
    for (const name of ['index.ts', 'require.cts']) fs.copyFileSync(path.join(FIXTURE, `${name}.txt`), path.join(project, name));
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** tsc -p on the consumer project: exit status and what it printed. */
  function typecheck(): { status: number | null; output: string } {
    const run = spawnSync(process.execPath, [TSC, '-p', project, '--pretty', 'false'], { encoding: 'utf8', timeout: 60_000 });
    return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
  }

  it('ships declarations that say which Node types they use', () => {
    // Each .d.ts naming a Node type references them itself (a single
    // reference elsewhere would hide a missing one until that file is
    // reached alone, as through the hot-shots entry point).
    const dist = path.join(packed, 'dist');
    const missing: string[] = [];
    for (const file of fs.readdirSync(dist).filter((f) => /\.d\.m?ts$/.test(f))) {
      const text = fs.readFileSync(path.join(dist, file), 'utf8');
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/(?!\/).*$/gm, '');
      const usesNode = /\bBuffer\b|\bNodeJS\.|from '(node:)?(events|stream|net|dgram)'/.test(code);
      if (usesNode && !/^\/\/\/ <reference types="node"/m.test(text)) missing.push(file);
    }
    expect(missing).toEqual([]);
  });

  it('with @types/node installed (as any Node project has it), strict tsc --init settings and "types": [] compile with no error', () => {
    // A consumer's own @types/node; undici-types, which it imports, resolves
    // from this repo's node_modules through the symlink's real path.
    fs.mkdirSync(path.join(project, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(project, 'node_modules', '@types', 'node'), 'dir');
    try {
      expect(typecheck()).toEqual({ status: 0, output: '' });
    } finally {
      fs.rmSync(path.join(project, 'node_modules', '@types'), { recursive: true, force: true });
    }
  });

  it('without @types/node, tsc says what is missing', () => {
    // The declarations need @types/node, which a TypeScript project on Node
    // has installed; one that has not is told what to install (with
    // skipLibCheck on, as most projects have it, the sign is rather that the
    // members Emitter and StatsdServer inherit from EventEmitter are missing).
    const { status, output } = typecheck();
    expect(status).not.toBe(0);
    expect(output).toContain("Cannot find type definition file for 'node'");
  });
});

describe('GraphiteSink without a format', () => {
  it('is plaintext: its name says so, and it writes plaintext lines to carbon', async () => {
    const carbon = await ScriptedCarbon.start();
    const sink = new GraphiteSink({ host: '127.0.0.1', port: carbon.port });
    try {
      expect(sink.name).toBe(`graphite plaintext 127.0.0.1:${carbon.port}`);
      sink.write({ carbon: Buffer.from('a.b 1 1700000000\nc.d 2.5 1700000000\n'), metrics: 2, timestamp: 1700000000 });
      await waitFor(() => carbon.bytes >= 36, 5000, 'the flush at carbon');
      expect(Buffer.concat(carbon.connections.flatMap((c) => c.chunks)).toString('utf8')).toBe('a.b 1 1700000000\nc.d 2.5 1700000000\n');
      expect(sink.stats()).toMatchObject({ flushesSent: 1, metricsSent: 2, flushesDropped: 0 });
    } finally {
      await sink.close();
      await carbon.close();
    }
  });
});
