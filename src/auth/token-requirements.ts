/**
 * Route requirements on a verified token: scopes (RFC 6750 §3.1 `insufficient_scope`, 403) and
 * claim values by dotted path (`claim_requirement_failed`, 403). A token that is valid but lacks
 * permission is a 403, never a 401: re-authenticating would not help.
 */
import type { JWTPayload } from 'jose';
import { GatewayError } from '../errors.ts';
import type { ClaimRequirement, ScopeRequirement } from '../policy/route.ts';
import type { TraceSink } from '../policy/trace.ts';
import { claimStrings, readClaim } from './claim-path.ts';

function satisfies(held: ReadonlySet<string>, match: 'all' | 'any', values: readonly string[]): boolean {
  return match === 'all' ? values.every((value) => held.has(value)) : values.some((value) => held.has(value));
}

/**
 * Checks the space-delimited `scope` claim (RFC 8693 §4.2, RFC 9068 §2.2.3). Throws
 * `insufficient_scope` carrying the required scopes, or `token_claim_invalid` when `scope` is not
 * a string. No requirement: nothing is checked.
 */
export function checkScopes(
  payload: JWTPayload,
  required: ScopeRequirement | undefined,
  trace?: TraceSink,
): void {
  if (required === undefined || required.values.length === 0) return;
  const scope: unknown = payload['scope'];
  if (scope !== undefined && typeof scope !== 'string') {
    trace?.step({ stage: 'claims', check: 'scope', ok: false, detail: 'scope is not a string' });
    throw new GatewayError('token_claim_invalid', 'The token scope claim is not a string');
  }
  const held = new Set(scope === undefined ? [] : scope.split(' '));
  const ok = satisfies(held, required.match, required.values);
  // Runs on every request: the description is built only when someone reads it.
  if (ok && trace === undefined) return;
  const wanted = `${required.match} of [${required.values.join(' ')}]`;
  if (!ok) {
    trace?.step({
      stage: 'claims',
      check: 'scope',
      ok: false,
      detail: `${wanted}; token has [${scope ?? ''}]`,
    });
    throw new GatewayError('insufficient_scope', `The token lacks the required scope (${wanted})`, {
      scope: required.values.join(' '),
    });
  }
  trace?.step({ stage: 'claims', check: 'scope', ok: true, detail: wanted });
}

/**
 * Checks each required claim: the value at its path (a string, number, boolean or an array of
 * them) must hold every listed value (`all`) or at least one (`any`). Throws
 * `claim_requirement_failed` naming the claim.
 */
export function checkRequiredClaims(
  payload: JWTPayload,
  required: readonly ClaimRequirement[],
  trace?: TraceSink,
): void {
  for (const requirement of required) {
    const held = new Set(claimStrings(readClaim(payload, requirement.path)));
    const ok = satisfies(held, requirement.match, requirement.values);
    if (ok && trace === undefined) continue;
    const wanted = `${requirement.name}: ${requirement.match} of [${requirement.values.join(', ')}]`;
    if (!ok) {
      trace?.step({
        stage: 'claims',
        check: 'claim',
        ok: false,
        detail: `${wanted}; token has [${[...held].join(', ')}]`.slice(0, 300),
      });
      throw new GatewayError(
        'claim_requirement_failed',
        `The token lacks the required claim value (${wanted})`,
      );
    }
    trace?.step({ stage: 'claims', check: 'claim', ok: true, detail: wanted });
  }
}
