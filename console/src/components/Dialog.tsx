/**
 * A modal dialog on the native <dialog>: the page behind is inert, Tab cycles within it, Escape closes it, and
 * focus goes back to where it came from.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

const FOCUSABLE =
  'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

interface DialogProps {
  title: string;
  onClose: () => void;
  /** Where focus goes when the dialog closes (default: the element focused when it opened). */
  returnFocus?: () => HTMLElement | null | undefined;
  children: ComponentChildren;
}

export function Dialog({ title, onClose, returnFocus, children }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  /** Keys pressed down inside the dialog: a keystroke that began outside (the Enter that opened it) acts not here. */
  const keysDown = useRef(new Set<string>());
  /** Cleared on unmount: closing it then fires a late 'close' event that must not close the next dialog. */
  const mounted = useRef(true);
  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
    dialog.querySelector<HTMLElement>(`[autofocus], ${FOCUSABLE}`)?.focus();
    return () => {
      mounted.current = false;
      if (dialog.open) dialog.close();
      (returnFocus?.() ?? opener)?.focus();
    };
    // Opened once per mount: the effect must not re-run when the callbacks change.
  }, []);

  const onKeyDown = (event: KeyboardEvent) => {
    keysDown.current.add(event.key);
    if (event.key !== 'Tab') return;
    const items = [...ref.current!.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) return;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onKeyDown={onKeyDown}
      onKeyUp={(event) => keysDown.current.delete(event.key)}
      onKeyPressCapture={(event) => {
        // Else the Enter that opened the dialog would submit its form (implicit submission on keypress).
        if (!keysDown.current.has(event.key)) event.preventDefault();
      }}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      // Chrome may close it on Escape without a cancelable cancel event (no user activation): follow it.
      onClose={() => mounted.current && onClose()}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}
