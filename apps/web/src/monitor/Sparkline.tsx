/** A small SVG line of recent values. */
export function Sparkline(props: {
  values: readonly number[];
  width?: number;
  height?: number;
  label?: string;
}) {
  const w = props.width ?? 80;
  const h = props.height ?? 20;
  const v = props.values;
  if (v.length === 0) return <svg width={w} height={h} />;
  const min = Math.min(...v);
  const max = Math.max(...v);
  const span = max - min || 1;
  const step = v.length > 1 ? w / (v.length - 1) : 0;
  const points = v
    .map((y, i) => `${(i * step).toFixed(1)},${(h - 1 - ((y - min) / span) * (h - 2)).toFixed(1)}`)
    .join(' ');
  return (
    <svg
      width={w}
      height={h}
      className="sparkline"
      role="img"
      aria-label={props.label}
      data-testid="sparkline"
    >
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}
