// A real browser for tests of the daemon's page: Debian's Chromium driven by
// playwright-core (which downloads no browser of its own), and polling with a
// deadline for what the page shows once it has caught up.
import * as fs from 'node:fs';

import { type Browser, type Page, chromium } from 'playwright-core';
import { externalEnv } from './external-env';

export const CHROMIUM = '/usr/bin/chromium';

// What the functions run in the page use of its elements (this project's
// TypeScript lib has no DOM types).
interface El {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  querySelector(selector: string): El | null;
}
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

/** Why browser tests cannot run here, or undefined when they can. */
export const noBrowser: string | undefined = fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;

/** Headless Chromium; --no-sandbox because tests run as root. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], env: externalEnv() as Record<string, string> });
}

/**
 * Calls `probe` every 100 ms until `accept` takes its value, and returns that
 * value; after `timeoutMs` throws with `what` and the last value seen.
 */
export async function eventually<T>(what: string, probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The page's key list: `kind key` per entry, in order. */
export function listedKeys(page: Page): Promise<string[]> {
  return page.$$eval('#key-list button[data-key]', (buttons) => (buttons as unknown as El[]).map((b) => `${b.dataset.kind} ${b.dataset.key}`));
}

/** A chart's legend: label → value as shown (the latest flush's, with the cursor off the chart). */
export function legendOf(page: Page, key: string): Promise<Record<string, string>> {
  return page.$$eval(`.chart[data-key="${key.replace(/["\\]/g, '\\$&')}"] .u-legend tr.u-series`, (rows) =>
    Object.fromEntries((rows as unknown as El[]).map((r) => [r.querySelector('.u-label')?.textContent ?? '', r.querySelector('.u-value')?.textContent ?? ''])),
  );
}

/**
 * Pixels of a chart's canvas in a saturated colour: its data lines (the grid,
 * axes and text are grey or black), so 0 means nothing was plotted.
 */
export function plottedPixels(page: Page, key: string): Promise<number> {
  return page.$eval(`.chart[data-key="${key.replace(/["\\]/g, '\\$&')}"] canvas`, (canvas) => {
    const c = canvas as unknown as Canvas;
    const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i]!, g = data[i + 1]!, b = data[i + 2]!;
      if (data[i + 3]! > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 80) n++;
    }
    return n;
  });
}

/** The health panel: stat id → text shown. */
export function healthOf(page: Page): Promise<Record<string, string>> {
  return page.$$eval('#health dl [data-stat]', (items) =>
    Object.fromEntries((items as unknown as El[]).map((i) => [i.dataset.stat!, i.querySelector('dd')?.textContent ?? ''])),
  );
}
