// etsy statsd 0.9's handlePacket as plain JS, the one transcription in bench/: the codec suite's parse peer and the aggregate and growth suites' ingest peer.
'use strict';

// Our copy of stats.js handlePacket and lib/helpers.js is_valid_packet: split
// on '\n', '|#', ':' and '|', sanitise the key with its three regexes, validate,
// read the rate with its regex. Its UDP server, logging and keyFlushInterval
// are left out. What it does with a sample is the sink's:
//   sink.received++                    per non-empty line (its metrics_received)
//   sink.bad++                         per invalid sample (its bad_lines_seen)
//   sink.add(key, type, text, rate)    per valid sample; `text` is the raw value
// parseSink() counts samples and converts the value as stats.js does (the
// codec suite: parse work only); etsyState() is its counters / timers / gauges
// / sets dictionaries, updated as stats.js updates them (aggregate, growth).

function sanitizeKeyName(key) {
  return key
    .replace(/\s+/g, '_')
    .replace(/\//g, '-')
    .replace(/[^a-zA-Z_\-0-9\.;=]/g, '');
}

function isNumber(str) {
  return Boolean(str && !isNaN(str));
}

function isValidSampleRate(str) {
  let validSampleRate = false;
  if (str.length > 1 && str[0] === '@') {
    const numberStr = str.substring(1);
    validSampleRate = isNumber(numberStr) && numberStr[0] != '-';
  }
  return validSampleRate;
}

function isValidPacket(fields) {
  if (fields[1] === undefined) return false;
  if (fields[2] !== undefined && !isValidSampleRate(fields[2])) return false;
  switch (fields[1]) {
    case 's':
      return true;
    case 'g':
      return isNumber(fields[0]);
    case 'ms':
      return isNumber(fields[0]) && Number(fields[0]) >= 0;
    default:
      return isNumber(fields[0]);
  }
}

function handlePacket(msg, sink) {
  let metrics;
  const packet_data = msg.toString();
  if (packet_data.indexOf('\n') > -1) {
    metrics = packet_data.split('\n');
  } else {
    metrics = [packet_data];
  }
  for (const midx in metrics) {
    if (metrics[midx].length === 0) continue;
    sink.received++;
    let bits = metrics[midx].toString().split('|#');
    let tags = [];
    if (bits.length > 1 && bits[1].length > 0) tags = bits[1].split(',');
    bits = bits[0].split(':');
    let key = bits.shift();
    if (tags.length > 0) {
      key += ';' + tags.map((tag) => tag.replace(';', '_').replace(':', '=')).join(';');
    }
    key = sanitizeKeyName(key);
    if (bits.length === 0) bits.push('1');
    for (let i = 0; i < bits.length; i++) {
      let sampleRate = 1;
      const fields = bits[i].split('|');
      if (!isValidPacket(fields)) {
        sink.bad++;
        continue;
      }
      if (fields[2]) sampleRate = Number(fields[2].match(/^@([\d\.]+)/)[1]);
      sink.add(key, fields[1].trim(), fields[0], sampleRate);
    }
  }
}

/** Counts the samples and keeps a figure of each key and rate, so the output is used; the value is converted as stats.js converts it (parse work). */
function parseSink() {
  return {
    received: 0,
    samples: 0,
    bad: 0,
    weight: 0,
    add(key, type, text, rate) {
      const value = type === 's' ? text || '0' : Number(text || 0);
      this.samples++;
      this.weight += key.length + 1 / rate;
    },
  };
}

/** stats.js's dictionaries, updated as its handlePacket updates them. */
function etsyState() {
  return {
    received: 0,
    bad: 0,
    counters: {},
    timers: {},
    timerCounters: {},
    gauges: {},
    sets: {},
    add(key, type, text, rate) {
      if (type === 'ms') {
        if (!this.timers[key]) {
          this.timers[key] = [];
          this.timerCounters[key] = 0;
        }
        this.timers[key].push(Number(text || 0));
        this.timerCounters[key] += 1 / rate;
      } else if (type === 'g') {
        if (this.gauges[key] && /^[-+]/.test(text)) this.gauges[key] += Number(text || 0);
        else this.gauges[key] = Number(text || 0);
      } else if (type === 's') {
        (this.sets[key] ??= new Set()).add(text || '0');
      } else {
        this.counters[key] = (this.counters[key] || 0) + Number(text || 1) * (1 / rate);
      }
    },
  };
}

/** One packet into etsy's dictionaries. */
function etsyIngest(state, packet) {
  handlePacket(packet, state);
}

module.exports = { handlePacket, parseSink, etsyState, etsyIngest };
