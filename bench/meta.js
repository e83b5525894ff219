// The facts a report states about its run: machine, commit, peers' versions, and whether dist/ or the addon is older than its sources.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    // not Linux: os.cpus() has it
  }
  return {
    cpu,
    cores: os.cpus().length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    v8: process.versions.v8,
  };
}

function versionOf(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function commit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'native'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.slice(3));
    return dirty.length === 0 ? head : `${head} + uncommitted changes to ${dirty.length} file${dirty.length === 1 ? '' : 's'} in src/ and native/`;
  } catch {
    return 'unknown';
  }
}

/** Files under `dir` (relative to ROOT, recursively) whose name matches `re`. */
function filesUnder(dir, re) {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && re.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath ?? e.path, e.name)));
}

// The benches load dist/ and build/Release; name the sources changed since those were built.
function staleness() {
  const mtime = (f) => fs.statSync(path.join(ROOT, f)).mtimeMs;
  const warnings = [];
  try {
    // src/**/*.ts → dist/**/*.js (and src/*.mts → dist/*.mjs); declarations build nothing
    const stale = filesUnder('src', /\.m?ts$/)
      .filter((f) => !f.endsWith('.d.ts'))
      .filter((f) => {
        const built = `dist/${f.slice('src/'.length).replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs')}`;
        return !fs.existsSync(path.join(ROOT, built)) || mtime(f) > mtime(built);
      })
      .map((f) => f.slice('src/'.length));
    if (stale.length > 0) warnings.push(`dist/ is older than src/{${stale.join(',')}} (npm run build)`);
    const addon = mtime('build/Release/statsd_native.node');
    const changed = filesUnder('native', /\.(cc|h)$/)
      .filter((f) => mtime(f) > addon)
      .map((f) => f.slice('native/'.length));
    if (changed.length > 0) warnings.push(`the addon is older than native/{${changed.join(',')}} (npm run build:native)`);
  } catch (error) {
    warnings.push(`could not compare build times: ${error.message}`);
  }
  return warnings;
}

module.exports = { machine, versionOf, commit, staleness };
