import type { ApiProblem } from '../api/http';

/** A problem with every sub-problem, each naming its node. */
export function ProblemList(props: { problem: ApiProblem }) {
  const list = props.problem.problems ?? [props.problem];
  return (
    <ul className="problems" data-testid="problems">
      {list.map((p, i) => (
        <li key={i} data-testid="problem" data-node={p.node} data-code={p.code}>
          <code>{p.code}</code> {p.node ? <strong>{p.node}: </strong> : null}
          {p.message}
        </li>
      ))}
    </ul>
  );
}
