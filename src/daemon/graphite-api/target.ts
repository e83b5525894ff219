// Graphite render targets as graphite-web parses them: a path pattern, or a
// function call whose arguments are targets, numbers, quoted strings or
// booleans, e.g. `alias(sumSeries(api.*.count), "all")`.
import { StatsdError } from '../../core/errors';

export type TargetArg =
  | { kind: 'path'; pattern: string }
  | { kind: 'call'; name: string; args: TargetArg[]; text: string }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'string'; value: string; text: string }
  | { kind: 'boolean'; value: boolean; text: string };

/** Longest target accepted, and deepest nesting: a request's parse cost stays bounded. */
export const MAX_TARGET_LENGTH = 4096;
const MAX_DEPTH = 16;

function badTarget(target: string, why: string): StatsdError {
  return new StatsdError('ERR_STATSD_INVALID_OPTION', `bad target ${JSON.stringify(target.slice(0, 200))}: ${why}`);
}

/** Parses one render target; throws a StatsdError naming what is wrong. */
export function parseTarget(target: string): TargetArg {
  if (target.length > MAX_TARGET_LENGTH) throw badTarget(target, `longer than ${MAX_TARGET_LENGTH} characters`);
  let at = 0;
  const space = () => {
    while (at < target.length && target[at] === ' ') at++;
  };
  const expression = (depth: number): TargetArg => {
    if (depth > MAX_DEPTH) throw badTarget(target, `nested deeper than ${MAX_DEPTH}`);
    space();
    const start = at;
    const c = target[at];
    if (c === '"' || c === "'") {
      const close = target.indexOf(c, at + 1);
      if (close === -1) throw badTarget(target, 'an unclosed string');
      at = close + 1;
      return { kind: 'string', value: target.slice(start + 1, close), text: target.slice(start, at) };
    }
    // A name: a path (with its pattern characters), a function, a number or a boolean.
    let braces = 0;
    while (at < target.length) {
      const ch = target[at]!;
      if (ch === '{') braces++;
      else if (ch === '}') braces--;
      else if (braces === 0 && (ch === '(' || ch === ')' || ch === ',' || ch === ' ')) break;
      at++;
    }
    const word = target.slice(start, at);
    if (word === '') throw badTarget(target, `nothing at position ${start}`);
    space();
    if (target[at] === '(') {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(word)) throw badTarget(target, `${JSON.stringify(word)} is not a function name`);
      at++;
      const args: TargetArg[] = [];
      space();
      if (target[at] === ')') {
        at++;
      } else {
        for (;;) {
          args.push(expression(depth + 1));
          space();
          if (target[at] === ',') {
            at++;
            continue;
          }
          if (target[at] === ')') {
            at++;
            break;
          }
          throw badTarget(target, `expected ',' or ')' at position ${at}`);
        }
      }
      return { kind: 'call', name: word, args, text: target.slice(start, at) };
    }
    if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(word)) return { kind: 'number', value: Number(word), text: word };
    if (word === 'true' || word === 'false') return { kind: 'boolean', value: word === 'true', text: word };
    return { kind: 'path', pattern: word };
  };
  const parsed = expression(0);
  space();
  if (at !== target.length) throw badTarget(target, `unexpected ${JSON.stringify(target[at])} at position ${at}`);
  return parsed;
}
