import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, errors as joseErrors, exportJWK, importPKCS8, importSPKI, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import type { AccountStore } from '../metadata/accounts.js';
import { AuthError } from './errors.js';

/** One entry of a token's `access` claim (distribution docs/spec/auth/jwt.md). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface RegistryClaims extends JWTPayload {
  access: AccessEntry[];
  /** Berth's own claim: whether `sub` is a user or a robot (empty for anonymous). */
  kind?: 'user' | 'robot';
}

interface LoadedKey {
  kid: string;
  signing?: CryptoKey;
  verifying: CryptoKey;
  retired: boolean;
}

/**
 * Registry tokens: ES256 JWTs in the shape Docker clients and distribution expect (`iss`, `sub`, `aud` = the
 * service, `exp`, `nbf`, `iat`, `jti`, `access`). Signing keys live in the metadata store, so every node of a
 * scaled-out registry signs and verifies with the same set. `kid` is the key's JWK thumbprint.
 *
 * Rotation: `rotate()` adds a new key and retires the old ones; retired keys still verify tokens issued before
 * (until they expire), and `purgeRetired()` deletes keys retired longer ago than the longest token lifetime.
 */
export class TokenKeys {
  #keys = new Map<string, LoadedKey>();
  #current: LoadedKey | undefined;
  #loadedAt = 0;

  constructor(
    private readonly accounts: AccountStore,
    private readonly opts: { issuer: string; service: string; ttlSeconds: number },
  ) {}

  /** Loads the keys, creating the first one on a fresh registry. */
  async init(): Promise<void> {
    await this.#reload();
    if (!this.#current) {
      await this.#addKey();
      await this.#reload();
    }
  }

  get ttlSeconds(): number {
    return this.opts.ttlSeconds;
  }

  async sign(claims: { sub: string; kind?: 'user' | 'robot'; access: AccessEntry[] }, now = new Date()): Promise<{ token: string; expiresIn: number; issuedAt: Date }> {
    if (!this.#current?.signing) await this.init();
    const key = this.#current!;
    const iat = Math.floor(now.getTime() / 1000);
    const token = await new SignJWT({ access: claims.access, ...(claims.kind ? { kind: claims.kind } : {}) })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: key.kid })
      .setIssuer(this.opts.issuer)
      .setSubject(claims.sub)
      .setAudience(this.opts.service)
      .setIssuedAt(iat)
      .setNotBefore(iat - 1)
      .setExpirationTime(iat + this.opts.ttlSeconds)
      .setJti(randomUUID())
      .sign(key.signing!);
    return { token, expiresIn: this.opts.ttlSeconds, issuedAt: new Date(iat * 1000) };
  }

  /** Verifies signature, issuer, audience, expiry and not-before. Throws `AuthError('INVALID_TOKEN')`. */
  async verify(token: string): Promise<RegistryClaims> {
    try {
      const { payload } = await jwtVerify<RegistryClaims>(token, (header) => this.#keyFor(header.kid), {
        issuer: this.opts.issuer,
        audience: this.opts.service,
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: 5,
      });
      if (!Array.isArray(payload.access)) throw new AuthError('INVALID_TOKEN', 'token has no access claim');
      return payload;
    } catch (err) {
      if (err instanceof AuthError) throw err;
      const reason = err instanceof joseErrors.JWTExpired ? 'token expired' : err instanceof joseErrors.JOSEError ? `invalid token (${err.code})` : 'invalid token';
      throw new AuthError('INVALID_TOKEN', reason, undefined, { cause: err });
    }
  }

  async #keyFor(kid: string | undefined): Promise<CryptoKey> {
    if (!kid) throw new AuthError('INVALID_TOKEN', 'token has no kid');
    let key = this.#keys.get(kid);
    // Another node may have rotated: look again, at most once a second.
    if (!key && Date.now() - this.#loadedAt > 1000) {
      await this.#reload();
      key = this.#keys.get(kid);
    }
    if (!key) throw new AuthError('INVALID_TOKEN', 'token signed by an unknown key');
    return key.verifying;
  }

  /** Adds a new signing key and retires every other one. Returns the new `kid`. */
  async rotate(now = new Date()): Promise<string> {
    const kid = await this.#addKey(now);
    for (const k of await this.accounts.listSigningKeys()) if (k.kid !== kid) await this.accounts.retireSigningKey(k.kid, now);
    await this.#reload();
    return kid;
  }

  /** Deletes keys retired before `now - maxAgeMs`: tokens they signed have all expired. */
  async purgeRetired(now = new Date()): Promise<string[]> {
    const cutoff = now.getTime() - this.opts.ttlSeconds * 1000;
    const gone: string[] = [];
    for (const k of await this.accounts.listSigningKeys()) {
      if (k.retiredAt && k.retiredAt.getTime() < cutoff && (await this.accounts.deleteSigningKey(k.kid))) gone.push(k.kid);
    }
    if (gone.length) await this.#reload();
    return gone;
  }

  async #addKey(now = new Date()): Promise<string> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(privateKey)));
    await this.accounts.addSigningKey({ kid, privateKeyPem: pem, now });
    return kid;
  }

  async #reload(): Promise<void> {
    const records = await this.accounts.listSigningKeys();
    const keys = new Map<string, LoadedKey>();
    for (const r of records) {
      const known = this.#keys.get(r.kid);
      const retired = r.retiredAt !== undefined;
      if (known) {
        keys.set(r.kid, { ...known, retired });
        continue;
      }
      const publicPem = createPublicKey(createPrivateKey(r.privateKeyPem)).export({ type: 'spki', format: 'pem' }) as string;
      keys.set(r.kid, {
        kid: r.kid,
        signing: retired ? undefined : await importPKCS8(r.privateKeyPem, 'ES256'),
        verifying: await importSPKI(publicPem, 'ES256'),
        retired,
      });
    }
    this.#keys = keys;
    // Newest first: the current key is the newest one not retired.
    this.#current = records.map((r) => keys.get(r.kid)!).find((k) => !k.retired && k.signing);
    this.#loadedAt = Date.now();
  }
}
