// etsy statsd 0.9's handlePacket as plain JS: the peer's ingest, shared by the aggregate and growth suites.
'use strict';

// etsy statsd 0.9's handlePacket (stats.js), reduced to its aggregation work:
// split, tags, sanitize, validate, and the counters/timers/gauges/sets maps.
// Our own transcription of its logic, so both sides do the same job.
function etsyIngest(state, packet) {
  const lines = packet.toString().split('\n');
  for (const line of lines) {
    if (line.length === 0) continue;
    state.metricsReceived++;
    let bits = line.split('|#');
    let tags = [];
    if (bits.length > 1 && bits[1].length > 0) tags = bits[1].split(',');
    bits = bits[0].split(':');
    let key = bits.shift();
    if (tags.length > 0) key += ';' + tags.map((t) => t.replace(';', '_').replace(':', '=')).join(';');
    key = key.replace(/\s+/g, '_').replace(/\//g, '-').replace(/[^a-zA-Z_\-0-9.;=]/g, '');
    for (const bit of bits) {
      const fields = bit.split('|');
      if (fields[1] === undefined || (fields[1] !== 's' && (!fields[0] || isNaN(fields[0])))) {
        state.badLines++;
        continue;
      }
      const rate = fields[2] ? Number(fields[2].match(/^@([\d.]+)/)[1]) : 1;
      const type = fields[1].trim();
      if (type === 'ms') {
        if (!state.timers[key]) {
          state.timers[key] = [];
          state.timerCounters[key] = 0;
        }
        state.timers[key].push(Number(fields[0] || 0));
        state.timerCounters[key] += 1 / rate;
      } else if (type === 'g') {
        if (state.gauges[key] && /^[-+]/.test(fields[0])) state.gauges[key] += Number(fields[0] || 0);
        else state.gauges[key] = Number(fields[0] || 0);
      } else if (type === 's') {
        (state.sets[key] ??= new Set()).add(fields[0] || '0');
      } else {
        state.counters[key] = (state.counters[key] || 0) + Number(fields[0] || 1) * (1 / rate);
      }
    }
  }
}

function etsyState() {
  return { counters: {}, timers: {}, timerCounters: {}, gauges: {}, sets: {}, metricsReceived: 0, badLines: 0 };
}

module.exports = { etsyIngest, etsyState };
