import { invalid } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
/** Longest maintenance a single request may ask for; longer work belongs in a window. */
export const MAX_TTL_SECONDS = 30 * 86400;

/** Parses a `ttl` of seconds (number) or a duration like `90s`, `30m`, `2h`, `1d`, `1h30m`. */
export function parseTtlSeconds(ttl: string | number): number {
  let seconds: number;
  if (typeof ttl === 'number') {
    seconds = ttl;
  } else {
    const parts = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(ttl.trim());
    if (!parts || ttl.trim() === '')
      throw invalid(`invalid ttl "${ttl}": use seconds or a duration like 2h, 30m, 1h30m`);
    seconds = ['d', 'h', 'm', 's'].reduce((sum, unit, i) => sum + Number(parts[i + 1] ?? 0) * UNIT_SECONDS[unit]!, 0);
  }
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > MAX_TTL_SECONDS) {
    throw invalid(`ttl must be between 1 second and ${MAX_TTL_SECONDS / 86400} days`);
  }
  return seconds;
}
