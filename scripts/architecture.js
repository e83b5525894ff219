// Regenerates docs/architecture.md below its diagram: one line per source
// file (src/, native/, bench/), its line count and the first sentence of its
// opening comment.
// `node scripts/architecture.js` rewrites the file; `--check` exits 1 when it
// is not current (a file added, removed or re-described).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DOC = path.join(ROOT, 'docs', 'architecture.md');
const SECTIONS = [
  { dir: 'src', title: 'src/ (TypeScript: the public API and the daemon shell)', ext: /\.(ts|mts|js)$/ },
  { dir: 'native', title: 'native/ (C++: the codec, the aggregator, the receivers, the N-API boundary)', ext: /\.(h|cc)$/ },
  { dir: 'bench', title: 'bench/ (`npm run bench`)', ext: /\.(js|c)$/ },
];
const MAX_TEXT = 180;

/** Folders under `dir` holding matching files, the folder itself first, then by depth and name. */
function folders(dir, ext) {
  const out = [];
  const walk = (d) => {
    const entries = fs.readdirSync(path.join(ROOT, d), { withFileTypes: true });
    if (entries.some((e) => e.isFile() && ext.test(e.name))) out.push(d);
    for (const e of entries) if (e.isDirectory() && e.name !== 'node_modules') walk(`${d}/${e.name}`);
  };
  walk(dir);
  const depth = (d) => d.split('/').length;
  return out.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1));
}

/** The file's opening comment as one line (the leading `//` lines, or a C block comment). */
function opening(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const text = [];
  for (const line of lines) {
    const m = /^\s*(?:\/\/|\/\*+|\*(?!\/))\s?(.*?)\s*(?:\*\/)?$/.exec(line);
    if (!m || line.trim() === '' || /^\s*\/\/\/ </.test(line) || /^'use strict'/.test(line)) {
      if (text.length) break;
      if (/^'use strict'|^#!|^\s*\/\/\/ </.test(line) || line.trim() === '') continue;
      break;
    }
    if (m[1]) text.push(m[1]);
  }
  let s = text.join(' ').replace(/\s+/g, ' ').trim();
  const end = s.search(/(?<!\be\.g|\bi\.e)\.(\s|$)/); // the first sentence, without its period
  if (end >= 0) s = s.slice(0, end);
  if (s.length > MAX_TEXT) s = `${s.slice(0, s.lastIndexOf(' ', MAX_TEXT))} …`;
  return s;
}

function generate() {
  const old = fs.readFileSync(DOC, 'utf8');
  const head = old.slice(0, old.indexOf('\n## ') + 1);
  let body = '';
  for (const { dir, title, ext } of SECTIONS) {
    body += `## ${title}\n\n`;
    for (const d of folders(dir, ext)) {
      body += `**${d}/**\n\n`;
      const files = fs.readdirSync(path.join(ROOT, d)).filter((f) => ext.test(f) && fs.statSync(path.join(ROOT, d, f)).isFile()).sort();
      for (const f of files) {
        const file = path.join(ROOT, d, f);
        const lines = fs.readFileSync(file, 'utf8').split('\n').length - 1;
        body += `- \`${f}\` (${lines} lines): ${opening(file)}\n`;
      }
      body += '\n';
    }
  }
  return head + body.trimEnd() + '\n';
}

const text = generate();
if (process.argv.includes('--check')) {
  if (fs.readFileSync(DOC, 'utf8') !== text) {
    console.error('docs/architecture.md is not current: run node scripts/architecture.js');
    process.exit(1);
  }
} else {
  fs.writeFileSync(DOC, text);
}
