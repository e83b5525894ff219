// The live page at `/` in a real browser (Debian's Chromium through
// playwright-core): metrics sent over UDP to an in-process daemon show up as
// keys, charts whose legends hold the flushed values, and health figures; a
// key first sent while the page is open is listed within one flush.
// With STATSD_NATIVE_SCREENSHOTS=<dir> it saves web-page.png and web-timer.png there.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StatsdServer } from '../../src';
import { WEB_DIR } from '../../src/daemon/web/assets';
import { eventually, healthOf, launchChromium, legendOf, listedKeys, noBrowser, plottedPixels } from '../helpers/browser';

const FLUSH_MS = 500;
/** What every interval gets, one datagram each, sent right after each flush so each lands in exactly one interval. */
const EACH_INTERVAL = ['api.requests:5|c\napi.requests:5|c\napi.requests:5|c', 'queue.depth:42|g', 'api.latency:10|ms\napi.latency:20|ms\napi.latency:30|ms', 'http.hits:1|c|#env:prod'];
const LINES_PER_INTERVAL = 8;
const screenshots = process.env.STATSD_NATIVE_SCREENSHOTS;

/** The page's number format (page/api.js fmt). */
function shown(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

/** A daemon on 127.0.0.1 with history, fed `each` after every flush, and a socket to send more. */
async function feedDaemon(flushInterval: number, each: string[]) {
  const server = new StatsdServer({ udp: { port: 0 }, http: { port: 0 }, history: {}, flushInterval });
  await server.start();
  const socket = dgram.createSocket('udp4');
  const send = (payload: string) =>
    new Promise<void>((resolve, reject) => socket.send(payload, server.udpPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  let intervalsFed = 0;
  server.on('flush', () => {
    for (const payload of each) void send(payload);
    intervalsFed++;
  });
  return {
    server,
    send,
    intervalsFed: () => intervalsFed,
    url: `http://127.0.0.1:${server.httpPort}/`,
    async close() {
      await server.stop(0);
      socket.close();
    },
  };
}

describe.skipIf(noBrowser !== undefined)(`the live page in Chromium${noBrowser ? ` (skipped: ${noBrowser})` : ''}`, () => {
  let browser: Browser;
  let daemon: Awaited<ReturnType<typeof feedDaemon>>;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(path.join(WEB_DIR, 'index.html'))) throw new Error(`${WEB_DIR} is not built: run \`npm run build\``);
    daemon = await feedDaemon(FLUSH_MS, EACH_INTERVAL);
    await daemon.send('api.requests:abc|c'); // a bad line, for the health panel
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(daemon.url);
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.close();
  });

  it('lists the keys with their kinds, and search filters them', async () => {
    const all = ['timer api.latency', 'counter api.requests', 'counter http.hits;env=prod', 'gauge queue.depth'];
    await eventually('the four keys listed, sorted', () => listedKeys(page), (keys) => keys.join() === all.join());
    await page.fill('#search', 'HITS');
    await eventually('only http.hits;env=prod listed', () => listedKeys(page), (keys) => keys.join() === 'counter http.hits;env=prod');
    await page.fill('#search', 'api');
    await eventually('the two api keys listed', () => listedKeys(page), (keys) => keys.join() === 'timer api.latency,counter api.requests');
    expect(await page.textContent('#key-count')).toBe('2 matching, of 4 keys');
    await page.fill('#search', '');
    await eventually('all listed again', () => listedKeys(page), (keys) => keys.join() === all.join());
    expect(await page.textContent('#key-count')).toMatch(/^4 keys/);
  });

  it("a counter's chart: the legend holds the flushed total (3 × api.requests:5|c = 15) and its rate, the canvas its line", async () => {
    await page.click('#key-list button[data-key="api.requests"]');
    const legend = await eventually('api.requests charted with count 15', () => legendOf(page, 'api.requests'), (l) => l.count === '15');
    expect(legend).toMatchObject({ count: '15', rate: shown(15 / (FLUSH_MS / 1000)) });
    // the series the legend stands for is what the history holds
    const held = daemon.server.history!.fetch('api.requests', 0, Infinity)!.values.filter((v) => v !== null);
    expect(held.length).toBeGreaterThan(0);
    expect(new Set(held)).toEqual(new Set([15]));
    expect(await eventually('the line drawn', () => plottedPixels(page, 'api.requests'), (n) => n > 100)).toBeGreaterThan(100);
  });

  it("a timer's chart: every field's legend value is the value the flush wrote", async () => {
    await page.click('#key-list button[data-key="api.latency"]');
    const legend = await eventually('api.latency charted', () => legendOf(page, 'api.latency'), (l) => l.count === '3');
    const history = daemon.server.history!;
    const expected: Record<string, string> = {};
    for (const name of [...history.find('api.latency.*'), ...history.find('api.latency.*.*')]) {
      const values = history.fetch(name, 0, Infinity)!.values.filter((v): v is number => v !== null);
      expected[name.slice('api.latency.'.length)] = shown(values.at(-1)!);
    }
    expect(Object.keys(expected)).toEqual(expect.arrayContaining(['count', 'min', 'max', 'mean', 'median', 'percentile.95', 'percentile.999']));
    const { Time: _time, ...fields } = legend;
    expect(fields).toEqual(expected);
    expect(fields).toMatchObject({ count: '3', count_ps: '6', min: '10', max: '30', sum: '60', mean: '20', median: '20' });
    expect(await eventually('the lines drawn', () => plottedPixels(page, 'api.latency'), (n) => n > 100)).toBeGreaterThan(100);
  });

  it('a tagged key is charted from its Graphite-tagged series', async () => {
    await page.click('#key-list button[data-key="http.hits;env=prod"]');
    const legend = await eventually('the tagged counter charted', () => legendOf(page, 'http.hits;env=prod'), (l) => l.count === '1');
    expect(legend.rate).toBe('2');
    expect(daemon.server.history!.fetch('http.hits;env=prod', 0, Infinity)).toBeDefined();
  });

  it("the health panel shows /stats: lines received, the bad line by its reason, the sinks' state", async () => {
    const fedBefore = daemon.intervalsFed();
    const health = await eventually(
      'the lines of the intervals fed so far',
      () => healthOf(page),
      (h) => Number((h.metrics ?? '0').replace(/,/g, '')) >= fedBefore * LINES_PER_INTERVAL,
    );
    expect(Number(health.metrics!.replace(/,/g, ''))).toBeLessThanOrEqual(daemon.server.stats.aggregator.lines);
    expect(health).toMatchObject({ errors: '1', kernel_drops: '0', unique_keys: '4', keys_dropped: '0', api_refused: '0' });
    const reasons = Object.entries(daemon.server.stats.aggregator.byReason).filter(([, n]) => n > 0);
    expect(reasons).toEqual([['bad_value', 1]]);
    expect(await page.$$eval('#health-errors [data-stat]', (rows) => rows.map((r) => (r as unknown as { textContent: string }).textContent))).toEqual(['bad_value1']);
    expect(await page.$$eval('#health-sinks tbody tr', (rows) => rows.map((r) => (r as unknown as { innerText: string }).innerText.split('\t')))).toEqual([['history', 'yes', '0', '0']]);
    expect(pageErrors).toEqual([]);
    expect(await page.isHidden('#error')).toBe(true);
  });
});

describe.skipIf(noBrowser !== undefined)('a new key on an open page', () => {
  it('is listed within one flush of the first flush that wrote it', async () => {
    const interval = 2000; // long enough to tell "this flush" from "the next" on a busy machine
    const daemon = await feedDaemon(interval, ['old:1|c']);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(daemon.url);
      await eventually('the page following the flushes', () => listedKeys(page), (keys) => keys.includes('counter old'));
      // Sent right after a flush, so the next one is the first to write it.
      await new Promise((resolve) => daemon.server.once('flush', resolve));
      await daemon.send('fresh.key:1|c');
      expect(await listedKeys(page)).not.toContain('counter fresh.key');
      const flushed = await new Promise<number>((resolve) => daemon.server.once('flush', () => resolve(Date.now())));
      expect(daemon.server.history!.fetch('fresh.key', 0, Infinity)?.values).toEqual(expect.arrayContaining([1]));
      await eventually('fresh.key listed', () => listedKeys(page), (keys) => keys.includes('counter fresh.key'));
      const listedAfter = Date.now() - flushed;
      expect(listedAfter, `listed ${listedAfter} ms after the flush that wrote it`).toBeLessThan(interval);
    } finally {
      await browser.close();
      await daemon.close();
    }
  });
});

// For the README (docs/img): keys whose values move, so the charts show what a live daemon looks like.
describe.skipIf(noBrowser !== undefined || !screenshots)('screenshots (STATSD_NATIVE_SCREENSHOTS)', () => {
  it('saves web-page.png and web-timer.png', async () => {
    const daemon = await feedDaemon(1000, []); // whole seconds: one point per second, as Graphite keeps them
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    let n = 0;
    daemon.server.on('flush', () => {
      const wave = Math.sin(++n / 4);
      const latency = Array.from({ length: 40 }, () => `api.latency:${(18 + 6 * wave) * Math.exp(random() * 1.2)}|ms`);
      const db = Array.from({ length: 20 }, () => `db.query:${(4 + 2 * wave) * Math.exp(random())}|ms`);
      const lines = [
        ...latency, ...db,
        `api.requests:${Math.round(120 + 50 * wave + 20 * random())}|c`,
        `queue.depth:${Math.round(30 + 25 * Math.cos(n / 6))}|g`,
        `cache.hits:${Math.round(300 + 80 * random())}|c`, `cache.misses:${Math.round(20 + 15 * random())}|c`,
        `http.hits:${Math.round(50 + 10 * random())}|c|#env:prod`, `http.hits:${Math.round(5 + 3 * random())}|c|#env:staging`,
        `users.online:${Math.round(800 + 100 * wave)}|g`, `sessions:u${Math.round(random() * 50)}|s`,
      ];
      void daemon.send(lines.join('\n'));
    });
    const browser = await launchChromium();
    try {
      await eventually('25 flushes', async () => daemon.server.stats.aggregator.flushes, (f) => f >= 25, 60_000);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(daemon.url);
      await eventually('the keys listed', () => listedKeys(page), (keys) => keys.length === 10);
      for (const key of ['api.requests', 'api.latency']) await page.click(`#key-list button[data-key="${key}"]`);
      await eventually('both charted', async () => (await legendOf(page, 'api.latency')).count ?? '', (c) => c === '40');
      await eventually('the latest values in the legend', async () => (await legendOf(page, 'api.requests')).count ?? '—', (c) => c !== '—');
      await page.mouse.move(0, 0);
      fs.mkdirSync(screenshots!, { recursive: true });
      await page.screenshot({ path: path.join(screenshots!, 'web-page.png') });
      await page.locator('.chart[data-key="api.latency"]').screenshot({ path: path.join(screenshots!, 'web-timer.png') });
      expect(fs.statSync(path.join(screenshots!, 'web-page.png')).size).toBeGreaterThan(20_000);
    } finally {
      await browser.close();
      await daemon.close();
    }
  }, 90_000);
});
