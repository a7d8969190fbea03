import { useSyncExternalStore } from 'react';
import { currentToasts, dismissToast, subscribeToasts } from './toasts';

export function ToastHost() {
  const toasts = useSyncExternalStore(subscribeToasts, currentToasts);
  return (
    <div className="toasts" role="status">
      {toasts.map((t) => (
        <div
          key={t.id}
          className={`toast toast-${t.kind}`}
          data-testid="toast"
          data-kind={t.kind}
          data-code={t.code}
          onClick={() => dismissToast(t.id)}
        >
          {t.code ? <code>{t.code}</code> : null} {t.message}
        </div>
      ))}
    </div>
  );
}
