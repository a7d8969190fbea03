/**
 * Who a request is. Tokens with roles (admin, editor, viewer) come from a JSON file
 * (`PATCHBAY_TOKENS_FILE`) or the environment (`PATCHBAY_TOKENS="token:name:role,…"`). With
 * neither, the server is open: every request is the admin user "local" (single-user mode,
 * logged at start).
 *
 * File format: `{"tokens": [{"token", "name", "role"}], "allowedKinds": {"editor": ["audio::*"]}}`
 * (a bare list of tokens is accepted too). `allowedKinds` is the per-role node-kind allowlist:
 * exact kinds or `category::*`; a role without an entry may add every kind.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { err, ok, problem } from '@patchbay/protocol';
import type { Problem, Result } from '@patchbay/protocol';
import { Role } from '../host/server-context';
import type { Identity } from '../host/server-context';

/** The identity of every request in open (single-user) mode. */
export const LOCAL_IDENTITY: Identity = Object.freeze({
  userId: 'local',
  name: 'local',
  role: Role.admin,
  color: '#3b82f6',
});

const ROLES: readonly string[] = Object.values(Role);
const PALETTE = [
  '#ef4444',
  '#f59e0b',
  '#10b981',
  '#3b82f6',
  '#8b5cf6',
  '#ec4899',
  '#14b8a6',
  '#84cc16',
];

export interface TokenEntry {
  readonly token: string;
  readonly name: string;
  readonly role: Role;
}

/** Where tokens came from, and the per-role allowlists. */
export interface AuthConfig {
  /** Empty: open single-user mode. */
  readonly tokens: readonly TokenEntry[];
  readonly allowedKinds?: Readonly<Partial<Record<Role, readonly string[]>>>;
}

/** Parses `PATCHBAY_TOKENS` (`token:name:role,…`). */
export function parseTokensEnv(value: string): Result<TokenEntry[]> {
  const entries: TokenEntry[] = [];
  for (const [i, raw] of value.split(',').entries()) {
    const part = raw.trim();
    if (part === '') continue;
    const [token, name, role, ...extra] = part.split(':');
    if (!token || !name || !role || extra.length > 0) {
      return err(
        problem('bad_request', `PATCHBAY_TOKENS entry ${i + 1}: expected token:name:role`),
      );
    }
    if (!ROLES.includes(role)) {
      return err(
        problem(
          'bad_request',
          `PATCHBAY_TOKENS entry ${i + 1}: role must be admin, editor or viewer`,
        ),
      );
    }
    entries.push({ token, name, role: role as Role });
  }
  return checkEntries(entries, 'PATCHBAY_TOKENS');
}

/** Parses the tokens file's JSON text. */
export function parseTokensFile(text: string, where = 'tokens file'): Result<AuthConfig> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return err(problem('bad_request', `${where}: not valid JSON`));
  }
  const list = Array.isArray(data) ? data : isRecord(data) ? data.tokens : undefined;
  if (!Array.isArray(list))
    return err(problem('bad_request', `${where}: expected {"tokens": [...]}`));
  const entries: TokenEntry[] = [];
  for (const [i, item] of list.entries()) {
    if (
      !isRecord(item) ||
      typeof item.token !== 'string' ||
      item.token === '' ||
      typeof item.name !== 'string' ||
      item.name === '' ||
      typeof item.role !== 'string' ||
      !ROLES.includes(item.role)
    ) {
      return err(
        problem(
          'bad_request',
          `${where}: token ${i + 1} needs token, name and role (admin|editor|viewer)`,
        ),
      );
    }
    entries.push({ token: item.token, name: item.name, role: item.role as Role });
  }
  const checked = checkEntries(entries, where);
  if (!checked.ok) return checked;
  const allowed: Partial<Record<Role, string[]>> = {};
  const rawAllowed = isRecord(data) ? data.allowedKinds : undefined;
  if (rawAllowed !== undefined) {
    if (!isRecord(rawAllowed))
      return err(problem('bad_request', `${where}: allowedKinds must be a map role → kinds`));
    for (const [role, kinds] of Object.entries(rawAllowed)) {
      if (
        !ROLES.includes(role) ||
        !Array.isArray(kinds) ||
        !kinds.every((k) => typeof k === 'string')
      ) {
        return err(
          problem(
            'bad_request',
            `${where}: allowedKinds.${role} must be a list of kinds for a known role`,
          ),
        );
      }
      allowed[role as Role] = kinds as string[];
    }
  }
  return ok({ tokens: checked.value, allowedKinds: allowed });
}

function checkEntries(entries: TokenEntry[], where: string): Result<TokenEntry[]> {
  const tokens = new Set<string>();
  const names = new Set<string>();
  for (const e of entries) {
    if (tokens.has(e.token))
      return err(problem('bad_request', `${where}: a token is listed twice`));
    if (names.has(e.name))
      return err(problem('bad_request', `${where}: name ${e.name} is listed twice`));
    tokens.add(e.token);
    names.add(e.name);
  }
  return ok(entries);
}

/** Reads the configuration from the environment: the file wins over the variable. */
export function loadAuthConfig(
  env: Readonly<Record<string, string | undefined>>,
): Result<AuthConfig> {
  const file = env.PATCHBAY_TOKENS_FILE;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      return err(problem('bad_request', `PATCHBAY_TOKENS_FILE ${file}: ${(e as Error).message}`));
    }
    return parseTokensFile(text, `PATCHBAY_TOKENS_FILE ${file}`);
  }
  const inline = env.PATCHBAY_TOKENS;
  if (inline) {
    const parsed = parseTokensEnv(inline);
    return parsed.ok ? ok({ tokens: parsed.value }) : parsed;
  }
  return ok({ tokens: [] });
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Resolves tokens to identities and answers role questions. */
export class Authenticator {
  readonly #byDigest = new Map<string, { digest: Buffer; identity: Identity }>();
  readonly #allowed: Readonly<Partial<Record<Role, readonly string[]>>>;

  constructor(config: AuthConfig) {
    config.tokens.forEach((t, i) => {
      const d = digest(t.token);
      this.#byDigest.set(d.toString('hex'), {
        digest: d,
        identity: Object.freeze({
          userId: t.name,
          name: t.name,
          role: t.role,
          color: PALETTE[i % PALETTE.length] as string,
        }),
      });
    });
    this.#allowed = config.allowedKinds ?? {};
  }

  /** Open single-user mode: no tokens configured, everyone is the admin "local". */
  get open(): boolean {
    return this.#byDigest.size === 0;
  }

  /** The identity of a token; `unauthorized` when missing or unknown (never in open mode). */
  authenticate(token: string | undefined): Result<Identity> {
    if (this.open) return ok(LOCAL_IDENTITY);
    if (token === undefined || token === '') {
      return err(problem('unauthorized', 'a token is required: Authorization: Bearer <token>'));
    }
    // Looked up by digest (fixed length), then compared in constant time.
    const d = digest(token);
    const hit = this.#byDigest.get(d.toString('hex'));
    if (!hit || !timingSafeEqual(hit.digest, d))
      return err(problem('unauthorized', 'unknown token'));
    return ok(hit.identity);
  }

  /** Whether `role` may add nodes of `kind` (the per-role allowlist). */
  kindAllowed(role: Role, kind: string): boolean {
    const list = this.#allowed[role];
    if (list === undefined) return true;
    return list.some((k) => k === kind || (k.endsWith('::*') && kind.startsWith(k.slice(0, -1))));
  }

  /** A Problem when `identity` may not add `kind`. */
  checkKind(identity: Identity, kind: string, node?: string): Problem | undefined {
    if (this.kindAllowed(identity.role, kind)) return undefined;
    return problem('kind_not_allowed', `role ${identity.role} may not add ${kind} nodes`, node);
  }
}

/**
 * The token of a request: `Authorization: Bearer <token>`, or `?token=` on a WebSocket upgrade
 * (browsers cannot set headers on a WebSocket). Query tokens elsewhere are ignored so they do
 * not end up in ordinary request logs and links.
 */
export function requestToken(req: Request): string | undefined {
  const header = req.headers.get('authorization');
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (m) return m[1];
  }
  if (req.headers.get('upgrade')?.toLowerCase() === 'websocket') {
    const q = new URL(req.url).searchParams.get('token');
    if (q) return q;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
