/** App-wide toasts: errors the server reports that do not belong to one node, and notices. */
export interface Toast {
  readonly id: number;
  readonly kind: 'error' | 'info';
  readonly message: string;
  readonly code?: string;
}

/** How long a toast stays. */
export const TOAST_MS = 6000;

let next = 1;
let toasts: readonly Toast[] = [];
const listeners = new Set<() => void>();

function emit(): void {
  for (const l of listeners) l();
}

export function showToast(kind: Toast['kind'], message: string, code?: string): void {
  const toast: Toast = { id: next++, kind, message, ...(code !== undefined ? { code } : {}) };
  toasts = [...toasts.slice(-4), toast];
  emit();
  setTimeout(() => dismissToast(toast.id), TOAST_MS);
}

export function dismissToast(id: number): void {
  toasts = toasts.filter((t) => t.id !== id);
  emit();
}

export function subscribeToasts(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function currentToasts(): readonly Toast[] {
  return toasts;
}
