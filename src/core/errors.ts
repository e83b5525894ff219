// Typed errors with stable codes, and the parse-reason names shared with native code.

/** Why a line was rejected; index = native ParseStatus (native/codec.h). */
export const PARSE_REASONS = [
  'ok',
  'bad_name',
  'bad_value',
  'bad_type',
  'bad_rate',
  'bad_tag',
  'bad_timestamp',
  'bad_field',
  'too_long',
  'bad_encoding',
] as const;

export type ParseReason = Exclude<(typeof PARSE_REASONS)[number], 'ok'>;

const REASON_TEXT: Record<ParseReason, string> = {
  bad_name: 'name is empty, ends in ".", or holds a space (ASCII or Unicode), ":", "|" or a control byte',
  bad_value: 'value is missing or not a decimal number',
  bad_type: 'type is missing or not one of c C g ms h s d',
  bad_rate: 'sample rate is not a number in (0, 1] whose reciprocal is finite',
  bad_tag: 'tag list is empty, has an empty tag, or a tag holds a space (ASCII or Unicode), "," or control byte',
  bad_timestamp: 'timestamp is not a positive whole number of unix seconds',
  bad_field: 'field after the type is empty, repeated or of unknown shape',
  too_long: 'line is longer than the limit',
  bad_encoding: 'name or tags are not valid UTF-8 (carbon cannot decode such a line)',
};

export type StatsdErrorCode =
  | `ERR_STATSD_${Uppercase<ParseReason>}`
  | 'ERR_STATSD_INVALID_OPTION'
  | 'ERR_STATSD_MULTI_VALUE'
  | 'ERR_STATSD_MAX_KEYS'
  | 'ERR_STATSD_NATIVE';

/** Every error this package throws on purpose; `code` is stable across versions. */
export class StatsdError extends Error {
  readonly code: StatsdErrorCode;

  constructor(code: StatsdErrorCode, message: string) {
    super(message);
    this.name = 'StatsdError';
    this.code = code;
  }
}

export function reasonCode(reason: ParseReason): StatsdErrorCode {
  return `ERR_STATSD_${reason.toUpperCase() as Uppercase<ParseReason>}`;
}

export function reasonText(reason: ParseReason): string {
  return REASON_TEXT[reason];
}

/** A StatsdError for a rejected line or metric: "<reason text>: <subject>". */
export function reasonError(reason: ParseReason, subject: string): StatsdError {
  return new StatsdError(reasonCode(reason), `${REASON_TEXT[reason]}: ${subject}`);
}
