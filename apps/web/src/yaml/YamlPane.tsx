import { writePipeline } from '@patchbay/document';
import { exportPipelineYaml, importPipelineYaml } from '@patchbay/protocol';
import type { Pipeline, Problem } from '@patchbay/protocol';
import { useMemo, useState } from 'react';
import { kindCatalogOf } from '../api/catalog';
import { useSession } from '../session/session-context';
import { ProblemList } from '../ui/ProblemList';
import { showToast } from '../ui/toasts';
import { keepPositions } from './keep-positions';

/**
 * The session as pipeline YAML, live (byte-identical in every client: protocol's export over
 * the document's pipeline), with copy, download and import. Import checks the text against the
 * server's node catalogue first and changes nothing when there is any problem.
 */
export function YamlPane(props: { pipeline: Pipeline }) {
  const { conn, catalog, sessionId } = useSession();
  const yaml = useMemo(() => exportPipelineYaml(props.pipeline), [props.pipeline]);
  const [draft, setDraft] = useState<string | undefined>();
  const [problems, setProblems] = useState<Problem[] | undefined>();

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(yaml);
      showToast('info', 'YAML copied');
    } catch {
      showToast('error', 'the clipboard is not available here');
    }
  };

  const download = () => {
    const url = URL.createObjectURL(new Blob([yaml], { type: 'application/yaml' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${sessionId}.yml`;
    a.click();
    URL.revokeObjectURL(url);
  };

  const apply = () => {
    if (draft === undefined) return;
    const r = importPipelineYaml(draft, kindCatalogOf(catalog));
    if (!r.ok) {
      setProblems(r.error);
      return;
    }
    conn.beginGesture();
    writePipeline(conn.doc, keepPositions(r.value, props.pipeline), conn.origin);
    setProblems(undefined);
    setDraft(undefined);
    showToast('info', 'Pipeline replaced');
  };

  return (
    <div className="yaml-pane" data-testid="yaml-pane">
      <div className="toolbar">
        <button type="button" onClick={() => void copy()} data-testid="yaml-copy">
          Copy
        </button>
        <button type="button" onClick={download} data-testid="yaml-download">
          Download
        </button>
        {draft === undefined ? (
          <button type="button" onClick={() => setDraft(yaml)} data-testid="yaml-edit">
            Import…
          </button>
        ) : (
          <>
            <button type="button" className="primary" onClick={apply} data-testid="yaml-apply">
              Replace pipeline
            </button>
            <button
              type="button"
              onClick={() => {
                setDraft(undefined);
                setProblems(undefined);
              }}
              data-testid="yaml-cancel"
            >
              Cancel
            </button>
          </>
        )}
      </div>
      {problems ? (
        <ProblemList problem={{ code: 'bad_yaml', message: 'import refused', problems }} />
      ) : null}
      {draft === undefined ? (
        <pre className="yaml-text" data-testid="yaml-text">
          {yaml}
        </pre>
      ) : (
        <textarea
          className="yaml-text"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          spellCheck={false}
          data-testid="yaml-input"
        />
      )}
    </div>
  );
}
