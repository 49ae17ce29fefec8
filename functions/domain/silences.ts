/**
 * Alert silences for maintenance (issue 17 #3), as pure rules: which maintenance claims an audit event starts,
 * changes or ends, the matchers a cluster's template gives for a target, and when a silence should end.
 * One silence per claim: a claim is its target, its holder and its `since` (a claim set again later is another).
 */
import { invalid } from './errors.js';
import type { AuditEvent, Claim, Claims } from './model.js';

/** A silence for a claim without `until` ends this long after it was last renewed… */
export const ROLLING_SILENCE_MS = 60 * 60_000;
/** …and is renewed once less than this is left (the reconciler runs every minute). */
export const RENEW_BEFORE_MS = 30 * 60_000;

export type TargetKind = 'server' | 'dc' | 'cluster';
export const TARGET_KINDS: readonly TargetKind[] = ['server', 'dc', 'cluster'];

/** Alertmanager API v2's matcher. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

/** Per target kind, matcher strings with placeholders: `instance=~"{server}:.*"`, `cluster="{cluster}"`. */
export type SilenceTemplate = Partial<Record<TargetKind, string[]>>;

const PLACEHOLDERS = ['cluster', 'server', 'dc', 'address', 'port'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
export type TemplateValues = Partial<Record<Placeholder, string>>;

/** Only what PromQL's label matchers allow: a label name, one of = != =~ !~, a double-quoted value. */
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

/** Parses one template matcher (placeholders still in it); throws a 400 naming it. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw invalid(`invalid matcher ${text}: write name="value", name!="value", name=~"regex" or name!~"regex"`);
  const [, name, op, quoted] = m as unknown as [string, string, string, string];
  for (const [, placeholder] of quoted.matchAll(/\{([a-z]+)\}/g))
    if (!(PLACEHOLDERS as readonly string[]).includes(placeholder!))
      throw invalid(`invalid matcher ${text}: unknown placeholder {${placeholder}} (${PLACEHOLDERS.join(', ')})`);
  const matcher = {
    name,
    value: quoted.replace(/\\(.)/g, '$1'),
    isRegex: op === '=~' || op === '!~',
    isEqual: op === '=' || op === '=~',
  };
  if (matcher.isRegex && !compiles(matcher.value.replace(/\{[a-z]+\}/g, 'x')))
    throw invalid(`invalid matcher ${text}: the regex does not compile`);
  return matcher;
}

function compiles(regex: string): boolean {
  try {
    new RegExp(regex);
    return true;
  } catch {
    return false;
  }
}

/** Go's RE2 and JavaScript agree on these metacharacters: a name put into a regex matches only itself. */
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The template's matchers for one target. Placeholders are replaced (escaped in a regex); a matcher naming a
 * placeholder the target does not have (a server without an address) makes the whole silence impossible:
 * undefined, rather than a silence broader than asked.
 */
export function renderMatchers(template: readonly string[], values: TemplateValues): Matcher[] | undefined {
  const out: Matcher[] = [];
  for (const text of template) {
    const matcher = parseMatcher(text);
    let missing = false;
    const value = matcher.value.replace(/\{([a-z]+)\}/g, (_, p: Placeholder) => {
      const v = values[p];
      if (v === undefined) missing = true;
      return v === undefined ? '' : matcher.isRegex ? escapeRegex(v) : v;
    });
    if (missing) return undefined;
    out.push({ ...matcher, value });
  }
  // Alertmanager refuses a silence whose matchers all match the empty string; so does this.
  return out.some((m) => m.isEqual && (m.isRegex ? !new RegExp(`^(?:${m.value})$`).test('') : m.value !== ''))
    ? out
    : undefined;
}

/** Checks a template as given to the API: each matcher parses, and each kind has one that selects something. */
export function checkTemplate(template: SilenceTemplate): void {
  for (const kind of TARGET_KINDS) {
    const matchers = template[kind];
    if (!matchers) continue;
    for (const text of matchers) parseMatcher(text);
    const sample = renderMatchers(matchers, { cluster: 'c', server: 's', dc: 'd', address: 'a', port: '1' });
    if (!sample)
      throw invalid(`${kind}: at least one matcher must be = or =~ on a non-empty value (Alertmanager refuses others)`);
  }
}

/** One maintenance claim as the silence sees it. */
export interface ClaimRef {
  /** `server:db2`, `dc:dc1` or `cluster`, as events name targets. */
  target: string;
  holder: string;
  since: number;
  actor: string;
  reason?: string;
  until?: number;
}

export const claimKey = (c: Pick<ClaimRef, 'target' | 'holder' | 'since'>) => `${c.target}#${c.holder}#${c.since}`;

export function targetKind(target: string): TargetKind | undefined {
  if (target === 'cluster') return 'cluster';
  const kind = target.slice(0, target.indexOf(':'));
  return kind === 'server' || kind === 'dc' ? kind : undefined;
}

/** The placeholders' values for an event's target, from what the event recorded of it. */
export function templateValues(cluster: string, target: string, projection: unknown): TemplateValues {
  const values: TemplateValues = { cluster };
  const kind = targetKind(target);
  const name = target.slice(target.indexOf(':') + 1);
  const p = (projection ?? {}) as { dc?: string; address?: string; port?: number };
  if (kind === 'server') {
    values.server = name;
    if (p.dc !== undefined) values.dc = p.dc;
    if (p.address !== undefined) values.address = p.address;
    if (p.port !== undefined) values.port = String(p.port);
  } else if (kind === 'dc') values.dc = name;
  return values;
}

/** What the placeholders read of a target, besides its name. */
const PLACEHOLDER_FIELDS = ['address', 'port', 'dc'] as const;

/** Maintenance claims only: a drain keeps the server up and watched. */
function maintenanceClaims(projection: unknown): Claims {
  const claims = (projection as { claims?: Claims } | null)?.claims ?? {};
  return Object.fromEntries(Object.entries(claims).filter(([, c]) => c.mode === 'maintenance'));
}

const ref = (target: string, holder: string, c: Claim): ClaimRef => ({
  target,
  holder,
  since: c.since,
  actor: c.actor,
  ...(c.reason !== undefined && { reason: c.reason }),
  ...(c.until !== undefined && { until: c.until }),
});

export interface ClaimChanges {
  /** Claims the event starts or changes (another reason or until): the silence is made or brought in line. */
  live: ClaimRef[];
  /** Claims the event ends: their silences expire. */
  ended: ClaimRef[];
}

/**
 * What an audit event does to maintenance claims, read from its own before and after (so any event that changes
 * claims counts, whatever its action: a set, a window's start, the sweeper's expiry, a removed server).
 */
export function claimChanges(event: Pick<AuditEvent, 'target' | 'before' | 'after'>): ClaimChanges {
  const before = maintenanceClaims(event.before);
  const after = maintenanceClaims(event.after);
  // A server's address, port or dc changed: every claim's matchers may read otherwise now.
  const moved = PLACEHOLDER_FIELDS.some(
    (f) =>
      (event.before as Record<string, unknown> | null)?.[f] !== (event.after as Record<string, unknown> | null)?.[f],
  );
  const live: ClaimRef[] = [];
  const ended: ClaimRef[] = [];
  for (const [holder, claim] of Object.entries(after)) {
    const old = before[holder];
    if (!old || moved || old.since !== claim.since || old.reason !== claim.reason || old.until !== claim.until)
      live.push(ref(event.target, holder, claim));
    if (old && old.since !== claim.since) ended.push(ref(event.target, holder, old));
  }
  for (const [holder, claim] of Object.entries(before))
    if (!after[holder]) ended.push(ref(event.target, holder, claim));
  return { live, ended };
}

/**
 * When the silence should end: the claim's `until`, or a rolling end renewed while the claim lasts. Undefined:
 * the silence as it is needs no change (`current` is the end Alertmanager has).
 */
export function wantedEnd(until: number | undefined, current: number | undefined, now: number): number | undefined {
  if (until !== undefined) return until === current ? undefined : until;
  if (current !== undefined && current - now > RENEW_BEFORE_MS) return undefined;
  return now + ROLLING_SILENCE_MS;
}

/** The comment Alertmanager shows, ending with the claim's key so a silence made by a lost attempt is found again. */
export const silenceComment = (cluster: string, c: ClaimRef) =>
  `${c.reason ?? 'maintenance'} (maintctl: ${cluster} ${c.target}, ${c.holder}) [maintctl:${cluster}/${claimKey(c)}]`;
export const commentMarker = (cluster: string, key: string) => `[maintctl:${cluster}/${key}]`;
