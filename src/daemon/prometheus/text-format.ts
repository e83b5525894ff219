// Spelling in Prometheus's text exposition format 0.0.4: metric and label
// names made valid the way statsd_exporter makes them, escaped label values
// and HELP text, sample values as Go's ParseFloat reads them.

/** The Content-Type of a 0.0.4 exposition. */
export const TEXT_FORMAT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * A valid metric name from a statsd path: each character (code point)
 * outside [a-zA-Z0-9_:] becomes '_', and a leading digit gets a '_' before
 * it, as statsd_exporter's escapeMetricName: `api.req-time` → `api_req_time`.
 */
export function metricName(path: string): string {
  const name = path.replace(/[^a-zA-Z0-9_:]/gu, '_');
  if (name === '') return '_';
  return name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57 ? `_${name}` : name;
}

/**
 * A valid label name from a tag name, or undefined for an empty one: as
 * metricName without ':' (labels may not hold it), and a leading "__" (which
 * Prometheus reserves: `__name__` would replace the metric's name) cut to one.
 */
export function labelName(tag: string): string | undefined {
  if (tag === '') return undefined;
  let name = tag.replace(/[^a-zA-Z0-9_]/gu, '_');
  if (name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57) name = `_${name}`;
  return name.replace(/^_{2,}/, '_');
}

/** A label value between double quotes: '\', '"' and newline escaped. */
export function labelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

/** HELP text: '\' and newline escaped. */
export function helpText(text: string): string {
  return /[\\\n]/.test(text) ? text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\')) : text;
}

/** A sample value: JavaScript's shortest round-trip digits (Go's ParseFloat reads "1e+21"), NaN, +Inf, -Inf. */
export function sampleValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

export interface Labels {
  /** `a="x",b="y"` sorted by name, each name once; '' for none. */
  text: string;
  /** Names in `text`. */
  names: string[];
  /** Tags left out: no value (Prometheus reads an empty value as no label), an empty name, or a name another tag already took. */
  dropped: number;
}

/**
 * Labels from Graphite tags as the aggregator stores them (";k=v;k2=v2",
 * sorted by name): names through labelName, values escaped. A tag whose
 * name is taken, after sanitizing, by an earlier one is dropped (Prometheus
 * refuses a whole scrape with a label name twice); so is a tag without a
 * value (a DogStatsD `#flag`: an empty label is no label in Prometheus).
 * `reserved` names (a summary's "quantile") are written `exported_<name>`,
 * as Prometheus itself renames a target's label that clashes with its own.
 */
export function tagLabels(tags: string, reserved?: string): Labels {
  const labels: [string, string][] = [];
  const names: string[] = [];
  let dropped = 0;
  for (const tag of tags.split(';')) {
    if (tag === '') continue; // before the first ';'
    const equals = tag.indexOf('=');
    let name = equals < 0 ? undefined : labelName(tag.slice(0, equals));
    const value = equals < 0 ? '' : tag.slice(equals + 1);
    if (name !== undefined && name === reserved) name = `exported_${name}`;
    if (name === undefined || value === '' || names.includes(name)) {
      dropped++;
      continue;
    }
    names.push(name);
    labels.push([name, value]);
  }
  // Sanitizing can reorder ("a.b" sorts before "a_b" but becomes "a_b"): sort
  // again, so two keys with the same labels give the same text.
  labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { text: labels.map(([n, v]) => `${n}="${labelValue(v)}"`).join(','), names, dropped };
}
