/**
 * Only one agent acts for a cluster (switchover, proxy states, upgrade commands): the one holding its lease. A
 * lease is taken when free, expired or already the holder's, and lapses unless renewed, so a second agent started
 * by mistake only reports, and takes over when the first one stops.
 */
export interface AgentLease {
  holder: string;
  /** Epoch ms. */
  until: number;
}

export const MAX_AGENT_LEASE_SECONDS = 300;
