import { RestError } from '@azure/core-rest-pipeline';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import { ConflictError } from '../platform/errors';
import { ensureTable, findEntity } from '../platform/tables';
import type { Policy } from './policyCsv';

export type StoredPolicy = Omit<Policy, 'line'>;

const policySchema = z.object({
  policyNumber: z.string(),
  holderName: z.string(),
  dateOfBirth: z.string(),
  postalCode: z.string(),
  email: z.string(),
  phone: z.string(),
  product: z.string(),
  status: z.enum(['active', 'lapsed', 'cancelled', 'pending']),
  coverage: z.string(),
  premium: z.number(),
  renewalDate: z.string(),
});

export const CLAIM_STATUSES = ['received', 'in_review', 'approved', 'rejected', 'closed'] as const;

export const claimSchema = z.object({
  claimNumber: z.string(),
  policyNumber: z.string(),
  status: z.enum(CLAIM_STATUSES),
  dateOfLoss: z.string(),
  lossType: z.string(),
  description: z.string(),
  location: z.string().optional(),
  injuries: z.boolean().optional(),
  policeReport: z.string().optional(),
  thirdParty: z.string().optional(),
  /** The call and the agent's idempotency key that created it: a retry finds the same claim. */
  callId: z.string(),
  idempotencyKey: z.string(),
  createdAt: z.string(),
});
export type Claim = z.infer<typeof claimSchema>;

const POLICY_PARTITION = 'policy';
const CLAIM_PARTITION = 'claim';
// An entity group transaction holds at most 100 operations, all in one partition.
const BATCH = 100;
const statusOf = (error: unknown) => (error instanceof RestError ? error.statusCode : undefined);

/** The insurer's policies and claims, in Azure Tables. */
export class InsurerStore {
  constructor(
    private readonly policies: TableClient,
    private readonly claims: TableClient,
  ) {}

  /** Upserts each policy (an import run again replaces the rows it names and keeps the others). */
  async savePolicies(policies: readonly StoredPolicy[], importedAt: string): Promise<void> {
    await ensureTable(this.policies);
    for (let i = 0; i < policies.length; i += BATCH) {
      const actions: TransactionAction[] = policies
        .slice(i, i + BATCH)
        .map((policy) => [
          'upsert',
          { partitionKey: POLICY_PARTITION, rowKey: policy.policyNumber, ...policy, importedAt },
          'Replace',
        ]);
      await this.policies.submitTransaction(actions);
    }
  }

  async policy(policyNumber: string): Promise<StoredPolicy | undefined> {
    if (!/^[A-Z0-9-]{3,40}$/.test(policyNumber)) return undefined;
    const row = await findEntity(this.policies, POLICY_PARTITION, policyNumber);
    return row && policySchema.parse(row);
  }

  /** Stores a new claim; an existing one with the same number is returned as it is (never overwritten). */
  async createClaim(claim: Claim): Promise<{ claim: Claim; created: boolean }> {
    await ensureTable(this.claims);
    try {
      await this.claims.createEntity({ partitionKey: CLAIM_PARTITION, rowKey: claim.claimNumber, ...claim });
      return { claim, created: true };
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const existing = await this.claim(claim.claimNumber);
    if (!existing || existing.callId !== claim.callId || existing.idempotencyKey !== claim.idempotencyKey)
      throw new ConflictError(`Claim number ${claim.claimNumber} is taken; send another Idempotency-Key.`);
    return { claim: existing, created: false };
  }

  async claim(claimNumber: string): Promise<Claim | undefined> {
    if (!/^[A-Z0-9-]{3,40}$/.test(claimNumber)) return undefined;
    const row = await findEntity(this.claims, CLAIM_PARTITION, claimNumber);
    return row && claimSchema.parse(row);
  }

  async claimsOf(policyNumber: string): Promise<Claim[]> {
    await ensureTable(this.claims);
    const claims: Claim[] = [];
    const rows = this.claims.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${CLAIM_PARTITION} and policyNumber eq ${policyNumber}` },
    });
    for await (const row of rows) claims.push(claimSchema.parse(row));
    return claims.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }
}
