/** A window's JSON (docs/windows.md), validated: the schedule, zone and duration in Scheduler's terms, the targets, the rollout. */
import * as z from '../zod.js';
import { invalid } from '../domain/errors.js';
import { DC_NAME, MAX_SERVERS_PER_CLUSTER, SERVER_NAME } from '../domain/names.js';
import { parseSchedule, parseWindowDuration } from '../domain/schedule.js';
import { WINDOW_ACTIONS, type MaintenanceWindow } from '../domain/windows.js';
import { validate } from '../validate.js';
import type { UpgradeAllowlist } from '../rollout/allowlist.js';
import { parseRolloutInput } from '../rollout/input.js';

export const windowBody = z.strictObject({
  name: z
    .string()
    .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/, 'must be 1 to 64 letters, digits, spaces, _ . -')),
  schedule: z.string().check(z.minLength(1), z.maxLength(256)),
  timezone: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  startDate: z.optional(z.iso.datetime({ offset: true, local: true })),
  duration: z.string().check(z.minLength(1), z.maxLength(32)),
  action: z.optional(z.enum(WINDOW_ACTIONS)),
  targets: z.optional(
    z.strictObject({
      servers: z.optional(z.array(z.string().check(z.regex(SERVER_NAME))).check(z.maxLength(MAX_SERVERS_PER_CLUSTER))),
      dcs: z.optional(z.array(z.string().check(z.regex(DC_NAME))).check(z.maxLength(64))),
    }),
  ),
  reason: z.optional(z.string().check(z.maxLength(512))),
  enabled: z.optional(z.boolean()),
  rollout: z.optional(z.record(z.string(), z.unknown())),
});

/** The window a body describes (the record's bookkeeping fields are the caller's). */
export function parseWindow(
  value: unknown,
  ids: { id: string; cluster: string; actor: string; now: number },
  allow: UpgradeAllowlist,
): MaintenanceWindow {
  const body = validate(windowBody, value, 'body');
  const timezone = body.timezone ?? 'UTC';
  parseSchedule(body.schedule, timezone, ids.now, body.startDate);
  const action = body.action ?? 'maintenance';
  if ((action === 'rollout') !== (body.rollout !== undefined))
    throw invalid(
      action === 'rollout'
        ? 'rollout: a rollout window needs a rollout body (the rollout input)'
        : 'rollout: only a rollout window takes a rollout body',
    );
  const rollout =
    body.rollout && parseRolloutInput({ ...body.rollout, cluster: body.rollout.cluster ?? ids.cluster }, allow);
  if (rollout?.cluster !== undefined && rollout.cluster !== ids.cluster)
    throw invalid(`rollout.cluster ${rollout.cluster} differs from the window's cluster ${ids.cluster}`);
  return {
    id: ids.id,
    cluster: ids.cluster,
    name: body.name,
    schedule: body.schedule.trim(),
    timezone,
    ...(body.startDate !== undefined && { startDate: body.startDate }),
    duration: body.duration,
    durationMs: parseWindowDuration(body.duration),
    action,
    targets: { servers: body.targets?.servers ?? [], dcs: body.targets?.dcs ?? [] },
    ...(body.reason !== undefined && { reason: body.reason }),
    enabled: body.enabled ?? true,
    ...(rollout && { rollout: rollout.input }),
    actor: ids.actor,
    createdAt: ids.now,
    updatedAt: ids.now,
    version: 0,
  };
}
