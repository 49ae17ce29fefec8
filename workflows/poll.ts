/**
 * How long a polling state waits between two checks (`asl.ts`: Wait `<Name>`, then Wait `<Name>Again` as long as
 * the check answers). Apart from the machines: the task function computes it, and carries no XState.
 */

/** The longest wait between two checks: a step that has waited long is checked every 10 minutes. */
export const MAX_POLL_SECONDS = 600;

/**
 * The wait before the next check of a step that has waited `waitedSeconds`: the state's own interval at first,
 * then a tenth of the time waited, at most `MAX_POLL_SECONDS`. Each check is 9 events of the execution's history
 * (limited to 25,000), so a week of waiting is about 1,100 checks instead of 60,000.
 */
export function pollWaitSeconds(baseSeconds: number, waitedSeconds: number): number {
  return Math.round(Math.min(MAX_POLL_SECONDS, Math.max(baseSeconds, waitedSeconds / 10)));
}
