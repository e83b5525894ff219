// Copies the daemon's web page into dist/web at build time, after tsc: the
// page's own files from src/daemon/web/page and uPlot's browser build from
// node_modules, so the daemon serves everything itself (no CDN, no bundler).
// What is copied is the list the daemon serves (WEB_FILES, compiled by tsc).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const { WEB_DIR, WEB_FILES } = require(path.join(root, 'dist', 'daemon', 'web', 'assets.js'));
const uplot = path.dirname(require.resolve('uplot/package.json', { paths: [root] }));
const from = { page: path.join(root, 'src', 'daemon', 'web', 'page'), uplot: path.join(uplot, 'dist') };

fs.mkdirSync(WEB_DIR, { recursive: true });
for (const { file, from: source } of Object.values(WEB_FILES)) {
  fs.copyFileSync(path.join(from[source], file), path.join(WEB_DIR, file));
}
fs.copyFileSync(path.join(uplot, 'LICENSE'), path.join(WEB_DIR, 'uPlot.LICENSE'));
