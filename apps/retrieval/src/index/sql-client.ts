import pg from 'pg';

/** The few calls the pgvector index makes: the `pg` client and an in-process PGlite both fit. */
export interface SqlClient {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  close(): Promise<void>;
}

/** A database URL that is wrong, down or refuses us: says which (password hidden) and why. */
export class DatabaseConnectionError extends Error {
  override readonly name = 'DatabaseConnectionError';
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`cannot use the database at ${url}: ${reason}`);
  }
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db` (for messages). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

export interface ConnectOptions {
  /** Give up connecting after this long (a host that drops packets would hang for minutes). Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Cancel any query running longer. Default 60 000 ms. */
  queryTimeoutMs?: number;
}

/**
 * Connects to PostgreSQL with the standard `pg` client, or opens an in-process PGlite (with the
 * pgvector extension) for a `pglite://<folder>` URL (`pglite://memory` keeps it in memory).
 * Connection problems become a `DatabaseConnectionError` within `connectTimeoutMs`.
 *
 * ```ts
 * const db = await connectSql('postgres://postgres@localhost:5432/postgres');
 * await db.query('SELECT 1');
 * ```
 */
export async function connectSql(url: string, options: ConnectOptions = {}): Promise<SqlClient> {
  const shown = redactUrl(url);
  if (url.startsWith('pglite://')) {
    const { PGlite } = await import('@electric-sql/pglite');
    const { vector } = await import('@electric-sql/pglite-pgvector');
    const where = url.slice('pglite://'.length);
    const db = await PGlite.create(where === 'memory' || where === '' ? undefined : where, {
      extensions: { vector },
    });
    return fromPglite(db);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseConnectionError(
      shown,
      'not a URL (expected postgres://user:password@host:port/database)',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new DatabaseConnectionError(
      shown,
      `unsupported scheme '${parsed.protocol}' (use postgres:// or pglite://)`,
    );
  }
  const timeout = options.connectTimeoutMs ?? 5000;
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeout,
    query_timeout: options.queryTimeoutMs ?? 60_000,
  });
  // Without a listener a socket error after connecting would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    const err = e as NodeJS.ErrnoException;
    const reason =
      err.code === 'ECONNREFUSED'
        ? 'connection refused (is the server running?)'
        : err.code === 'ENOTFOUND'
          ? `host '${parsed.hostname}' not found`
          : /timeout/i.test(err.message)
            ? `no answer within ${timeout} ms`
            : err.message;
    throw new DatabaseConnectionError(shown, reason);
  }
  return {
    query: async <R>(sql: string, params?: unknown[]) => {
      const r = await client.query(sql, params);
      return { rows: r.rows as R[] };
    },
    close: async () => {
      await client.end();
    },
  };
}

/** Wraps an open PGlite (tests, `pglite://` URLs) as a `SqlClient`. */
export function fromPglite(db: {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  close(): Promise<void>;
}): SqlClient {
  return {
    query: <R>(sql: string, params?: unknown[]) => db.query<R>(sql, params),
    close: () => db.close(),
  };
}
