/**
 * The token a reader returns. Its value lives in a private field so that no ordinary way of
 * showing an object (console.log, util.inspect, JSON.stringify, template strings, object spread,
 * structuredClone) can print it: only the `accessToken` getter hands it out, for the one place
 * it belongs, the provider call's Authorization header.
 */
import type { InspectOptionsStylized, inspect as Inspect } from 'node:util';

/** What stands for the token wherever a Token is shown. */
export const REDACTED = '[redacted]';

/** What a reader knows about a token when it builds one. */
export interface TokenFields {
  readonly userId: string;
  readonly platform: string;
  readonly accessToken: string;
  readonly expiresAt: number | null;
  readonly scope: string | null;
  readonly version: number;
}

/** The redacted, JSON-safe view of a {@link Token}. */
export interface TokenView {
  readonly userId: string;
  readonly platform: string;
  readonly accessToken: typeof REDACTED;
  readonly expiresAt: number | null;
  readonly scope: string | null;
  readonly status: 'active';
  readonly version: number;
}

export class Token {
  readonly userId: string;
  readonly platform: string;
  /** When the access token expires, epoch seconds; null when the item does not say. */
  readonly expiresAt: number | null;
  /** Granted scopes as the provider sent them (space-separated), or null. */
  readonly scope: string | null;
  /** A returned token is always active: every other status is an error. */
  readonly status = 'active' as const;
  /** The item's write counter (absent on the item = 0). */
  readonly version: number;
  readonly #accessToken: string;

  constructor(fields: TokenFields) {
    this.userId = fields.userId;
    this.platform = fields.platform;
    this.expiresAt = fields.expiresAt;
    this.scope = fields.scope;
    this.version = fields.version;
    this.#accessToken = fields.accessToken;
    Object.freeze(this);
  }

  /** The access token itself. Use it for the provider call; never log it. */
  get accessToken(): string {
    return this.#accessToken;
  }

  /** {@link expiresAt} as a Date, or null. */
  get expiresAtDate(): Date | null {
    return this.expiresAt === null ? null : new Date(this.expiresAt * 1000);
  }

  /** Seconds until expiry (negative once past), or null when the expiry is unknown. */
  secondsLeft(nowMs: number = Date.now()): number | null {
    return this.expiresAt === null ? null : this.expiresAt - nowMs / 1000;
  }

  /** JSON.stringify shows everything but the token. */
  toJSON(): TokenView {
    return {
      userId: this.userId,
      platform: this.platform,
      accessToken: REDACTED,
      expiresAt: this.expiresAt,
      scope: this.scope,
      status: this.status,
      version: this.version,
    };
  }

  /** Template strings and String() show who the token is for, not what it is. */
  toString(): string {
    return `Token(${this.platform} of ${JSON.stringify(this.userId)}, v${this.version}, accessToken ${REDACTED})`;
  }

  /** console.log and util.inspect. */
  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: InspectOptionsStylized,
    inspect: typeof Inspect,
  ): string {
    return `Token ${inspect(this.toJSON(), options)}`;
  }
}
