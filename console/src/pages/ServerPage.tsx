/**
 * Seed steps 5–9: the server's page; the gear next to its name opens the options, whose pause icon opens the
 * maintenance dialog. Clearing is in the same menu.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { call, clusterPath, describe, enc } from '../api.js';
import { GearIcon, PauseIcon, PlayIcon } from '../components/Icons.js';
import { ErrorText, StatusText } from '../components/Notice.js';
import { dash, inViewerZone } from '../format.js';
import { usePoll } from '../poll.js';
import { followLink, href } from '../router.js';
import type { ClaimJson, ServerJson, ServerList } from '../types.js';
import { MaintenanceDialog } from './MaintenanceDialog.js';

export function ServerPage({ cluster, server }: { cluster: string; server: string }) {
  const list = usePoll<ServerList>(`${clusterPath(cluster)}/servers`);
  const s = list.data?.servers.find((x) => x.name === server);
  const [menuOpen, setMenuOpen] = useState(false);
  const [dialogOpen, setDialogOpen] = useState(false);
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<string>();
  const gear = useRef<HTMLButtonElement>(null);
  const firstOption = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (menuOpen) firstOption.current?.focus();
  }, [menuOpen]);
  // A click elsewhere closes the options, as a popup's should.
  useEffect(() => {
    if (!menuOpen) return;
    const away = (event: PointerEvent) => {
      const target = event.target as Node;
      if (!menu.current?.contains(target) && !gear.current?.contains(target)) setMenuOpen(false);
    };
    document.addEventListener('pointerdown', away);
    return () => document.removeEventListener('pointerdown', away);
  }, [menuOpen]);

  const closeMenu = () => {
    setMenuOpen(false);
    gear.current?.focus();
  };

  const clear = async () => {
    setMenuOpen(false);
    setError(undefined);
    try {
      const after = await call<ServerJson>('DELETE', `${clusterPath(cluster)}/servers/${enc(server)}/maintenance`);
      // Only your claim goes: a window's, a rollout's or the dc's keeps the server out of service.
      const others = after.body.claims.map((c) => (c.scope === 'dc' ? `its dc (${c.holder})` : c.holder));
      setMessage(
        others.length > 0
          ? `Your maintenance of ${server} is cleared; it is still held by ${others.join(', ')}.`
          : `Your maintenance of ${server} is cleared.`,
      );
      list.refresh();
    } catch (e) {
      setError(describe(e));
    }
    gear.current?.focus();
  };

  return (
    <>
      <p class="crumbs">
        <a href={href('')} onClick={(e) => followLink(e, '')}>
          Dashboard
        </a>{' '}
        › {cluster}
      </p>
      <div class="title-row">
        <button
          ref={gear}
          type="button"
          class="icon"
          aria-label={`Options for ${server}`}
          title="Options"
          aria-expanded={menuOpen}
          aria-controls="server-options"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          <GearIcon />
        </button>
        <h1>{server}</h1>
      </div>
      {menuOpen && (
        // biome-ignore lint/a11y/useSemanticElements: a menu of buttons, not a form: a <fieldset> would read as one
        <div
          ref={menu}
          id="server-options"
          class="popup"
          role="group"
          aria-label={`Options for ${server}`}
          onKeyDown={(e) => {
            if (e.key === 'Escape') closeMenu();
          }}
        >
          <button
            type="button"
            class="icon"
            aria-label="Set maintenance"
            title="Set maintenance"
            ref={firstOption}
            onClick={() => {
              setMenuOpen(false);
              setMessage(undefined);
              setDialogOpen(true);
            }}
          >
            <PauseIcon />
          </button>
          <button type="button" class="icon" aria-label="Clear maintenance" title="Clear maintenance" onClick={clear}>
            <PlayIcon />
          </button>
        </div>
      )}
      {message && <StatusText>{message}</StatusText>}
      <ErrorText>{error ?? (list.error && describe(list.error))}</ErrorText>
      {list.data && !s && (
        <p>
          There is no server {server} in {cluster}.
        </p>
      )}
      {s && <ServerDetails server={s} />}
      {dialogOpen && s && (
        <MaintenanceDialog
          cluster={cluster}
          server={s}
          returnFocus={() => gear.current}
          onClose={() => setDialogOpen(false)}
          onDone={(text) => {
            setDialogOpen(false);
            setMessage(text);
            list.refresh();
          }}
        />
      )}
    </>
  );
}

function ServerDetails({ server: s }: { server: ServerJson }) {
  const rows: [string, unknown][] = [
    ['State', s.state],
    ['Role', s.role],
    ['DC', s.dc],
    ['Address', s.address],
    ['Port', s.port],
    ['Health', s.health],
    ['Connections', s.connections],
    ['Open transactions', s.openTransactions],
    ['Version', s.version],
    ['Replication lag (s)', s.replicationLagSeconds],
    ['Routable', s.routable ? 'yes' : 'no'],
    ['Electable', s.electable ? 'yes' : 'no'],
    ['Close connections', s.closeConnections ? 'yes: consumers close every connection to it' : 'no'],
    ['Proxy drift corrected', s.proxy],
    ['Last report', s.reportedAt && inViewerZone(s.reportedAt)],
  ];
  return (
    <>
      <dl class="facts">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd data-field={label}>{dash(value)}</dd>
          </div>
        ))}
      </dl>
      <h2>Claims</h2>
      {s.claims.length === 0 ? (
        <p>No one holds this server.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Holder</th>
                <th scope="col">On</th>
                <th scope="col">Mode</th>
                <th scope="col">Force</th>
                <th scope="col">Reason</th>
                <th scope="col">By</th>
                <th scope="col">Until</th>
                <th scope="col">Drain deadline</th>
              </tr>
            </thead>
            <tbody>
              {s.claims.map((c) => (
                <tr key={`${c.scope}-${c.holder}`}>
                  <td>{c.holder}</td>
                  <td>{dash(c.scope)}</td>
                  <td>{c.mode}</td>
                  <td>{c.force ? 'yes' : 'no'}</td>
                  <td>{dash(c.reason)}</td>
                  <td>{dash(c.actor)}</td>
                  <td>{c.until ? inViewerZone(c.until) : '—'}</td>
                  <td>{drainDeadline(c)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** When a graceful claim stops waiting for open transactions, and what happens then (`force`, or `hold`: it waits on). */
function drainDeadline(c: ClaimJson): string {
  if (c.mode !== 'maintenance' || c.force || !c.drainDeadline) return '—';
  return `${inViewerZone(c.drainDeadline)}, then ${c.onDeadline === 'force' ? 'forced' : 'held'}`;
}
