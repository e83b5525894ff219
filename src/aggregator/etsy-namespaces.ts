// etsy's carbon namespaces as the native flush resolves them
// (native/etsy_names.cc EtsyNamespaces::Resolve), for the TypeScript readers
// of carbon names (the web view, Prometheus): each ends in '.' when not empty.
export interface EtsyNamingOptions {
  legacyNamespace: boolean;
  globalPrefix: string;
  prefixCounter: string;
  prefixTimer: string;
  prefixGauge: string;
  prefixSet: string;
  globalSuffix: string;
}

export interface EtsyNamespaces {
  ns: Record<'counter' | 'timer' | 'gauge' | 'set', string>;
  /** `.globalSuffix`, or '' without one. */
  suffix: string;
}

export function etsyNamespaces(o: EtsyNamingOptions): EtsyNamespaces {
  const join = (...parts: string[]) => parts.filter((p) => p !== '').map((p) => `${p}.`).join('');
  return {
    ns: o.legacyNamespace
      ? { counter: 'stats.', timer: 'stats.timers.', gauge: 'stats.gauges.', set: 'stats.sets.' }
      : {
          counter: join(o.globalPrefix, o.prefixCounter),
          timer: join(o.globalPrefix, o.prefixTimer),
          gauge: join(o.globalPrefix, o.prefixGauge),
          set: join(o.globalPrefix, o.prefixSet),
        },
    suffix: o.globalSuffix === '' ? '' : `.${o.globalSuffix}`,
  };
}
