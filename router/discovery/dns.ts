// DNS endpoint source: A records (headless Service → one address per ready pod) or SRV records (target + port per
// pod). The resolver is injected so tests answer from a table; production uses node:dns with optional servers.
import { Resolver } from 'node:dns/promises';
import type { DnsDiscoveryConfig } from '../config/discovery.ts';

export interface SrvAnswer {
  name: string;
  port: number;
}

/** The two lookups discovery needs (node:dns/promises' Resolver has both). */
export interface DnsResolver {
  resolve4(name: string): Promise<string[]>;
  resolveSrv(name: string): Promise<SrvAnswer[]>;
}

export interface Endpoint {
  host: string;
  port: number;
}

/** The name exists but has no ready endpoint (headless Service with zero ready pods): the pool is empty. */
const EMPTY_CODES = new Set(['ENOTFOUND', 'ENODATA']);

export function systemResolver(servers?: readonly string[]): DnsResolver {
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  if (servers) resolver.setServers([...servers]);
  return resolver;
}

function isEmptyAnswer(error: unknown): boolean {
  return EMPTY_CODES.has(String((error as { code?: unknown }).code));
}

async function addresses(resolver: DnsResolver, name: string): Promise<string[]> {
  // SRV targets may already be addresses (some resolvers answer that way).
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return [name];
  try {
    return await resolver.resolve4(name);
  } catch (error) {
    if (isEmptyAnswer(error)) return [];
    throw error;
  }
}

/**
 * Resolves the configured name to endpoints, sorted and de-duplicated. Throws on resolver failures other than "no
 * such name / no data", so a DNS outage keeps the current endpoints instead of draining the whole pool.
 */
export async function resolveEndpoints(config: DnsDiscoveryConfig, resolver: DnsResolver): Promise<Endpoint[]> {
  const found = new Map<string, Endpoint>();
  if (config.record === 'A') {
    for (const host of await addresses(resolver, config.name))
      found.set(`${host}:${config.port}`, { host, port: config.port! });
  } else {
    let records: SrvAnswer[];
    try {
      records = await resolver.resolveSrv(config.name);
    } catch (error) {
      if (!isEmptyAnswer(error)) throw error;
      records = [];
    }
    for (const record of records) {
      const port = config.port ?? record.port;
      for (const host of await addresses(resolver, record.name)) found.set(`${host}:${port}`, { host, port });
    }
  }
  return [...found.values()].sort((a, b) => (a.host === b.host ? a.port - b.port : a.host < b.host ? -1 : 1));
}
