/** Every family's operations, for the local server (the Lambda entries import their own family only). */
import type { Operations } from '../http/handler.js';
import type { Family } from '../http/routes.js';
import { operations as clusters } from './clusters.js';
import { operations as events } from './events.js';
import { operations as health } from './health.js';
import { operations as maintenance } from './maintenance.js';
import { operations as tokens } from './tokens.js';

export const FAMILY_OPERATIONS: Record<Family, Operations> = { health, clusters, maintenance, events, tokens };
