// Names of one kind of Slack id (users, bots, channels) for enrich: a map, the unresolvable ids, one lookup per missing id.

/**
 * Names of one kind of id: a map, the ids known to be unresolvable, and lookups of missing ids — at most one call per
 * id, shared by concurrent requests; a failure counts as unknown and never fails the run.
 */
export class NameResolver<Result> {
  readonly names = new Map<string, string>();
  private readonly unknown = new Set<string>();
  private readonly pending = new Map<string, Promise<void>>();
  /** Ids met while rewriting the current document that need a lookup before it can be finished. */
  readonly missing: string[] = [];
  lookups = 0;
  failures = 0;

  constructor(
    private readonly lookup: ((id: string) => Promise<Result | null>) | undefined,
    private readonly lookupWorthy: RegExp,
    private readonly nameOf: (result: Result, id: string) => string | null,
  ) {}

  get unknownCount(): number {
    return this.unknown.size;
  }

  /** The name, or undefined (the id is then queued for a lookup, or recorded as unknown). */
  resolve(id: string): string | undefined {
    const name = this.names.get(id);
    if (name !== undefined) return name;
    if (!this.unknown.has(id)) {
      if (this.lookup !== undefined && this.lookupWorthy.test(id)) {
        if (!this.missing.includes(id)) this.missing.push(id);
      } else this.unknown.add(id);
    }
    return undefined;
  }

  /** Looks up the queued ids. */
  resolveMissing(): Promise<unknown> {
    const ids = this.missing.splice(0, this.missing.length);
    return Promise.all(ids.map((id) => this.lookupOnce(id)));
  }

  private lookupOnce(id: string): Promise<void> {
    let pending = this.pending.get(id);
    if (pending === undefined) {
      this.lookups++;
      pending = (async () => {
        try {
          const result = await this.lookup!(id);
          const name = result ? this.nameOf(result, id) : null;
          if (name !== null && name !== '') this.names.set(id, name);
          else this.unknown.add(id);
        } catch {
          this.failures++;
          this.unknown.add(id);
        } finally {
          this.pending.delete(id);
        }
      })();
      this.pending.set(id, pending);
    }
    return pending;
  }
}
