import { z } from 'zod';

/** STIX 2.1 cyber-observable names, as ECS threat.indicator.type uses them. */
export const INDICATOR_TYPES = ['ipv4-addr', 'ipv6-addr', 'domain-name', 'url', 'file', 'email-addr'] as const;
export type IndicatorType = (typeof INDICATOR_TYPES)[number];

export const HASH_ALGOS = ['md5', 'sha1', 'sha256'] as const;
export type HashAlgo = (typeof HASH_ALGOS)[number];

/** TLP 2.0 labels (WHITE kept as an alias of CLEAR because feeds still send it). */
export const TLP_LEVELS = ['CLEAR', 'WHITE', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'] as const;
export type Tlp = (typeof TLP_LEVELS)[number];

/** ECS threat.indicator.confidence is text; the number lives in nyx.indicator.confidence_score. */
export type ConfidenceText = 'None' | 'Low' | 'Medium' | 'High';

export function confidenceText(score: number): ConfidenceText {
  if (score <= 0) return 'None';
  if (score < 30) return 'Low';
  if (score < 70) return 'Medium';
  return 'High';
}

/**
 * One indicator as a feed reported it, already validated and normalised (see src/intel/normalize.ts).
 * This is what `IndicatorStore.upsert` takes.
 */
export const feedIndicatorSchema = z
  .object({
    feed: z.string().regex(/^[a-z0-9_]{1,60}$/),
    type: z.enum(INDICATOR_TYPES),
    /** Normalised value: lowercased domain/hash/email, canonical IP, CIDR as a.b.c.d/n, URL as given (trimmed). */
    value: z.string().min(1).max(4096),
    /** For type file: which hash the value is. */
    hash: z.enum(HASH_ALGOS).optional(),
    /** True when value is a CIDR block (type ipv4-addr/ipv6-addr). */
    cidr: z.boolean().optional(),
    provider: z.string().min(1).max(200),
    confidence: z.number().min(0).max(100),
    tlp: z.enum(TLP_LEVELS).optional(),
    first_seen: z.string().datetime({ offset: true }).optional(),
    last_seen: z.string().datetime({ offset: true }).optional(),
    /** When this feed's report stops counting (last_seen + the feed's expiry unless the feed says otherwise). */
    expires_at: z.string().datetime({ offset: true }).optional(),
    revoked: z.boolean().optional(),
    /** Half-life for confidence decay in days (MISP decay models, feed config); none means no decay. */
    decay_half_life_days: z.number().positive().optional(),
    description: z.string().max(4000).optional(),
    reference: z.string().max(2000).optional(),
    tags: z.array(z.string().max(200)).max(100).optional(),
    /** The feed's own id for the row (MISP attribute uuid, ThreatFox id…), for sightings and tracing. */
    source_id: z.string().max(200).optional(),
  })
  .strict();
export type FeedIndicator = z.infer<typeof feedIndicatorSchema>;

/** ECS value fields for one indicator. */
export interface IndicatorValueFields {
  ip?: string;
  domain?: string;
  url?: { full: string };
  file?: { hash: Partial<Record<HashAlgo, string>> };
  email?: { address: string };
}

/**
 * One document per (type, value) across all feeds: the "latest" view the enrichment side reads.
 * ECS threat.indicator.* plus nyx.indicator.* bookkeeping.
 */
export interface LatestIndicator {
  '@timestamp': string;
  threat: {
    indicator: IndicatorValueFields & {
      type: IndicatorType;
      /** Every provider currently reporting it (ECS allows keyword arrays). */
      provider: string[];
      confidence: ConfidenceText;
      first_seen: string;
      last_seen: string;
      modified_at: string;
      marking?: { tlp: Tlp };
      description?: string;
      reference?: string;
    };
  };
  nyx: {
    indicator: {
      /** `type:value`, e.g. `ipv4-addr:203.0.113.7`, `file:<sha256>`, `ipv4-addr:198.51.100.0/24`. */
      key: string;
      value: string;
      hash?: HashAlgo;
      providers: string[];
      feeds: string[];
      /** Fused (noisy-OR over providers, after decay) 0–100. */
      confidence_score: number;
      expires_at: string;
      active: boolean;
      revoked: boolean;
      /** Set for CIDR indicators (an ip_range field); threat.indicator.ip is then absent. */
      cidr?: string;
      tags?: string[];
      source_ids?: string[];
    };
  };
}

/** A per-feed document (logs-ti_nyx.<feed>-<namespace>): same shape, one provider. */
export interface FeedIndicatorDoc {
  '@timestamp': string;
  event: { kind: 'enrichment'; category: ['threat']; type: ['indicator']; dataset: string };
  data_stream: { type: 'logs'; dataset: string; namespace: string };
  threat: {
    indicator: IndicatorValueFields & {
      type: IndicatorType;
      provider: string;
      confidence: ConfidenceText;
      first_seen?: string;
      last_seen: string;
      modified_at: string;
      marking?: { tlp: Tlp };
      description?: string;
      reference?: string;
    };
  };
  nyx: {
    indicator: {
      key: string;
      value: string;
      hash?: HashAlgo;
      feed: string;
      confidence_score: number;
      decay_half_life_days?: number;
      expires_at: string;
      active: boolean;
      revoked: boolean;
      cidr?: string;
      tags?: string[];
      source_id?: string;
    };
  };
}

export function indicatorKey(type: IndicatorType, value: string): string {
  return `${type}:${value}`;
}
