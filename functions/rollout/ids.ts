/** Rollout and window ids sort by creation time, to the millisecond: `20261122-041100123-3f9a`. */
export function newTimeId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 18);
  return `${stamp}-${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
}
