/** Drops keys whose value is `undefined`, so `{ ...defaults, ...options }` keeps the defaults. */
export function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
