// The page's one way to the daemon: GET a JSON route, or throw its error.

/** The JSON at `path`; throws an Error with the daemon's message on a non-2xx answer. */
export async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${path.split('?')[0]}: ${body?.error ?? res.status}`);
  return body;
}

/** A number as the page shows it: integers whole, others to 6 significant digits, none as '—'. */
export function fmt(v) {
  if (v == null) return '—';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return String(Number(v.toPrecision(6)));
}
