import { SessionInfoSchema } from '@patchbay/protocol';
import type { SessionInfo } from '@patchbay/protocol';
import { useCallback, useEffect, useState } from 'react';
import { apiFetch } from '../api/http';
import type { ApiProblem } from '../api/http';
import { routePath } from '../router/route';
import { navigate } from '../router/use-route';
import { controlClient } from '../session/control';
import { Link } from '../ui/Link';
import { showToast } from '../ui/toasts';
import { SAMPLES } from './samples';
import { ProblemList } from '../ui/ProblemList';

function readSessions(body: unknown): SessionInfo[] {
  const list = (body as { sessions?: unknown } | null)?.sessions;
  if (!Array.isArray(list)) return [];
  return list.flatMap((s) => {
    const p = SessionInfoSchema.safeParse(s);
    return p.success ? [p.data] : [];
  });
}

/** `/`: every session, and creating one (empty, pasted YAML or a sample). */
export function SessionsPage() {
  const [sessions, setSessions] = useState<SessionInfo[] | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();

  const refresh = useCallback(async () => {
    const r = await apiFetch('/api/v1/sessions');
    if (r.ok) {
      setSessions(readSessions(r.value));
      setLoadError(undefined);
    } else setLoadError(r.error.message);
  }, []);

  useEffect(() => {
    void refresh();
    // Sessions other people create or delete show up without a reload.
    const control = controlClient();
    return control.onEvent((e) => {
      if (e.type === 'session_created' || e.type === 'session_deleted') void refresh();
    });
  }, [refresh]);

  const remove = async (s: SessionInfo) => {
    if (!window.confirm(`Delete session “${s.name}”? This stops it for everyone.`)) return;
    const r = await apiFetch(`/api/v1/sessions/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
    if (!r.ok) showToast('error', r.error.message, r.error.code);
    await refresh();
  };

  const share = async (s: SessionInfo) => {
    const url = new URL(routePath({ page: 'editor', sessionId: s.id }), window.location.origin);
    try {
      await navigator.clipboard.writeText(url.toString());
      showToast('info', `Link copied: ${url.toString()}`);
    } catch {
      window.prompt('Copy this link', url.toString());
    }
  };

  return (
    <div className="sessions-page">
      <section className="card">
        <h2>Sessions</h2>
        {loadError ? (
          <p className="error" data-testid="sessions-error">
            {loadError}
          </p>
        ) : null}
        {sessions === undefined ? <p>Loading…</p> : null}
        {sessions?.length === 0 ? <p data-testid="sessions-empty">No sessions yet.</p> : null}
        <ul className="session-list" data-testid="session-list">
          {sessions?.map((s) => (
            <li key={s.id} data-testid="session-item" data-session-id={s.id}>
              <Link
                to={{ page: 'editor', sessionId: s.id }}
                className="session-name"
                testId="session-open"
              >
                {s.name || s.id}
              </Link>
              <span className="muted">{s.id}</span>
              <Link to={{ page: 'monitor', sessionId: s.id }} testId="session-monitor">
                Monitor
              </Link>
              <button type="button" onClick={() => void share(s)} data-testid="session-share">
                Copy link
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => void remove(s)}
                data-testid="session-delete"
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      </section>
      <CreateSession onCreated={(s) => navigate({ page: 'editor', sessionId: s.id })} />
    </div>
  );
}

function CreateSession(props: { onCreated: (s: SessionInfo) => void }) {
  const [name, setName] = useState('');
  const [yaml, setYaml] = useState('');
  const [problem, setProblem] = useState<ApiProblem | undefined>();
  const [busy, setBusy] = useState(false);

  const create = async () => {
    setBusy(true);
    setProblem(undefined);
    const body: { name?: string; yaml?: string } = {};
    if (name.trim() !== '') body.name = name.trim();
    if (yaml.trim() !== '') body.yaml = yaml;
    const r = await apiFetch('/api/v1/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    setBusy(false);
    if (!r.ok) {
      setProblem(r.error);
      return;
    }
    const s = SessionInfoSchema.safeParse(r.value);
    if (s.success) props.onCreated(s.data);
  };

  return (
    <section className="card">
      <h2>New session</h2>
      <label>
        Name
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          data-testid="create-name"
          placeholder="Untitled"
        />
      </label>
      <label>
        From a sample
        <select
          data-testid="create-sample"
          value=""
          onChange={(e) => {
            const sample = SAMPLES.find((s) => s.id === e.target.value);
            if (sample) {
              setYaml(sample.yaml);
              if (name === '') setName(sample.id);
            }
          }}
        >
          <option value="">Choose…</option>
          {SAMPLES.map((s) => (
            <option key={s.id} value={s.id}>
              {s.id}
            </option>
          ))}
        </select>
      </label>
      <label>
        Pipeline YAML (empty for an empty session)
        <textarea
          value={yaml}
          onChange={(e) => setYaml(e.target.value)}
          rows={10}
          spellCheck={false}
          data-testid="create-yaml"
        />
      </label>
      {problem ? <ProblemList problem={problem} /> : null}
      <button
        type="button"
        className="primary"
        disabled={busy}
        onClick={() => void create()}
        data-testid="create-submit"
      >
        Create session
      </button>
    </section>
  );
}
