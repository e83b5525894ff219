// Our parser against what the DogStatsD agent, gostatsd and statsd_exporter
// agree on (the table and its sources: test/helpers/peers-table.ts). Every
// row must match, except rows marked as a difference, which README names with
// the line and the reason (and which must still differ, so the list stays true).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { parse } from '../src';
import { PEER_ROWS, ourOutcome, sameOutcome } from './helpers/peers-table';

const README = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

describe('parser cases the peers agree on', () => {
  it.each(PEER_ROWS.map((row) => [row.line, row] as const))('%s', (_, row) => {
    const ours = ourOutcome(parse(row.line));
    if (row.difference) {
      expect(sameOutcome(ours, row.peers), `${row.line} is listed as a difference but now matches the peers: drop the mark and README's entry`).toBe(false);
    } else {
      expect(ours, `${row.line}: ${row.fact} (${row.by.join(', ')})`).toEqual(
        // tags the row does not compare are taken from ours
        row.peers.ok && row.peers.tags === undefined && ours.ok ? { ...row.peers, tags: ours.tags } : sortedTags(row.peers, ours),
      );
    }
  });

  it('README names every difference with its line', () => {
    for (const row of PEER_ROWS.filter((r) => r.difference)) expect(README, row.line).toContain(`\`${row.line}\``);
  });

  it('agreement count', () => {
    const agree = PEER_ROWS.filter((row) => sameOutcome(ourOutcome(parse(row.line)), row.peers)).length;
    const differences = PEER_ROWS.filter((row) => row.difference).length;
    console.log(`peers table: ${agree} of ${PEER_ROWS.length} rows agree; ${differences} documented differences`);
    expect(agree).toBe(PEER_ROWS.length - differences);
  });
});

/** The row's outcome with its tags in our order when they are the same set (toEqual shows a real difference). */
function sortedTags<T extends ReturnType<typeof ourOutcome>>(peers: T, ours: ReturnType<typeof ourOutcome>): T {
  if (!peers.ok || !ours.ok || peers.tags === undefined) return peers;
  const same = JSON.stringify([...peers.tags].sort()) === JSON.stringify([...(ours.tags ?? [])].sort());
  return same ? { ...peers, tags: ours.tags } : peers;
}
