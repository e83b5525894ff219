// hot-shots 17's text rules for the StatsD drop-in (src/statsd/client.ts): what it replaces
// with '_' in names and tags, how it merges tags, prefixes and timestamps — ported
// so the same calls give the same lines. What we refuse on top of it is in statsd.ts.
/// <reference types="node" preserve="true" />
import { formatLine } from '../codec/serialize';

/** A hot-shots tag list: `['k:v', 'flag']` or `{ k: 'v' }`. */
export type Tags = { [key: string]: string } | string[];

// hot-shots lib/helpers.js sanitizeTags / sanitizeTagValue / sanitizeMetricName
const TAG_KEY_BAD = /:|\||@|,|#|\n|\r/g;
const TAG_KEY_BAD_TELEGRAF = /:|\||,|\n|\r/g;
const TAG_VALUE_BAD = /\||@|,|#|\n|\r/g;
const TAG_VALUE_BAD_TELEGRAF = /\||,|\n|\r/g;
const NAME_BAD = /:|\||\n|\r/g;

function telegrafTail(text: string): string {
  return text.endsWith('\\') ? `${text.slice(0, -1)}_` : text;
}

export function sanitizeTagKey(value: unknown, telegraf: boolean): string {
  if (!telegraf) return String(value).replace(TAG_KEY_BAD, '_');
  return telegrafTail(String(value).replace(TAG_KEY_BAD_TELEGRAF, '_'));
}

export function sanitizeTagValue(value: unknown, telegraf: boolean): string {
  if (!telegraf) return String(value).replace(TAG_VALUE_BAD, '_');
  return telegrafTail(String(value).replace(TAG_VALUE_BAD_TELEGRAF, '_'));
}

/** ':' '|' '\n' '\r' in a stat name become '_' (hot-shots sanitizeMetricName). */
export function sanitizeMetricName(value: unknown): string {
  return String(value).replace(NAME_BAD, '_');
}

/** Tags as `key:value` strings, each part sanitized (hot-shots formatTags). */
export function formatTags(tags: Tags, telegraf: boolean): string[] {
  if (Array.isArray(tags)) {
    return tags.map((tag: unknown) => {
      const colon = typeof tag === 'string' ? tag.indexOf(':') : -1;
      if (colon > 0) {
        const t = tag as string;
        return `${sanitizeTagKey(t.substring(0, colon), telegraf)}:${sanitizeTagValue(t.substring(colon + 1), telegraf)}`;
      }
      return sanitizeTagKey(tag, telegraf);
    });
  }
  return Object.keys(tags).map((key) => `${sanitizeTagKey(key, telegraf)}:${sanitizeTagValue(tags[key], telegraf)}`);
}

/**
 * `parent` with `child`'s tags added; a child `key:…` replaces every parent tag
 * of that key (hot-shots overrideTags: keyed child tags grouped by key in first
 * appearance, then the keyless ones). Neither argument is changed.
 */
export function overrideTags(parent: readonly string[], child: Tags | undefined, telegraf: boolean): string[] {
  if (!child) return parent as string[];
  const byKey = new Map<string, string[]>();
  const keyless: string[] = [];
  for (const tag of formatTags(child, telegraf)) {
    const colon = tag.indexOf(':');
    if (colon < 1) {
      keyless.push(tag);
      continue;
    }
    const key = tag.substring(0, colon);
    const list = byKey.get(key);
    if (list) list.push(tag);
    else byKey.set(key, [tag]);
  }
  const result = parent.filter((tag) => {
    const colon = typeof tag === 'string' ? tag.indexOf(':') : -1;
    return colon < 1 || !byKey.has(tag.substring(0, colon));
  });
  for (const list of byKey.values()) result.push(...list);
  result.push(...keyless);
  return result;
}

export function normalizePrefix(prefix: unknown): string {
  if (!prefix) return '';
  const p = String(prefix);
  return p.endsWith('.') ? p : `${p}.`;
}

export function normalizeSuffix(suffix: unknown): string {
  if (!suffix) return '';
  const s = String(suffix);
  return s.startsWith('.') ? s : `.${s}`;
}

/** Unix seconds of a Date or a number, rounded; undefined for anything else. */
export function formatDate(date: unknown): number | undefined {
  if (date instanceof Date) return Math.round(date.getTime() / 1000);
  if (typeof date === 'number' || date instanceof Number) return Math.round(Number(date));
  return undefined;
}

const DD_ENV_TAGS: Readonly<Record<string, string>> = {
  DD_ENTITY_ID: 'dd.internal.entity_id',
  DD_ENV: 'env',
  DD_SERVICE: 'service',
  DD_VERSION: 'version',
};

/**
 * Global tags with hot-shots' `includeDataDogTags` environment added: DD_TAGS
 * (or DATADOG_TAGS, root clients only), then DD_ENV, DD_SERVICE, DD_VERSION and
 * DD_ENTITY_ID, which replace tags of the same key.
 */
export function withDatadogEnvTags(tags: string[], env: NodeJS.ProcessEnv, telegraf: boolean, child: boolean): string[] {
  let result = tags;
  const raw = child ? undefined : env.DD_TAGS || env.DATADOG_TAGS;
  if (raw) {
    const list = raw.split(raw.includes(',') ? ',' : /\s+/).map((t) => t.trim()).filter((t) => t !== '');
    if (list.length > 0) result = overrideTags(result, list, telegraf);
  }
  const set = Object.keys(DD_ENV_TAGS).filter((name) => env[name]);
  if (set.length > 0) {
    result = result
      .filter((tag) => !set.some((name) => tag.startsWith(`${DD_ENV_TAGS[name]}:`)))
      .concat(set.map((name) => `${DD_ENV_TAGS[name]}:${sanitizeTagKey(env[name], false)}`));
  }
  return result;
}

// Printable ASCII but space: the bytes a name or tag may hold without a
// native check (the parser refuses only ':' '|' in names, ',' in tags, which
// hot-shots has already replaced, and a trailing '.' in names).
const PLAIN = /^[\x21-\x7e]+$/;

/**
 * The name as a line carries it: hot-shots' text when our parser reads it, else
 * with the serializer's sanitizing ('_' for spaces, control bytes, a trailing
 * '.'); undefined when nothing valid is left (an empty name).
 */
export function lineName(name: string): string | undefined {
  if (PLAIN.test(name) && !name.endsWith('.')) return name;
  try {
    const line = formatLine({ name, type: 'c', value: 0 }, { sanitize: true });
    return line.slice(0, line.lastIndexOf(':0|c'));
  } catch {
    return undefined;
  }
}

/** The tags as a line carries them: as given when valid, else sanitized; empty tags left out. */
export function lineTags(tags: readonly string[]): string[] {
  if (tags.every((t) => PLAIN.test(t) && !t.includes(','))) return tags as string[];
  const line = formatLine({ name: 'x', type: 'c', value: 0, tags: tags.map((t) => t.replace(/,/g, '_')) }, { sanitize: true });
  const at = line.indexOf('|#');
  return at < 0 ? [] : line.slice(at + 2).split(',');
}
