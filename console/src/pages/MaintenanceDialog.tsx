/** Seed steps 7–9: reason, optional TTL, "Force closing", "Maintain". A refusal shows the API's message. */
import { useState } from 'preact/hooks';
import { call, clusterPath, describe, enc } from '../api.js';
import { Dialog } from '../components/Dialog.js';
import { ErrorText } from '../components/Notice.js';
import type { ServerJson } from '../types.js';

interface Props {
  cluster: string;
  server: ServerJson;
  returnFocus: () => HTMLElement | null;
  onClose: () => void;
  onDone: (message: string) => void;
}

export function MaintenanceDialog({ cluster, server, returnFocus, onClose, onDone }: Props) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const reason = String(form.get('reason') ?? '').trim();
    const ttl = String(form.get('ttl') ?? '').trim();
    const force = form.get('force') === 'on';
    setBusy(true);
    setError(undefined);
    try {
      const after = await call<ServerJson>('PUT', `${clusterPath(cluster)}/servers/${enc(server.name)}/maintenance`, {
        force,
        ...(reason && { reason }),
        ...(ttl && { ttl: /^\d+$/.test(ttl) ? Number(ttl) : ttl }),
      });
      onDone(
        after.body.pending
          ? `${server.name} is draining: maintenance follows when its open transactions complete.`
          : `${server.name} is in maintenance.`,
      );
    } catch (e) {
      setError(describe(e));
      setBusy(false);
    }
  };

  return (
    <Dialog title={`Set ${server.name} to maintenance`} onClose={onClose} returnFocus={returnFocus}>
      <form method="dialog" onSubmit={submit}>
        <p class="muted">
          {server.role === 'primary'
            ? 'This is a primary: without force, open transactions complete before connections close.'
            : 'Routers stop sending it traffic, and it cannot be elected primary.'}
        </p>
        <label>
          Reason
          <input name="reason" maxLength={512} />
        </label>
        <label>
          TTL (optional, e.g. 2h or seconds)
          <input name="ttl" maxLength={32} />
        </label>
        <label class="check">
          <input type="checkbox" name="force" />
          Force closing
        </label>
        <ErrorText>{error}</ErrorText>
        <div class="actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            Maintain
          </button>
        </div>
      </form>
    </Dialog>
  );
}
