// Endpoint discovery of a vLLM pool's replicas (zod; types derived): a headless Service's DNS records, re-resolved
// on an interval. Every resolved address becomes one backend after its health check; addresses that disappear drain.
import { z } from 'zod';

export const DnsDiscoveryConfig = z
  .strictObject({
    /** The headless Service name, e.g. `vllm-llama-8b.switchyard.svc.cluster.local` (A) or `_http._tcp.vllm-llama-8b…` (SRV). */
    name: z.string().min(1),
    /** A: every address on `port`; SRV: every target on its own port (targets resolved to addresses). */
    record: z.enum(['A', 'SRV']).default('A'),
    /** Port of the replicas' OpenAI server (A records carry none). */
    port: z.number().int().min(1).max(65_535).optional(),
    /** DNS servers (`ip` or `ip:port`); default: the system's (/etc/resolv.conf, cluster DNS in a pod). */
    servers: z.array(z.string().min(1)).min(1).optional(),
  })
  .refine((dns) => dns.record === 'SRV' || dns.port !== undefined, {
    message: 'A records need a port',
    path: ['port'],
  });
export type DnsDiscoveryConfig = z.infer<typeof DnsDiscoveryConfig>;

export const DiscoveryConfig = z.strictObject({
  dns: DnsDiscoveryConfig,
  /** Re-resolve this often. */
  intervalMs: z.number().int().min(100).default(5_000),
  scheme: z.enum(['http', 'https']).default('http'),
  /** A new endpoint joins once GET `healthPath` answers 2xx (vLLM: /health). */
  healthPath: z.string().startsWith('/').default('/health'),
  healthTimeoutMs: z.number().int().positive().default(2_000),
  /** Bound on waiting for in-flight requests of a removed endpoint before it is forgotten. */
  drainTimeoutMs: z.number().int().positive().default(30_000),
});
export type DiscoveryConfig = z.infer<typeof DiscoveryConfig>;
