/** Display helpers. */
export const dash = (value: unknown) => (value === undefined || value === null || value === '' ? '—' : String(value));

/** An instant in the viewer's own time zone. */
export function inViewerZone(iso: string | undefined): string {
  if (!iso) return '—';
  // dateStyle/timeStyle may not be combined with timeZoneName: the fields one by one.
  return new Intl.DateTimeFormat(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(iso));
}

export const viewerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

export const splitList = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
