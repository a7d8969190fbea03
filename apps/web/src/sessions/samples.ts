/** The repository's sample pipelines, offered when creating a session. */
const files = import.meta.glob('../../../../samples/*.yml', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

export interface Sample {
  readonly id: string;
  readonly yaml: string;
}

export const SAMPLES: readonly Sample[] = Object.entries(files)
  .map(([path, yaml]) => ({ id: path.replace(/^.*\//, '').replace(/\.yml$/, ''), yaml }))
  .sort((a, b) => (a.id < b.id ? -1 : 1));
